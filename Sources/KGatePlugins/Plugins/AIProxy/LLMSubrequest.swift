import KGateRegex
import KGateSchema
import NIOCore
import NIOHTTP1

/// A chat request a plugin sends an LLM itself (Kong's drivers' `subrequest` and
/// `ai_introspect_body`, for the AI transformer plugins): a system prompt and the user's text
/// in, converted by the provider's driver, the first choice's message out.
struct LLMSubrequest: Sendable {
    let endpoint: PluginHTTPClient.Endpoint
    /// `?api-version=...` for azure.
    let query: String?
    let headers: HTTPHeaders
    let model: LLMModel
    let driver: any LLMDriver
    /// `auth.param_name` and `param_value` when `param_location` is `body`.
    let bodyParameter: (name: String, value: String)?
    let timeout: TimeAmount
    /// `logging.log_statistics` and `logging.log_payloads` of `config.llm`.
    let logStatistics: Bool
    let logPayloads: Bool

    var provider: String { driver.provider }
    /// Answers Kong's plain 500 `LLM request failed before proxying` when the driver cannot
    /// sign (``LLMDriver/lacksRegion``); true when it did.
    func refusedUnsigned(_ ctx: inout PluginContext) throws -> Bool {
        guard driver.lacksRegion else { return false }
        try ctx.exit(500, body: .bytes(Array("LLM request failed before proxying".utf8)))
        return true
    }
    var modelName: String? { model.name }

    /// The request for a plugin's `config.llm`; throws for providers kgate does not run (as
    /// ai-proxy refuses them).
    init(llm: Object, timeout: Int, verify: Bool, httpProxy: PluginHTTPClient.ForwardProxy?, httpsProxy: PluginHTTPClient.ForwardProxy?) throws {
        let config = llm["model"]?.objectValue ?? [:]
        let auth = llm["auth"]?.objectValue ?? [:]
        driver = try LLMDrivers.driver(for: config, auth: auth)
        var model = LLMModel(config)
        // Kong's subrequests use `upstream_url` or the operation's path; only azure's takes
        // `upstream_path`.
        if driver.provider != "azure" { model.options["upstream_path"] = nil }
        guard let url = driver.endpoint(model, routeType: "llm/v1/chat", stream: false), var endpoint = PluginHTTPClient.Endpoint(url: url)
        else {
            throw PluginHTTPClient.Failure(description: "invalid LLM URL \(model.options.string("upstream_url") ?? "")")
        }
        let parameters = driver.queryParameters(model) { _ in nil }.compactMap { name, value in
            value.map { QueryArgs.encode(name) + "=" + QueryArgs.encode($0) }
        }
        endpoint.verify = verify
        endpoint.proxy = endpoint.tls ? httpsProxy : httpProxy
        self.endpoint = endpoint
        query = parameters.isEmpty ? nil : parameters.joined(separator: "&")
        var headers = HTTPHeaders([("Accept", "application/json"), ("Content-Type", "application/json")])
        for (name, value) in driver.requestHeaders(model) { headers.replaceOrAdd(name: name, value: value) }
        if driver.authStyle != .signed, let name = auth.string("header_name"), let value = auth.string("header_value") {
            headers.replaceOrAdd(name: name, value: value)
        }
        self.headers = headers
        if let name = auth.string("param_name"), let value = auth.string("param_value"), auth.string("param_location") == "body" {
            bodyParameter = (name, value)
        } else {
            bodyParameter = nil
        }
        self.model = model
        self.timeout = .milliseconds(Int64(timeout))
        let logging = llm["logging"]?.objectValue ?? [:]
        logStatistics = logging.bool("log_statistics")
        logPayloads = logging.bool("log_payloads")
    }

