import KGateSchema
import NIOCore

/// Kong's `ai-request-transformer` (PRIORITY 777): before proxying, the request body goes to
/// an LLM (`config.llm`, an OpenAI-API provider as ai-proxy's) with `prompt` as the system
/// message, and the first choice's answer (or its first match of
/// `transformation_extract_pattern`) becomes the body sent upstream. A failed call, an answer
/// without choices or without a match is Kong's 400 `{"error":{"message":...}}`.
public final class AIRequestTransformerPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var prompt: String
        var pattern: String?
        var maxBodySize: Int
        var llm: LLMSubrequest
        var provider: String
    }

    /// `ai-request-transformer`.
    public static let name = "ai-request-transformer"
    /// 777.
    public static let priority = 777
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's schema (`kong/plugins/ai-request-transformer/schema.lua`).
    public static let schema = AITransformerSchema.schema(name)

    /// Kept-alive clients by endpoint.
    private let clients = PluginHTTPClients()

    /// Makes the plugin.
    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let llm = config["llm"]?.objectValue ?? [:]
        return Config(
            prompt: config.string("prompt") ?? "", pattern: config.string("transformation_extract_pattern"),
            maxBodySize: config.integer("max_request_body_size") ?? 8192,
            llm: try AITransformerSchema.subrequest(config), provider: llm["model"]?["provider"]?.stringValue ?? "openai")
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    /// Sends the body to the LLM; its answer replaces the body.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let raw = LLMRequest.rawBody(ctx.request, maxFileSize: config.maxBodySize)
        let body = config.llm.body(system: config.prompt, user: raw.map { String(decoding: $0, as: UTF8.self) })
        let client = clients.client(for: config.llm.endpoint)
        let (llm, pattern, provider) = (config.llm, config.pattern, config.provider)
        ctx.wait(forTask: { try await llm.send(body, with: client) }) { ctx, result in
            let content: Result<String, LLMSubrequest.Failure>
            switch result {
            case .success(let response): content = LLMSubrequest.content(of: response, pattern: pattern, provider: provider)
            case .failure(let error): content = .failure(.init("failed to introspect request with AI service: \(error)"))
            }
            switch content {
            case .success(let text): ctx.request.setRawBody(Array(text.utf8))
            case .failure(let failure): try ctx.exit(400, body: .json(.object(["error": .object(["message": .string(failure.message)])])))
            }
        }
    }
}

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
