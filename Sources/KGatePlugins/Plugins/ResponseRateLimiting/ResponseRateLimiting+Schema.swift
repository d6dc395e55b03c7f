import KGateSchema

extension ResponseRateLimitingPlugin {
    /// Kong's `response-ratelimiting` plugin subschema
    /// (`kong/plugins/response-ratelimiting/schema.lua`, DB-less variant: `policy` is `local`
    /// or `redis`).
    public static let schema: Schema = {
        let limit = Field.number.with { $0.gt = 0 }
        let periods = RateLimitPeriod.allCases.map(\.name)
        let limitRecord = Schema.record(
            periods.map { ($0, limit) }, entityChecks: [.atLeastOneOf(periods)])
        let config = Schema.record(
            [
                ("header_name", Field.string.defaulting("x-kong-limit")),
                ("limit_by", Field.string.with {
                    $0.defaultValue = "consumer"
                    $0.oneOf = ["consumer", "credential", "ip"]
                }),
                ("policy", Field.string.with {
                    $0.defaultValue = "local"
                    $0.oneOf = ["local", "redis"]
                }),
                ("fault_tolerant", Field.boolean.isRequired.defaulting(true)),
                ("redis", Field.record(RedisConfigSchema.record)),
                ("block_on_first_violation", Field.boolean.isRequired.defaulting(false)),
                ("hide_client_headers", Field.boolean.isRequired.defaulting(false)),
                ("limits", Field.map(keys: .string, values: Field.record(limitRecord).with {
                    $0.required = true
                    $0.customValidator = validatePeriodsOrder
                }).with {
                    $0.required = true
                    $0.lenMin = 1
                }),
            ],
            shorthandFields: RedisConfigSchema.shorthands(plugin: "response-ratelimiting"))
        return Schema(
            name: "response-ratelimiting", primaryKey: [],
            fields: [("config", Field.record(config))],
            entityChecks: RedisConfigSchema.requiredWithRedisPolicy)
    }()

    /// Kong's `validate_periods_order` of one limit.
    static let validatePeriodsOrder: Field.Validator = { value in
        guard case .object(let limits) = value else { return nil }
        return RateLimitingPlugin.periodsOrderError(limits, the: "the")
    }
}
