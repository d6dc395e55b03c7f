import KGateSchema
import KGateTestSupport
import Testing

@testable import KGatePlugins

/// The ai-proxy drivers' conversions, after Kong's spec/03-plugins/38-ai-proxy/01-unit_spec.lua
/// and the shapes of its fixtures (spec/fixtures/ai-proxy/unit/...): OpenAI-format requests to
/// each provider's, the providers' answers and streams back, and Kong's messages when they
/// do not convert.
@Suite struct AIProxyDriversTests {
    /// JSON text as a value (keys sorted, integral numbers as integers, so that comparisons
    /// ignore what cjson ignores).
    static func json(_ text: String) -> Value {
        guard let value = KongJSONEncoderShim.decode(Array(text.utf8)) else {
            Issue.record("bad JSON: \(text)")
            return .null
        }
        return normalized(value)
    }

    static func normalized(_ value: Value) -> Value {
        switch value {
        case .object(let o): return .object(Object(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.map { ($0.key, normalized($0.value)) }))
        case .array(let a): return .array(a.map(normalized))
        case .number(let d) where d == d.rounded(): return .integer(Int(d))
        default: return value
        }
    }

    /// Kong's unit spec's chat request (a system prompt and a history).
    static let chat = json("""
        {"messages": [
          {"role": "system", "content": "You are a mathematician."},
          {"role": "user", "content": "What is 1 + 2?"},
          {"role": "assistant", "content": "The sum of 1 + 2 is 3."},
          {"role": "user", "content": "Multiply that by 2"},
          {"role": "assistant", "content": "Certainly! The result is 6."},
          {"role": "user", "content": "Why can't you divide by zero?"}
        ]}
        """).objectValue ?? [:]
    static let completions: Object = ["prompt": "Explain why you can't divide by zero?"]

    static func model(_ provider: String, _ name: String, _ options: Object) -> LLMModel {
        LLMModel(provider: provider, name: name, options: options)
    }

    /// The body a driver sends for `request` (defaults merged in as ai-proxy does).
    static func sent(_ driver: any LLMDriver, _ request: Object, _ model: LLMModel, _ route: String = "llm/v1/chat") throws -> Value {
        let merged = LLMDrivers.mergingDefaults(request, options: model.options)
        return normalized(.object(try driver.requestBody(merged, model: model, routeType: route).get()))
    }

    /// The OpenAI-format answer a driver makes of `body`.
    static func answer(_ driver: any LLMDriver, _ body: String, _ model: LLMModel, _ route: String = "llm/v1/chat") throws -> Value {
        let answer = try driver.answer(Array(body.utf8), model: model, routeType: route, transformer: false).get()
        let reparsed = try #require(KongJSONEncoderShim.decode(answer.body))
        #expect(normalized(reparsed) == normalized(answer.decoded ?? .null))
        return normalized(reparsed)
    }

    static func failure(_ driver: any LLMDriver, _ body: String, _ model: LLMModel, _ route: String = "llm/v1/chat", transformer: Bool = false) -> String? {
        if case .failure(let f) = driver.answer(Array(body.utf8), model: model, routeType: route, transformer: transformer) { return f.message }
        return nil
    }

    /// The client's stream for upstream `chunks`.
    static func stream(
        _ driver: any LLMDriver, _ chunks: [String], _ model: LLMModel, route: String = "llm/v1/chat", contentType: String? = "text/event-stream"
    ) -> (text: String, converter: LLMStreamConverter) {
        var converter = LLMStreamConverter(contentType: contentType)
        var out: [UInt8] = []
        for (i, chunk) in chunks.enumerated() {
            out += converter.convert(Array(chunk.utf8), last: i == chunks.count - 1, driver: driver, model: model, routeType: route)
        }
        return (String(decoding: out, as: UTF8.self), converter)
    }

