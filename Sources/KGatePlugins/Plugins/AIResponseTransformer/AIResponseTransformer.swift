import KGateSchema
import NIOCore
import NIOHTTP1

/// Kong's `ai-response-transformer` (PRIORITY 768): in `access` the plugin sends the request to
/// the service itself (one request, the route's upstream path, the client's method, headers
/// and body), gives the answer's body to an LLM (`config.llm`, any of ai-proxy's providers)
/// with `prompt` as the system message, and answers the client with the upstream's
/// status and headers and the LLM's text (or its first match of
/// `transformation_extract_pattern`). With `parse_llm_response_json_instructions` the text is
/// JSON giving the `status`, `headers` and `body` to answer with.
///
/// A service that cannot be reached is Kong's 500 `failed to connect to upstream: ...`; an LLM
/// call that fails, or an answer without choices or a match, Kong's 400.
public final class AIResponseTransformerPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var prompt: String
        var pattern: String?
        var jsonInstructions: Bool
        var maxBodySize: Int
        var llm: LLMSubrequest
        var verify: Bool
        var httpProxy: PluginHTTPClient.ForwardProxy?
        var httpsProxy: PluginHTTPClient.ForwardProxy?
        var pluginID: String
    }

    /// `ai-response-transformer`.
    public static let name = "ai-response-transformer"
    /// 768.
    public static let priority = 768
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's schema: the AI transformer fields and `parse_llm_response_json_instructions`.
    public static let schema = AITransformerSchema.schema(
        name, extra: [("parse_llm_response_json_instructions", Field.boolean.isRequired.defaulting(false))])

    private let clients = PluginHTTPClients()

    /// Makes the plugin.
    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let llm = try AITransformerSchema.subrequest(config)
        return Config(
            prompt: config.string("prompt") ?? "", pattern: config.string("transformation_extract_pattern"),
            jsonInstructions: config.bool("parse_llm_response_json_instructions"),
            maxBodySize: config.integer("max_request_body_size") ?? 8192, llm: llm,
            verify: config["https_verify"]?.boolValue ?? true, httpProxy: AITransformerSchema.proxy(config, "http_proxy"),
            httpsProxy: AITransformerSchema.proxy(config, "https_proxy"), pluginID: scope.id)
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if try config.llm.refusedUnsigned(&ctx) { return }
        guard let service = ctx.serviceEntity, let host = service.string("host") else { return }
        let tls = service.string("protocol") == "https"
        let target = ctx.routedTarget ?? ctx.request.path
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? target
        let query = question.map { String(target[target.index(after: $0)...]) }
        var endpoint = PluginHTTPClient.Endpoint(
            tls: tls, host: host, port: service.integer("port") ?? (tls ? 443 : 80), path: path, verify: config.verify)
        endpoint.proxy = tls ? config.httpsProxy : config.httpProxy
        var headers = HTTPHeaders()
        for field in ctx.request.headers where !["transfer-encoding", "content-length", "host"].contains(HTTPFields.lowercased(field.name)) {
            headers.add(name: field.name, value: field.value)
        }
        let body = LLMRequest.rawBody(ctx.request, maxFileSize: config.maxBodySize) ?? []
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        let method = HTTPMethod(rawValue: ctx.request.method)
        let (upstream, llmClient, sentHeaders) = (clients.client(for: endpoint), clients.client(for: config.llm.endpoint), headers)
        let (llm, pattern, prompt) = (config.llm, config.pattern, config.prompt)
        let started = WallClock.now()
        ctx.wait(forTask: { () async throws -> Outcome in
            let response: PluginHTTPClient.Response
            do {
                response = try await upstream.send(method: method, headers: sentHeaders, body: body, query: query, timeout: llm.timeout)
            } catch {
                return .failed(500, "failed to connect to upstream: \(error)", nil)
            }
            var answer = response.bytes
            if response.headers.first(name: "Content-Encoding") == "gzip" {
                answer = RawDeflate.inflate(answer, windowBits: 31) ?? answer
            }
            let request: [UInt8]
            switch llm.body(system: prompt, user: String(decoding: answer, as: UTF8.self)) {
            case .success(let b): request = b
            case .failure(let failure): return .failed(400, failure.message, nil)
            }
            let reply: Result<LLMAnswer, LLMSubrequest.Failure>
            do {
                reply = llm.reply(try await llm.send(request, with: llmClient))
            } catch {
                return .failed(400, "failed to introspect request with AI service: \(error)", nil)
            }
            switch llm.content(of: reply, pattern: pattern) {
            case .success(let text): return .transformed(response, text, reply)
            case .failure(let failure): return .failed(400, failure.message, reply)
            }
        }) { [jsonInstructions = config.jsonInstructions, pluginID = config.pluginID] ctx, result in
            let outcome = try result.get()
            if let reply = outcome.reply {
                llm.recordAnalytics(of: reply, startedAt: started, plugin: Self.name, pluginID: pluginID, clientBody: body, &ctx)
            }
            switch outcome {
            case .failed(let status, let message, _):
                try ctx.exit(status, body: .json(.object(["error": .object(["message": .string(message)])])))
            case .transformed(let response, let text, _):
                try Self.answer(response, text, jsonInstructions: jsonInstructions, &ctx)
            }
        }
    }

    /// What the two calls gave, with the LLM's answer when there was one.
    enum Outcome: Sendable {
        case transformed(PluginHTTPClient.Response, String, Result<LLMAnswer, LLMSubrequest.Failure>)
        case failed(Int, String, Result<LLMAnswer, LLMSubrequest.Failure>?)

        var reply: Result<LLMAnswer, LLMSubrequest.Failure>? {
            switch self {
            case .transformed(_, _, let reply): reply
            case .failed(_, _, let reply): reply
            }
        }
    }

    /// Answers with the upstream's status and headers (less their framing) and the LLM's text,
    /// or what the text's JSON instructions say.
    static func answer(_ response: PluginHTTPClient.Response, _ text: String, jsonInstructions: Bool, _ ctx: inout PluginContext) throws {
        var headers = HTTPFields()
        for (name, value) in response.headers
        where !["content-length", "content-encoding", "transfer-encoding"].contains(HTTPFields.lowercased(name)) {
            headers.add(name, value)
        }
        guard jsonInstructions else { return try ctx.exit(response.status, body: .bytes(Array(text.utf8)), headers: headers) }
        guard case .object(let instructions)? = KongJSONEncoderShim.decode(Array(text.utf8)) else {
            return try ctx.exit(500, body: .json(.object(["error": .object([
                "message": .string("failed to parse JSON response instructions from AI backend: input not table or string"),
            ])])))
        }
        for (name, value) in instructions["headers"]?.objectValue ?? [:] { headers.set(name, value.luaString) }
        let body: PluginExit.Body
        switch instructions["body"] {
        case .string(let s)?: body = .bytes(Array(s.utf8))
        case let value?: body = .json(value)
        case nil: body = .json(.object(instructions))
        }
        try ctx.exit(instructions["status"]?.integerValue ?? 200, body: body, headers: headers)
    }
}