    /// The chat request's JSON: Kong's two messages through the driver's `to_format`, with the
    /// `auth` body parameter (`pre_request`).
    func body(system: String, user: String?) -> Result<[UInt8], Failure> {
        let userMessage: Value = ["role": "user", "content": user.map(Value.string) ?? .null]
        var messages: [Value] = [["role": "system", "content": .string(system)], userMessage]
        // Bedrock models without system prompts get it as the user's, with an assistant's
        // question before the text.
        if driver.awsIdentity != nil, let name = model.name,
            BedrockDriver.unsupportedSystemRolePatterns.contains(where: { BedrockDriver.luaFind(Array(name.utf8), Array($0.utf8)) })
        {
            messages = [["role": "user", "content": .string(system)], ["role": "assistant", "content": "What is the message?"], userMessage]
        }
        let request: Object = ["messages": .array(messages), "stream": false]
        switch driver.requestBody(LLMDrivers.mergingDefaults(request, options: model.options), model: model, routeType: "llm/v1/chat") {
        case .success(var body):
            if let (name, value) = bodyParameter { body[name] = .string(value) }
            return .success(Array(KongJSONEncoderShim.string(.object(body)).utf8))
        case .failure(let failure):
            return .failure(Failure(failure.message))
        }
    }

    /// Sends the chat request.
    func send(_ body: [UInt8], with client: PluginHTTPClient) async throws -> PluginHTTPClient.Response {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        if let identity = driver.awsIdentity {
            let credentials = try await identity.resolvedCredentials()
            let signature = identity.signature(credentials, host: endpoint.host, path: endpoint.path, body: body, at: Int(WallClock.now()))
            for (name, value) in signature { headers.replaceOrAdd(name: name, value: value) }
        }
        return try await client.send(method: .POST, headers: headers, body: body, query: query, timeout: timeout)
    }

    /// The LLM's answer in OpenAI's format (the driver's `from_format` of a 2xx), or Kong's
    /// message for a failed call.
    func reply(_ response: PluginHTTPClient.Response) -> Result<LLMAnswer, Failure> {
        guard response.status <= 299 else {
            let reason = provider == "huggingface" ? "Hugging Face API returned status \(response.status)" : "status code \(response.status)"
            return .failure(Failure("failed to introspect request with AI service: " + reason))
        }
        switch driver.answer(response.bytes, model: model, routeType: "llm/v1/chat", transformer: true) {
        case .success(let answer): return .success(answer)
        case .failure(let failure): return .failure(Failure("failed to convert AI response to Kong format: " + failure.message))
        }
    }

    /// The first choice's message content of a reply, matched against `pattern` (Kong's `ijom`
    /// flags, the whole match) when given; Kong's message when there is none.
    func content(of reply: Result<LLMAnswer, Failure>, pattern: String?) -> Result<String, Failure> {
        let answer: LLMAnswer
        switch reply {
        case .success(let a): answer = a
        case .failure(let failure): return .failure(failure)
        }
        guard case .string(let content)? = answer.decoded?["choices"]?.arrayValue?.first?["message"]?["content"] else {
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

    /// Kong's `pre_request` and `post_request` analytics of a call, under `ai.<plugin>` in the
    /// log: the client's body (`payload.request`) with `log_payloads`; for a converted answer,
    /// its body (`payload.response`), and `meta` (ids, models, latency), `usage` (tokens, time
    /// per token, cost) and `cache` with `log_statistics`.
    func recordAnalytics(
        of reply: Result<LLMAnswer, Failure>, startedAt start: Double, plugin: String, pluginID: String,
        clientBody: [UInt8]?, _ ctx: inout PluginContext
    ) {
        let key = "ai." + plugin
        if logPayloads {
            ctx.serializedValues[key + ".payload.request"] = clientBody.map { .string(String(decoding: $0, as: UTF8.self)) }
        }
        guard case .success(let answer) = reply else { return }
        if logPayloads { ctx.serializedValues[key + ".payload.response"] = .string(String(decoding: answer.body, as: UTF8.self)) }
        guard logStatistics, let decoded = answer.decoded else { return }
        let latency = Int(((WallClock.now() - start) * 1000).rounded(.down))
        var usage = Object()
        if case .object(let counts)? = decoded["usage"] {
            let completion = counts["completion_tokens"]?.integerValue
            if let completion { usage["time_per_token"] = .integer(completion > 0 ? latency / completion : 0) }
            for name in ["prompt_tokens", "completion_tokens", "total_tokens"] { usage[name] = counts[name] }
            if let prompt = counts["prompt_tokens"]?.integerValue, let completion,
                let input = model.options.number("input_cost"), let output = model.options.number("output_cost")
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
