import KGateSchema

/// Kong's `ai-proxy` plugin subschema (kong/plugins/ai-proxy/schema.lua over kong/llm/schemas/init.lua).
///
/// Records Kong declares `required = false` (`auth`, `model.options` and its `gemini`,
/// `bedrock`, `huggingface`) are `explicitlyOptional`: a missing one stays `null`.
enum AIProxySchema {
    static let schema = Schema(
        name: "ai-proxy", primaryKey: [],
        fields: [
            ("protocols", Typedefs.protocolsHTTP),
            ("config", Field.record(Schema.record(llmFields + proxyFields, entityChecks: llmChecks))),
        ],
        entityChecks: [
            .conditional(
                .init(
                    ifField: "config.llm_format", ifMatch: { $0.oneOf = strings("bedrock", "gemini") },
                    thenField: "config.route_type", thenMatch: { $0.eq = "llm/v1/chat" },
                    thenErr: "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type")),
            nativeFormat("bedrock"),
            nativeFormat("gemini"),
        ])

    /// Kong's `llm.config_schema` as a record field (the AI transformer plugins' `config.llm`).
    static let llmConfig = Field.record(Schema.record(llmFields, entityChecks: llmChecks))

    /// `llm_format = <format>` needs `model.provider = <format>`.
    private static func nativeFormat(_ format: String) -> EntityCheck {
        .conditional(
            .init(
                ifField: "config.llm_format", ifMatch: { $0.eq = .string(format) },
                thenField: "config.model.provider", thenMatch: { $0.eq = .string(format) },
                thenErr: "native llm_format '\(format)' can only be used with the '\(format)' model.provider"))
    }

    private static func strings(_ s: String...) -> [Value] { s.map(Value.string) }

    /// A string field with `one_of`.
    private static func oneOf(_ s: String...) -> Field { Field.string.with { $0.oneOf = s.map(Value.string) } }

    /// An optional record (Kong's `required = false`).
    private static func optionalRecord(_ fields: [(String, Field)], checks: [EntityCheck] = []) -> Field {
        Field.record(Schema.record(fields, entityChecks: checks)).with { $0.explicitlyOptional = true }
    }

    private static let referenceableString = Field.string.with { $0.referenceable = true }

    // MARK: kong/llm/schemas/init.lua

    private static let auth = optionalRecord([
        ("header_name", referenceableString),
        ("header_value", referenceableString),
        ("param_name", referenceableString),
        ("param_value", referenceableString),
        ("param_location", oneOf("query", "body")),
        ("gcp_use_service_account", Field.boolean.defaulting(false)),
        ("gcp_service_account_json", referenceableString),
        ("aws_access_key_id", referenceableString),
        ("aws_secret_access_key", referenceableString),
        ("allow_override", Field.boolean.defaulting(false)),
    ])

    private static let modelOptions = optionalRecord([
        ("max_tokens", Field.integer),
        ("input_cost", Field.number.with { $0.gt = 0 }),
        ("output_cost", Field.number.with { $0.gt = 0 }),
        ("temperature", Field.number.with { $0.between = 0...5 }),
        ("top_p", Field.number.with { $0.between = 0...1 }),
        ("top_k", Field.integer.with { $0.between = 0...500 }),
        ("anthropic_version", Field.string),
        ("azure_instance", Field.string),
        ("azure_api_version", Field.string.defaulting("2023-05-15")),
        ("azure_deployment_id", Field.string),
        ("llama2_format", oneOf("raw", "openai", "ollama")),
        ("mistral_format", oneOf("openai", "ollama")),
        ("upstream_url", Typedefs.url),
        ("upstream_path", Field.string.with {
            $0.deprecation = Schema.DeprecationNotice(
                "llm: config.model.options.upstream_path is deprecated, please use config.model.options.upstream_url instead",
                removalInVersion: "4.0")
        }),
        ("gemini", optionalRecord(
            [("api_endpoint", Field.string), ("project_id", Field.string), ("location_id", Field.string)],
            checks: [.mutuallyRequired(["api_endpoint", "project_id", "location_id"])])),
        ("bedrock", optionalRecord([("aws_region", Field.string)])),
        ("huggingface", optionalRecord([("use_cache", Field.boolean), ("wait_for_model", Field.boolean)])),
    ])

