import KGateSchema

extension RateLimitingPlugin {
    /// Kong's `rate-limiting` plugin subschema (`kong/plugins/rate-limiting/schema.lua`, DB-less
    /// variant: `policy` is `local` or `redis`).
    public static let schema: Schema = {
        let limit = Field.number.with { $0.gt = 0 }
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
                ("redis", Field.record(RedisConfigSchema.record)),
                ("hide_client_headers", Field.boolean.isRequired.defaulting(false)),
                ("error_code", Field.number.with {
                    $0.defaultValue = 429
                    $0.gt = 0
                }),
                ("error_message", Field.string.defaulting("API rate limit exceeded")),
                ("sync_rate", Field.number.isRequired.defaulting(-1)),
            ],
            shorthandFields: RedisConfigSchema.shorthands(plugin: "rate-limiting"))
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
            ] + RedisConfigSchema.requiredWithRedisPolicy + [
                requiredWhen("config.limit_by", "header", "config.header_name"),
                requiredWhen("config.limit_by", "path", "config.path"),
            ])
    }()

    /// Kong's `validate_periods_order`: a longer period's limit may not be lower than a
    /// shorter one's; `sync_rate` only with redis (and then -1 or at least 0.02).
    static let validatePeriodsOrder: Field.Validator = { value in
        guard case .object(let config) = value else { return nil }
        if let error = periodsOrderError(config, the: "The") { return error }
        let policy = config["policy"]?.stringValue ?? "local"
        let syncRate = config["sync_rate"]?.doubleValue ?? -1
        if policy != "redis", syncRate != -1 { return "sync_rate can only be used with the redis policy" }
        if policy == "redis", syncRate != -1, syncRate < 0.02 { return "sync_rate must be greater than 0.02, or -1 to disable" }
        return nil
    }

    /// Kong's `validate_periods_order` message for the first longer period whose limit is lower
    /// than a shorter one's (`the` is how the plugin starts the sentence).
    static func periodsOrderError(_ limits: Object, the: String) -> String? {
        let periods = RateLimitPeriod.allCases
        for (i, lower) in periods.enumerated() {
            guard let v1 = limits[lower.name]?.doubleValue else { continue }
            for upper in periods[(i + 1)...] {
                if let v2 = limits[upper.name]?.doubleValue, v2 < v1 {
                    return "\(the) limit for \(upper.name)(\(oneDecimal(v2))) cannot be lower than the limit for "
                        + "\(lower.name)(\(oneDecimal(v1)))"
                }
            }
        }
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
