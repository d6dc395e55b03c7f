import KGateSchema

/// Kong's `bedrock` driver (chat only, the Converse API): OpenAI's messages become Converse
/// `messages` (system prompts apart in `system`, tool results as `toolResult`, tool calls as
/// `toolUse`), the sampling options `inferenceConfig`, `tools` a `toolConfig`; requests go to
/// `/model/<name>/converse` (`converse-stream` for streams) of `bedrock-runtime.<region>`,
/// signed with AWS SigV4 (``AWSIdentity``) instead of `auth`'s header or parameter. Streams
/// (AWS event-stream messages) are converted.
struct BedrockDriver: LLMDriver {
    var provider: String { "bedrock" }
    let identity: AWSIdentity

    /// `_OPENAI_ROLE_MAPPING`.
    static let roles = ["system": "assistant", "user": "user", "assistant": "assistant", "tool": "user"]
    /// `_OPENAI_STOP_REASON_MAPPING` (others are `stop`).
    static let stopReasons = [
        "max_tokens": "length", "end_turn": "stop", "tool_use": "tool_calls", "guardrail_intervened": "guardrail_intervened",
    ]
    /// `bedrock_unsupported_system_role_patterns` (Lua patterns).
    static let unsupportedSystemRolePatterns = [
        "amazon.titan.-.*", "cohere.command.-text.-.*", "cohere.command.-light.-text.-.*", "mistral.mistral.-7b.-instruct.-.*",
        "mistral.mixtral.-8x7b.-instruct.-.*",
    ]

    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        guard routeType == "llm/v1/chat" else { return .failure(LLMDriverFailure("no transformer for bedrock://\(routeType)")) }
        return Self.converse(request, model: model).mapError {
            LLMDriverFailure("error transforming to bedrock://\(routeType): \($0.message)")
        }
    }

    /// Kong's `to_bedrock_chat_openai`; the reason it fails (`nil` where Kong's Lua raises).
    static func converse(_ request: Object, model: LLMModel) -> Result<Object, LLMDriverFailure> {
        let raised = LLMDriverFailure("nil")
        var body: Object = ["anthropic_version": model.option("anthropic_version") ?? "bedrock-2023-05-31"]
        if case .array(let messages)? = request["messages"], !messages.isEmpty {
            var system: [Value] = []
            var converted: [Value] = []
            for message in messages {
                guard case .object(let m) = message else { return .failure(raised) }
                let role = m["role"]
                if role == "system" {
                    var prompt = Object()
                    prompt["text"] = m["content"]
                    system.append(.object(prompt))
                    continue
                }
                var out = Object()
                out["role"] = Self.roles[role?.stringValue ?? "user"].map(Value.string)
                if role == "tool" {
                    guard case .string(let text)? = m["content"], let decoded = KongJSONEncoderShim.decode(Array(text.utf8)) else {
                        return .failure(LLMDriverFailure("failed to decode function response arguments, not JSON format"))
                    }
                    let json: Value
                    switch decoded {
                    case .object, .array: json = decoded
                    default: json = ["result": decoded]
                    }
                    var result: Object = ["content": [.object(["json": json])]]
                    result["toolUseId"] = m["tool_call_id"]
                    result["status"] = m["status"]
                    out["content"] = [.object(["toolResult": .object(result)])]
                } else if case .array? = m["content"] {
                    out["content"] = m["content"]
                } else if case .object? = m["content"] {
                    out["content"] = m["content"]
                } else if let calls = m["tool_calls"], calls.sequenceElements != nil || calls.objectValue != nil {
                    // Each call replaces the last: only the last one is sent, as in Kong.
                    for call in calls.sequenceElements ?? [] {
                        guard case .object(let function)? = call["function"] else { return .failure(raised) }
                        guard case .string(let arguments)? = function["arguments"],
                            let input = KongJSONEncoderShim.decode(Array(arguments.utf8))
                        else {
                            return .failure(LLMDriverFailure(
                                "failed to decode function response arguments from assistant's message, not JSON format"))
                        }
                        var use: Object = ["input": input]
                        use["toolUseId"] = call["id"]
                        use["name"] = function["name"]
                        out["content"] = [.object(["toolUse": .object(use)])]
                    }
                } else {
                    out["content"] = [.object(["text": m["content"] ?? ""])]
                }
                converted.append(.object(out))
            }
            if !converted.isEmpty { body["messages"] = .array(converted) }
            if !system.isEmpty {
                guard let name = model.name else { return .failure(raised) }
                if unsupportedSystemRolePatterns.contains(where: { luaFind(Array(name.utf8), Array($0.utf8)) }) {
                    return .failure(LLMDriverFailure("system prompts are unsupported for model '\(name)"))
                }
                body["system"] = .array(system)
            }
        }
        body["inferenceConfig"] = .object(LLMDrivers.renamed(
            request, ["max_tokens": "maxTokens", "stop": "stopSequences", "temperature": "temperature", "top_p": "topP"]))
        body["guardrailConfig"] = request["guardrailConfig"]
        // `bedrock.toolConfig` and `bedrock.additionalModelRequestFields`, each in a list.
        let legacy: (String) -> Result<Value?, LLMDriverFailure> = { key in
            switch request["bedrock"] {
            case nil, .string?, .array?: return .success(nil)
            case .bool(false)?: return .success(.bool(false))
            case .object(let bedrock)?:
                guard let value = bedrock[key], LuaTable.isTruthy(value) else { return .success(bedrock[key]) }
                return .success([value])
            default: return .failure(raised)
            }
        }
        var toolConfig: Value?
        switch legacy("toolConfig") {
        case .success(let value): toolConfig = value
        case .failure(let failure): return .failure(failure)
        }
        if case .array(let list)? = request["tools"], !list.isEmpty {
            var config = Object()
            if case .array(let items)? = toolConfig {
                for (i, item) in items.enumerated() { config[String(i + 1)] = item }
            }
            switch tools(list) {
            case .success(let specs?): config["tools"] = specs
            case .success(nil): if config.isEmpty { toolConfig = .object([:]) }
            case .failure(let failure): return .failure(failure)
            }
            // A list with `tools` set is cjson's object, its items under "1".
            if config["tools"] != nil { toolConfig = .object(config) }
        }
        body["toolConfig"] = toolConfig
        switch legacy("additionalModelRequestFields") {
        case .success(let value): body["additionalModelRequestFields"] = value
        case .failure(let failure): return .failure(failure)
        }
        return .success(body)
    }

    /// Kong's `to_tools`: each function as a `toolSpec` (nil when none is; a tool without a
    /// function leaves a `null` in its place).
    static func tools(_ list: [Value]) -> Result<Value?, LLMDriverFailure> {
        var specs: [Value] = []
        for (i, tool) in list.enumerated() {
            let function: Value?
            switch tool {
            case .object(let o): function = o["function"]
            case .array, .string: function = nil
            default: return .failure(LLMDriverFailure("nil"))
            }
            guard let function, LuaTable.isTruthy(function) else { continue }
            var spec = Object()
            switch function {
            case .object(let f):
                spec["name"] = f["name"]
                spec["description"] = f["description"]
                var schema = Object()
                schema["json"] = f["parameters"]
                spec["inputSchema"] = .object(schema)
            case .string, .array: spec["inputSchema"] = .object([:])
            default: return .failure(LLMDriverFailure("nil"))
            }
            while specs.count < i { specs.append(.null) }
            specs.append(.object(["toolSpec": .object(spec)]))
        }
        return .success(specs.isEmpty ? nil : .array(specs))
    }

    /// Lua's `string.find(s, pattern)` for patterns of literal bytes and `.`, each possibly
    /// repeated by `-` or `*`.
    static func luaFind(_ s: [UInt8], _ pattern: [UInt8]) -> Bool {
        var items: [(byte: UInt8?, repeated: Bool)] = []
        var i = 0
        while i < pattern.count {
            let repeated = i + 1 < pattern.count && (pattern[i + 1] == UInt8(ascii: "-") || pattern[i + 1] == UInt8(ascii: "*"))
            items.append((pattern[i] == UInt8(ascii: ".") ? nil : pattern[i], repeated))
            i += repeated ? 2 : 1
        }
        func matches(_ at: Int, _ item: Int) -> Bool {
            guard item < items.count else { return true }
            let (byte, repeated) = items[item]
            func fits(_ k: Int) -> Bool { k < s.count && (byte == nil || s[k] == byte) }
            guard repeated else { return fits(at) && matches(at + 1, item + 1) }
            var k = at
            while true {
                if matches(k, item + 1) { return true }
                guard fits(k) else { return false }
                k += 1
            }
        }
        return (0...s.count).contains { matches($0, 0) }
    }

    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        guard routeType == "llm/v1/chat" else {
            return .failure(LLMDriverFailure("no transformer available from format bedrock://\(routeType)"))
        }
        return decodedAnswer(body, routeType, failure: "failed to decode response from Bedrock").flatMap { answer in
            guard case .array(let content)? = answer["output"]?["message"]?["content"], let first = content.first else {
                return .failure(transformationFailure(routeType, "no generation candidates received from Bedrock, or max_tokens too short"))
            }
            var message: Object = ["role": "assistant"]
            message["content"] = first["text"]
            let calls = content.compactMap(Self.toolCall)
            if !calls.isEmpty { message["tool_calls"] = .array(calls) }
            let reason = answer["stopReason"]?.stringValue.flatMap { Self.stopReasons[$0] } ?? "stop"
            var out: Object = [
                "choices": [.object(["index": 0, "message": .object(message), "finish_reason": .string(reason)])],
                "object": "chat.completion",
            ]
            out["model"] = model.name.map(Value.string)
            if let usage = answer["usage"], LuaTable.isTruthy(usage) {
                var counts = Object()
                counts["prompt_tokens"] = usage["inputTokens"]
                counts["completion_tokens"] = usage["outputTokens"]
                counts["total_tokens"] = usage["totalTokens"]
                out["usage"] = .object(counts)
            }
            out["trace"] = answer["trace"]
            return .success(LLMAnswer(.object(out)))
        }
    }

    /// A `toolUse` content block as OpenAI's tool call (`arguments` only for a non-empty input).
    private static func toolCall(_ block: Value) -> Value? {
        guard case .object(let use)? = block["toolUse"] else { return nil }
        var function = Object()
        function["name"] = use["name"]
        if let input = use["input"], input.objectValue?.isEmpty == false || input.arrayValue?.isEmpty == false {
            function["arguments"] = .string(KongJSONEncoderShim.string(input))
        }
        var call: Object = ["function": .object(function), "type": "function"]
        call["id"] = use["toolUseId"]
        return .object(call)
    }

    /// One event-stream message (``AWSEventStream``'s `{headers, body}`) as an OpenAI chunk, by
    /// its `:event-type`: `messageStart` opens the message, `contentBlockStart` a tool call,
    /// `contentBlockDelta` carries text or a tool call's arguments, `messageStop` the finish
    /// reason, and `metadata` the token counts with `[DONE]`.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard routeType == "stream/llm/v1/chat" else { return .skip }
        guard let message = event.json, case .string(let type)? = message["headers"]?[":event-type"],
            case .string(let payload)? = message["body"], let body = KongJSONEncoderShim.decode(Array(payload.utf8))
        else {
            // Kong's `""`: an empty event.
            return LLMStreamOutput(frame: .raw(""))
        }
        func chunk(_ choice: Object, fingerprint: Bool = true) -> LLMStreamOutput {
            var chunk: Object = ["choices": [.object(choice)], "object": "chat.completion.chunk"]
            chunk["model"] = model.name.map(Value.string)
            if fingerprint { chunk["system_fingerprint"] = .null }
            return .chunk(.object(chunk))
        }
        switch type {
        case "messageStart":
            var delta: Object = ["content": ""]
            delta["role"] = body["role"]
            return chunk(["delta": .object(delta), "index": 0, "logprobs": .null])
        case "contentBlockStart":
            guard case .object(let use)? = body["start"]?["toolUse"] else { return nil }
            var function: Object = ["arguments": ""]
            function["name"] = use["name"]
            var call: Object = ["function": .object(function)]
            call["index"] = body["contentBlockIndex"]
            call["id"] = use["toolUseId"]
            return chunk(["delta": ["tool_calls": [.object(call)]], "index": 0, "logprobs": .null])
        case "contentBlockDelta":
            if let use = body["delta"]?["toolUse"], LuaTable.isTruthy(use) {
                var function = Object()
                function["arguments"] = use["input"]
                var call: Object = ["function": .object(function)]
                call["index"] = body["contentBlockIndex"]
                return chunk(["delta": ["tool_calls": [.object(call)]], "index": 0, "logprobs": .null])
            }
            let text = body["delta"]?["text"].flatMap { LuaTable.isTruthy($0) ? $0 : nil } ?? ""
            return chunk(["delta": ["content": text], "index": 0, "logprobs": .null])
        case "messageStop":
            let reason = body["stopReason"]?.stringValue.flatMap { Self.stopReasons[$0] } ?? "stop"
            return chunk(["delta": .object([:]), "index": 0, "finish_reason": .string(reason), "logprobs": .null], fingerprint: false)
        case "metadata":
            return LLMStreamOutput(
                frame: .done, promptTokens: body["usage"]?["inputTokens"]?.integerValue ?? 0,
                completionTokens: body["usage"]?["outputTokens"]?.integerValue ?? 0)
        default:
            return nil
        }
    }

    /// `upstream_url`, else `bedrock-runtime.<region>`'s `/model/<name>/converse` (or
    /// `converse-stream`); `upstream_path` replaces the path.
    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        let path = "/model/\(model.name ?? "nil")/" + (stream ? "converse-stream" : "converse")
        var url = LLMDrivers.url(model, base: "https://bedrock-runtime.\(identity.region ?? "nil").amazonaws.com", path: path)
        if let path = model.options.string("upstream_path") { url?.path = path }
        return url
    }

    var acceptEncoding: String? { "gzip, identity" }
    var clearsSetCookie: Bool { true }
    var authStyle: LLMAuthStyle { .signed }
    var awsIdentity: AWSIdentity? { identity }
}

