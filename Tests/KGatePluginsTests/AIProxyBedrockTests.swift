import KGateSchema
import KGateTestSupport
import Testing

@testable import KGatePlugins

/// Kong's bedrock driver (kong/llm/drivers/bedrock.lua): OpenAI's chat as a Converse request,
/// Converse answers and event streams back, the AWS event-stream framing and the request's
/// SigV4 signature.
@Suite struct AIProxyBedrockTests {
    typealias T = AIProxyDriversTests

    static let driver = BedrockDriver(identity: AWSIdentity(region: "us-east-1", credentials: nil, chain: .process))
    static let titan = T.model("bedrock", "amazon.titan-text-express-v1", [:])
    static let claude = T.model("bedrock", "anthropic.claude-3-sonnet", ["max_tokens": 256, "temperature": 0.5])

    // MARK: Requests

    @Test func chatRequest() throws {
        let body = try T.sent(Self.driver, T.chat, Self.claude)
        #expect(body["anthropic_version"] == "bedrock-2023-05-31")
        #expect(body["system"] == T.json(#"[{"text": "You are a mathematician."}]"#))
        #expect(body["messages"]?.arrayValue?.count == 5)
        #expect(body["messages"]?.arrayValue?.first == T.json(#"{"role": "user", "content": [{"text": "What is 1 + 2?"}]}"#))
        #expect(body["inferenceConfig"] == T.json(#"{"maxTokens": 256, "temperature": 0.5}"#))
        #expect(body["toolConfig"] == nil && body["guardrailConfig"] == nil && body["additionalModelRequestFields"] == nil)
        // The model's own anthropic_version wins.
        let versioned = T.model("bedrock", "anthropic.claude-3-sonnet", ["anthropic_version": "v9"])
        #expect(try T.sent(Self.driver, ["messages": [["role": "user", "content": "hi"]]], versioned)["anthropic_version"] == "v9")
        // Models without system prompts, and the other route types.
        #expect(Self.failure(T.chat, Self.titan) == "error transforming to bedrock://llm/v1/chat: system prompts are unsupported for model 'amazon.titan-text-express-v1")
        #expect(Self.failure(T.completions, Self.titan, route: "llm/v1/completions") == "no transformer for bedrock://llm/v1/completions")
        #expect(try T.sent(Self.driver, ["messages": [["role": "user", "content": "hi"]]], Self.titan)["system"] == nil)
    }

