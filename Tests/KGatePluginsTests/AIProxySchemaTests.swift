import KGateConfig
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `ai-proxy` config schema (`spec/03-plugins/38-ai-proxy/00-config_spec.lua`): the
/// field and entity checks with Kong's messages, and the defaults filled in.
@Suite struct AIProxySchemaTests {
    static let catalog = EntityCatalog(pluginConfigSchemas: ["ai-proxy": AIProxySchema.schema])
    static let loader = DeclarativeLoader(catalog: catalog)

    /// A global ai-proxy plugin loaded: its stored `config`, or the plugin's errors as Kong's
    /// `fields` show them (`config` and the plugin-level `@entity`), objects' keys sorted.
    static func load(_ config: Value, protocols: Value? = nil) -> (config: Value?, errors: Value?) {
        var plugin: Object = ["name": "ai-proxy", "config": config]
        if let protocols { plugin["protocols"] = protocols }
        let input: Value = ["_format_version": "3.0", "plugins": [.object(plugin)]]
        switch loader.load(bytes: Array(input.jsonText.utf8), fileName: "kong.json") {
        case .success(let loaded):
            return (loaded.entities["plugins"]?.values.first?["config"].map(sorted), nil)
        case .failure(let error):
            return (nil, sorted(KongErrorBody.fieldsValue(error.fields)["plugins"]?.arrayValue?.first ?? .null))
        }
    }

    static func errors(_ config: Value) -> Value? { load(config).errors }

    /// The first config-level (`config.@entity`) error.
    static func configEntityError(_ config: Value) -> String? {
        errors(config)?["config"]?["@entity"]?.arrayValue?.first?.stringValue
    }

    static func sorted(_ value: Value) -> Value {
        switch value {
        case .object(let o): return .object(Object(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.map { ($0.key, sorted($0.value)) }))
        case .array(let a): return .array(a.map(sorted))
        default: return value
        }
    }

    /// A config of Kong's spec: `llm/v1/chat`, `provider`, and the given parts merged in.
    static func config(
        _ provider: String, route: String = "llm/v1/chat", auth: Value? = nil, options: Object = [:], extra: Object = [:]
    ) -> Value {
        var o: Object = ["max_tokens": 256, "temperature": 1.0]
        o.merge(options) { _, new in new }
        var c: Object = ["route_type": .string(route), "model": ["name": "model-x", "provider": .string(provider), "options": .object(o)]]
        if let auth { c["auth"] = auth }
        c.merge(extra) { _, new in new }
        return .object(c)
    }

    static let header: Value = ["header_name": "Authorization", "header_value": "Bearer token"]
    static let allAuth: Value = [
        "param_name": "apikey", "param_value": "key", "param_location": "query",
        "header_name": "Authorization", "header_value": "Bearer token",
    ]
    static let nowhere: Object = ["upstream_url": "http://nowhere"]

    @Test func schemaIsWellFormed() throws {
        let plugins = try #require(Self.catalog.schemas["plugins"])
        #expect(plugins.definitionErrors() == [])
    }

    // MARK: - Kong's 00-config_spec.lua

    @Test func selfHostedLlama2NeedsUpstreamURL() {
        let c = Self.config("llama2", auth: Self.header, options: ["llama2_format": "raw"])
        #expect(Self.configEntityError(c) == "must set 'model.options.upstream_url' for self-hosted providers/models")
        #expect(Self.configEntityError(Self.config("llama2", options: Self.nowhere)) == "must set 'model.options.llama2_format' for llama2 provider")
    }

    @Test func selfHostedModelsNeedNoAuth() {
        #expect(Self.errors(Self.config("llama2", options: Self.nowhere.merging(["llama2_format": "raw"]) { $1 })) == nil)
        #expect(Self.errors(Self.config("mistral", options: Self.nowhere.merging(["mistral_format": "ollama"]) { $1 })) == nil)
        // mistral.ai is a managed service too: no upstream_url needed (Kong's pending case).
        #expect(Self.errors(Self.config("mistral", options: ["mistral_format": "openai"])) == nil)
        #expect(Self.configEntityError(Self.config("mistral")) == "must set 'model.options.mistral_format' for mistral provider")
    }

    @Test func anthropicNeedsVersion() {
        let header: Value = ["header_name": "x-api-key", "header_value": "anthropic_key"]
        #expect(Self.configEntityError(Self.config("anthropic", auth: header)) == "must set 'model.options.anthropic_version' for anthropic provider")
        #expect(Self.errors(Self.config("anthropic", auth: header, options: ["anthropic_version": "2021-09-01"])) == nil)
    }

