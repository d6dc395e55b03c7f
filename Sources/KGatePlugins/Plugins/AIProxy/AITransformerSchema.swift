import KGateSchema

/// The config schema of Kong's AI transformer plugins (`prompt`, the extraction pattern, the
/// call's timeout, verification and forward proxies, and `llm`).
enum AITransformerSchema {
    static func schema(_ name: String, extra: [(String, Field)] = []) -> Schema {
        let config = Schema.record(
            [
                ("prompt", Field.string.isRequired),
                ("transformation_extract_pattern", Field.string),
            ] + extra + [
                ("http_timeout", Field.integer.isRequired.defaulting(60000)),
                ("https_verify", Field.boolean.isRequired.defaulting(true)),
                ("max_request_body_size", LLMRequest.maxBodySizeField),
                ("http_proxy_host", Typedefs.host),
                ("http_proxy_port", Typedefs.port),
                ("https_proxy_host", Typedefs.host),
                ("https_proxy_port", Typedefs.port),
                ("llm", AIProxySchema.llmConfig),
            ])
        return Schema(
            name: name, primaryKey: [],
            fields: [("protocols", Typedefs.protocolsHTTP), ("config", Field.record(config))],
            entityChecks: [
                .conditional(
                    .init(
                        ifField: "config.llm.route_type", ifMatch: { $0.notOneOf = [.string("llm/v1/chat")] },
                        thenField: "config.llm.route_type", thenMatch: { $0.eq = "llm/v1/chat" },
                        thenErr: "'config.llm.route_type' must be 'llm/v1/chat' for AI transformer plugins")),
                .mutuallyRequired(["config.http_proxy_host", "config.http_proxy_port"]),
                .mutuallyRequired(["config.https_proxy_host", "config.https_proxy_port"]),
            ])
    }

    /// The LLM call of a config.
    static func subrequest(_ config: Object) throws -> LLMSubrequest {
        try LLMSubrequest(
            llm: config["llm"]?.objectValue ?? [:], timeout: config.integer("http_timeout") ?? 60000,
            verify: config["https_verify"]?.boolValue ?? true, httpProxy: proxy(config, "http_proxy"),
            httpsProxy: proxy(config, "https_proxy"))
    }

    /// The forward proxy of `<prefix>_host` and `<prefix>_port`, if set.
    static func proxy(_ config: Object, _ prefix: String) -> PluginHTTPClient.ForwardProxy? {
        guard let host = config.string(prefix + "_host"), let port = config.integer(prefix + "_port") else { return nil }
        return .init(host: host, port: port)
    }
}
