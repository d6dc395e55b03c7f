import KGateSchema

extension RateLimitingPlugin {
    /// Kong's `rate-limiting` plugin subschema (`kong/plugins/rate-limiting/schema.lua`, DB-less
    /// variant: `policy` is `local` or `redis`).
    public static let schema: Schema = {
        let limit = Field.number.with { $0.gt = 0 }
        let redis = Schema.record([
            ("host", Typedefs.redisHost),
            ("port", Typedefs.port.defaulting(6379)),
            ("timeout", Typedefs.timeout.defaulting(2000)),
            ("username", Field.string.with { $0.referenceable = true }),
            ("password", Field.string.with {
                $0.referenceable = true
                $0.encrypted = true
                $0.lenMin = 0
            }),
            ("database", Field.integer.defaulting(0)),
            ("ssl", Field.boolean.defaulting(false)),
            ("ssl_verify", Field.boolean.defaulting(false)),
            ("server_name", Typedefs.redisServerName),
        ])
        func shorthand(_ name: String, _ field: Field, _ target: String) -> Schema.Shorthand {
            let notice = Schema.DeprecationNotice(
                "rate-limiting: config.\(name) is deprecated, please use config.redis.\(target) instead",
                removalInVersion: "4.0")
            return Schema.Shorthand(name, field, replacedWith: "redis." + target, notice: notice) { value in
                ["redis": .object([target: value])]
            }
        }
        let config = Schema.record(
            [
                ("second", limit), ("minute", limit), ("hour", limit), ("day", limit), ("month", limit),
                ("year", limit),
                ("limit_by", Field.string.with {
                    $0.defaultValue = "consumer"
                    $0.oneOf = ["consumer", "credential", "ip", "service", "header", "path"]
                }),
                ("header_name", Typedefs.headerName),
                ("path", Typedefs.path),
                ("policy", Field.string.with {
                    $0.defaultValue = "local"
                    $0.lenMin = 0
                    $0.oneOf = ["local", "redis"]
                }),
                ("fault_tolerant", Field.boolean.isRequired.defaulting(true)),
                ("redis", Field.record(redis)),
                ("hide_client_headers", Field.boolean.isRequired.defaulting(false)),
                ("error_code", Field.number.with {
                    $0.defaultValue = 429
                    $0.gt = 0
                }),
                ("error_message", Field.string.defaulting("API rate limit exceeded")),
                ("sync_rate", Field.number.isRequired.defaulting(-1)),
            ],
            shorthandFields: [
                shorthand("redis_host", .string, "host"),
                shorthand("redis_port", .integer, "port"),
                shorthand("redis_password", Field.string.with { $0.lenMin = 0 }, "password"),
                shorthand("redis_username", .string, "username"),
                shorthand("redis_ssl", .boolean, "ssl"),
                shorthand("redis_ssl_verify", .boolean, "ssl_verify"),
                shorthand("redis_server_name", .string, "server_name"),
                shorthand("redis_timeout", .integer, "timeout"),
                shorthand("redis_database", .integer, "database"),
            ])
        func requiredWhen(_ ifField: String, _ value: Value, _ thenField: String) -> EntityCheck {
            .conditional(
                EntityCheck.Conditional(
                    ifField: ifField, ifMatch: { $0.eq = value }, thenField: thenField, thenRequired: true,
                    thenMatch: { $0.required = true }))
        }
        return Schema(
            name: "rate-limiting", primaryKey: [],
            fields: [("config", Field.record(config).with { $0.customValidator = validatePeriodsOrder })],
            entityChecks: [
                .atLeastOneOf(["config.second", "config.minute", "config.hour", "config.day", "config.month", "config.year"]),
                requiredWhen("config.policy", "redis", "config.redis.host"),
                requiredWhen("config.policy", "redis", "config.redis.port"),
                requiredWhen("config.policy", "redis", "config.redis.timeout"),
                requiredWhen("config.limit_by", "header", "config.header_name"),
                requiredWhen("config.limit_by", "path", "config.path"),
            ])
    }()

    /// Kong's `validate_periods_order`: a longer period's limit may not be lower than a
    /// shorter one's; `sync_rate` only with redis (and then -1 or at least 0.02).
    static let validatePeriodsOrder: Field.Validator = { value in
        guard case .object(let config) = value else { return nil }
        let periods = RateLimitPeriod.allCases
        for (i, lower) in periods.enumerated() {
            guard let v1 = config[lower.name]?.doubleValue else { continue }
            for upper in periods[(i + 1)...] {
                if let v2 = config[upper.name]?.doubleValue, v2 < v1 {
                    return "The limit for \(upper.name)(\(oneDecimal(v2))) cannot be lower than the limit for "
                        + "\(lower.name)(\(oneDecimal(v1)))"
                }
            }
        }
        let policy = config["policy"]?.stringValue ?? "local"
        let syncRate = config["sync_rate"]?.doubleValue ?? -1
        if policy != "redis", syncRate != -1 { return "sync_rate can only be used with the redis policy" }
        if policy == "redis", syncRate != -1, syncRate < 0.02 { return "sync_rate must be greater than 0.02, or -1 to disable" }
        return nil
    }

    /// C's `%.1f`.
    static func oneDecimal(_ d: Double) -> String {
        let tenths = (d * 10).rounded(.toNearestOrEven)
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        let whole = (a / 10).rounded(.down)
        return "\(sign)\(Value.formatNumber(whole)).\(Int(a - whole * 10))"
    }
}
