import KGateSchema

/// One provider's format (Kong's `kong.llm.drivers.<provider>`): how an OpenAI-format request
/// becomes the provider's (`to_format`), where it goes (`configure_request`'s URL and auth),
/// and how the provider's answer, whole or streamed, becomes OpenAI's (`from_format`).
///
/// ai-proxy and the AI transformer plugins (``LLMSubrequest``) use the same drivers; the
/// driver of a config is chosen once, by ``LLMDrivers/driver(for:auth:)``.
protocol LLMDriver: Sendable {
    /// `model.provider`, as Kong's messages name it.
    var provider: String { get }

    /// `to_format`: the client's request (`model.options` defaults already merged in, Kong's
    /// `merge_config_defaults`) as the body sent to the provider; Kong's 400 message when it
    /// cannot be converted.
    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure>

    /// `from_format` of a whole answer (a 200's body, gunzipped): the OpenAI-format answer, or
    /// Kong's message (`transformation failed from type ...`). `transformer`: the call is an AI
    /// transformer plugin's.
    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure>

    /// `configure_request`'s URL: `model.options.upstream_url` or the provider's endpoint for
    /// `routeType` (`stream`: the streaming operation, for providers that have one).
    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL?

    /// Headers the driver always sends (anthropic's `anthropic-version`).
    func requestHeaders(_ model: LLMModel) -> [(String, String)]

    /// Query arguments the driver sets (azure's `api-version`; nil removes it), given the
    /// client's value of a name.
    func queryParameters(_ model: LLMModel, clientValue: (String) -> String?) -> [(String, String?)]

    /// `from_format` of one streamed event (`stream/<route type>`); nil (or a frame-less output)
    /// when the event gives the client nothing.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput?

    /// The `Accept-Encoding` its `pre_request` sends upstream (no brotli), if any.
    var acceptEncoding: String? { get }
    /// Its `post_request` clears `Set-Cookie` (Kong's `clear_response_headers`).
    var clearsSetCookie: Bool { get }
    /// `to_format` changes the client's table in place, so the `auth` body parameter Kong sets on
    /// that table afterwards is in the body sent (openai, cohere, huggingface); the other drivers
    /// build a new table and the parameter never reaches the provider.
    var convertsInPlace: Bool { get }
    /// The provider's answers count prompt tokens (Kong's `streaming_has_token_counts`); for the
    /// others Kong estimates them from the request's words.
    var countsTokens: Bool { get }
    /// `configure_request`'s auth: the header and the query parameter, as ai-proxy sets them.
    var authStyle: LLMAuthStyle { get }
    /// The AWS identity requests are signed with (bedrock).
    var awsIdentity: AWSIdentity? { get }
    /// Kong's usual path handling: `route_type: preserve` keeps the client's path (Kong's
    /// `override_upstream_url`) unless `upstream_path` is set, and the path gets one leading `/`
    /// (`/` when the URL has none). Huggingface's sets the URL's path as it is, when it has one.
    var normalizesPath: Bool { get }
}

extension LLMDriver {
    func requestHeaders(_ model: LLMModel) -> [(String, String)] { [] }
    func queryParameters(_ model: LLMModel, clientValue: (String) -> String?) -> [(String, String?)] { [] }
    var acceptEncoding: String? { nil }
    var clearsSetCookie: Bool { false }
    var convertsInPlace: Bool { false }
    var countsTokens: Bool { true }
    var authStyle: LLMAuthStyle { .overridable }
    var awsIdentity: AWSIdentity? { nil }
    var normalizesPath: Bool { true }

    /// It signs with an AWS identity that has no region: Kong's `_KEYBASTION` error, a 500
    /// `LLM request failed before proxying` before any call.
    var lacksRegion: Bool { awsIdentity.map { $0.region == nil } ?? false }

    /// Kong's usual `from_format` failure: `transformation failed from type <provider>://<route>: <reason>`.
    func transformationFailure(_ routeType: String, _ reason: String) -> LLMDriverFailure {
        LLMDriverFailure("transformation failed from type \(provider)://\(routeType): \(reason)")
    }

    /// Kong's usual `to_format` failure (its `pcall` caught an error).
    func conversionFailure(_ routeType: String) -> LLMDriverFailure {
        LLMDriverFailure("error transforming to \(provider)://\(routeType)")
    }

    /// The answer as JSON; `failure` as the transformation's reason when it is not.
    func decodedAnswer(_ body: [UInt8], _ routeType: String, failure: String) -> Result<Value, LLMDriverFailure> {
        guard let decoded = KongJSONEncoderShim.decode(body) else { return .failure(transformationFailure(routeType, failure)) }
        return .success(decoded)
    }
}

/// How a driver's `configure_request` applies `auth`.
enum LLMAuthStyle: Sendable {
    /// The header and the query parameter, each unless the client sent its own and
    /// `allow_override` is set.
    case overridable
    /// Both always (gemini).
    case always
    /// The header always, no query parameter (huggingface).
    case headerOnly
    /// Neither: the request is signed (bedrock's AWS SigV4).
    case signed
}

/// The model of one request (Kong's model table in use): `model` with its templates resolved,
/// and the request's model name when the config has none.
struct LLMModel: Sendable {
    var provider: String
    var name: String?
    var options: Object

    init(provider: String, name: String?, options: Object) {
        self.provider = provider
        self.name = name
        self.options = options
    }

