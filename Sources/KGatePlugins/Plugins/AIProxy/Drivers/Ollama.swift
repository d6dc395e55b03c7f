import KGateSchema

/// Kong's Ollama format (`to_ollama`/`from_ollama`, for `mistral_format` and `llama2_format`
/// `ollama`): the messages or prompt with the sampling options under `options`; answers and
/// streamed lines carry Ollama's token counts.
struct OllamaDriver: LLMDriver {
    /// `mistral` or `llama2`.
    let provider: String

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        var body = Object()
        if LuaTable.isTruthy(request["messages"]) {
            body["messages"] = request["messages"]
        } else if LuaTable.isTruthy(request["prompt"]) {
            body["prompt"] = request["prompt"]
        }
        body["stream"] = LuaTable.isTruthy(request["stream"]) ? request["stream"] : false
        body["model"] = model.name.map(Value.string) ?? request["name"]
        body["tools"] = request["tools"]
        body["tool_choice"] = request["tool_choice"]
        var options = Object()
        options["num_predict"] = request["max_tokens"]
        options["temperature"] = request["temperature"]
        options["top_p"] = request["top_p"]
        options["top_k"] = request["top_k"]
        body["options"] = .object(options)
        return .success(body)
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        guard let answer = KongJSONEncoderShim.decode(body) else { return .failure(failure(routeType, "failed to decode ollama response")) }
        // Ollama gives no stop reason: a completion of `max_tokens` tokens stopped for length.
        let evalCount = answer["eval_count"]?.doubleValue
        let stopLength = model.option("max_tokens")?.doubleValue ?? -1
        let stopReason: Value = evalCount == stopLength ? "length" : "stop"
        var out = Object()
        out["model"] = answer["model"]
        out["created"] = answer["created_at"]
        let completion = answer["eval_count"] ?? .integer(0)
        let prompt = answer["prompt_eval_count"] ?? .integer(0)
        out["usage"] = .object([
            "completion_tokens": completion, "prompt_tokens": prompt,
            "total_tokens": AnthropicDriver.number((completion.doubleValue ?? 0) + (prompt.doubleValue ?? 0)),
        ])
        if routeType == "llm/v1/completions" {
            out["object"] = "text_completion"
            var choice: Object = ["index": 0]
            choice["text"] = answer["response"]
            out["choices"] = [.object(choice)]
        } else {
            out["object"] = "chat.completion"
            var choice: Object = ["finish_reason": answer["finish_reason"] ?? stopReason, "index": 0]
            choice["message"] = answer["message"]
            out["choices"] = [.object(choice)]
        }
        return .success(LLMAnswer(.object(out)))
    }

    /// mistral's `from_format` names the route with its (unset) `mistral_version`.
    private func failure(_ routeType: String, _ reason: String) -> LLMDriverFailure {
        provider == "mistral"
            ? LLMDriverFailure("transformation failed from type mistral://\(routeType)/nil: \(reason)")
            : transformationFailure(routeType, reason)
    }

    /// One line of Ollama's stream: a token as an OpenAI chunk, or the last (`done`) with the
    /// token counts (which mistral's driver drops).
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard let data = event.json else { return .skip }
        if LuaTable.isTruthy(data["done"]) {
            guard provider == "llama2" else { return .done }
            return LLMStreamOutput(
                frame: .done, promptTokens: data["prompt_eval_count"]?.integerValue ?? 0,
                completionTokens: data["eval_count"]?.integerValue ?? 0)
        }
        var chunk = Object()
        if routeType == "stream/llm/v1/completions" {
            chunk["choices"] = [.object(["text": data["response"] ?? "", "index": 0])]
            chunk["model"] = data["model"]
            chunk["object"] = "text_completion"
        } else {
            let content: Value = data["message"].flatMap { LuaTable.isTruthy($0) ? $0["content"] : nil } ?? ""
            chunk["choices"] = [.object(["delta": .object(["content": content]), "index": 0])]
            chunk["model"] = data["model"]
            chunk["object"] = "chat.completion.chunk"
        }
        return .chunk(.object(chunk))
    }

    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        OpenAIDriver(provider: provider).endpoint(model, routeType: routeType, stream: stream)
    }

    var clearsSetCookie: Bool { provider == "mistral" }
    var countsTokens: Bool { provider == "llama2" }
}