    private static let model = Field.record(
        Schema.record([
            ("provider", oneOf("openai", "azure", "anthropic", "cohere", "mistral", "llama2", "gemini", "bedrock", "huggingface").isRequired),
            ("name", Field.string),
            ("options", modelOptions),
        ])
    ).isRequired

    private static let logging = Field.record(
        Schema.record([
            ("log_statistics", Field.boolean.isRequired.defaulting(false)),
            ("log_payloads", Field.boolean.isRequired.defaulting(false)),
        ])
    ).isRequired

    /// The llm `config_schema` fields.
    private static let llmFields: [(String, Field)] = [
        ("route_type", oneOf("llm/v1/chat", "llm/v1/completions", "preserve").isRequired),
        ("auth", auth),
        ("model", model),
        ("logging", logging),
    ]

    /// The route types whose providers cannot give statistics (`UNSUPPORTED_LOG_STATISTICS`).
    private static let unsupportedLogStatistics = ["llm/v1/completions": ["anthropic"]]

    /// The llm `config_schema` entity checks.
    private static let llmChecks: [EntityCheck] = {
        /// `conditional_at_least_one_of`: `provider` needs `model.options.<option>`.
        func needs(_ provider: String, _ option: String, _ err: String) -> EntityCheck {
            .conditionalAtLeastOneOf(
                .init(
                    ifField: "model.provider", ifMatch: { $0.oneOf = [.string(provider)] },
                    thenAtLeastOneOf: ["model.options.\(option)"], thenErr: err))
        }
        return [
            .conditional(
                .init(
                    ifField: "model.provider", ifMatch: { $0.oneOf = strings("bedrock", "gemini") },
                    thenField: "auth.allow_override", thenMatch: { $0.eq = false },
                    thenErr: "bedrock and gemini only support auth.allow_override = false")),
            .mutuallyRequired(["auth.header_name", "auth.header_value"]),
            .mutuallyRequired(["auth.param_name", "auth.param_value", "auth.param_location"]),
            needs("llama2", "llama2_format", "must set %s for llama2 provider"),
            needs("mistral", "mistral_format", "must set %s for mistral provider"),
            needs("anthropic", "anthropic_version", "must set %s for anthropic provider"),
            needs("azure", "azure_instance", "must set %s for azure provider"),
            needs("azure", "azure_api_version", "must set %s for azure provider"),
            needs("azure", "azure_deployment_id", "must set %s for azure provider"),
            needs("llama2", "upstream_url", "must set %s for self-hosted providers/models"),
            .custom(
                .init(fieldSources: ["route_type", "model", "logging"]) { entity in
                    guard entity["logging"]?["log_statistics"]?.boolValue == true,
                        let route = entity["route_type"]?.stringValue,
                        let provider = entity["model"]?["provider"]?.stringValue,
                        unsupportedLogStatistics[route]?.contains(provider) == true
                    else { return nil }
                    return "\(provider) does not support statistics when route_type is \(route)"
                }),
        ]
    }()

    // MARK: kong/plugins/ai-proxy/schema.lua

    /// ai-proxy's own `config` fields, after the llm ones.
    private static let proxyFields: [(String, Field)] = [
        ("response_streaming", oneOf("allow", "deny", "always").defaulting("allow")),
        ("max_request_body_size", Field.integer.with {
            $0.defaultValue = .integer(8 * 1024)
            $0.gt = 0
        }),
        ("model_name_header", Field.boolean.defaulting(true)),
        ("llm_format", oneOf("openai", "bedrock", "gemini").defaulting("openai")),
    ]
}
