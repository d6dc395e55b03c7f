import KGateConfig
import KGateSchema

extension ProxyCachePlugin {
    /// Kong's `proxy-cache` plugin subschema (`kong/plugins/proxy-cache/schema.lua`): the config
    /// record, and the check that the `memory` strategy's shared dictionary exists.
    public static let schema: Schema = {
        let config = Schema.record([
            ("response_code", Field.array(of: Field.integer.with { $0.between = 100...900 }).with {
                $0.defaultValue = [200, 301, 404]
                $0.lenMin = 1
                $0.required = true
            }),
            ("request_method", Field.array(of: Field.string.with {
                $0.oneOf = ["HEAD", "GET", "POST", "PATCH", "PUT"].map(Value.string)
            }).with {
                $0.defaultValue = ["GET", "HEAD"]
                $0.required = true
            }),
            ("content_type", Field.array(of: .string).with {
                $0.defaultValue = ["text/plain", "application/json"]
                $0.required = true
            }),
            ("cache_ttl", Field.integer.with {
                $0.defaultValue = 300
                $0.gt = 0
            }),
            ("strategy", Field.string.with {
                $0.oneOf = [.string("memory")]
                $0.required = true
            }),
            ("cache_control", Field.boolean.isRequired.defaulting(false)),
            ("ignore_uri_case", Field.boolean.defaulting(false)),
            ("storage_ttl", Field.integer),
            ("memory", Field.record(Schema.record([("dictionary_name", Field.string.isRequired.defaulting("kong_db_cache"))]))),
            ("vary_query_params", Field.array(of: .string)),
            ("vary_headers", Field.array(of: .string)),
            ("response_headers", Field.record(Schema.record([
                ("age", Field.boolean.defaulting(true)),
                ("X-Cache-Status", Field.boolean.defaulting(true)),
                ("X-Cache-Key", Field.boolean.defaulting(true)),
            ]))),
        ])
        return Schema(
            name: "proxy-cache", primaryKey: [],
            fields: [("config", Field.record(config).with { $0.customValidator = sharedDictionaryExists })])
    }()

    /// Kong's `check_shdict`: the memory strategy needs one of the node's shared dictionaries.
    static let sharedDictionaryExists: Field.Validator = { value in
        guard case .object(let config) = value, config.string("strategy") == "memory" else { return nil }
        let name = config.record("memory")?.string("dictionary_name") ?? "kong_db_cache"
        let known = KongSharedDictionaries.all(prometheus: true).contains { $0.name == name }
        return known ? nil : "missing shared dict '\(name)'"
    }
}
