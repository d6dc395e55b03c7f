import KGateSchema

/// Kong's `cohere` driver: chat goes to `/v1/chat` (the last message as `message`, the others as
/// `chat_history` with `USER`/`CHATBOT` roles), completions to `/v1/generate`; `top_p` and
/// `top_k` are `p` and `k`. A request with `tools` goes as OpenAI's. Streams are converted.
struct CohereDriver: LLMDriver {
    var provider: String { "cohere" }

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        if LuaTable.isTruthy(request["tools"]) {
            return OpenAIDriver(provider: provider).requestBody(request, model: model, routeType: routeType)
        }
        var body = request
        body["p"] = body["top_p"]
        body["k"] = body["top_k"]
        body["top_p"] = nil
        body["top_k"] = nil
        body["model"] = model.name.map(Value.string) ?? request["model"]
        if !LuaTable.isTruthy(body["stream"]) { body["stream"] = false }
        if LuaTable.isTruthy(body["messages"]) {
            guard case .array(let messages)? = body["messages"], let last = messages.last else {
                return .failure(conversionFailure(routeType))
            }
            if messages.count > 1 {
                body["chat_history"] = .array(messages.dropLast().map { message in
                    let role = message["role"]
                    var entry: Object = ["role": role == "assistant" || role == "CHATBOT" ? "CHATBOT" : "USER"]
                    entry["message"] = message["content"]
                    return .object(entry)
                })
            }
            body["message"] = last["content"]
            body["messages"] = nil
        } else if LuaTable.isTruthy(body["prompt"]) {
            body["messages"] = nil
            body["message"] = nil
        }
        return .success(body)
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        decodedAnswer(body, routeType, failure: "failed to decode cohere response").flatMap { answer in
            var out = Object()
            if LuaTable.isTruthy(answer["prompt"]), let generations = answer["generations"], LuaTable.isTruthy(generations) {
                // co.generate
                out["choices"] = .array((generations.arrayValue ?? []).enumerated().map { i, generation in
                    var choice: Object = ["index": .integer(i)]
                    choice["text"] = generation["text"]
                    choice["finish_reason"] = "stop"
                    return .object(choice)
                })
                out["object"] = "text_completion"
                out["id"] = answer["id"]
                out["usage"] = Self.usage(answer["meta"]?["billed_units"])
            } else if LuaTable.isTruthy(answer["text"]) {
                // co.chat
                var choice: Object = ["index": 0, "message": .object(["role": "assistant", "content": answer["text"] ?? .null])]
                choice["finish_reason"] = "stop"
                out["choices"] = [.object(choice)]
                out["object"] = "chat.completion"
                out["id"] = answer["generation_id"]
                if routeType == "llm/v1/completions" {
                    let counts = answer["token_count"]
                    var usage = Object()
                    usage["completion_tokens"] = counts?["response_tokens"]
                    usage["prompt_tokens"] = counts?["prompt_tokens"]
                    usage["total_tokens"] = counts?["total_tokens"]
                    out["usage"] = .object(usage)
                } else {
                    out["usage"] = Self.usage(answer["meta"]?["billed_units"])
                }
            } else if routeType != "llm/v1/completions", let message = answer["message"], LuaTable.isTruthy(message) {
                // co.chat, v2
                var reply: Object = ["role": "assistant"]
                reply["content"] = LuaTable.isTruthy(message["tool_plan"]) ? message["tool_plan"] : message["content"]
                reply["tool_calls"] = message["tool_calls"]
                var choice: Object = ["index": 0, "message": .object(reply)]
                choice["finish_reason"] = answer["finish_reason"]
                out["choices"] = [.object(choice)]
                out["object"] = "chat.completion"
                out["id"] = answer["id"]
                out["usage"] = Self.usage(answer["usage"]?["billed_units"])
            } else {
                return .failure(transformationFailure(routeType, "'text' or 'generations' missing from cohere response body"))
            }
            out["model"] = model.name.map(Value.string)
            return .success(LLMAnswer(.object(out)))
        }
    }

    /// OpenAI's usage of Cohere's `billed_units`.
    static func usage(_ billed: Value?) -> Value {
        var usage = Object()
        usage["completion_tokens"] = billed?["output_tokens"]
        usage["prompt_tokens"] = billed?["input_tokens"]
        if let output = billed?["output_tokens"]?.doubleValue, let input = billed?["input_tokens"]?.doubleValue {
            usage["total_tokens"] = AnthropicDriver.number(output + input)
        }
        return .object(usage)
    }

    /// Cohere's stream events: `stream-start` opens the message, `text-generation` carries a
    /// token, `stream-end` ends it with the billed tokens.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard let data = event.json else { return .skip }
        var chunk = Object()
        switch data["event_type"] {
        case "stream-start":
            state.streamID = data["generation_id"]?.stringValue
            chunk["choices"] = [.object(["delta": ["content": "", "role": "assistant"], "index": 0])]
            chunk["id"] = data["generation_id"]
            chunk["object"] = "chat.completion.chunk"
        case "text-generation":
            let text: Value = data["text"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? ""
            let completions = routeType == "stream/llm/v1/completions"
            chunk["choices"] = [.object([completions ? "text" : "delta": completions ? text : .object(["content": text]),
                "index": 0, "finish_reason": .null, "logprobs": .null])]
            chunk["id"] = state.streamID.map(Value.string)
            chunk["object"] = completions ? "text_completion" : "chat.completion.chunk"
        case "stream-end":
            let response = data["response"]
            let billed = response?["meta"]?["billed_units"]
            return LLMStreamOutput(
                frame: .done,
                promptTokens: billed?["input_tokens"]?.integerValue ?? data["token_count"]?["prompt_tokens"]?.integerValue ?? 0,
                completionTokens: billed?["output_tokens"]?.integerValue ?? response?["token_count"]?["response_tokens"]?.integerValue ?? 0)
        default:
            return .skip
        }
        chunk["model"] = model.name.map(Value.string)
        return .chunk(.object(chunk))
    }

    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        LLMDrivers.url(model, base: "https://api.cohere.com:443", path: routeType == "llm/v1/completions" ? "/v1/generate" : "/v1/chat")
    }

    var convertsInPlace: Bool { true }
}