    @Test func toolsAndResults() throws {
        let request = T.json(#"""
            {"messages": [
              {"role": "user", "content": "What is 2 + 12?"},
              {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}}]},
              {"role": "tool", "tool_call_id": "call_1", "content": "14"},
              {"role": "tool", "tool_call_id": "call_2", "content": "{\"sum\": 14}", "status": "success"}
            ],
            "tools": [{"type": "function", "function": {"name": "add", "description": "Adds", "parameters": {"type": "object"}}}],
            "guardrailConfig": {"guardrailIdentifier": "g"}, "stop": ["x"], "top_p": 0.5}
            """#).objectValue ?? [:]
        let body = try T.sent(Self.driver, request, Self.claude)
        #expect(body["messages"] == T.json(#"""
            [{"role": "user", "content": [{"text": "What is 2 + 12?"}]},
             {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "add", "input": {"a": 2, "b": 12}}}]},
             {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"json": {"result": 14}}]}}]},
             {"role": "user", "content": [{"toolResult": {"toolUseId": "call_2", "content": [{"json": {"sum": 14}}], "status": "success"}}]}]
            """#))
        #expect(body["toolConfig"] == T.json(#"{"tools": [{"toolSpec": {"name": "add", "description": "Adds", "inputSchema": {"json": {"type": "object"}}}}]}"#))
        #expect(body["guardrailConfig"] == T.json(#"{"guardrailIdentifier": "g"}"#))
        #expect(body["inferenceConfig"] == T.json(#"{"maxTokens": 256, "temperature": 0.5, "stopSequences": ["x"], "topP": 0.5}"#))
        // The legacy `bedrock` fields go in a list; with `tools`, the list becomes an object.
        var legacy = request
        legacy["bedrock"] = ["toolConfig": ["toolChoice": ["auto": [:]]], "additionalModelRequestFields": ["top_k": 5]]
        let sent = try T.sent(Self.driver, legacy, Self.claude)
        #expect(sent["toolConfig"]?["1"] == T.json(#"{"toolChoice": {"auto": {}}}"#))
        #expect(sent["toolConfig"]?["tools"]?.arrayValue?.count == 1)
        #expect(sent["additionalModelRequestFields"] == T.json(#"[{"top_k": 5}]"#))
        legacy["tools"] = nil
        #expect(try T.sent(Self.driver, legacy, Self.claude)["toolConfig"] == T.json(#"[{"toolChoice": {"auto": {}}}]"#))
        // Tools without functions leave nulls; none at all an empty config.
        #expect(try BedrockDriver.tools([["type": "x"], ["function": ["name": "f"]]]).get().map(T.normalized) == (T.json(#"[null, {"toolSpec": {"name": "f", "inputSchema": {}}}]"#)))
        var noFunction = request
        noFunction["tools"] = [["type": "x"]]
        #expect(try T.sent(Self.driver, noFunction, Self.claude)["toolConfig"] == .object([:]))
        // Kong's messages for what does not decode.
        let badResult: Object = ["messages": [["role": "tool", "tool_call_id": "c", "content": "not json"]]]
        #expect(Self.failure(badResult, Self.claude) == "error transforming to bedrock://llm/v1/chat: failed to decode function response arguments, not JSON format")
        let badCall: Object = ["messages": [["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": "{"]]]]]]
        #expect(Self.failure(badCall, Self.claude)
            == "error transforming to bedrock://llm/v1/chat: failed to decode function response arguments from assistant's message, not JSON format")
        let noCallFunction: Object = ["messages": [["role": "assistant", "tool_calls": [["id": "c"]]]]]
        #expect(Self.failure(noCallFunction, Self.claude) == "error transforming to bedrock://llm/v1/chat: nil")
    }

    @Test func unsupportedSystemRolePatterns() {
        func matches(_ name: String) -> Bool {
            BedrockDriver.unsupportedSystemRolePatterns.contains { BedrockDriver.luaFind(Array(name.utf8), Array($0.utf8)) }
        }
        #expect(matches("amazon.titan-text-express-v1"))
        #expect(matches("cohere.command-text-v14"))
        #expect(matches("cohere.command-light-text-v14"))
        #expect(matches("mistral.mistral-7b-instruct-v0:2"))
        #expect(matches("mistral.mixtral-8x7b-instruct-v0:1"))
        #expect(!matches("anthropic.claude-3-sonnet"))
        #expect(!matches("cohere.command-r-v1:0"))
        #expect(!matches("mistral.mistral-large-2402-v1:0"))
    }

    static func failure(_ request: Object, _ model: LLMModel, route: String = "llm/v1/chat") -> String? {
        if case .failure(let f) = driver.requestBody(request, model: model, routeType: route) { return f.message }
        return nil
    }

    // MARK: Answers

    @Test func answers() throws {
        let text = try T.answer(Self.driver, #"""
            {"output": {"message": {"role": "assistant", "content": [{"text": "1 + 2 = 3"}]}}, "stopReason": "end_turn",
             "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19}, "metrics": {"latencyMs": 100}}
            """#, Self.claude)
        #expect(text == T.json(#"""
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": "1 + 2 = 3"}, "finish_reason": "stop"}],
             "object": "chat.completion", "model": "anthropic.claude-3-sonnet",
             "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}
            """#))
        let tools = try T.answer(Self.driver, #"""
            {"output": {"message": {"role": "assistant", "content": [{"text": "Adding."},
              {"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 2, "b": 12}}}, {"toolUse": {"toolUseId": "t2", "name": "now", "input": {}}}]}},
             "stopReason": "tool_use", "trace": {"guardrail": {}}}
            """#, Self.claude)
        let choice = try #require(tools["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(choice["message"]?["content"] == "Adding.")
        #expect(choice["message"]?["tool_calls"] == T.json(#"""
            [{"id": "t1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}},
             {"id": "t2", "type": "function", "function": {"name": "now"}}]
            """#))
        #expect(tools["trace"] == T.json(#"{"guardrail": {}}"#))
        #expect(tools["usage"] == nil)
        for (reason, mapped) in [("max_tokens", "length"), ("guardrail_intervened", "guardrail_intervened"), ("content_filtered", "stop")] {
            let answer = try T.answer(Self.driver, #"{"output": {"message": {"content": [{"text": "x"}]}}, "stopReason": "\#(reason)"}"#, Self.claude)
            #expect(answer["choices"]?.arrayValue?.first?["finish_reason"] == .string(mapped))
        }
        #expect(T.failure(Self.driver, "{", Self.claude) == "transformation failed from type bedrock://llm/v1/chat: failed to decode response from Bedrock")
        #expect(T.failure(Self.driver, #"{"output": {"message": {"content": []}}}"#, Self.claude)
            == "transformation failed from type bedrock://llm/v1/chat: no generation candidates received from Bedrock, or max_tokens too short")
    }

    // MARK: Streams

    static var toolStream: [UInt8] { LLMFixtures.bedrockToolStream.flatMap { LLMFixtures.bedrockEvent($0.event, $0.payload) } }

    /// The client's stream for the upstream's bytes cut at `cuts`.
    static func converted(_ bytes: [UInt8], cuts: [Int]) -> (text: String, converter: LLMStreamConverter) {
        var converter = LLMStreamConverter(contentType: "application/vnd.amazon.eventstream")
        var out: [UInt8] = []
        let bounds = [0] + cuts + [bytes.count]
        for i in 0..<(bounds.count - 1) {
            out += converter.convert(
                Array(bytes[bounds[i]..<bounds[i + 1]]), last: false, driver: driver, model: claude, routeType: "llm/v1/chat")
        }
        out += converter.convert([], last: true, driver: driver, model: claude, routeType: "llm/v1/chat")
        return (String(decoding: out, as: UTF8.self), converter)
    }

    @Test func toolUseStream() throws {
        let (text, converter) = Self.converted(Self.toolStream, cuts: [])
        let events = T.events(text)
        #expect(events.count == 9)
        #expect(events.first == T.json(#"""
            {"choices": [{"delta": {"content": "", "role": "assistant"}, "index": 0, "logprobs": null}],
             "model": "anthropic.claude-3-sonnet", "object": "chat.completion.chunk", "system_fingerprint": null}
            """#))
        #expect(events[1]["choices"]?.arrayValue?.first?["delta"] == T.json(#"""
            {"tool_calls": [{"index": 0, "id": "tooluse_1", "function": {"name": "add", "arguments": ""}}]}
            """#))
        let arguments = events.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue }
        #expect(arguments.joined() == #"{"a": 2, "b": 12}"#)
        #expect(events[7] == T.json(#"""
            {"choices": [{"delta": {}, "index": 0, "finish_reason": "tool_calls", "logprobs": null}],
             "model": "anthropic.claude-3-sonnet", "object": "chat.completion.chunk"}
            """#))
        #expect(events.last == "[DONE]")
        #expect(text.hasSuffix("data: [DONE]"))
        // The metadata's tokens, counted again at the stream's end as Kong does.
        #expect(converter.promptTokens == 478 * 2 && converter.completionTokens == 44 * 2)
        #expect(converter.finishReason == "tool_calls")
    }

    @Test func textStreamAndOddEvents() {
        let bytes = LLMFixtures.bedrockEvent("messageStart", #"{"role":"assistant"}"#)
            + LLMFixtures.bedrockEvent("contentBlockStart", #"{"contentBlockIndex":0,"start":{}}"#)
            + LLMFixtures.bedrockEvent("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"1 + 1 = 2"}}"#)
            + LLMFixtures.eventStreamMessage([(":message-type", "exception"), (":exception-type", "throttlingException")], #"{"message":"slow"}"#)
            + LLMFixtures.bedrockEvent("messageStop", #"{"stopReason":"max_tokens"}"#)
        let (text, converter) = Self.converted(bytes, cuts: [])
        let lines = text.components(separatedBy: "\n\n")
        #expect(lines.count == 5)
        // The exception has no event type: Kong's empty event.
        #expect(lines[2] == "data: ")
        // (counted twice: Kong runs the last chunk's events again at the stream's end)
        #expect(String(decoding: converter.text, as: UTF8.self) == "1 + 1 = 21 + 1 = 2")
        #expect(converter.finishReason == "length")
    }

    @Test func eventStreamCutAtEveryByte() throws {
        let bytes = Self.toolStream
        let whole = Self.converted(bytes, cuts: []).text
        for cut in 1..<bytes.count {
            #expect(Self.converted(bytes, cuts: [cut]).text == whole, "cut at \(cut)")
        }
        // One byte at a time.
        #expect(Self.converted(bytes, cuts: Array(1..<bytes.count)).text == whole)
    }

    @Test func eventStreamMessages() throws {
        var stream = AWSEventStream()
        let message = LLMFixtures.eventStreamMessage([(":event-type", "messageStart"), ("x", "é")], #"{"role":"assistant"}"#)
        #expect(stream.messages(Array(message.prefix(20))).isEmpty)
        let out = stream.messages(Array(message.dropFirst(20)) + message)
        #expect(out.count == 2)
        let decoded = try #require(KongJSONEncoderShim.decode(Array(out[0].utf8)))
        #expect(decoded == ["headers": [":event-type": "messageStart", "x": "é"], "body": #"{"role":"assistant"}"#])
        // Header types besides strings (AWS's spec): booleans, integers, bytes, timestamps, UUIDs.
        let headers: [UInt8] = [1, 0x61, 0] + [1, 0x62, 1] + [1, 0x63, 2, 0xFF] + [1, 0x64, 3, 0x01, 0x00] + [1, 0x65, 4, 0, 0, 0, 7]
            + [1, 0x66, 5] + [UInt8](repeating: 0, count: 7) + [9] + [1, 0x67, 6, 0, 2, 0x68, 0x69] + [1, 0x68, 9] + [UInt8](repeating: 0xAB, count: 16)
        let total = 16 + headers.count + 2
        var raw: [UInt8] = [0, 0, 0, UInt8(total), 0, 0, 0, UInt8(headers.count), 0, 0, 0, 0]
        raw += headers + Array("{}".utf8) + [0, 0, 0, 0]
        var other = AWSEventStream()
        let parsed = try #require(other.messages(raw).first.flatMap { KongJSONEncoderShim.decode(Array($0.utf8)) })
        #expect(parsed["headers"] == [
            "a": true, "b": false, "c": -1, "d": 256, "e": 7, "f": 9, "g": "hi",
            "h": .string(String(repeating: "ab", count: 16)),
        ])
        #expect(parsed["body"] == "{}")
    }

    // MARK: Endpoint and signature

    @Test func endpoints() {
        let model = T.model("bedrock", "anthropic.claude-v2:1", [:])
        #expect(Self.driver.endpoint(model, routeType: "llm/v1/chat", stream: false)
            == ParsedURL("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2:1/converse"))
        #expect(Self.driver.endpoint(model, routeType: "llm/v1/chat", stream: true)?.path == "/model/anthropic.claude-v2:1/converse-stream")
        let overridden = T.model("bedrock", "m", ["upstream_url": "http://127.0.0.1:9/x", "upstream_path": "/y"])
        #expect(Self.driver.endpoint(overridden, routeType: "llm/v1/chat", stream: true) == ParsedURL("http://127.0.0.1:9/y"))
        #expect(Self.driver.acceptEncoding == "gzip, identity" && Self.driver.clearsSetCookie && Self.driver.authStyle == .signed)
    }

    @Test func identity() {
        let chain = AWSCredentialChain(.init(variables: [
            "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok",
        ]))
        let fromEnvironment = AWSIdentity(model: ["provider": "bedrock"], auth: nil, chain: chain)
        #expect(fromEnvironment.region == "eu-west-1")
        #expect(fromEnvironment.credentials == .init(accessKey: "ENVKEY", secretKey: "envsecret", sessionToken: "tok"))
        let configured = AWSIdentity(
            model: ["options": ["bedrock": ["aws_region": "us-west-2"]]], auth: ["aws_access_key_id": "K", "aws_secret_access_key": "S"],
            chain: chain)
        #expect(configured.region == "us-west-2")
        #expect(configured.credentials == .init(accessKey: "K", secretKey: "S", sessionToken: nil))
        let none = AWSIdentity(model: [:], auth: ["aws_access_key_id": "K"], chain: AWSCredentialChain(.init(variables: [:])))
        #expect(none.region == nil && none.credentials == nil)
    }

    @Test func signature() {
        let identity = AWSIdentity(region: "us-east-1", credentials: nil, chain: .process)
        let host = "bedrock-runtime.us-east-1.amazonaws.com"
        let body = Array(#"{"a":1}"#.utf8)
        let signed = identity.signature(
            .init(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), host: host,
            path: "/model/anthropic.claude-v2:1/converse", body: body, at: 1_700_000_000)
        #expect(signed.map(\.0) == ["X-Amz-Date", "Authorization"])
        #expect(signed[0].1 == "20231114T221320Z")
        #expect(signed[1].1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=734c0e91fed6ec7c648e3d468628ea20c4a1c5ab647f40d854429ad42fcf3b88")
        let temporary = identity.signature(
            .init(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "TOKEN"), host: host,
            path: "/model/anthropic.claude-v2:1/converse", body: body, at: 1_700_000_000)
        #expect(temporary.map(\.0) == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(temporary[2].1.hasSuffix(
            "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=9597ef1e6e65c11b7e238e9be74b08d3a480e33af3a7f2a965729e0c3562b08b"))
    }
}
