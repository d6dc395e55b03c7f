import KGateSchema

/// Kong's entity schemas as kgate data (`kong/db/schema/entities/*.lua`, plugin `daos.lua`).
public enum EntitySchemas {}

extension EntitySchemas {
    /// Kong's `services` entity (`kong/db/schema/entities/services.lua`).
    public static let services: Schema = {
        let nonzeroTimeout = Field.integer.with {
            $0.between = 1...2_147_483_646
            $0.defaultValue = 60000
        }
        let httpsOrTLS = EntityFields.strings(["https", "tls"])
        return Schema(
            name: "services",
            endpointKey: "name",
            workspaceable: true,
            fields: [
                EntityFields.id,
                EntityFields.createdAt,
                EntityFields.updatedAt,
                ("name", Typedefs.utf8Name),
                ("retries", Field.integer.with { $0.defaultValue = 5; $0.between = 0...32767 }),
                ("protocol", Typedefs.protocol.with { $0.required = true; $0.defaultValue = "http" }),
                ("host", Typedefs.host.isRequired),
                ("port", Typedefs.port.with { $0.required = true; $0.defaultValue = 80 }),
                ("path", Typedefs.path),
                ("connect_timeout", nonzeroTimeout),
                ("write_timeout", nonzeroTimeout),
                ("read_timeout", nonzeroTimeout),
                EntityFields.tags,
                ("client_certificate", EntityFields.foreign("certificates")),
                ("tls_verify", .boolean),
                ("tls_verify_depth", Field.integer.with { $0.defaultValue = .null; $0.between = 0...64 }),
                ("ca_certificates", .array(of: Field.string.with { $0.uuid = true })),
                ("enabled", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
            ],
            entityChecks: [
                EntityFields.conditional(
                    "protocol", { $0.oneOf = EntityFields.strings(["tcp", "tls", "udp", "grpc", "grpcs"]) },
                    then: "path", { $0.eq = .null }),
                EntityFields.conditional("protocol", { $0.notOneOf = httpsOrTLS }, then: "client_certificate", { $0.eq = .null }),
                EntityFields.conditional("protocol", { $0.notOneOf = httpsOrTLS }, then: "tls_verify", { $0.eq = .null }),
                EntityFields.conditional("protocol", { $0.notOneOf = httpsOrTLS }, then: "tls_verify_depth", { $0.eq = .null }),
                EntityFields.conditional("protocol", { $0.notOneOf = httpsOrTLS }, then: "ca_certificates", { $0.eq = .null }),
            ],
            shorthandFields: [
                Schema.Shorthand("url", .string, expand: { value in
                    guard case .string(let url) = value else { return [:] }
                    return ServiceURL.expand(url)
                })
            ])
    }()
}

/// The `services.url` shorthand: LuaSocket's `url.parse` (``ParsedURL``), then Kong's defaults.
///
/// Kong parses this with LuaSocket (not the typedef URL parser), so a bad port survives as a
/// string and fails later as `expected an integer`; a URL without host leaves `host` null.
public enum ServiceURL {
    /// The fields `url` expands into: `protocol`, `host`, `port`, `path`.
    public static func expand(_ url: String) -> Object {
        guard let parsed = ParsedURL(url) else { return [:] }
        let number = parsed.portNumber
        var implied: String?
        if number == 80 { implied = "http" } else if number == 443 { implied = "https" }
        let scheme = parsed.scheme ?? implied ?? "http"
        let port: Value
        if let number {
            port = LuaNumber.value(number)
        } else if let text = parsed.port {
            port = .string(text)
        } else {
            port = scheme == "https" ? 443 : 80
        }
        return [
            "protocol": .string(scheme),
            "host": parsed.host.map(Value.string) ?? .null,
            "port": port,
            "path": parsed.path.map(Value.string) ?? .null,
        ]
    }
}
