import KGateRegex
import KGateSchema
import NIOCore
import NIOHTTP1

/// A chat request a plugin sends an OpenAI-API provider itself (Kong's drivers' `subrequest`
/// and `ai_introspect_body`, for the AI transformer plugins): a system prompt and the user's
/// text in, the first choice's message out.
struct LLMSubrequest: Sendable {
    let endpoint: PluginHTTPClient.Endpoint
    /// `?api-version=...` for azure.
    let query: String?
    let headers: HTTPHeaders
    let modelName: String?
    let options: Object
    let timeout: TimeAmount
    let provider: String
    /// `logging.log_statistics` and `logging.log_payloads` of `config.llm`.
    let logStatistics: Bool
    let logPayloads: Bool

    /// The request for a plugin's `config.llm`; throws for providers kgate does not convert
    /// for (as ai-proxy refuses them).
    init(llm: Object, timeout: Int, verify: Bool, httpProxy: PluginHTTPClient.ForwardProxy?, httpsProxy: PluginHTTPClient.ForwardProxy?) throws {
        let model = llm["model"]?.objectValue ?? [:]
        let provider = try AIProxyRequest.supportedProvider(model)
        let options = model["options"]?.objectValue ?? [:]
        guard let url = AIProxyRequest.providerURL(provider, options: options, routeType: "llm/v1/chat", upstreamPath: nil),
            var endpoint = PluginHTTPClient.Endpoint(url: url)
        else {
            throw PluginHTTPClient.Failure(description: "invalid LLM URL \(options.string("upstream_url") ?? "")")
        }
        let query = provider == "azure" ? "api-version=" + QueryArgs.encode(options.string("azure_api_version") ?? "2023-05-15") : nil
        endpoint.verify = verify
        endpoint.proxy = endpoint.tls ? httpsProxy : httpProxy
        self.endpoint = endpoint
        self.query = query
        var headers = HTTPHeaders([("Accept", "application/json"), ("Content-Type", "application/json")])
        let auth = llm["auth"]?.objectValue ?? [:]
        if let name = auth.string("header_name"), let value = auth.string("header_value") { headers.replaceOrAdd(name: name, value: value) }
        self.headers = headers
        modelName = model.string("name")
        self.options = options
        self.timeout = .milliseconds(Int64(timeout))
        self.provider = provider
        let logging = llm["logging"]?.objectValue ?? [:]
        logStatistics = logging.bool("log_statistics")
        logPayloads = logging.bool("log_payloads")
    }

    /// The chat request's JSON (the openai driver's `to_format` of Kong's two messages).
    func body(system: String, user: String?) -> [UInt8] {
        var request: Object = [
            "messages": .array([
                .object(["role": "system", "content": .string(system)]),
                .object(["role": "user", "content": user.map(Value.string) ?? .null]),
            ]),
        ]
        AIProxyRequest.toOpenAIFormat(&request, model: modelName, options: options)
        return Array(KongJSONEncoderShim.string(.object(request)).utf8)
    }

    /// Sends the chat request.
    func send(_ body: [UInt8], with client: PluginHTTPClient) async throws -> PluginHTTPClient.Response {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        return try await client.send(method: .POST, headers: headers, body: body, query: query, timeout: timeout)
    }

    /// The first choice's message content of an answer, matched against `pattern` (Kong's
    /// `ijom` flags, the whole match) when given; Kong's message when there is none.
    func content(of response: PluginHTTPClient.Response, pattern: String?) -> Result<String, Failure> {
        guard response.status <= 299 else {
            return .failure(Failure("failed to introspect request with AI service: status code \(response.status)"))
        }
        guard let decoded = KongJSONEncoderShim.decode(response.bytes) else {
            return .failure(Failure(
                "failed to convert AI response to Kong format: transformation failed from type \(provider)://llm/v1/chat: failed to decode llm/v1/chat response"))
        }
        guard case .array(let choices)? = decoded["choices"] else {
            return .failure(Failure(
                "failed to convert AI response to Kong format: transformation failed from type \(provider)://llm/v1/chat: 'choices' not in llm/v1/chat response"))
        }
        guard case .string(let content)? = choices.first?["message"]?["content"] else {
            return .failure(Failure("no 'choices' in upstream AI service response"))
        }
        guard let pattern else { return .success(content) }
        guard let regex = try? PCRERegex(pattern, options: [.caseless, .multiline], matchLimit: PCRERegex.pluginMatchLimit) else {
            return .failure(Failure("failed regex matching ai response: invalid regular expression"))
        }
        let match: PCREMatch?
        do {
            match = try regex.firstMatch(in: content)
        } catch {
            return .failure(Failure("failed regex matching ai response: \(error)"))
        }
        guard let whole = match?[0] else {
            return .failure(Failure("AI response did not match specified regular expression"))
        }
        return .success(whole)
    }

    /// Kong's `post_request` analytics of a call, under `ai.<plugin>` in the log: `meta`
    /// (ids, models, latency), `usage` (tokens, time per token, cost) and `cache` with
    /// `log_statistics`; the payloads (`request`: the client's body, `response`: the LLM's)
    /// with `log_payloads`.
    func recordAnalytics(
        of response: PluginHTTPClient.Response, startedAt start: Double, plugin: String, pluginID: String,
        clientBody: [UInt8]?, _ ctx: inout PluginContext
    ) {
        let key = "ai." + plugin
        if logPayloads {
            ctx.serializedValues[key + ".payload.request"] = clientBody.map { .string(String(decoding: $0, as: UTF8.self)) }
            ctx.serializedValues[key + ".payload.response"] = .string(response.body)
        }
        guard logStatistics, let decoded = KongJSONEncoderShim.decode(response.bytes) else { return }
        let latency = Int(((WallClock.now() - start) * 1000).rounded(.down))
        var usage = Object()
        if case .object(let counts)? = decoded["usage"] {
            let completion = counts["completion_tokens"]?.integerValue
            if let completion { usage["time_per_token"] = .integer(completion > 0 ? latency / completion : 0) }
            for name in ["prompt_tokens", "completion_tokens", "total_tokens"] { usage[name] = counts[name] }
            if let prompt = counts["prompt_tokens"]?.integerValue, let completion,
                let input = options.number("input_cost"), let output = options.number("output_cost")
            {
                usage["cost"] = .number((Double(prompt) * input + Double(completion) * output) / 1_000_000)
            }
        }
        ctx.serializedValues[key + ".meta"] = .object([
            "plugin_id": .string(pluginID), "provider_name": .string(provider),
            "request_model": .string(modelName ?? "UNSPECIFIED"),
            "response_model": decoded["model"]?.stringValue.map(Value.string) ?? modelName.map(Value.string) ?? .null,
            "llm_latency": .integer(latency),
        ])
        ctx.serializedValues[key + ".usage"] = .object(usage)
        ctx.serializedValues[key + ".cache"] = .object([:])
    }

    /// Why an LLM call gave nothing to use (Kong's 400 message).
    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
