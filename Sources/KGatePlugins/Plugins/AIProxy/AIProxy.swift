import KGateSchema

/// Kong's `ai-proxy` (PRIORITY 770): an `llm/v1/chat` or `llm/v1/completions` request in
/// OpenAI's format (or any, `preserve`) goes to the provider of `model` in the provider's format,
/// with the gateway's credentials, and its answer comes back in OpenAI's format with Kong's
/// analytics.
///
/// As Kong's shared filters do: the JSON body is read (at most `max_request_body_size`), its
/// prompts and format checked against `route_type`, the model fixed to `model.name` (a
/// request naming another is refused), `model.options` merged in (`$(headers.x)`,
/// `$(uri_captures.x)`, `$(query_params.x)` templates resolved from the request), converted by
/// the provider's driver (``LLMDriver``) and sent to `model.options.upstream_url` or the
/// provider's endpoint with `auth`'s header or parameter. A streamed request (`stream`, or
/// `response_streaming: always`) has its events converted to OpenAI's (kept as they are for the
/// OpenAI-API providers, and counted: completion tokens are estimated from the text when the
/// events carry none); another is buffered: a 200's body is converted (Kong's 500 when it
/// cannot be), gzip is undone for the analysis and redone for clients that accept it, and
/// `X-Kong-LLM-Model` names `provider/model`. With `logging.log_statistics` the log gets
/// `ai.proxy.meta` and `ai.proxy.usage` (tokens, cost by `input_cost`/`output_cost`, latency),
/// and with `log_payloads` `ai.proxy.payload`.
///
/// Providers: `openai`, `azure`, `anthropic`, `cohere`, `mistral` (`openai` and `ollama`
/// formats), `llama2` (`openai`, `raw`, `ollama`), `huggingface`, `gemini` with API-key auth,
/// and `bedrock` (chat on the Converse API, signed with AWS SigV4). Gemini's GCP
/// service-account auth and the native `llm_format`s are refused with the config.
public struct AIProxyPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var routeType: String
        /// `model`: provider, name and options, templates unresolved.
        var model: Object
        var provider: String
        /// The provider's format converter.
        var driver: any LLMDriver
        var auth: Auth
        var logStatistics: Bool
        var logPayloads: Bool
        var responseStreaming: String
        var maxRequestBodySize: Int
        var modelNameHeader: Bool
        var pluginID: String
    }

    /// `auth`.
    struct Auth: Sendable {
        var headerName: String?
        var headerValue: String?
        var paramName: String?
        var paramValue: String?
        var paramLocation: String?
        var allowOverride: Bool
    }

    /// `ai-proxy`.
    public static let name = "ai-proxy"
    /// 770.
    public static let priority = 770
    /// access, header_filter, body_filter (streamed answers), log.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter, .log]
    /// Kong's schema.
    public static let schema = AIProxySchema.schema

    /// Makes the plugin.
    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let model = config["model"]?.objectValue ?? [:]
        let auth = config["auth"]?.objectValue ?? [:]
        let driver = try LLMDrivers.driver(for: model, auth: auth)
        if let format = config.string("llm_format"), format != "openai" {
            throw UnsupportedProvider(
                provider: driver.provider, reason: "llm_format '\(format)' (native \(format) requests) is not supported by kgate, only 'openai'")
        }
        let logging = config["logging"]?.objectValue ?? [:]
        return Config(
            routeType: config.string("route_type") ?? "llm/v1/chat", model: model, provider: driver.provider, driver: driver,
            auth: Auth(
                headerName: auth.string("header_name"), headerValue: auth.string("header_value"),
                paramName: auth.string("param_name"), paramValue: auth.string("param_value"),
                paramLocation: auth.string("param_location"), allowOverride: auth.bool("allow_override")),
            logStatistics: logging.bool("log_statistics"), logPayloads: logging.bool("log_payloads"),
            responseStreaming: config.string("response_streaming") ?? "allow",
            maxRequestBodySize: config.integer("max_request_body_size") ?? 8192,
            modelNameHeader: config["model_name_header"]?.boolValue ?? true, pluginID: scope.id)
    }

    /// A provider (or a provider's option) kgate does not run.
    struct UnsupportedProvider: Error, CustomStringConvertible {
        let provider: String
        let reason: String
        var description: String { "ai-proxy: model.provider '\(provider)' is not supported by kgate: \(reason)" }
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    // MARK: Request

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var state = AIProxyState(start: WallClock.now())
        state.acceptGzip = Self.acceptsGzip(ctx.request.header("accept-encoding"))
        defer { ctx.plugin[AIProxyState.key] = state }
        // parse-request
        let request = LLMRequest.inUse(&ctx, maxBodySize: config.maxRequestBodySize)
        // normalize-request
        let model: Object
        switch AIProxyRequest.resolvedTemplates(.object(config.model), ctx) {
        case .success(let resolved): model = resolved.objectValue ?? [:]
        case .failure(let failure): return try LLMRequest.badRequest(failure.message, &ctx)
        }
        guard case .object(var body)? = request.body else {
            return try LLMRequest.badRequest("content-type header does not match request body, or bad JSON formatting", &ctx)
        }
        let preserve = config.routeType == "preserve"
        state.preserve = preserve
        if !preserve, !AIProxyRequest.hasPrompts(body) {
            return try LLMRequest.badRequest("request body doesn't contain valid prompts", &ctx)
        }
        var modelName = model.string("name")
        if modelName == nil, case .string(let requested)? = body["model"] { modelName = requested }
        if case .string(let requested)? = body["model"], !requested.isEmpty, requested != modelName {
            return try LLMRequest.badRequest("cannot use own model - must be: \(modelName ?? "")", &ctx)
        }
        guard modelName != nil || preserve else {
            return try LLMRequest.badRequest("model parameter not found in request, nor in gateway configuration", &ctx)
        }
        state.modelName = modelName
        if !preserve, let problem = AIProxyRequest.incompatibility(body, routeType: config.routeType) {
            return try LLMRequest.badRequest(problem, &ctx)
        }
        if LuaTable.isTruthy(body["stream"]) || config.responseStreaming == "always" {
            body["stream"] = .bool(true)
            if config.responseStreaming == "deny" {
                return try LLMRequest.badRequest("response streaming is not enabled for this LLM", &ctx)
            }
            state.stream = true
        } else {
            ctx.bufferedProxying = true
        }
        let driver = config.driver
        if let encoding = driver.acceptEncoding { ctx.request.setHeader("Accept-Encoding", encoding) }
        let options = model["options"]?.objectValue ?? [:]
        let llmModel = LLMModel(provider: config.provider, name: modelName, options: options)
        // to_format: the defaults merged into the client's table, then the provider's body.
        var inUse = body
        var sent = body
        if !preserve {
            inUse = LLMDrivers.mergingDefaults(body, options: options)
            switch driver.requestBody(inUse, model: llmModel, routeType: config.routeType) {
            case .success(let converted): sent = converted
            case .failure(let failure): return try LLMRequest.badRequest(failure.message, &ctx)
            }
            if driver.convertsInPlace { inUse = sent }
        }
        // The auth body parameter goes on the client's table, so into the body sent only when
        // the driver converted that table in place.
        let auth = config.auth
        if let name = auth.paramName, let value = auth.paramValue, auth.paramLocation == "body",
            inUse[name] == nil || !auth.allowOverride
        {
            inUse[name] = .string(value)
            if driver.convertsInPlace || preserve { sent[name] = .string(value) }
        }
        if !preserve { ctx.request.setBody(.json(.object(sent))) }
        LLMRequest.setInUse(.object(inUse), &ctx)
        // Kong estimates the prompt's tokens for providers whose answers may not count them.
        if !driver.countsTokens, let estimate = LLMDrivers.estimatedTokens(inUse, factor: state.stream ? 1.8 : 1.0) {
            state.promptTokens = estimate
        }
        // Kong's `_KEYBASTION`: a provider's cloud identity needs a region.
        if driver.lacksRegion {
            return try ctx.exit(500, body: .json(["error": ["message": "LLM request failed before proxying"]]))
        }
        state.model = llmModel
        AIProxyRequest.configureUpstream(config, model: llmModel, stream: state.stream, &ctx)
        if let identity = driver.awsIdentity { AIProxyRequest.sign(identity, &ctx) }
    }

    // MARK: Response

    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard var state = ctx.plugin[AIProxyState.key] as? AIProxyState else { return }
        defer { ctx.plugin[AIProxyState.key] = state }
        let fromService = ctx.response.fromService
        let upstreamGzipped = ctx.response.header("content-encoding") == "gzip"
        let upstreamType = ctx.response.header("content-type")
        // normalize-response-header
        if fromService {
            if state.stream {
                ctx.response.setHeader("Content-Type", "text/event-stream")
            } else if state.acceptGzip {
                ctx.response.clearHeader("Content-Length")
                ctx.response.setHeader("Content-Encoding", "gzip")
            } else {
                ctx.response.clearHeader("Content-Encoding")
            }
        } else {
            ctx.response.clearHeader("Content-Encoding")
        }
        // parse-json-response
        state.latency = Int(((WallClock.now() - state.start) * 1000).rounded(.down))
        guard fromService else { return }
        var decoded: Value?
        if !state.stream, var raw = ctx.response.body {
            if upstreamGzipped {
                raw = RawDeflate.inflate(raw, windowBits: 31) ?? raw
            }
            state.responseBody = raw
            decoded = KongJSONEncoderShim.decode(raw)
            state.record(decoded)
        }
        // normalize-json-response
        guard ctx.response.status == 200 else { return restoreBody(state, &ctx) }
        if config.modelNameHeader || ctx.request.header("kong-debug") != nil, let modelName = state.modelName {
            ctx.response.setHeader("X-Kong-LLM-Model", config.provider + "/" + modelName)
        }
        if state.stream, !state.preserve {
            // normalize-sse-chunk rewrites the events: the length changes.
            state.streamConverter = LLMStreamConverter(contentType: upstreamType)
            ctx.response.clearHeader("Content-Length")
        }
        if state.preserve || state.stream { return restoreBody(state, &ctx) }
        // The driver's post_request (Kong's `clear_response_headers`).
        if config.driver.clearsSetCookie { ctx.response.clearHeader("Set-Cookie") }
        let converted: Result<LLMAnswer, LLMDriverFailure>
        if let body = state.responseBody {
            converted = config.driver.answer(
                body, model: state.model ?? LLMModel(config.model), routeType: config.routeType, transformer: false)
        } else {
            converted = .failure(LLMDriverFailure("no response body found when transforming response"))
        }
        switch converted {
        case .success(let answer):
            state.responseBody = answer.body
            state.responseModel = nil
            state.record(answer.decoded)
        case .failure(let failure):
            ctx.response.setStatus(500)
            state.responseBody = Array(KongJSONEncoderShim.string(.object(["error": .object(["message": .string(failure.message)])])).utf8)
            state.responseModel = nil
        }
        restoreBody(state, &ctx)
    }

    /// normalize-sse-chunk: a converted stream's events as OpenAI's; at its end, the tokens
    /// counted (completion estimated from the text when the events had none) and the composite
    /// answer Kong logs.
    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard var state = ctx.plugin[AIProxyState.key] as? AIProxyState, var converter = state.streamConverter else { return }
        defer { ctx.plugin[AIProxyState.key] = state }
        let model = state.model ?? LLMModel(config.model)
        chunk = converter.convert(chunk, last: last, driver: config.driver, model: model, routeType: config.routeType)
        state.streamConverter = converter
        guard last else { return }
        state.streamConverter = nil
        state.promptTokens = converter.promptTokens + (config.driver.provider == "gemini" ? 0 : state.promptTokens)
        state.completionTokens = converter.completionTokens
        if config.logStatistics, state.completionTokens == 0 {
            let text = converter.text.drop { $0 == 32 || (9...13).contains($0) }.reversed().drop { $0 == 32 || (9...13).contains($0) }
            state.completionTokens = (text.count + 3) / 4
        }
        var composite: Object = [
            "choices": [.object([
                "finish_reason": converter.finishReason ?? .null, "index": 0, "logprobs": .null,
                "message": ["role": "assistant", "content": .string(String(decoding: converter.text, as: UTF8.self))],
            ])],
            "object": "chat.completion",
            "usage": .object([
                "prompt_tokens": .integer(state.promptTokens), "completion_tokens": .integer(state.completionTokens),
                "total_tokens": .integer(state.promptTokens + state.completionTokens),
            ]),
        ]
        if config.logPayloads { composite["response"] = .string(String(decoding: converter.text, as: UTF8.self)) }
        state.responseBody = Array(KongJSONEncoderShim.string(.object(composite)).utf8)
    }

    /// Puts the (possibly rewritten) buffered body back, gzipped for a client that accepts it.
    private func restoreBody(_ state: AIProxyState, _ ctx: inout PluginContext) {
        guard !state.stream, let body = state.responseBody, ctx.response.body != nil else { return }
        ctx.response.body = state.acceptGzip ? RawDeflate.deflate(body, windowBits: 31) ?? body : body
    }

    // MARK: Log

    /// serialize-analytics: `ai.proxy.meta`, `ai.proxy.usage`, and the payloads.
    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard config.logStatistics, let state = ctx.plugin[AIProxyState.key] as? AIProxyState else { return }
        let requestModel = state.modelName ?? "UNSPECIFIED"
        let responseModel = state.responseModel ?? requestModel
        ctx.serializedValues["ai.proxy.meta"] = .object([
            "plugin_id": .string(config.pluginID), "provider_name": .string(config.provider),
            "request_model": .string(requestModel), "response_model": .string(responseModel),
            "llm_latency": .integer(state.latency),
        ])
        let prompt = state.promptTokens
        let completion = state.completionTokens
        let options = config.model["options"]?.objectValue ?? [:]
        var cost = 0.0
        if let input = options.number("input_cost"), let output = options.number("output_cost") {
            cost = (Double(prompt) * input + Double(completion) * output) / 1_000_000
        }
        ctx.serializedValues["ai.proxy.usage"] = .object([
            "time_per_token": completion > 0 ? .number(Double(state.latency) / Double(completion)) : .integer(0),
            "prompt_tokens": .integer(prompt), "completion_tokens": .integer(completion),
            "total_tokens": .integer(prompt + completion), "cost": cost == cost.rounded() ? .integer(Int(cost)) : .number(cost),
        ])
        if config.logPayloads {
            ctx.serializedValues["ai.proxy.payload.request"] = ctx.request.body.map { .string(String(decoding: $0, as: UTF8.self)) }
            ctx.serializedValues["ai.proxy.payload.response"] = state.responseBody.map { .string(String(decoding: $0, as: UTF8.self)) }
        }
    }

    /// `Accept-Encoding` names gzip (Kong's `%f[%a]gzip%f[%A]`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        let bytes = Array(header.utf8)
        let word = Array("gzip".utf8)
        func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        guard bytes.count >= word.count else { return false }
        for i in 0...(bytes.count - word.count) where Array(bytes[i..<(i + word.count)]) == word {
            if (i == 0 || !isLetter(bytes[i - 1])) && (i + word.count == bytes.count || !isLetter(bytes[i + word.count])) {
                return true
            }
        }
        return false
    }
}