/// Kong's `llama2` driver with `llama2_format: raw`: the chat flattened into Llama 2's
/// `[INST]` prompt (`inputs`, with `parameters`); the answer is the text after the last
/// `[/INST]` of `data[0].generated_text`.
struct Llama2RawDriver: LLMDriver {
    var provider: String { "llama2" }

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        var parameters = Object()
        parameters["max_new_tokens"] = request["max_tokens"]
        parameters["top_p"] = request["top_p"]
        parameters["top_k"] = request["top_k"]
        parameters["temperature"] = request["temperature"]
        parameters["stream"] = LuaTable.isTruthy(request["stream"]) ? request["stream"] : false
        var body: Object = ["parameters": .object(parameters)]
        if LuaTable.isTruthy(request["messages"]) {
            guard case .array(let messages)? = request["messages"], let inputs = Self.instructions(messages) else {
                return .failure(LLMDriverFailure("error transforming to llama2://\(routeType)/raw"))
            }
            body["inputs"] = .string(inputs)
        } else if LuaTable.isTruthy(request["prompt"]) {
            guard let prompt = AnthropicDriver.luaText(request["prompt"]) else {
                return .failure(LLMDriverFailure("error transforming to llama2://\(routeType)/raw"))
            }
            body["inputs"] = .string("<s> [INST] <<SYS>> You are a helpful assistant. <<SYS>> \(prompt) [/INST]")
        }
        return .success(body)
    }

    /// Kong's `messages_to_inst`: the first message as the system prompt, the second as the
    /// first question, then system messages as answers and user messages as questions
    /// (assistant messages are left out, as Kong does).
    static func instructions(_ messages: [Value]) -> String? {
        var text = ""
        for (i, message) in messages.enumerated() {
            guard let content = AnthropicDriver.luaText(message["content"]) else { return nil }
            switch i {
            case 0: text += "<s>[INST] <<SYS>> \(content) <</SYS>>"
            case 1: text += " \(content) [/INST]"
            default:
                if message["role"] == "system" { text += " \(content) </s>" }
                if message["role"] == "user" { text += " <s>[INST] \(content) [/INST]" }
            }
        }
        return text
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        decodedAnswer(body, routeType, failure: "failed to decode llama2 response").flatMap { answer in
            guard let data = answer["data"]?.arrayValue, data.count <= 1 else {
                return .failure(transformationFailure(routeType, "cannot parse response from llama2 endpoint"))
            }
            guard case .string(let generated)? = data.first?["generated_text"] else {
                return .failure(transformationFailure(routeType, "response data is empty from llama2 endpoint"))
            }
            let reply = Self.trimmed(Self.lastPart(of: generated, after: "[/INST]"))
            var out = Object()
            if routeType == "llm/v1/completions" {
                out["choices"] = [.object(["index": 0, "text": .string(reply)])]
                out["object"] = "text_completion"
            } else {
                out["choices"] = [.object(["message": ["content": .string(reply), "role": "assistant"], "index": 0])]
                out["object"] = "chat.completion"
            }
            out["usage"] = answer["usage"]
            return .success(LLMAnswer(.object(out)))
        }
    }

    /// What follows the last `separator` (all of `text` without one).
    static func lastPart(of text: String, after separator: String) -> ArraySlice<UInt8> {
        let bytes = Array(text.utf8)
        let needle = Array(separator.utf8)
        var start = 0
        var i = 0
        while i + needle.count <= bytes.count {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) {
                i += needle.count
                start = i
            } else {
                i += 1
            }
        }
        return bytes[start...]
    }

    /// Lua's `^%s*(.-)%s*$`.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 32 || (9...13).contains($0) }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }

    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        model.options.string("upstream_url").flatMap { ParsedURL($0) }
    }

    /// Kong has no converter for raw streams: none of their events reach the client.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        .skip
    }
}
