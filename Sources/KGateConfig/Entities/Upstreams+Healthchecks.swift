import KGateSchema

/// The `upstreams.healthchecks` record (Kong builds it with `gen_fields` from a table of defaults).
///
/// Every nested record is required (Kong's `make_records_required`) and carries its defaults as
/// a whole-record default, as Kong's generated definition does. Kong's field order inside these
/// records comes from `pairs()` and is unspecified; kgate uses the order of Kong's defaults table.
enum UpstreamHealthchecks {
    private static let seconds = Field.number.with { $0.between = 0...65535 }
    private static let positiveInt = Field.integer.with { $0.between = 1...2_147_483_648 }
    private static let oneByteInteger = Field.integer.with { $0.between = 0...255 }
    private static let httpStatuses = Field.array(of: Field.integer.with { $0.between = 100...999 })
    private static let checkType = Field.string.with {
        $0.oneOf = EntityFields.strings(["tcp", "http", "https", "grpc", "grpcs"])
        $0.defaultValue = "http"
    }

    private static func record(_ fields: [(String, Field)], default value: Value) -> Field {
        Field.record(Schema.record(fields)).with {
            $0.required = true
            $0.defaultValue = value
        }
    }

    private static func statuses(_ codes: [Int]) -> Value { .array(EntityFields.integers(codes)) }

    static let activeHealthyDefault: Value = [
        "interval": 0, "http_statuses": statuses([200, 302]), "successes": 0,
    ]
    static let activeUnhealthyDefault: Value = [
        "interval": 0, "http_statuses": statuses([429, 404, 500, 501, 502, 503, 504, 505]),
        "tcp_failures": 0, "timeouts": 0, "http_failures": 0,
    ]
    static let passiveHealthyDefault: Value = [
        "http_statuses": statuses([
            200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
        ]),
        "successes": 0,
    ]
    static let passiveUnhealthyDefault: Value = [
        "http_statuses": statuses([429, 500, 503]), "tcp_failures": 0, "timeouts": 0, "http_failures": 0,
    ]
    static let activeDefault: Value = [
        "type": "http", "timeout": 1, "concurrency": 10, "http_path": "/", "https_verify_certificate": true,
        "healthy": activeHealthyDefault, "unhealthy": activeUnhealthyDefault,
    ]
    static let passiveDefault: Value = [
        "type": "http", "healthy": passiveHealthyDefault, "unhealthy": passiveUnhealthyDefault,
    ]
    /// Kong's `healthchecks_defaults` (no `threshold`: it is added as a field after the defaults).
    static let healthchecksDefault: Value = ["active": activeDefault, "passive": passiveDefault]

    static let active = record(
        [
            ("type", checkType),
            ("timeout", seconds.with { $0.defaultValue = 1 }),
            ("concurrency", positiveInt.with { $0.defaultValue = 10 }),
            ("http_path", Typedefs.path.with { $0.defaultValue = "/" }),
            ("https_sni", Typedefs.sni),
            ("https_verify_certificate", Field.boolean.with { $0.defaultValue = true; $0.required = true }),
            ("headers", Typedefs.headers),
            (
                "healthy",
                record(
                    [
                        ("interval", seconds.with { $0.defaultValue = 0 }),
                        ("http_statuses", httpStatuses.with { $0.defaultValue = statuses([200, 302]) }),
                        ("successes", oneByteInteger.with { $0.defaultValue = 0 }),
                    ], default: activeHealthyDefault)
            ),
            (
                "unhealthy",
                record(
                    [
                        ("interval", seconds.with { $0.defaultValue = 0 }),
                        (
                            "http_statuses",
                            httpStatuses.with { $0.defaultValue = statuses([429, 404, 500, 501, 502, 503, 504, 505]) }
                        ),
                        ("tcp_failures", oneByteInteger.with { $0.defaultValue = 0 }),
                        ("timeouts", oneByteInteger.with { $0.defaultValue = 0 }),
                        ("http_failures", oneByteInteger.with { $0.defaultValue = 0 }),
                    ], default: activeUnhealthyDefault)
            ),
        ], default: activeDefault)

    static let passive = record(
        [
            ("type", checkType),
            (
                "healthy",
                record(
                    [
                        ("http_statuses", httpStatuses.with { $0.defaultValue = passiveHealthyDefault["http_statuses"] }),
                        ("successes", oneByteInteger.with { $0.defaultValue = 0 }),
                    ], default: passiveHealthyDefault)
            ),
            (
                "unhealthy",
                record(
                    [
                        ("http_statuses", httpStatuses.with { $0.defaultValue = statuses([429, 500, 503]) }),
                        ("tcp_failures", oneByteInteger.with { $0.defaultValue = 0 }),
                        ("timeouts", oneByteInteger.with { $0.defaultValue = 0 }),
                        ("http_failures", oneByteInteger.with { $0.defaultValue = 0 }),
                    ], default: passiveUnhealthyDefault)
            ),
        ], default: passiveDefault)

    /// The `healthchecks` field of `upstreams`.
    static let field = record(
        [
            ("active", active),
            ("passive", passive),
            ("threshold", Field.number.with { $0.defaultValue = 0; $0.between = 0...100 }),
        ], default: healthchecksDefault)
}