    /// The JSON of each `data:` event of a converted stream (`[DONE]` as a string).
    static func events(_ text: String) -> [Value] {
        text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            guard line.hasPrefix("data: ") else { return nil }
            let data = line.dropFirst(6)
            return data == "[DONE]" ? .string("[DONE]") : json(String(data))
        }
    }

    // MARK: Driver choice

    @Test func driversByConfig() throws {
        func provider(_ model: Object, auth: Object? = nil) throws -> String {
            let driver = try LLMDrivers.driver(for: model, auth: auth)
            return "\(type(of: driver)):\(driver.provider)"
        }
        #expect(try provider(["provider": "openai"]) == "OpenAIDriver:openai")
        #expect(try provider(["provider": "azure"]) == "OpenAIDriver:azure")
        #expect(try provider(["provider": "mistral", "options": ["mistral_format": "openai"]]) == "OpenAIDriver:mistral")
        #expect(try provider(["provider": "mistral", "options": ["mistral_format": "ollama"]]) == "OllamaDriver:mistral")
        #expect(try provider(["provider": "llama2", "options": ["llama2_format": "ollama"]]) == "OllamaDriver:llama2")
        #expect(try provider(["provider": "llama2", "options": ["llama2_format": "raw"]]) == "Llama2RawDriver:llama2")
        #expect(try provider(["provider": "anthropic"]) == "AnthropicDriver:anthropic")
        #expect(try provider(["provider": "cohere"]) == "CohereDriver:cohere")
        #expect(try provider(["provider": "huggingface"]) == "HuggingFaceDriver:huggingface")
        #expect(try provider(["provider": "gemini"], auth: ["param_name": "key"]) == "GeminiDriver:gemini")
        #expect(try provider(["provider": "bedrock"]) == "BedrockDriver:bedrock")
        #expect(throws: AIProxyPlugin.UnsupportedProvider.self) { try provider(["provider": "gemini"], auth: ["gcp_use_service_account": true]) }
        #expect(throws: AIProxyPlugin.UnsupportedProvider.self) { try provider(["provider": "mistral", "options": ["mistral_format": "raw"]]) }
    }

    // MARK: anthropic

    static let claude = model("anthropic", "claude-2.1", ["max_tokens": 512, "temperature": 0.5, "top_p": 1.0, "anthropic_version": "2023-06-01"])

    @Test func anthropicRequests() throws {
        let driver = AnthropicDriver()
        let chat = try Self.sent(driver, Self.chat, Self.claude)
        #expect(chat["system"] == "You are a mathematician.")
        #expect(chat["messages"]?.arrayValue?.count == 5)
        #expect(chat["messages"]?.arrayValue?.first == Self.json(#"{"role": "user", "content": "What is 1 + 2?"}"#))
        #expect(chat["model"] == "claude-2.1" && chat["max_tokens"] == 512 && chat["temperature"] == 0.5 && chat["stream"] == false)
        #expect(chat["top_p"] == nil)
        let completion = try Self.sent(driver, Self.completions, Self.claude, "llm/v1/completions")
        #expect(completion == Self.json("""
            {"model": "claude-2.1", "prompt": "Human: Explain why you can't divide by zero?\\n\\nAssistant:",
             "max_tokens_to_sample": 512, "temperature": 0.5, "stream": false}
            """))
        #expect(driver.requestHeaders(Self.claude).first! == ("anthropic-version", "2023-06-01"))
        // Without max_tokens anywhere, none is sent (Kong sets no default).
        let bare = try Self.sent(driver, Self.chat, Self.model("anthropic", "claude-2.1", [:]))
        #expect(bare["max_tokens"] == nil)
    }

    @Test func anthropicTools() throws {
        let driver = AnthropicDriver()
        var request = Self.json("""
            {"messages": [
              {"role": "user", "content": "Is the NewPhone in stock?"},
              {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "check_stock", "arguments": "{\\"product_name\\":\\"NewPhone\\"}"}}]},
              {"role": "tool", "tool_call_id": "t1", "content": "yes"}
             ],
             "tools": [{"type": "function", "function": {"name": "check_stock", "parameters": {"type": "object"}}}]}
            """).objectValue ?? [:]
        for (choice, expected) in [
            ("\"auto\"", #"{"type": "auto"}"#), ("\"none\"", #"{"type": "none"}"#), ("\"required\"", #"{"type": "any"}"#),
            (#"{"type": "function", "function": {"name": "my_function"}}"#, #"{"type": "tool", "name": "my_function"}"#),
        ] {
            request["tool_choice"] = Self.json(choice)
            #expect(try Self.sent(driver, request, Self.claude)["tool_choice"] == Self.json(expected))
        }
        let body = try Self.sent(driver, request, Self.claude)
        #expect(body["tools"] == Self.json(#"[{"name": "check_stock", "input_schema": {"type": "object"}}]"#))
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages[1] == Self.json(
            #"{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "check_stock", "input": {"product_name": "NewPhone"}}]}"#))
        #expect(messages[2] == Self.json(#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "yes"}]}"#))
        request["tool_choice"] = Self.json(#"{"type": "function"}"#)
        #expect(throws: LLMDriverFailure("error transforming to anthropic://llm/v1/chat")) {
            try driver.requestBody(request, model: Self.claude, routeType: "llm/v1/chat").get()
        }
    }

    @Test func anthropicAnswers() throws {
        let driver = AnthropicDriver()
        let good = try Self.answer(driver, """
            {"content": [{"text": "The sum of 1 + 1 is 2.", "type": "text"}], "model": "claude-2.1",
             "stop_reason": "end_turn", "stop_sequence": "string", "usage": {"input_tokens": 10, "output_tokens": 7}}
            """, Self.claude)
        #expect(good == Self.json("""
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": "The sum of 1 + 1 is 2."}, "finish_reason": "end_turn"}],
             "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}, "model": "claude-2.1", "object": "chat.completion"}
            """))
        let noUsage = try Self.answer(driver, #"{"content": [{"text": "2", "type": "text"}], "model": "claude-2.1"}"#, Self.claude)
        #expect(noUsage["usage"] == "no usage data returned from upstream")
        let malformed = try Self.answer(driver, #"{"content": [{"text": "2", "type": "text"}], "usage": {"foo": 0}}"#, Self.claude)
        #expect(malformed["usage"] == .object([:]))
        let tool = try Self.answer(driver, #"{"content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}, {"type": "text", "text": "x"}]}"#, Self.claude)
        #expect(tool["choices"]?[0]?["message"] == Self.json(
            #"{"role": "assistant", "content": "\nx", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}"#))
        #expect(Self.failure(driver, #"{"nothing_object": {}}"#, Self.claude)
            == "transformation failed from type anthropic://llm/v1/chat: 'content' not in anthropic://llm/v1/chat response")
        #expect(Self.failure(driver, "<html>", Self.claude) == "transformation failed from type anthropic://llm/v1/chat: failed to decode anthropic response")
        let completion = try Self.answer(
            driver, #"{"completion": " Hello! My name is Claude.", "stop_reason": "stop_sequence", "model": "claude-2.1"}"#, Self.claude, "llm/v1/completions")
        #expect(completion == Self.json("""
            {"choices": [{"index": 0, "text": " Hello! My name is Claude.", "finish_reason": "stop_sequence"}], "model": "claude-2.1", "object": "text_completion"}
            """))
        #expect(Self.failure(driver, "{}", Self.claude, "llm/v1/completions")
            == "transformation failed from type anthropic://llm/v1/completions: 'completion' not in anthropic://llm/v1/chat response")
    }

    /// Kong's streaming spec's Anthropic events, cut at awkward places.
    @Test func anthropicStream() throws {
        let whole = LLMFixtures.anthropicStreamEvents.joined()
        let cut = whole.index(whole.startIndex, offsetBy: 100)
        let (text, converter) = Self.stream(AnthropicDriver(), [String(whole[..<cut]), String(whole[cut...])], Self.claude)
        let events = Self.events(text)
        #expect(events.count == 5)
        #expect(events[0] == Self.json("""
            {"choices": [{"delta": {"content": "", "role": "assistant"}, "index": 0, "logprobs": null}], "id": "msg_1",
             "model": "claude-2.1", "object": "chat.completion.chunk", "system_fingerprint": null}
            """))
        #expect(events[2]["choices"]?[0]?["delta"]?["content"] == "1 + 1")
        #expect(events[2]["id"] == "msg_1")
        #expect(events.last == "[DONE]")
        #expect(text.hasSuffix("data: [DONE]"))
        #expect(String(decoding: converter.text, as: UTF8.self) == "1 + 1 = 2")
        #expect(converter.promptTokens == 15 && converter.completionTokens == 10)
        // No converter for completion streams: nothing reaches the client.
        #expect(Self.stream(AnthropicDriver(), [whole], Self.claude, route: "llm/v1/completions").text.isEmpty)
    }

    // MARK: cohere

    @Test func cohereRequests() throws {
        let driver = CohereDriver()
        let chat = try Self.sent(driver, Self.chat, Self.model("cohere", "command", ["max_tokens": 512, "temperature": 0.5, "top_p": 1.0]))
        #expect(chat == Self.json("""
            {"chat_history": [
               {"role": "USER", "message": "You are a mathematician."}, {"role": "USER", "message": "What is 1 + 2?"},
               {"role": "CHATBOT", "message": "The sum of 1 + 2 is 3."}, {"role": "USER", "message": "Multiply that by 2"},
               {"role": "CHATBOT", "message": "Certainly! The result is 6."}],
             "message": "Why can't you divide by zero?", "model": "command", "max_tokens": 512, "temperature": 0.5, "p": 1.0, "stream": false}
            """))
        let completion = try Self.sent(
            driver, Self.completions, Self.model("cohere", "command", ["max_tokens": 512, "temperature": 0.5, "top_p": 0.75, "top_k": 5]),
            "llm/v1/completions")
        #expect(completion == Self.json("""
            {"prompt": "Explain why you can't divide by zero?", "model": "command", "max_tokens": 512, "temperature": 0.5, "p": 0.75, "k": 5, "stream": false}
            """))
        // With tools the request goes as OpenAI's.
        var tools = Self.chat
        tools["tools"] = [["type": "function"]]
        #expect(try Self.sent(driver, tools, Self.model("cohere", "command", ["top_k": 5]))["messages"] != nil)
    }

    @Test func cohereAnswers() throws {
        let driver = CohereDriver()
        let command = Self.model("cohere", "command", [:])
        let chat = try Self.answer(driver, """
            {"generation_id": "f8aa", "meta": {"billed_units": {"input_tokens": 81, "output_tokens": 258}},
             "text": "You cannot divide by zero.", "token_count": {"prompt_tokens": 102, "response_tokens": 258, "total_tokens": 360}}
            """, command)
        #expect(chat == Self.json("""
            {"choices": [{"finish_reason": "stop", "index": 0, "message": {"content": "You cannot divide by zero.", "role": "assistant"}}],
             "id": "f8aa", "model": "command", "object": "chat.completion", "usage": {"completion_tokens": 258, "prompt_tokens": 81, "total_tokens": 339}}
            """))
        let generate = """
            {"generations": [{"finish_reason": "MAX_TOKENS", "id": "d9", "text": " You cannot."}], "id": "77d6",
             "meta": {"billed_units": {"input_tokens": 8, "output_tokens": 100}}, "prompt": "Why?"}
            """
        #expect(try Self.answer(driver, generate, command, "llm/v1/completions") == Self.json("""
            {"choices": [{"finish_reason": "stop", "index": 0, "text": " You cannot."}], "id": "77d6", "model": "command",
             "object": "text_completion", "usage": {"completion_tokens": 100, "prompt_tokens": 8, "total_tokens": 108}}
            """))
        // The completions route counts a chat answer's `token_count`.
        #expect(try Self.answer(driver, #"{"text": "x", "token_count": {"prompt_tokens": 1, "response_tokens": 2, "total_tokens": 3}}"#, command,
            "llm/v1/completions")["usage"] == Self.json(#"{"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}"#))
        #expect(Self.failure(driver, #"{"message": "invalid api token"}"#, command, "llm/v1/completions")
            == "transformation failed from type cohere://llm/v1/completions: 'text' or 'generations' missing from cohere response body")
        #expect(Self.failure(driver, "nope", command) == "transformation failed from type cohere://llm/v1/chat: failed to decode cohere response")
    }

    @Test func cohereStream() throws {
        let lines = [
            #"{"is_finished":false,"event_type":"stream-start","generation_id":"g1"}"#,
            #"{"is_finished":false,"event_type":"text-generation","text":"the answer"}"#,
            #"{"is_finished":true,"event_type":"stream-end","response":{"meta":{"billed_units":{"input_tokens":3,"output_tokens":2}}}}"#,
        ].joined(separator: "\n") + "\n"
        let cut = lines.index(lines.startIndex, offsetBy: 90)
        let command = Self.model("cohere", "command", [:])
        let (text, converter) = Self.stream(CohereDriver(), [String(lines[..<cut]), String(lines[cut...])], command, contentType: "application/stream+json")
        let events = Self.events(text)
        #expect(events.count == 3)
        #expect(events[1] == Self.json("""
            {"choices": [{"delta": {"content": "the answer"}, "index": 0, "finish_reason": null, "logprobs": null}], "id": "g1",
             "model": "command", "object": "chat.completion.chunk"}
            """))
        #expect(converter.promptTokens == 3 && converter.completionTokens == 2)
        let completions = Self.events(Self.stream(CohereDriver(), [lines], command, route: "llm/v1/completions").text)
        #expect(completions[1]["choices"]?[0]?["text"] == "the answer")
        #expect(completions[1]["object"] == "text_completion")
    }

    // MARK: ollama, llama2 raw

    @Test func ollama() throws {
        let llama = Self.model("llama2", "llama2", ["max_tokens": 512, "temperature": 0.5, "llama2_format": "ollama"])
        let driver = OllamaDriver(provider: "llama2")
        let chat = try Self.sent(driver, Self.chat, llama)
        #expect(chat["messages"] == Self.normalized(Self.chat["messages"]!))
        #expect(chat["options"] == Self.json(#"{"num_predict": 512, "temperature": 0.5}"#))
        #expect(chat["model"] == "llama2" && chat["stream"] == false)
        #expect(try Self.sent(driver, Self.completions, llama, "llm/v1/completions") == Self.json("""
            {"model": "llama2", "prompt": "Explain why you can't divide by zero?", "stream": false, "options": {"num_predict": 512, "temperature": 0.5}}
            """))
        let answer = try Self.answer(driver, """
            {"model": "llama2", "created_at": "2024-01-15T08:13:38.876196Z", "message": {"role": "assistant", "content": "Because."},
             "done": true, "prompt_eval_count": 26, "eval_count": 512}
            """, llama)
        #expect(answer == Self.json("""
            {"model": "llama2", "created": "2024-01-15T08:13:38.876196Z", "object": "chat.completion",
             "usage": {"completion_tokens": 512, "prompt_tokens": 26, "total_tokens": 538},
             "choices": [{"finish_reason": "length", "index": 0, "message": {"role": "assistant", "content": "Because."}}]}
            """))
        let completion = try Self.answer(driver, #"{"model": "llama2", "response": "Because I said so.", "done": true, "eval_count": 12}"#, llama, "llm/v1/completions")
        #expect(completion["choices"] == Self.json(#"[{"index": 0, "text": "Because I said so."}]"#))
        #expect(completion["usage"]?["prompt_tokens"] == 0)
        #expect(Self.failure(driver, "x", llama) == "transformation failed from type llama2://llm/v1/chat: failed to decode ollama response")
        #expect(Self.failure(OllamaDriver(provider: "mistral"), "x", llama)
            == "transformation failed from type mistral://llm/v1/chat/nil: failed to decode ollama response")
        let lines = """
            {"model":"llama2","message":{"role":"assistant","content":"1 + 1"},"done":false}
            {"model":"llama2","message":{"role":"assistant","content":" = 2"},"done":false}
            {"model":"llama2","done":true,"prompt_eval_count":26,"eval_count":4}

            """
        let (text, converter) = Self.stream(driver, [lines], llama, contentType: "application/x-ndjson")
        #expect(Self.events(text) == [
            Self.json(#"{"choices": [{"delta": {"content": "1 + 1"}, "index": 0}], "model": "llama2", "object": "chat.completion.chunk"}"#),
            Self.json(#"{"choices": [{"delta": {"content": " = 2"}, "index": 0}], "model": "llama2", "object": "chat.completion.chunk"}"#),
            "[DONE]",
        ])
        #expect(converter.promptTokens == 26 && converter.completionTokens == 4)
        // mistral's driver drops the counts.
        #expect(Self.stream(OllamaDriver(provider: "mistral"), [lines], llama).converter.promptTokens == 0)
    }

    @Test func llama2Raw() throws {
        let llama = Self.model("llama2", "llama2", ["max_tokens": 512, "temperature": 0.5, "llama2_format": "raw", "top_p": 1, "top_k": 40])
        let driver = Llama2RawDriver()
        let chat = try Self.sent(driver, Self.chat, llama)
        #expect(chat == Self.json("""
            {"inputs": "<s>[INST] <<SYS>> You are a mathematician. <</SYS>> What is 1 + 2? [/INST] <s>[INST] Multiply that by 2 [/INST] <s>[INST] Why can't you divide by zero? [/INST]",
             "parameters": {"max_new_tokens": 512, "temperature": 0.5, "top_k": 40, "top_p": 1, "stream": false}}
            """))
        let completion = try Self.sent(driver, Self.completions, Self.model("llama2", "llama2", ["max_tokens": 512, "temperature": 0.5]), "llm/v1/completions")
        #expect(completion["inputs"] == "<s> [INST] <<SYS>> You are a helpful assistant. <<SYS>> Explain why you can't divide by zero? [/INST]")
        let answer = try Self.answer(driver, #"{"data": [{"generated_text": "<s>[INST] hi [/INST] <s>[INST] why? [/INST]\n\nBecause.  "}]}"#, llama)
        #expect(answer == Self.json(#"{"choices": [{"message": {"content": "Because.", "role": "assistant"}, "index": 0}], "object": "chat.completion"}"#))
        #expect(try Self.answer(driver, #"{"data": [{"generated_text": "x [/INST] y"}]}"#, llama, "llm/v1/completions")["choices"]?[0]?["text"] == "y")
        #expect(Self.failure(driver, #"{"data": [{}, {}]}"#, llama) == "transformation failed from type llama2://llm/v1/chat: cannot parse response from llama2 endpoint")
        #expect(Self.failure(driver, #"{"data": [{}]}"#, llama) == "transformation failed from type llama2://llm/v1/chat: response data is empty from llama2 endpoint")
    }

    // MARK: huggingface

    @Test func huggingFace() throws {
        let mistral = Self.model("huggingface", "mistralai/Mistral-7B-Instruct-v0.2", ["max_tokens": 256, "temperature": 1.0, "huggingface": ["use_cache": true]])
        let driver = HuggingFaceDriver()
        let chat = try Self.sent(driver, Self.chat, mistral)
        #expect(chat["parameters"] == Self.json(#"{"max_length": 256, "temperature": 1}"#))
        #expect(chat["options"] == Self.json(#"{"use_cache": true, "wait_for_model": false}"#))
        #expect(chat["max_tokens"] == nil && chat["temperature"] == nil && chat["messages"] != nil)
        let completion = try Self.sent(driver, Self.completions, mistral, "llm/v1/completions")
        #expect(completion["inputs"] == "Explain why you can't divide by zero?" && completion["prompt"] == nil)
        #expect(completion["parameters"]?["max_new_tokens"] == 256)
        #expect(driver.endpoint(mistral, routeType: "llm/v1/chat", stream: false)
            == ParsedURL("https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2/v1/chat/completions"))
        let answer = try Self.answer(driver, """
            {"object": "chat.completion", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": " 2."}, "finish_reason": "eos_token"}],
             "usage": {"prompt_tokens": 26, "completion_tokens": 40, "total_tokens": 66}}
            """, mistral)
        #expect(answer == Self.json("""
            {"model": "mistralai/Mistral-7B-Instruct-v0.2", "object": "chat.completion",
             "choices": [{"message": {"content": " 2."}, "index": 0, "finish_reason": "complete"}],
             "usage": {"prompt_tokens": 26, "completion_tokens": 40, "total_tokens": 66}}
            """))
        let generated = try Self.answer(driver, #"[{"generated_text": "I am a language model"}]"#, mistral, "llm/v1/completions")
        #expect(generated["object"] == "llm/v1/completions" && generated["usage"] == .object([:]))
        #expect(generated["choices"]?[0]?["message"]?["content"] == "I am a language model")
        #expect(Self.failure(driver, #"{"error": "Model is currently loading"}"#, mistral)
            == "transformation failed from type huggingface://llm/v1/chat: API error: Model is currently loading")
        #expect(Self.failure(driver, #"{"x": 1}"#, mistral) == "transformation failed from type huggingface://llm/v1/chat: Invalid response format")
    }

    // MARK: gemini

    static let gemini = model("gemini", "gemini-pro", ["max_tokens": 8192, "temperature": 0.8, "top_k": 1, "top_p": 0.6])

    @Test func geminiRequests() throws {
        let driver = GeminiDriver()
        let body = try Self.sent(driver, Self.chat, Self.gemini)
        #expect(body["systemInstruction"] == Self.json(#"{"parts": [{"text": "You are a mathematician."}]}"#))
        #expect(body["generationConfig"] == Self.json(#"{"temperature": 0.8, "topK": 1, "topP": 0.6, "maxOutputTokens": 8192}"#))
        let contents = try #require(body["contents"]?.arrayValue)
        #expect(contents.count == 5)
        #expect(contents[1] == Self.json(#"{"role": "model", "parts": [{"text": "The sum of 1 + 2 is 3."}]}"#))
        let images = Self.json("""
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
              {"type": "image_url", "image_url": {"url": "data:image/png;base64,Y2F0"}},
              {"type": "image_url", "image_url": {"url": "https://example.local/image.jpg"}}]}]}
            """).objectValue ?? [:]
        #expect(try Self.sent(driver, images, Self.gemini)["contents"]?[0]?["parts"] == Self.json("""
            [{"text": "What is this?"}, {"inlineData": {"data": "Y2F0", "mimeType": "image/png"}},
             {"fileData": {"fileUri": "https://example.local/image.jpg", "mimeType": "image/generic"}}]
            """))
        let badPart = Self.json(#"{"messages": [{"role": "user", "content": [{"type": "text"}]}]}"#).objectValue ?? [:]
        #expect(throws: LLMDriverFailure("error transforming to gemini://llm/v1/chat: message part type is 'text' but is missing .text block")) {
            try driver.requestBody(badPart, model: Self.gemini, routeType: "llm/v1/chat").get()
        }
        #expect(throws: LLMDriverFailure("error transforming to gemini://llm/v1/chat: system prompts aren't supported on gemini-1.0 models")) {
            try driver.requestBody(Self.chat, model: Self.model("gemini", "gemini-1.0-pro", [:]), routeType: "llm/v1/chat").get()
        }
        var tools = Self.chat
        tools["tools"] = Self.json(#"[{"type": "function", "function": {"name": "check_stock"}}]"#)
        #expect(try Self.sent(driver, tools, Self.gemini)["tools"] == Self.json(#"[{"function_declarations": [{"name": "check_stock"}]}]"#))
        #expect(driver.endpoint(Self.gemini, routeType: "llm/v1/chat", stream: false)
            == ParsedURL("https://generativelanguage.googleapis.com/v1beta/models/gemini-pro:generateContent"))
        var vertex = Self.gemini
        vertex.options["gemini"] = ["api_endpoint": "us-central1-aiplatform.googleapis.com", "project_id": "p", "location_id": "us-central1"]
        #expect(driver.endpoint(vertex, routeType: "llm/v1/chat", stream: true)?.path
            == "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-pro:streamGenerateContent")
    }

    @Test func geminiAnswers() throws {
        let driver = GeminiDriver()
        let good = """
            {"candidates": [{"content": {"parts": [{"text": "Le double de 2 est **4**."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": 128, "totalTokenCount": 142}}
            """
        #expect(try Self.answer(driver, good, Self.gemini) == Self.json("""
            {"choices": [{"finish_reason": "stop", "index": 0, "message": {"content": "Le double de 2 est **4**.", "role": "assistant"}}],
             "model": "gemini-pro", "object": "chat.completion", "usage": {"prompt_tokens": 14, "completion_tokens": 128, "total_tokens": 142}}
            """))
        let tool = try Self.answer(driver, """
            {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "sql_execute", "args": {"product_name": "NewPhone"}}}]}, "finishReason": "STOP"}]}
            """, Self.gemini)
        #expect(tool["choices"]?[0]?["message"]?["tool_calls"] == Self.json(
            #"[{"function": {"name": "sql_execute", "arguments": "{\"product_name\":\"NewPhone\"}"}}]"#))
        let safety = #"{"candidates": [{"finishReason": "SAFETY", "index": 0}]}"#
        #expect(try Self.answer(driver, safety, Self.gemini)["choices"] == .object([:]))
        #expect(Self.failure(driver, safety, Self.gemini, transformer: true)
            == "transformation failed from type gemini://llm/v1/chat: transformation generation candidate breached Gemini content safety")
        #expect(Self.failure(driver, #"{"error": {"code": 400}}"#, Self.gemini)
            == "transformation failed from type gemini://llm/v1/chat: no generation candidates received from Gemini, or max_tokens too short")
    }

    /// Gemini streams one JSON array, its elements arriving in pieces.
    @Test func geminiStream() throws {
        let whole = """
            [{"candidates": [{"content": {"parts": [{"text": "1 + 1"}], "role": "model"}}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}}
            ,
            {"candidates": [{"content": {"parts": [{"text": " = [2]"}], "role": "model"}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4}}
            ]
            """
        let pieces = stride(from: 0, to: whole.utf8.count, by: 17).map { String(decoding: Array(whole.utf8)[$0..<min($0 + 17, whole.utf8.count)], as: UTF8.self) }
        let (text, converter) = Self.stream(GeminiDriver(), pieces, Self.gemini, contentType: "application/json; charset=UTF-8")
        let events = Self.events(text)
        #expect(events.count == 3, "\(text)")
        #expect(events[1] == Self.json(#"{"model": "gemini-pro", "choices": [{"delta": {"content": " = [2]", "role": "assistant"}, "index": 0, "finish_reason": "STOP"}]}"#))
        #expect(events[2] == "[DONE]")
        #expect(converter.promptTokens == 5 && converter.completionTokens == 4)
    }

    // MARK: Streams, estimates

    @Test func unsupportedStreamType() {
        let (text, _) = Self.stream(AnthropicDriver(), ["abc", "def"], Self.claude, contentType: "text/plain")
        #expect(text == #"data: {"error": true, "message": "empty or unsupported transformer response"}"#)
    }

    @Test func promptEstimate() {
        #expect(LLMDrivers.estimatedTokens(Self.chat, factor: 1.0) == 32)
        #expect(LLMDrivers.estimatedTokens(["prompt": "apple apple  apple\tapple"], factor: 1.8) == 7)
        #expect(LLMDrivers.estimatedTokens(["prompt": [1, 2, [3, 4]]], factor: 1.0) == 4)
        #expect(LLMDrivers.estimatedTokens(["prompt": [["a": 1]]], factor: 1.0) == nil)
    }
}

extension Value {
    /// An array's element (tests only).
    fileprivate subscript(index: Int) -> Value? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }
}