/// What ai-proxy keeps about one request from `access` to `log` (Kong's AI context and
/// metrics).
struct AIProxyState: Sendable {
    static let key = "state"

    /// When the request started (`record_request_start`).
    var start: Double
    var acceptGzip = false
    var preserve = false
    var stream = false
    var modelName: String?
    /// The model in use (templates resolved, the request's name when the config has none).
    var model: LLMModel?
    /// A stream being converted to OpenAI's events.
    var streamConverter: LLMStreamConverter?
    /// The upstream's body (gunzipped), then as sent.
    var responseBody: [UInt8]?
    /// Milliseconds from access to the response head (`llm_e2e_latency`).
    var latency = 0
    var promptTokens = 0
    var completionTokens = 0
    /// The answer's `model`, when it names one.
    var responseModel: String?

    init(start: Double) { self.start = start }

    /// Keeps the answer's `model` and `usage.prompt_tokens` / `usage.completion_tokens` (the
    /// upstream's answer, then the converted one).
    mutating func record(_ answer: Value?) {
        if case .string(let model)? = answer?["model"] { responseModel = model }
        guard case .object(let usage)? = answer?["usage"] else { return }
        if let prompt = usage["prompt_tokens"]?.integerValue { promptTokens = prompt }
        if let completion = usage["completion_tokens"]?.integerValue { completionTokens = completion }
    }
}
