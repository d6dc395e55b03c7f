import KGateSchema
import NIOCore

/// Kong's `ai-request-transformer` (PRIORITY 777): before proxying, the request body goes to
/// an LLM (`config.llm`, any of ai-proxy's providers) with `prompt` as the system
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
        var pluginID: String
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
        Config(
            prompt: config.string("prompt") ?? "", pattern: config.string("transformation_extract_pattern"),
            maxBodySize: config.integer("max_request_body_size") ?? 8192, llm: try AITransformerSchema.subrequest(config),
            pluginID: scope.id)
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    /// Sends the body to the LLM; its answer replaces the body.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if try config.llm.refusedUnsigned(&ctx) { return }
        let raw = LLMRequest.rawBody(ctx.request, maxFileSize: config.maxBodySize)
        let body: [UInt8]
        switch config.llm.body(system: config.prompt, user: raw.map { String(decoding: $0, as: UTF8.self) }) {
        case .success(let b): body = b
        case .failure(let failure): return try LLMRequest.badRequest(failure.message, &ctx)
        }
        let client = clients.client(for: config.llm.endpoint)
        let (llm, pattern, pluginID) = (config.llm, config.pattern, config.pluginID)
        let started = WallClock.now()
        ctx.wait(forTask: { try await llm.send(body, with: client) }) { ctx, result in
            let content: Result<String, LLMSubrequest.Failure>
            switch result {
            case .success(let response):
                let reply = llm.reply(response)
                llm.recordAnalytics(of: reply, startedAt: started, plugin: Self.name, pluginID: pluginID, clientBody: raw, &ctx)
                content = llm.content(of: reply, pattern: pattern)
            case .failure(let error): content = .failure(.init("failed to introspect request with AI service: \(error)"))
            }
            switch content {
            case .success(let text): ctx.request.setRawBody(Array(text.utf8))
            case .failure(let failure): try ctx.exit(400, body: .json(.object(["error": .object(["message": .string(failure.message)])])))
            }
        }
    }
}