    @Test func anthropicCompletionsHasNoStatistics() {
        let c = Self.config(
            "anthropic", route: "llm/v1/completions", auth: ["header_name": "x-api-key", "header_value": "anthropic_key"],
            options: ["anthropic_version": "2021-09-01"], extra: ["logging": ["log_statistics": true]])
        #expect(Self.errors(c) == ["config": ["@entity": ["anthropic does not support statistics when route_type is llm/v1/completions"]]])
        // Without statistics, or on chat, it is fine.
        #expect(Self.errors(Self.config(
            "anthropic", route: "llm/v1/completions", options: ["anthropic_version": "v"])) == nil)
        #expect(Self.errors(Self.config(
            "anthropic", options: ["anthropic_version": "v"], extra: ["logging": ["log_statistics": true]])) == nil)
    }

    @Test func azureNeedsInstanceAndDeployment() {
        #expect(Self.configEntityError(Self.config("azure", auth: Self.header)) == "must set 'model.options.azure_instance' for azure provider")
        #expect(Self.errors(Self.config("azure", options: ["azure_instance": "i"])) == [
            "config": ["@entity": ["must set 'model.options.azure_deployment_id' for azure provider"]],
        ])
        // azure_api_version has a default; an explicit null is an error.
        #expect(Self.errors(Self.config("azure", options: ["azure_instance": "i", "azure_deployment_id": "d", "azure_api_version": .null])) == [
            "config": ["@entity": ["must set 'model.options.azure_api_version' for azure provider"]],
        ])
        #expect(Self.errors(Self.config("azure", options: ["azure_instance": "i", "azure_deployment_id": "d"])) == nil)
    }

    @Test func headerAuthIsAllOrNone() {
        #expect(Self.errors(Self.config("openai", auth: ["header_name": "Authorization"], options: Self.nowhere)) == [
            "config": ["@entity": ["all or none of these fields must be set: 'auth.header_name', 'auth.header_value'"]],
        ])
        #expect(Self.errors(Self.config("openai", auth: Self.header, options: Self.nowhere)) == nil)
    }

    @Test func paramAuthIsAllOrNone() {
        #expect(Self.errors(Self.config("openai", auth: ["param_name": "apikey", "param_value": "key"], options: Self.nowhere)) == [
            "config": ["@entity": ["all or none of these fields must be set: 'auth.param_name', 'auth.param_value', 'auth.param_location'"]],
        ])
        let param: Value = ["param_name": "apikey", "param_value": "key", "param_location": "query"]
        #expect(Self.errors(Self.config("openai", auth: param, options: Self.nowhere)) == nil)
        #expect(Self.errors(Self.config("openai", auth: Self.allAuth, options: Self.nowhere)) == nil)
    }

    @Test func bedrockAndGeminiRefuseAllowOverride() {
        var auth = Self.allAuth.objectValue!
        auth["allow_override"] = true
        for provider in ["bedrock", "gemini"] {
            #expect(Self.errors(Self.config(provider, auth: .object(auth), options: Self.nowhere)) == [
                "config": [
                    "@entity": ["bedrock and gemini only support auth.allow_override = false"],
                    "auth": ["allow_override": "value must be false"],
                ],
            ])
        }
        #expect(Self.errors(Self.config("openai", auth: .object(auth), options: Self.nowhere)) == nil)
    }

    @Test func nativeFormatsNeedChat() {
        var auth = Self.allAuth.objectValue!
        auth["allow_override"] = false
        let completions = Self.config(
            "gemini", route: "llm/v1/completions", auth: .object(auth), options: Self.nowhere, extra: ["llm_format": "gemini"])
        #expect(Self.errors(completions) == [
            "@entity": ["native provider options in llm_format can only be used with the 'llm/v1/chat' route_type"],
            "config": ["route_type": "value must be llm/v1/chat"],
        ])
        #expect(Self.errors(Self.config("gemini", auth: .object(auth), options: Self.nowhere, extra: ["llm_format": "gemini"])) == nil)
    }

    @Test func nativeFormatsNeedTheirProvider() {
        var auth = Self.allAuth.objectValue!
        auth["allow_override"] = false
        for format in ["bedrock", "gemini"] {
            let wrong = Self.config("openai", auth: .object(auth), options: Self.nowhere, extra: ["llm_format": .string(format)])
            #expect(Self.errors(wrong) == [
                "@entity": [.string("native llm_format '\(format)' can only be used with the '\(format)' model.provider")],
                "config": ["model": ["provider": .string("value must be \(format)")]],
            ])
            let right = Self.config(format, auth: ["allow_override": false], options: Self.nowhere, extra: ["llm_format": .string(format)])
            #expect(Self.errors(right) == nil)
        }
    }

    // MARK: - Defaults and field checks

    @Test func defaults() throws {
        let minimal = Self.load(["route_type": "llm/v1/chat", "model": ["provider": "openai"]])
        #expect(minimal.errors == nil)
        // Kong's `required = false` records stay null.
        #expect(minimal.config == Self.sorted([
            "route_type": "llm/v1/chat", "auth": .null,
            "model": ["provider": "openai", "name": .null, "options": .null],
            "logging": ["log_statistics": false, "log_payloads": false],
            "response_streaming": "allow", "max_request_body_size": 8192, "model_name_header": true, "llm_format": "openai",
        ]))

        let given = Self.load(Self.config("openai", auth: Self.header))
        #expect(given.errors == nil)
        let config = try #require(given.config)
        #expect(config["auth"] == Self.sorted([
            "header_name": "Authorization", "header_value": "Bearer token", "param_name": .null, "param_value": .null,
            "param_location": .null, "gcp_use_service_account": false, "gcp_service_account_json": .null,
            "aws_access_key_id": .null, "aws_secret_access_key": .null, "allow_override": false,
        ]))
        #expect(config["model"]?["options"] == Self.sorted([
            "max_tokens": 256, "input_cost": .null, "output_cost": .null, "temperature": 1, "top_p": .null, "top_k": .null,
            "anthropic_version": .null, "azure_instance": .null, "azure_api_version": "2023-05-15",
            "azure_deployment_id": .null, "llama2_format": .null, "mistral_format": .null, "upstream_url": .null,
            "upstream_path": .null, "gemini": .null, "bedrock": .null, "huggingface": .null,
        ]))
    }

    @Test func requiredFields() {
        #expect(Self.errors([:]) == Self.sorted(["config": ["route_type": "required field missing", "model": ["provider": "required field missing"]]]))
        #expect(Self.errors(["route_type": "llm/v1/chat", "model": .null]) == ["config": ["model": "required field missing"]])
    }

    @Test func fieldChecks() {
        func error(_ options: Object = [:], extra: Object = [:]) -> Value? {
            Self.errors(Self.config("openai", options: options, extra: extra))?["config"]
        }
        #expect(error(extra: ["route_type": "llm/v2"]) == ["route_type": "expected one of: llm/v1/chat, llm/v1/completions, preserve"])
        #expect(error(["temperature": 5.5])?["model"]?["options"]?["temperature"] == "value should be between 0 and 5")
        #expect(error(["top_p": 2])?["model"]?["options"]?["top_p"] == "value should be between 0 and 1")
        #expect(error(["top_k": 501])?["model"]?["options"]?["top_k"] == "value should be between 0 and 500")
        #expect(error(["input_cost": 0])?["model"]?["options"]?["input_cost"] == "value must be greater than 0")
        #expect(error(["output_cost": -1])?["model"]?["options"]?["output_cost"] == "value must be greater than 0")
        #expect(error(["max_tokens": 1.5])?["model"]?["options"]?["max_tokens"] == "expected an integer")
        #expect(error(["llama2_format": "x"])?["model"]?["options"]?["llama2_format"] == "expected one of: raw, openai, ollama")
        #expect(error(["mistral_format": "raw"])?["model"]?["options"]?["mistral_format"] == "expected one of: openai, ollama")
        #expect(error(["upstream_url": "nowhere"])?["model"]?["options"]?["upstream_url"] != nil)
        #expect(error(["gemini": ["project_id": "p"]])?["model"]?["options"]?["gemini"] == [
            "@entity": ["all or none of these fields must be set: 'api_endpoint', 'project_id', 'location_id'"],
        ])
        #expect(error(["gemini": ["api_endpoint": "e", "project_id": "p", "location_id": "l"], "bedrock": ["aws_region": "r"]]) == nil)
        #expect(error(extra: ["response_streaming": "never"]) == ["response_streaming": "expected one of: allow, deny, always"])
        #expect(error(extra: ["max_request_body_size": 0]) == ["max_request_body_size": "value must be greater than 0"])
        #expect(error(extra: ["llm_format": "cohere"]) == ["llm_format": "expected one of: openai, bedrock, gemini"])
        #expect(error(extra: ["model_name_header": "yes"]) == ["model_name_header": "expected a boolean"])
        #expect(error(extra: ["auth": ["param_location": "header"]])?["auth"]?["param_location"] == "expected one of: query, body")
        #expect(Self.errors(Self.config("vertex"))?["config"]?["model"]?["provider"]
            == "expected one of: openai, azure, anthropic, cohere, mistral, llama2, gemini, bedrock, huggingface")
        // The deprecated upstream_path is still accepted; secrets may be vault references.
        #expect(error(["upstream_path": "/v1/x"]) == nil)
        #expect(error(extra: ["auth": ["header_name": "Authorization", "header_value": "{vault://env/openai-key}"]]) == nil)
    }

    @Test func httpProtocolsOnly() {
        #expect(Self.load(Self.config("openai"), protocols: ["tcp"]).errors == [
            "protocols": ["expected one of: grpc, grpcs, http, https"],
        ])
        #expect(Self.load(Self.config("openai"), protocols: ["https"]).errors == nil)
    }
}

