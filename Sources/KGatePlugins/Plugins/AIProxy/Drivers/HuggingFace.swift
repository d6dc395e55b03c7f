import KGateSchema

/// Kong's `huggingface` driver: the Inference API's model endpoint
/// (`api-inference.huggingface.co/models/<name>`, or `upstream_url`), chat at its
/// `/v1/chat/completions`; the sampling options go under `parameters`, `use_cache` and
/// `wait_for_model` under `options`. Streams are converted.
struct HuggingFaceDriver: LLMDriver {
    var provider: String { "huggingface" }

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        var body = request
        var parameters: Object
        switch body["parameters"] {
        case nil, .bool(false)?: parameters = [:]
        case .object(let p)?: parameters = p
        case .array(let a)? where a.isEmpty: parameters = [:]
        default: return .failure(conversionFailure(routeType))
        }
        for (name, key) in [("top_k", "top_k"), ("top_p", "top_p"), ("temperature", "temperature")] where parameters[name] == nil {
            parameters[name] = body[key]
        }
        if parameters["max_tokens"] == nil {
            // Conversational models take `max_length`.
            parameters[LuaTable.isTruthy(body["messages"]) ? "max_length" : "max_new_tokens"] = body["max_tokens"]
        }
        for key in ["top_k", "top_p", "temperature", "max_tokens"] { body[key] = nil }
        let huggingface = model.options["huggingface"]
        let options: Object = [
            "use_cache": Self.flag(huggingface?["use_cache"]), "wait_for_model": Self.flag(huggingface?["wait_for_model"]),
        ]
        if routeType == "llm/v1/completions" {
            body["inputs"] = body["prompt"]
            body["prompt"] = nil
        }
        body["options"] = .object(options)
        body["parameters"] = .object(parameters)
        body["model"] = model.name.map(Value.string) ?? request["model"]
        return .success(body)
    }

    /// Lua's `value or false`.
    private static func flag(_ value: Value?) -> Value { LuaTable.isTruthy(value) ? value ?? false : false }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        guard let answer = KongJSONEncoderShim.decode(body) else { return .failure(transformationFailure(routeType, "Failed to decode response")) }
        let error = answer["error"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? answer["message"].flatMap { LuaTable.isTruthy($0) ? $0 : nil }
        if let error { return .failure(transformationFailure(routeType, "API error: " + error.luaString)) }
        var choices: [Value] = []
        if case .string(let generated)? = answer.arrayValue?.first?["generated_text"] {
            choices = [.object(["message": ["content": .string(generated)], "index": 0, "finish_reason": "complete"])]
        } else if let list = answer["choices"], LuaTable.isTruthy(list) {
            for (i, choice) in (list.arrayValue ?? []).enumerated() {
                let content = choice["message"]?["content"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? ""
                choices.append(.object(["message": .object(["content": content]), "index": .integer(i), "finish_reason": "complete"]))
            }
        } else {
            return .failure(transformationFailure(routeType, "Invalid response format"))
        }
        var out = Object()
        out["model"] = model.name.map(Value.string)
        out["object"] = answer["object"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? .string(routeType)
        // An empty Lua table is cjson's `{}`.
        out["choices"] = choices.isEmpty ? .object([:]) : .array(choices)
        out["usage"] = answer["usage"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? .object([:])
        return .success(LLMAnswer(.object(out)))
    }

    /// One streamed event: the chat delta's content, or the generated token's text.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard let data = event.json else { return .skip }
        var chunk = Object()
        if routeType == "stream/llm/v1/chat" {
            let content = data["choices"]?.arrayValue?.first?["delta"]?["content"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? ""
            chunk["choices"] = [.object(["delta": .object(["content": content, "role": "assistant"]), "index": 0])]
            chunk["model"] = data["model"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? model.name.map(Value.string)
            chunk["object"] = "chat.completion.chunk"
        } else {
            let text = data["token"]?["text"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? ""
            chunk["choices"] = [.object(["text": text, "index": 0])]
            chunk["model"] = model.name.map(Value.string)
            chunk["object"] = "text_completion"
        }
        return .chunk(.object(chunk))
    }

    /// `upstream_url` or the model's endpoint; chat at its `/v1/chat/completions`.
    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        guard let base = model.options.string("upstream_url") ?? model.name.map({ "https://api-inference.huggingface.co/models/" + $0 }) else {
            return nil
        }
        return ParsedURL(routeType == "llm/v1/completions" ? base : base + "/v1/chat/completions")
    }

    var convertsInPlace: Bool { true }
    var countsTokens: Bool { false }
    var authStyle: LLMAuthStyle { .headerOnly }
    var normalizesPath: Bool { false }
}
