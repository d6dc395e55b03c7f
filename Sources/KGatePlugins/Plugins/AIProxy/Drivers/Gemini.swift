import KGateSchema

/// Kong's `gemini` driver (chat only): OpenAI's messages become `contents` (assistant is
/// `model`, system messages one `systemInstruction`, images inline or by URI), the sampling
/// options `generationConfig`; requests go to `generateContent` (`streamGenerateContent` for
/// streams) of the public API, or of Vertex AI with `options.gemini`. Auth is `auth`'s header
/// or query parameter (an API key: `x-goog-api-key` or `key`); GCP service accounts are
/// refused with the config. Streams (a JSON array) are converted.
struct GeminiDriver: LLMDriver {
    var provider: String { "gemini" }

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        guard routeType == "llm/v1/chat" else { return .failure(LLMDriverFailure("no transformer for gemini://\(routeType)")) }
        switch Self.contents(request, model: model) {
        case .success(let body): return .success(body)
        case .failure(let reason): return .failure(LLMDriverFailure("error transforming to gemini://\(routeType): \(reason.message)"))
        }
    }

    /// Kong's `to_gemini_chat_openai`; the reason it fails (`nil` where Kong's Lua raises).
    static func contents(_ request: Object, model: LLMModel) -> Result<Object, LLMDriverFailure> {
        let raised = LLMDriverFailure("nil")
        var body = Object()
        if case .array(let messages)? = request["messages"], !messages.isEmpty {
            var contents: [Value]?
            var system: String?
            for (i, message) in messages.enumerated() {
                let role = message["role"]
                if role == "system" {
                    guard let text = AnthropicDriver.luaText(message["content"] ?? "") else { return .failure(raised) }
                    system = (system ?? "") + (message["content"] == nil ? "" : text)
                } else if role == "tool" {
                    guard contents != nil else { return .failure(raised) }
                    let response: Object = ["response": ["content": .array([message["content"]].compactMap { $0 })], "name": "get_product_info"]
                    contents?.append(["role": "function", "parts": [.object(["function_response": .object(response)])]])
                } else if role == "assistant", case .array(let calls)? = message["tool_calls"], !calls.isEmpty {
                    guard contents != nil else { return .failure(raised) }
                    var parts: [Value] = []
                    for call in calls {
                        guard case .object(let function)? = call["function"] else { return .failure(raised) }
                        var name = Object()
                        name["name"] = function["name"]
                        parts.append(["function_call": .object(name)])
                    }
                    contents?.append(["role": "function", "parts": .array(parts)])
                } else {
                    var parts: Value = .object([:])
                    switch message["content"] {
                    case .string(let text)?: parts = [.object(["text": .string(text)])]
                    case .array(let list)? where !list.isEmpty:
                        var converted: [Value] = []
                        for (j, part) in list.enumerated() {
                            switch Self.part(part) {
                            case .success(let p?): converted.append(p)
                            case .success(nil):
                                return .failure(LLMDriverFailure(
                                    "message at position \(i + 1), part at position \(j + 1) does not match expected OpenAI format"))
                            case .failure(let failure): return .failure(failure)
                            }
                        }
                        parts = .array(converted)
                    case .array?, .object?:
                        return .failure(LLMDriverFailure("message at position \(i + 1) does not match expected array format"))
                    default: break
                    }
                    var content = Object()
                    switch role ?? "user" {
                    case "user": content["role"] = "user"
                    case "assistant": content["role"] = "model"
                    default: break
                    }
                    content["parts"] = parts
                    contents = (contents ?? []) + [.object(content)]
                }
            }
            body["contents"] = contents.map(Value.array)
            if let system {
                guard let name = model.name else { return .failure(raised) }
                if name.utf8.prefix(10).elementsEqual("gemini-1.0".utf8) {
                    return .failure(LLMDriverFailure("system prompts aren't supported on gemini-1.0 models"))
                }
                body["systemInstruction"] = ["parts": [.object(["text": .string(system)])]]
            }
        }
        var generation = Object()
        generation["maxOutputTokens"] = request["max_tokens"]
        generation["stopSequences"] = request["stop"]
        generation["temperature"] = request["temperature"]
        generation["topK"] = request["top_k"]
        generation["topP"] = request["top_p"]
        body["generationConfig"] = .object(generation)
        if let tools = request["tools"] {
            if case .array(let list) = tools {
                var declarations = Object()
                for (i, tool) in list.enumerated() {
                    if let function = tool["function"], LuaTable.isTruthy(function) { declarations[String(i + 1)] = function }
                }
                if !declarations.isEmpty {
                    // Lua's `function_declarations[i]`: an array when the functions are 1...n.
                    let dense = declarations.keys.elementsEqual((1...declarations.count).map(String.init))
                    body["tools"] = [.object(["function_declarations": dense ? .array(Array(declarations.values)) : .object(declarations)])]
                }
            } else if !LuaTable.isTruthy(tools) {
                body["tools"] = tools
            } else if case .object = tools {
            } else {
                return .failure(raised)
            }
        }
        body["tool_config"] = request["tool_config"]
        return .success(body)
    }

    /// Kong's `openai_part_to_gemini_part`: text, or an image inline (a `data:` URL) or by URI;
    /// nil for what it does not know.
    static func part(_ part: Value) -> Result<Value?, LLMDriverFailure> {
        switch part["type"] {
        case "image_url":
            guard case .string(let url)? = part["image_url"]?["url"] else {
                return .failure(LLMDriverFailure("message part type is 'image_url' but is missing .image_url.url block"))
            }
            guard url.utf8.count >= 10 else {
                return .failure(LLMDriverFailure("could not decode OpenAI image-part, image URL is less than 10 bytes, which is not parsable"))
            }
            let scheme = String(decoding: url.utf8.prefix(6).prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
            guard scheme == "data" else { return .success(["fileData": ["fileUri": .string(url), "mimeType": "image/generic"]]) }
            let rest = url.utf8.dropFirst(5).split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            let mime = rest.first.map { String(decoding: $0, as: UTF8.self) }
            let coordinates = rest.count > 1 ? rest[1].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) : []
            var inline = Object()
            inline["data"] = coordinates.count > 1 ? .string(String(decoding: coordinates[1], as: UTF8.self)) : nil
            inline["mimeType"] = mime.map(Value.string)
            return .success(["inlineData": .object(inline)])
        case "text":
            guard let text = part["text"], LuaTable.isTruthy(text) else {
                return .failure(LLMDriverFailure("message part type is 'text' but is missing .text block"))
            }
            return .success(["text": text])
        case .string(let type)?:
            return .failure(LLMDriverFailure("cannot transform part of type '\(type)' to Gemini format"))
        default:
            return .failure(LLMDriverFailure("nil"))
        }
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        guard routeType == "llm/v1/chat" else {
            return .failure(LLMDriverFailure("no transformer available from format gemini://\(routeType)"))
        }
        return decodedAnswer(body, routeType, failure: "failed to decode response from Gemini").flatMap { answer in
            guard case .array(let candidates)? = answer["candidates"], let first = candidates.first else {
                return .failure(transformationFailure(routeType, "no generation candidates received from Gemini, or max_tokens too short"))
            }
            var out: Object = ["choices": .object([:])]
            out["model"] = model.name.map(Value.string)
            if transformer, first["finishReason"] == "SAFETY" {
                return .failure(transformationFailure(routeType, "transformation generation candidate breached Gemini content safety"))
            }
            let parts = first["content"]?["parts"]?.arrayValue ?? []
            if let text = parts.first?["text"], LuaTable.isTruthy(text) {
                var choice: Object = ["index": 0, "message": .object(["role": "assistant", "content": text])]
                guard case .string(let reason)? = first["finishReason"] else { return .failure(transformationFailure(routeType, "nil")) }
                choice["finish_reason"] = .string(reason.lowercased())
                out["choices"] = [.object(choice)]
                out["object"] = "chat.completion"
            } else if let call = parts.first?["functionCall"], LuaTable.isTruthy(call) {
                out["choices"] = [.object(["index": 0, "message": .object(["role": "assistant", "tool_calls": .array(parts.map(Self.toolCall))])])]
            }
            if case .object(let usage)? = answer["usageMetadata"] {
                var counts = Object()
                counts["prompt_tokens"] = usage["promptTokenCount"]
                counts["completion_tokens"] = usage["candidatesTokenCount"]
                counts["total_tokens"] = usage["totalTokenCount"]
                out["usage"] = .object(counts)
            }
            return .success(LLMAnswer(.object(out)))
        }
    }

    /// A `functionCall` part as OpenAI's tool call.
    private static func toolCall(_ part: Value) -> Value {
        var function = Object()
        function["name"] = part["functionCall"]?["name"]
        function["arguments"] = .string(KongJSONEncoderShim.string(part["functionCall"]?["args"] ?? .null))
        return ["function": .object(function)]
    }

    /// One element of Gemini's streamed array: the first part's text (or function calls) as an
    /// OpenAI chunk, with the stream's token totals.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard routeType == "stream/llm/v1/chat", let data = event.data, !data.isEmpty else { return .skip }
        if data == "[DONE]" { return .done }
        guard let element = event.json, case .array(let candidates)? = element["candidates"], let first = candidates.first else { return .skip }
        let finish = first["finishReason"]
        let parts = first["content"]?["parts"]?.arrayValue ?? []
        var choice: Object
        if let text = parts.first?["text"], LuaTable.isTruthy(text) {
            choice = ["delta": .object(["content": text, "role": "assistant"]), "index": 0]
        } else if let call = parts.first?["functionCall"], LuaTable.isTruthy(call) {
            let calls = parts.map { part -> Value in
                guard case .object(var call) = Self.toolCall(part) else { return part }
                call["type"] = "function"
                return .object(call)
            }
            choice = ["delta": .object(["tool_calls": .array(calls)]), "index": 0]
        } else {
            return .skip
        }
        choice["finish_reason"] = finish
        var chunk = Object()
        chunk["model"] = model.name.map(Value.string)
        chunk["choices"] = [.object(choice)]
        let usage = element["usageMetadata"]
        return LLMStreamOutput(
            frame: .chunk(.object(chunk)), promptTokens: usage?["promptTokenCount"]?.integerValue ?? 0,
            completionTokens: usage?["candidatesTokenCount"]?.integerValue ?? 0, cumulative: true)
    }

    /// `upstream_url`, else Vertex AI's endpoint (`options.gemini`'s `api_endpoint`,
    /// `project_id` and `location_id`) or the public API's; `upstream_path` replaces the path.
    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        let operation = stream ? "streamGenerateContent" : "generateContent"
        let name = model.name ?? "nil"
        var url: ParsedURL?
        if let upstream = model.options.string("upstream_url") {
            url = ParsedURL(upstream)
        } else if let vertex = model.options["gemini"]?.objectValue, let endpoint = vertex.string("api_endpoint"),
            let project = vertex.string("project_id"), let location = vertex.string("location_id")
        {
            url = ParsedURL("https://\(endpoint)/v1/projects/\(project)/locations/\(location)/publishers/google/models/\(name):\(operation)")
        } else {
            url = ParsedURL("https://generativelanguage.googleapis.com/v1beta/models/\(name):\(operation)")
        }
        if let path = model.options.string("upstream_path") { url?.path = path }
        return url
    }

    var acceptEncoding: String? { "identity" }
    var clearsSetCookie: Bool { true }
    var authStyle: LLMAuthStyle { .always }
}
