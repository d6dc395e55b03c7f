import KGateSchema

/// Kong's `anthropic` driver: chat goes to the Messages API (`/v1/messages`, the system prompt
/// apart, tool calls as `tool_use` and `tool_result` blocks), completions to the legacy Text
/// Completions API (`/v1/complete`, a `Human: ... Assistant:` prompt); every request carries
/// `anthropic-version`. Chat streams are converted.
struct AnthropicDriver: LLMDriver {
    var provider: String { "anthropic" }

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        var body = Object()
        if routeType == "llm/v1/completions" {
            guard let prompt = Self.prompt(request) else { return .failure(conversionFailure(routeType)) }
            body["prompt"] = .string(prompt)
            body["temperature"] = request["temperature"]
            body["max_tokens_to_sample"] = request["max_tokens"]
        } else {
            guard case .array(let messages)? = request["messages"], let (converted, system) = Self.messages(messages) else {
                return .failure(conversionFailure(routeType))
            }
            body["messages"] = .array(converted)
            body["system"] = system
            body["temperature"] = request["temperature"]
            body["max_tokens"] = request["max_tokens"]
        }
        body["model"] = model.name.map(Value.string) ?? request["model"]
        body["stream"] = LuaTable.isTruthy(request["stream"]) ? request["stream"] : .bool(false)
        if routeType != "llm/v1/completions" {
            if let tools = request["tools"] {
                guard let converted = Self.tools(tools) else { return .failure(conversionFailure(routeType)) }
                body["tools"] = converted
            }
            if let choice = request["tool_choice"] {
                switch Self.toolChoice(choice) {
                case .choice(let converted): body["tool_choice"] = converted
                case .unknown: break
                case .invalid: return .failure(conversionFailure(routeType))
                }
            }
        }
        return .success(body)
    }

    /// The Text Completions prompt (`kong_prompt_to_claude_prompt`, or the messages flattened
    /// into a `Human:`/`Assistant:` history ending with an open `Assistant:`).
    static func prompt(_ request: Object) -> String? {
        if LuaTable.isTruthy(request["prompt"]) {
            guard let prompt = luaText(request["prompt"]) else { return nil }
            return "Human: \(prompt)\n\nAssistant:"
        }
        guard case .array(let messages)? = request["messages"] else { return nil }
        var text = ""
        for message in messages {
            switch message["role"] {
            case "assistant": text += "Assistant: "
            case "user": text += "Human: "
            default: break
            }
            guard let content = luaText(message["content"]) else { return nil }
            text += content + "\n\n"
        }
        return text + "Assistant:"
    }

    /// The Messages API's messages and system prompt (the last message of another role than
    /// `user`, `assistant` and `tool`); nil when Kong's conversion raises.
    static func messages(_ messages: [Value]) -> ([Value], Value?)? {
        var converted: [Value] = []
        var system: Value?
        for message in messages {
            guard case .object(let m) = message else { return nil }
            switch m["role"] {
            case "assistant" where LuaTable.isTruthy(m["tool_calls"]):
                guard let calls = m["tool_calls"]?.sequenceElements else { return nil }
                var uses: [Value] = []
                for call in calls {
                    guard case .object(let function)? = call["function"] else { return nil }
                    var use: Object = ["type": "tool_use"]
                    use["id"] = call["id"]
                    use["name"] = function["name"]
                    if case .string(let arguments)? = function["arguments"] { use["input"] = KongJSONEncoderShim.decode(Array(arguments.utf8)) }
                    uses.append(.object(use))
                }
                var out: Object = ["role": m["role"] ?? .null]
                if !uses.isEmpty { out["content"] = .array(uses) }
                converted.append(.object(out))
            case "tool":
                var result: Object = ["type": "tool_result"]
                result["tool_use_id"] = m["tool_call_id"]
                result["content"] = m["content"]
                converted.append(.object(["role": "user", "content": .array([.object(result)])]))
            case "assistant", "user":
                converted.append(message)
            default:
                system = m["content"]
            }
        }
        return (converted, system)
    }

    /// OpenAI's `tools` as Anthropic's: each function, its `parameters` as `input_schema` (an
    /// empty list is cjson's `{}`); nil when Kong's conversion raises.
    static func tools(_ tools: Value) -> Value? {
        switch tools {
        case .bool(false): return tools
        case .object: return .object([:])
        case .array(let list):
            var out: [Value] = []
            for tool in list {
                guard let function = tool["function"], LuaTable.isTruthy(function) else { continue }
                guard case .object(var f) = function else { return nil }
                f["input_schema"] = f["parameters"]
                f["parameters"] = nil
                out.append(.object(f))
            }
            return out.isEmpty ? .object([:]) : .array(out)
        default: return nil
        }
    }

    /// What OpenAI's `tool_choice` becomes.
    enum ToolChoice: Equatable {
        /// Anthropic's choice (`required` is `any`, a function is a `tool`).
        case choice(Value)
        /// Left out: a choice Kong does not know (it logs a warning).
        case unknown
        /// Kong's conversion raises (a `function` choice without `function`).
        case invalid
    }

    static func toolChoice(_ choice: Value) -> ToolChoice {
        switch choice {
        case .bool(false): return .choice(choice)
        case .string("required"): return .choice(["type": "any"])
        case .string(let s) where s == "none" || s == "auto": return .choice(["type": .string(s)])
        case .object(let o):
            guard o["type"] == "function" else { return .unknown }
            guard case .object(let function)? = o["function"] else { return .invalid }
            guard let name = function["name"], LuaTable.isTruthy(name) else { return .unknown }
            return .choice(["type": "tool", "name": name])
        default: return .unknown
        }
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        decodedAnswer(body, routeType, failure: "failed to decode anthropic response").flatMap { decoded in
            routeType == "llm/v1/completions" ? completion(decoded, routeType) : chat(decoded, routeType)
        }
    }

    private func chat(_ answer: Value, _ routeType: String) -> Result<LLMAnswer, LLMDriverFailure> {
        guard let content = answer["content"], LuaTable.isTruthy(content) else {
            return .failure(transformationFailure(routeType, "'content' not in anthropic://llm/v1/chat response"))
        }
        let blocks = content.arrayValue ?? []
        var text = ""
        var calls: [Value] = []
        for (i, block) in blocks.enumerated() {
            if case .string(let t)? = block["text"] {
                if i != 0 { text += "\n" }
                text += t
            }
            if block["type"] == "tool_use" {
                var function: Object = [:]
                function["name"] = block["name"]
                function["arguments"] = .string(KongJSONEncoderShim.string(block["input"] ?? .null))
                var call: Object = [:]
                call["id"] = block["id"]
                call["type"] = "function"
                call["function"] = .object(function)
                calls.append(.object(call))
            }
        }
        var message: Object = ["role": "assistant", "content": .string(text)]
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        var choice: Object = ["index": 0, "message": .object(message)]
        choice["finish_reason"] = answer["stop_reason"]
        var out: Object = ["choices": .array([.object(choice)])]
        if case .object(let usage)? = answer["usage"] {
            var counts = Object()
            counts["prompt_tokens"] = usage["input_tokens"]
            counts["completion_tokens"] = usage["output_tokens"]
            if let input = usage["input_tokens"]?.doubleValue, let output = usage["output_tokens"]?.doubleValue {
                counts["total_tokens"] = Self.number(input + output)
            }
            out["usage"] = .object(counts)
        } else {
            out["usage"] = "no usage data returned from upstream"
        }
        out["model"] = answer["model"]
        out["object"] = "chat.completion"
        return .success(LLMAnswer(.object(out)))
    }

    private func completion(_ answer: Value, _ routeType: String) -> Result<LLMAnswer, LLMDriverFailure> {
        guard let completion = answer["completion"], LuaTable.isTruthy(completion) else {
            return .failure(transformationFailure(routeType, "'completion' not in anthropic://llm/v1/chat response"))
        }
        var choice: Object = ["index": 0, "text": completion]
        choice["finish_reason"] = answer["stop_reason"]
        var out: Object = ["choices": .array([.object(choice)])]
        out["model"] = answer["model"]
        out["object"] = "text_completion"
        return .success(LLMAnswer(.object(out)))
    }

    /// Messages API events as OpenAI chunks: `message_start` opens the message (and counts the
    /// prompt), content blocks carry the text, `message_delta` counts the completion,
    /// `message_stop` ends it. Kong has no converter for completion streams: none of their
    /// events reach the client.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard routeType == "stream/llm/v1/chat", let name = event.event, let data = event.json else { return .skip }
        switch name {
        case "message_start":
            guard case .object(let message)? = data["message"] else { return .skip }
            state.streamID = message["id"]?.stringValue
            var delta: Object = ["content": ""]
            delta["role"] = message["role"]
            var chunk: Object = [
                "choices": [.object(["delta": .object(delta), "index": 0, "logprobs": .null])],
            ]
            chunk["id"] = message["id"]
            chunk["model"] = model.name.map(Value.string)
            chunk["object"] = "chat.completion.chunk"
            chunk["system_fingerprint"] = .null
            return LLMStreamOutput(
                frame: .chunk(.object(chunk)), promptTokens: message["usage"]?["input_tokens"]?.integerValue,
                completionTokens: message["usage"]?["output_tokens"]?.integerValue)
        case "message_delta":
            guard case .object(let usage)? = data["usage"] else { return .skip }
            return LLMStreamOutput(completionTokens: usage["output_tokens"]?.integerValue)
        case "content_block_start", "content_block_delta":
            let text: Value
            if case .string(let t)? = data["delta"]?["text"] { text = .string(t) } else { text = "" }
            var chunk: Object = [
                "choices": [.object(["delta": .object(["content": text]), "index": 0, "finish_reason": .null, "logprobs": .null])],
            ]
            chunk["id"] = state.streamID.map(Value.string)
            chunk["model"] = model.name.map(Value.string)
            chunk["object"] = "chat.completion.chunk"
            return .chunk(.object(chunk))
        case "message_stop":
            return .done
        default:
            return .skip
        }
    }

    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        LLMDrivers.url(model, base: "https://api.anthropic.com:443", path: routeType == "llm/v1/completions" ? "/v1/complete" : "/v1/messages")
    }

    func requestHeaders(_ model: LLMModel) -> [(String, String)] {
        model.options.string("anthropic_version").map { [("anthropic-version", $0)] } ?? []
    }

    /// A Lua number as cjson writes it: integral values without a fraction.
    static func number(_ d: Double) -> Value { d == d.rounded() && abs(d) < 1e15 ? .integer(Int(d)) : .number(d) }

    /// `%s` of a value Kong formats into a prompt; nil for a table (kgate refuses rather than
    /// write Lua's `table: 0x...`).
    static func luaText(_ value: Value?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .integer?, .number?, .bool?: return value?.luaString
        case nil: return "nil"
        default: return nil
        }
    }
}