/// What bedrock requests are signed with (Kong's `cloud_identity_function` AWS SDK):
/// `model.options.bedrock.aws_region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`; the keys of
/// `auth.aws_access_key_id` / `aws_secret_access_key`, each else the environment's, and when
/// there is no pair, lua-resty-aws's credential chain (``AWSCredentialChain``). Kong drops
/// `AWS_SESSION_TOKEN` when both keys come from the environment; kgate signs with it.
struct AWSIdentity: Sendable {
    var region: String?
    /// The configured (or environment's) key pair, signed with without waiting.
    var credentials: AWSSigV4.Credentials?
    var chain: AWSCredentialChain

    init(region: String?, credentials: AWSSigV4.Credentials?, chain: AWSCredentialChain) {
        self.region = region
        self.credentials = credentials
        self.chain = chain
    }

    /// The identity of a config's `model` and `auth`.
    init(model: Object, auth: Object?, chain: AWSCredentialChain = .process) {
        let variables = chain.sources.variables
        let options = model["options"]?.objectValue
        region = options?["bedrock"]?.objectValue?.string("aws_region") ?? variables["AWS_REGION"] ?? variables["AWS_DEFAULT_REGION"]
        let key = auth?.string("aws_access_key_id")
        let secret = auth?.string("aws_secret_access_key")
        if let keyID = key ?? variables["AWS_ACCESS_KEY_ID"], let secretKey = secret ?? variables["AWS_SECRET_ACCESS_KEY"] {
            let token = key == nil && secret == nil ? variables["AWS_SESSION_TOKEN"] : nil
            credentials = AWSSigV4.Credentials(accessKey: keyID, secretKey: secretKey, sessionToken: token)
        }
        self.chain = chain
    }

    /// The credentials to sign with: the configured ones, else the chain's (which may fetch).
    func resolvedCredentials() async throws -> AWSSigV4.Credentials {
        if let credentials { return credentials }
        return try await chain.credentials(region: region)
    }

    /// Kong's `signer` call: `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials) and
    /// `Authorization` for a `POST` of `body` to `host` and `path` (only `Host` signed, no query).
    func signature(_ credentials: AWSSigV4.Credentials, host: String, path: String, body: [UInt8], at seconds: Int) -> [(String, String)] {
        AWSSigV4(credentials: credentials, region: region ?? "", service: "bedrock").sign(
            method: "POST", path: path, query: [], headers: [("Host", host)], body: body, at: seconds)
    }
}
