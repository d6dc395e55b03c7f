import KGateSchema

/// Kong's `kong.tools.redis.schema`: the `redis` record of the rate-limiting plugins, and the
/// deprecated flat `redis_*` fields that fill it.
enum RedisConfigSchema {
    /// `config_schema`.
    static let record = Schema.record([
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

    /// `config.redis_<field>` shorthands (deprecated, removal in 4.0) of a plugin.
    static func shorthands(plugin: String) -> [Schema.Shorthand] {
        func shorthand(_ name: String, _ field: Field, _ target: String) -> Schema.Shorthand {
            let notice = Schema.DeprecationNotice(
                "\(plugin): config.\(name) is deprecated, please use config.redis.\(target) instead",
                removalInVersion: "4.0")
            return Schema.Shorthand(name, field, replacedWith: "redis." + target, notice: notice) { value in
                ["redis": .object([target: value])]
            }
        }
        return [
            shorthand("redis_host", .string, "host"),
            shorthand("redis_port", .integer, "port"),
            shorthand("redis_password", Field.string.with { $0.lenMin = 0 }, "password"),
            shorthand("redis_username", .string, "username"),
            shorthand("redis_ssl", .boolean, "ssl"),
            shorthand("redis_ssl_verify", .boolean, "ssl_verify"),
            shorthand("redis_server_name", .string, "server_name"),
            shorthand("redis_timeout", .integer, "timeout"),
            shorthand("redis_database", .integer, "database"),
        ]
    }

    /// Kong's conditional checks: with `policy: redis`, `redis.host`, `.port` and `.timeout`
    /// are required.
    static let requiredWithRedisPolicy: [EntityCheck] = ["host", "port", "timeout"].map { field in
        .conditional(
            EntityCheck.Conditional(
                ifField: "config.policy", ifMatch: { $0.eq = "redis" }, thenField: "config.redis." + field,
                thenRequired: true, thenMatch: { $0.required = true }))
    }
}