extension AIProxySchemaTests {
    /// What kgate does not run is refused with the config, by name: gemini's GCP service
    /// accounts, native `llm_format`s. The other providers and formats load.
    @Test func unsupportedProvidersAreRefused() {
        func runner(_ model: String, extra: String = "") throws -> PluginRunner {
            try Gate.runner("""
                _format_version: "3.0"
                plugins:
                - name: ai-proxy
                  config:
                    route_type: llm/v1/chat
                    model: \(model)
                    \(extra)
                """)
        }
        func refusal(_ model: String, extra: String = "") -> String? {
            do {
                _ = try runner(model, extra: extra)
                return nil
            } catch {
                return "\(error)"
            }
        }
        // (bedrock and gemini need `auth.allow_override: false`)
        #expect(refusal("{provider: bedrock, name: m}", extra: "llm_format: bedrock\n    auth: {allow_override: false}")?.contains("llm_format 'bedrock'") == true)
        #expect(refusal("{provider: gemini, name: g}", extra: "auth: {gcp_use_service_account: true, allow_override: false}")?.contains(
            "auth.gcp_use_service_account needs GCP OAuth tokens") == true)
        #expect(refusal("{provider: gemini, name: g}", extra: "llm_format: gemini\n    auth: {allow_override: false}")?.contains("llm_format 'gemini'") == true)
        for model in [
            "{provider: openai, name: gpt-4o}", "{provider: anthropic, name: c, options: {anthropic_version: '2023-06-01'}}",
            "{provider: cohere, name: command}", "{provider: mistral, name: m, options: {mistral_format: openai}}",
            "{provider: mistral, name: m, options: {mistral_format: ollama}}",
            "{provider: llama2, name: l, options: {llama2_format: raw, upstream_url: 'http://l'}}",
            "{provider: llama2, name: l, options: {llama2_format: ollama, upstream_url: 'http://l'}}",
            "{provider: huggingface, name: h}",
        ] {
            #expect(refusal(model) == nil, "\(model)")
        }
        #expect(refusal("{provider: gemini, name: g}", extra: "auth: {param_name: key, param_value: k, param_location: query, allow_override: false}") == nil)
        #expect(refusal("{provider: bedrock, name: m, options: {bedrock: {aws_region: us-east-1}}}", extra: "auth: {allow_override: false}") == nil)
    }
}

extension AIProxySchemaTests {
    /// ai-request-transformer's checks: a chat `llm`, proxy host and port together.
    @Test func requestTransformerSchema() {
        func load(_ extra: String, routeType: String = "llm/v1/chat") -> String? {
            Gate.loadError("""
                _format_version: "3.0"
                plugins:
                - name: ai-request-transformer
                  config:
                    prompt: p
                    \(extra)
                    llm: {route_type: \(routeType), model: {provider: openai, name: gpt-4o}}
                """)
        }
        #expect(load("http_timeout: 1000") == nil)
        #expect(load("http_timeout: 1000", routeType: "llm/v1/completions")?.contains(
            "'config.llm.route_type' must be 'llm/v1/chat' for AI transformer plugins") == true)
        #expect(load("http_proxy_host: proxy.test")?.contains("all or none of these fields must be set") == true)
    }
}