    /// The config's `model` record.
    init(_ model: Object) {
        self.init(
            provider: model.string("provider") ?? "openai", name: model.string("name"),
            options: model["options"]?.objectValue ?? [:])
    }

    /// `options.<key>` unless absent or null.
    func option(_ key: String) -> Value? {
        guard let value = options[key], !value.isNull else { return nil }
        return value
    }
}

/// An answer in OpenAI's format: the bytes for the client and their JSON.
struct LLMAnswer: Sendable {
    var body: [UInt8]
    var decoded: Value?

    /// The answer a driver built (cjson's encoding).
    init(_ value: Value) {
        body = Array(KongJSONEncoderShim.string(value).utf8)
        decoded = value
    }

    /// The provider's own bytes, unchanged.
    init(body: [UInt8], decoded: Value?) {
        self.body = body
        self.decoded = decoded
    }
}

/// Why a driver could not convert a request or an answer: Kong's message.
struct LLMDriverFailure: Error, Equatable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// The drivers, by config.
enum LLMDrivers {
    /// The driver for a config's `model` and `auth` (ai-proxy's and the AI transformers'
    /// `config.llm`); throws for what kgate cannot run.
    static func driver(for model: Object, auth: Object?) throws(AIProxyPlugin.UnsupportedProvider) -> any LLMDriver {
        let provider = model.string("provider") ?? "openai"
        let options = model["options"]?.objectValue ?? [:]
        switch provider {
        case "openai", "azure":
            return OpenAIDriver(provider: provider)
        case "mistral", "llama2":
            let format = options.string(provider + "_format")
            switch format {
            case "openai"?: return OpenAIDriver(provider: provider)
            case "ollama"?: return OllamaDriver(provider: provider)
            case "raw"? where provider == "llama2": return Llama2RawDriver()
            default:
                throw .init(provider: provider, reason: "\(provider)_format '\(format ?? "")' is not one kgate converts")
            }
        case "anthropic": return AnthropicDriver()
        case "cohere": return CohereDriver()
        case "huggingface": return HuggingFaceDriver()
        case "gemini":
            if auth?.bool("gcp_use_service_account") == true {
                throw .init(
                    provider: provider,
                    reason: "auth.gcp_use_service_account needs GCP OAuth tokens, which kgate does not fetch: use an API key (auth.param_name 'key' or header 'x-goog-api-key')")
            }
            return GeminiDriver()
        case "bedrock": return BedrockDriver(identity: AWSIdentity(model: model, auth: auth))
        default:
            throw .init(provider: provider, reason: "unknown provider")
        }
    }

    /// Kong's `merge_config_defaults`: `model.options`' `temperature`, `max_tokens`, `top_p` and
    /// `top_k` win over the request's.
    static func mergingDefaults(_ request: Object, options: Object) -> Object {
        var request = request
        for key in ["temperature", "max_tokens", "top_p", "top_k"] {
            if let option = options[key], !option.isNull { request[key] = option }
        }
        return request
    }

    /// The request's fields under the provider's names (`[name: provider's name]`), absent ones
    /// left out.
    static func renamed(_ request: Object, _ names: KeyValuePairs<String, String>) -> Object {
        var out = Object()
        for (name, renamed) in names { out[renamed] = request[name] }
        return out
    }

    /// `upstream_url`, else `base` with `path` (`upstream_path` winning when `upstreamPath`).
    static func url(_ model: LLMModel, base: String, path: String, upstreamPath: Bool = true) -> ParsedURL? {
        if let upstream = model.options.string("upstream_url") { return ParsedURL(upstream) }
        var url = ParsedURL(base)
        url?.path = (upstreamPath ? model.options.string("upstream_path") : nil) ?? path
        return url
    }

    /// Kong's `calculate_cost` of a request (`factor` tokens per word, rounded): the words of
    /// its messages' text, or of its prompt; nil for a prompt Kong cannot count.
    static func estimatedTokens(_ request: Object, factor: Double) -> Int? {
        var words = 0.0
        if case .array(let messages)? = request["messages"] {
            for message in messages { words += Double(wordCount(message["content"])) * factor }
        } else if let prompt = request["prompt"] {
            switch prompt {
            case .string: words = Double(wordCount(prompt)) * factor
            case .array(let items):
                for item in items {
                    switch item {
                    case .string: words += Double(wordCount(item)) * factor
                    case .integer, .number: words += 1
                    case .array(let inner):
                        guard inner.allSatisfy({ $0.doubleValue != nil }) else { return nil }
                        words += Double(inner.count)
                    default: return nil
                    }
                }
            default: return nil
            }
        }
        return Int((words + 0.5).rounded(.down))
    }

    /// Kong's `count_words`: a string's words, or those of a multi-modal content's text parts.
    static func wordCount(_ value: Value?) -> Int {
        // Lua's `%S+`: runs of bytes other than space, \t, \n, \v, \f and \r.
        func words(_ s: String) -> Int { s.utf8.split(whereSeparator: { $0 == 32 || (9...13).contains($0) }).count }
        switch value {
        case .string(let s)?: return words(s)
        case .array(let parts)?:
            return parts.reduce(0) { count, part in
                guard part["type"] == "text", case .string(let text)? = part["text"] else { return count }
                return count + words(text)
            }
        default: return 0
        }
    }
}
