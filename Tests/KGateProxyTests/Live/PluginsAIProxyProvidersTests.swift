import Foundation
import KGateTestSupport
import Testing

/// ai-proxy through the proxy to the providers that do not speak OpenAI's API, each a fake
/// provider on loopback answering as the real one does (the shapes of Kong's fixtures and
/// spec/03-plugins/38-ai-proxy/0x-<provider>_integration_spec.lua): the client speaks OpenAI's
/// format both ways, the provider receives its own.
@Suite("Plugins live: ai-proxy providers", .serialized)
struct PluginsAIProxyProvidersTests {
    typealias Canned = TestUpstream.Canned

    /// A route `host` with ai-proxy's `config` (YAML flow mapping), and file-log to `log`.
    private func route(_ host: String, _ config: String, log: String? = nil) -> String {
        var route = """
              - hosts: [\(host)]
                plugins:
                - name: ai-proxy
                  config: \(config)

            """
        if let log { route += "    - name: file-log\n      config: {path: \"\(log)\"}\n" }
        return route
    }

    private func yaml(_ port: Int, _ routes: [String]) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(port)
          routes:

        """ + routes.joined()
    }

    private static let chat = #"{"messages":[{"role":"system","content":"You are a mathematician."},{"role":"user","content":"What is 1 + 1?"}]}"#
    private static let prompt = #"{"prompt":"Explain why you can't divide by zero?"}"#

    private func post(_ proxy: ProxyHarness, _ host: String, _ body: String, headers: [(String, String)] = []) async throws -> RawResponse {
        try await proxy.send("POST", "/", host: host, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    private func received(_ upstream: TestUpstream, _ path: String) throws -> (uri: String, headers: [(String, String)], body: [String: Any]) {
        let request = try #require(upstream.requests.last { $0.head.uri.hasPrefix(path) })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        return (request.head.uri, request.head.headers.map { ($0.name, $0.value) }, body)
    }

    private func message(_ r: RawResponse) -> [String: Any]? {
        ((r.json?["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any]
    }

    /// The last log line's `ai.proxy`.
    private func analytics(_ log: String) async throws -> [String: Any] {
        _ = await waitUntil { (try? String(contentsOfFile: log, encoding: .utf8))?.isEmpty == false }
        let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last ?? ""
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try #require((entry["ai"] as? [String: Any])?["proxy"] as? [String: Any])
    }

    /// The `data:` payloads of an event stream.
    private func events(_ text: String) -> [String] {
        text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
    }

    // MARK: anthropic

    private static let claudeAnswer = #"""
        {"content": [{"text": "The sum of 1 + 1 is 2.", "type": "text"}], "model": "claude-2.1", "stop_reason": "end_turn",
         "stop_sequence": "string", "usage": {"input_tokens": 15, "output_tokens": 9}}
        """#

    @Test("anthropic: chat and completions go to the Messages and Text Completions APIs with x-api-key and anthropic-version")
    func anthropic() async throws {
        let log = NSTemporaryDirectory() + "kgate-ai-anthropic-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let canned: [String: Canned] = [
            "/v1/messages": Canned(Self.claudeAnswer),
            "/v1/complete": Canned(#"{"completion": " Hello! My name is Claude.", "stop_reason": "stop_sequence", "model": "claude-2.1"}"#),
            "/bad": Canned(#"{"nothing_object": {"not_interesting_tag_names": "bad string"}}"#),
            "/unauthorized": Canned(status: 401, #"{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}"#),
        ]
        try await withCannedUpstream(canned) { up in
            func config(_ route: String, _ path: String, logging: Bool = false) -> String {
                """
                {route_type: \(route), auth: {header_name: x-api-key, header_value: anthropic-key}, \
                model: {provider: anthropic, name: claude-2.1, options: {max_tokens: 256, temperature: 1.0, \
                upstream_url: "http://127.0.0.1:\(up.port)\(path)", anthropic_version: "2023-06-01", input_cost: 10.0, output_cost: 20.0}}\
                \(logging ? ", logging: {log_statistics: true, log_payloads: true}" : "")}
                """
            }
            let routes = [
                route("chat.test", config("llm/v1/chat", "/v1/messages", logging: true), log: log),
                route("completions.test", config("llm/v1/completions", "/v1/complete")),
                route("bad.test", config("llm/v1/chat", "/bad")),
                route("unauthorized.test", config("llm/v1/chat", "/unauthorized")),
            ]
            try await withProxy(yaml(up.port, routes)) { proxy in
                let r = try await post(proxy, "chat.test", Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "anthropic/claude-2.1")
                #expect(r.json?["object"] as? String == "chat.completion")
                #expect(r.json?["model"] as? String == "claude-2.1")
                #expect(message(r)?["content"] as? String == "The sum of 1 + 1 is 2.")
                #expect(message(r)?["role"] as? String == "assistant")
                #expect((r.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 24)
                let sent = try received(up, "/v1/messages")
                #expect(sent.headers.first { $0.0.lowercased() == "x-api-key" }?.1 == "anthropic-key")
                #expect(sent.headers.first { $0.0.lowercased() == "anthropic-version" }?.1 == "2023-06-01")
                #expect(sent.body["system"] as? String == "You are a mathematician.")
                #expect((sent.body["messages"] as? [[String: Any]])?.count == 1)
                #expect(sent.body["max_tokens"] as? Int == 256)
                #expect(sent.body["model"] as? String == "claude-2.1")
                #expect(sent.body["stream"] as? Bool == false)
                let ai = try await analytics(log)
                let usage = try #require(ai["usage"] as? [String: Any])
                #expect(usage["prompt_tokens"] as? Int == 15 && usage["completion_tokens"] as? Int == 9)
                #expect(abs((usage["cost"] as? Double ?? 0) - 0.00033) < 1e-12)
                #expect((ai["meta"] as? [String: Any])?["response_model"] as? String == "claude-2.1")
                #expect(((ai["payload"] as? [String: Any])?["response"] as? String)?.contains("chat.completion") == true)

                let completion = try await post(proxy, "completions.test", Self.prompt)
                #expect(completion.status == 200)
                #expect(completion.json?["object"] as? String == "text_completion")
                #expect(((completion.json?["choices"] as? [[String: Any]])?.first)?["text"] as? String == " Hello! My name is Claude.")
                let sentPrompt = try received(up, "/v1/complete")
                #expect(sentPrompt.body["prompt"] as? String == "Human: Explain why you can't divide by zero?\n\nAssistant:")
                #expect(sentPrompt.body["max_tokens_to_sample"] as? Int == 256)

                let bad = try await post(proxy, "bad.test", Self.chat)
                #expect(bad.status == 500)
                #expect((bad.json?["error"] as? [String: Any])?["message"] as? String
                    == "transformation failed from type anthropic://llm/v1/chat: 'content' not in anthropic://llm/v1/chat response")
                let unauthorized = try await post(proxy, "unauthorized.test", Self.chat)
                #expect(unauthorized.status == 401)
                #expect(((unauthorized.json?["error"] as? [String: Any])?["type"] as? String) == "authentication_error")
                let empty = try await post(proxy, "chat.test", #"{"messages":[]}"#)
                #expect(empty.status == 400)
                #expect((empty.json?["error"] as? [String: Any])?["message"] as? String == "request body doesn't contain valid prompts")
            }
        }
    }

    @Test("anthropic: a streamed answer's events come back as OpenAI's chunks")
    func anthropicStream() async throws {
        let stream = Canned(headers: [("Content-Type", "text/event-stream")], "")
        var parts = LLMFixtures.anthropicStreamEvents
        // An event cut in two.
        let cut = parts[3].index(parts[3].startIndex, offsetBy: 30)
        parts.insert(String(parts[3][..<cut]), at: 3)
        parts[4] = String(parts[4][cut...])
        var canned = stream
        canned.parts = parts
        try await withCannedUpstream(["/v1/messages": canned]) { up in
            let config = """
                {route_type: llm/v1/chat, auth: {header_name: x-api-key, header_value: k}, \
                model: {provider: anthropic, name: claude-2.1, options: {upstream_url: "http://127.0.0.1:\(up.port)/v1/messages", anthropic_version: "2023-06-01"}}}
                """
            try await withProxy(yaml(up.port, [route("stream.test", config)])) { proxy in
                let r = try await post(proxy, "stream.test", #"{"stream":true,"messages":[{"role":"user","content":"What is 1 + 1?"}]}"#)
                #expect(r.status == 200)
                #expect(r.header("Content-Type") == "text/event-stream")
                let events = events(r.text)
                #expect(events.count == 5)
                #expect(events.last == "[DONE]")
                let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["id"] as? String == "msg_1" })
                let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
                #expect(text == "1 + 1 = 2")
                #expect(try received(up, "/v1/messages").body["stream"] as? Bool == true)
            }
        }
    }

    // MARK: openai streams

    /// The events of Kong's streaming spec: an answer of "The answer to 1 + 1 is 2.".
    private static let openAIStreamEvents: [String] = ["", "The ", "answer ", "to 1 + ", "1 is ", "2."].enumerated().map { i, text in
        let delta = i == 0 ? #"{"content": "", "role": "assistant"}"# : #"{"content": "\#(text)"}"#
        return #"data: {"choices": [{"delta": \#(delta), "finish_reason": null, "index": 0, "logprobs": null}], "id": "chatcmpl-1", "model": "gpt-4-0613", "object": "chat.completion.chunk"}"#
    } + [#"data: {"choices": [{"delta": {}, "finish_reason": "stop", "index": 0, "logprobs": null}], "id": "chatcmpl-1", "model": "gpt-4-0613", "object": "chat.completion.chunk"}"#, "data: [DONE]"]

    @Test("openai: a streamed answer's events go out as they came, and are counted as Kong counts them")
    func openAIStreamAnalytics() async throws {
        let log = NSTemporaryDirectory() + "kgate-ai-openai-stream-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let sse = [("Content-Type", "text/event-stream")]
        // One read's worth, then the same events cut mid-event across flushed parts.
        let whole = Canned(headers: sse, Self.openAIStreamEvents.map { $0 + "\n\n" }.joined())
        var split = Canned(headers: sse, "")
        let joined = Self.openAIStreamEvents.map { $0 + "\n\n" }.joined()
        let cut = joined.index(joined.startIndex, offsetBy: 300)
        split.parts = [String(joined[..<cut]), String(joined[cut...])]
        try await withCannedUpstream(["/whole": whole, "/split": split]) { up in
            func config(_ path: String) -> String {
                """
                {route_type: llm/v1/chat, auth: {header_name: Authorization, header_value: Bearer openai-key}, \
                logging: {log_payloads: true, log_statistics: true}, \
                model: {provider: openai, name: gpt-3.5-turbo, options: {max_tokens: 256, temperature: 1.0, \
                upstream_url: "http://127.0.0.1:\(up.port)\(path)", input_cost: 10.0, output_cost: 10.0}}}
                """
            }
            let routes = [route("whole.test", config("/whole"), log: log), route("split.test", config("/split"))]
            try await withProxy(yaml(up.port, routes)) { proxy in
                let request = #"{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1?"}],"stream":true}"#
                for host in ["whole.test", "split.test"] {
                    let r = try await post(proxy, host, request)
                    #expect(r.status == 200)
                    #expect(r.header("Content-Type") == "text/event-stream")
                    let events = events(r.text)
                    #expect(events == Self.openAIStreamEvents.map { String($0.dropFirst(6)) }, "\(host)")
                    let text = events.compactMap { event -> String? in
                        let chunk = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any]
                        return ((chunk?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
                    }.joined()
                    #expect(text == "The answer to 1 + 1 is 2.")
                }
                // Kong's estimates: the prompt's 10 words × 1.8; the completion's characters / 4,
                // the last read's text counted twice as Kong's filters do (Kong's spec expects 13).
                let stats = try await analytics(log)
                let usage = try #require(stats["usage"] as? [String: Any])
                #expect(usage["prompt_tokens"] as? Int == 18)
                #expect(usage["completion_tokens"] as? Int == 13)
                #expect(usage["total_tokens"] as? Int == 31)
                #expect((usage["cost"] as? Double).map { abs($0 - 0.00031) < 1e-9 } == true)
                let meta = try #require(stats["meta"] as? [String: Any])
                #expect(meta["response_model"] as? String == "gpt-3.5-turbo")
                let payload = try #require(stats["payload"] as? [String: Any])
                #expect((payload["response"] as? String)?.contains(#""content":"The answer to 1 + 1 is 2."#) == true)
                #expect((payload["request"] as? String)?.contains("What is 1 + 1") == true)
            }
        }
    }

    // MARK: cohere

    @Test("cohere: chat history and the last message go to /v1/chat; the answer and its billed tokens come back")
    func cohere() async throws {
        let canned: [String: Canned] = [
            "/v1/chat": Canned(#"""
                {"generation_id": "f8aa", "meta": {"billed_units": {"input_tokens": 81, "output_tokens": 258}}, "response_id": "3ed9",
                 "text": "You cannot divide by zero.", "token_count": {"prompt_tokens": 102, "response_tokens": 258, "total_tokens": 360}}
                """#),
            "/v1/generate": Canned(#"""
                {"generations": [{"finish_reason": "MAX_TOKENS", "id": "d9b0", "text": " You cannot divide by zero."}], "id": "77d6",
                 "meta": {"billed_units": {"input_tokens": 8, "output_tokens": 100}}, "prompt": "Why can't you divide by zero?"}
                """#),
        ]
        try await withCannedUpstream(canned) { up in
            func config(_ route: String, _ path: String) -> String {
                """
                {route_type: \(route), auth: {header_name: Authorization, header_value: "Bearer cohere-key"}, \
                model: {provider: cohere, name: command, options: {max_tokens: 256, temperature: 1.0, top_p: 0.5, upstream_url: "http://127.0.0.1:\(up.port)\(path)"}}}
                """
            }
            try await withProxy(yaml(up.port, [route("chat.test", config("llm/v1/chat", "/v1/chat")), route("gen.test", config("llm/v1/completions", "/v1/generate"))])) { proxy in
                let r = try await post(proxy, "chat.test", Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "cohere/command")
                #expect(r.json?["id"] as? String == "f8aa" && r.json?["model"] as? String == "command")
                #expect(message(r)?["content"] as? String == "You cannot divide by zero.")
                #expect((r.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 339)
                let sent = try received(up, "/v1/chat")
                #expect(sent.headers.first { $0.0 == "Authorization" }?.1 == "Bearer cohere-key")
                #expect(sent.body["message"] as? String == "What is 1 + 1?")
                #expect((sent.body["chat_history"] as? [[String: Any]])?.first?["role"] as? String == "USER")
                #expect(sent.body["p"] as? Double == 0.5 && sent.body["top_p"] == nil && sent.body["messages"] == nil)
                let generated = try await post(proxy, "gen.test", Self.prompt)
                #expect(generated.status == 200)
                #expect(((generated.json?["choices"] as? [[String: Any]])?.first)?["text"] as? String == " You cannot divide by zero.")
                #expect((generated.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 108)
                #expect(try received(up, "/v1/generate").body["prompt"] as? String == "Explain why you can't divide by zero?")
            }
        }
    }

    // MARK: mistral and llama2, their own formats

    @Test("mistral with the ollama format, llama2 raw and ollama: the provider's formats both ways, ollama's stream as OpenAI's")
    func selfHosted() async throws {
        let ollamaChat = #"""
            {"model": "llama2", "created_at": "2024-01-15T08:13:38.876196Z", "message": {"role": "assistant", "content": "Because."},
             "done": true, "prompt_eval_count": 26, "eval_count": 100}
            """#
        let stream = Canned(headers: [("Content-Type", "application/x-ndjson")],
            #"{"model":"llama2","message":{"role":"assistant","content":"1 + 1"},"done":false}"# + "\n",
            #"{"model":"llama2","message":{"role":"assistant","content":" = 2"},"do"#,
            #"ne":false}"# + "\n" + #"{"model":"llama2","done":true,"prompt_eval_count":26,"eval_count":4}"# + "\n")
        let canned: [String: Canned] = [
            "/api/chat": Canned(ollamaChat),
            "/api/stream": stream,
            "/raw": Canned(#"{"data": [{"generated_text": "<s>[INST] <<SYS>> You are a mathematician. <</SYS>> What is 1 + 1? [/INST]\n\nIt is 2."}]}"#),
        ]
        try await withCannedUpstream(canned) { up in
            let base = "http://127.0.0.1:\(up.port)"
            let routes = [
                route("mistral.test", "{route_type: llm/v1/chat, model: {provider: mistral, name: mistral-tiny, options: {mistral_format: ollama, max_tokens: 100, upstream_url: \"\(base)/api/chat\"}}}"),
                route("raw.test", "{route_type: llm/v1/chat, model: {provider: llama2, name: llama2, options: {llama2_format: raw, max_tokens: 64, upstream_url: \"\(base)/raw\"}}}"),
                route("ollama.test", "{route_type: llm/v1/chat, model: {provider: llama2, name: llama2, options: {llama2_format: ollama, upstream_url: \"\(base)/api/stream\"}}}"),
            ]
            try await withProxy(yaml(up.port, routes)) { proxy in
                let mistral = try await post(proxy, "mistral.test", Self.chat)
                #expect(mistral.status == 200)
                #expect(mistral.header("X-Kong-LLM-Model") == "mistral/mistral-tiny")
                #expect(message(mistral)?["content"] as? String == "Because.")
                #expect(((mistral.json?["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String == "length")
                #expect((mistral.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 126)
                let sentMistral = try received(up, "/api/chat")
                #expect((sentMistral.body["options"] as? [String: Any])?["num_predict"] as? Int == 100)
                #expect(sentMistral.body["model"] as? String == "mistral-tiny")

                let raw = try await post(proxy, "raw.test", Self.chat)
                #expect(raw.status == 200)
                #expect(message(raw)?["content"] as? String == "It is 2.")
                let sentRaw = try received(up, "/raw")
                #expect(sentRaw.body["inputs"] as? String == "<s>[INST] <<SYS>> You are a mathematician. <</SYS>> What is 1 + 1? [/INST]")
                #expect((sentRaw.body["parameters"] as? [String: Any])?["max_new_tokens"] as? Int == 64)

                let streamed = try await post(proxy, "ollama.test", #"{"stream":true,"messages":[{"role":"user","content":"What is 1 + 1?"}]}"#)
                #expect(streamed.status == 200)
                let events = events(streamed.text)
                #expect(events.count == 3)
                #expect(events.last == "[DONE]")
                #expect(events.first?.contains(#""object":"chat.completion.chunk""#) == true)
                #expect(events.dropLast().joined().contains(#""content":" = 2""#))
            }
        }
    }

    // MARK: huggingface

    @Test("huggingface: chat goes to the model's /v1/chat/completions with its options; the answer comes back")
    func huggingFace() async throws {
        let path = "/models/mistralai/Mistral-7B-Instruct-v0.2"
        let canned: [String: Canned] = [
            path + "/v1/chat/completions": Canned(#"""
                {"object": "chat.completion", "id": "", "created": 1722866733, "model": "mistralai/Mistral-7B-Instruct-v0.2",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": " The sum of 1 + 1 is 2."}, "logprobs": null, "finish_reason": "eos_token"}],
                 "usage": {"prompt_tokens": 26, "completion_tokens": 40, "total_tokens": 66}}
                """#),
            path: Canned(#"[{"generated_text": "I am a language model AI created by Mistral AI"}]"#),
            "/loading" + "/v1/chat/completions": Canned(#"{"error": "Model is currently loading", "estimated_time": 20}"#),
        ]
        try await withCannedUpstream(canned) { up in
            func config(_ route: String, _ path: String) -> String {
                """
                {route_type: \(route), auth: {header_name: Authorization, header_value: "Bearer hf-key"}, \
                model: {provider: huggingface, name: mistralai/Mistral-7B-Instruct-v0.2, options: {max_tokens: 256, \
                upstream_url: "http://127.0.0.1:\(up.port)\(path)", huggingface: {use_cache: false, wait_for_model: true}}}}
                """
            }
            let routes = [
                route("chat.test", config("llm/v1/chat", path)), route("gen.test", config("llm/v1/completions", path)),
                route("loading.test", config("llm/v1/chat", "/loading")),
            ]
            try await withProxy(yaml(up.port, routes)) { proxy in
                let r = try await post(proxy, "chat.test", Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "huggingface/mistralai/Mistral-7B-Instruct-v0.2")
                #expect(message(r)?["content"] as? String == " The sum of 1 + 1 is 2.")
                #expect(((r.json?["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String == "complete")
                let sent = try received(up, path + "/v1/chat/completions")
                #expect(sent.headers.first { $0.0 == "Authorization" }?.1 == "Bearer hf-key")
                #expect((sent.body["options"] as? [String: Any])?["wait_for_model"] as? Bool == true)
                #expect((sent.body["parameters"] as? [String: Any])?["max_length"] as? Int == 256)
                let generated = try await post(proxy, "gen.test", Self.prompt)
                #expect(generated.status == 200)
                #expect(message(generated)?["content"] as? String == "I am a language model AI created by Mistral AI")
                #expect(try received(up, path).body["inputs"] as? String == "Explain why you can't divide by zero?")
                let loading = try await post(proxy, "loading.test", Self.chat)
                #expect(loading.status == 500)
                #expect((loading.json?["error"] as? [String: Any])?["message"] as? String
                    == "transformation failed from type huggingface://llm/v1/chat: API error: Model is currently loading")
            }
        }
    }

    // MARK: gemini

    @Test("gemini: the key goes in the query, the chat as contents; the answer and its stream come back as OpenAI's")
    func gemini() async throws {
        let answer = #"""
            {"candidates": [{"content": {"parts": [{"text": "Le double de 2 est **4**."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": 128, "totalTokenCount": 142}}
            """#
        let stream = Canned(headers: [("Content-Type", "application/json; charset=UTF-8")],
            #"[{"candidates": [{"content": {"parts": [{"text": "1 + 1"}], "role": "model"}}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}}"#,
            "\r\n,\r\n" + #"{"candidates": [{"content": {"parts": [{"text": " = 2"}], "role": "model"}, "finishReason": "STOP"}], "#,
            #""usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4}}"# + "\r\n]")
        let canned: [String: Canned] = [
            "/v1beta/models/gemini-pro:generateContent": Canned(answer),
            "/v1beta/models/gemini-pro:streamGenerateContent": stream,
        ]
        try await withCannedUpstream(canned) { up in
            // upstream_path on the upstream's host, as Kong's gemini spec does.
            let config = """
                {route_type: llm/v1/chat, auth: {param_name: key, param_value: gemini-key, param_location: query, allow_override: false}, \
                model: {provider: gemini, name: gemini-pro, options: {max_tokens: 256, temperature: 0.5, top_k: 1, \
                upstream_url: "http://127.0.0.1:\(up.port)/v1beta/models/gemini-pro:generateContent"}}}
                """
            let streamConfig = config.replacingOccurrences(of: ":generateContent", with: ":streamGenerateContent")
            try await withProxy(yaml(up.port, [route("gemini.test", config), route("stream.test", streamConfig)])) { proxy in
                let r = try await post(proxy, "gemini.test", Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "gemini/gemini-pro")
                #expect(message(r)?["content"] as? String == "Le double de 2 est **4**.")
                #expect(((r.json?["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String == "stop")
                #expect((r.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 142)
                let sent = try received(up, "/v1beta/models/gemini-pro:generateContent")
                #expect(sent.uri == "/v1beta/models/gemini-pro:generateContent?key=gemini-key")
                #expect(sent.headers.first { $0.0.lowercased() == "accept-encoding" }?.1 == "identity")
                let instruction = (sent.body["systemInstruction"] as? [String: Any])?["parts"] as? [[String: Any]]
                #expect(instruction?.first?["text"] as? String == "You are a mathematician.")
                #expect((sent.body["contents"] as? [[String: Any]])?.first?["role"] as? String == "user")
                #expect((sent.body["generationConfig"] as? [String: Any])?["maxOutputTokens"] as? Int == 256)

                let streamed = try await post(proxy, "stream.test", #"{"stream":true,"messages":[{"role":"user","content":"What is 1 + 1?"}]}"#)
                #expect(streamed.status == 200)
                #expect(streamed.header("Content-Type") == "text/event-stream")
                let events = events(streamed.text)
                #expect(events.count == 3)
                #expect(events.last == "[DONE]")
                #expect(events.dropLast().joined().contains(#""content":" = 2""#))
            }
        }
    }

    // MARK: bedrock

    @Test("bedrock: chat goes to Converse signed with AWS SigV4; the answer and its event stream (a tool call) come back as OpenAI's")
    func bedrock() async throws {
        let log = NSTemporaryDirectory() + "kgate-ai-bedrock-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let answer = #"""
            {"output": {"message": {"role": "assistant", "content": [{"text": "1 + 1 = 2"}]}}, "stopReason": "end_turn",
             "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19}, "metrics": {"latencyMs": 100}}
            """#
        // The tool-use stream in three reads, each cut inside a message.
        let bytes = LLMFixtures.bedrockToolStream.flatMap { LLMFixtures.bedrockEvent($0.event, $0.payload) }
        var stream = Canned(headers: [("Content-Type", "application/vnd.amazon.eventstream")], "")
        stream.bytes = [Array(bytes[..<100]), Array(bytes[100..<700]), Array(bytes[700...])]
        try await withCannedUpstream(["/model/converse": Canned(answer), "/model/converse-stream": stream]) { up in
            func config(_ path: String) -> String {
                """
                {route_type: llm/v1/chat, auth: {allow_override: false, aws_access_key_id: mock-key, aws_secret_access_key: mock-secret}, \
                model: {provider: bedrock, name: anthropic.claude-3-sonnet, options: {max_tokens: 512, temperature: 0.6, \
                upstream_url: "http://127.0.0.1:\(up.port)\(path)", bedrock: {aws_region: us-east-1}}}, logging: {log_statistics: true}}
                """
            }
            let routes = [
                route("bedrock.test", config("/model/converse")), route("stream.test", config("/model/converse-stream"), log: log),
                route("noregion.test", config("/model/converse").replacingOccurrences(of: ", bedrock: {aws_region: us-east-1}", with: "")),
            ]
            try await withProxy(yaml(up.port, routes)) { proxy in
                let r = try await post(proxy, "bedrock.test", Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "bedrock/anthropic.claude-3-sonnet")
                #expect(message(r)?["content"] as? String == "1 + 1 = 2")
                #expect(((r.json?["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String == "stop")
                #expect((r.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 19)
                let sent = try received(up, "/model/converse")
                func header(_ name: String) -> String? { sent.headers.first { $0.0.lowercased() == name }?.1 }
                let date = try #require(header("x-amz-date"))
                #expect(date.count == 16 && date.hasSuffix("Z"))
                let authorization = try #require(header("authorization"))
                #expect(authorization.hasPrefix(
                    "AWS4-HMAC-SHA256 Credential=mock-key/\(date.prefix(8))/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature="))
                #expect(authorization.split(separator: "=").last?.count == 64)
                #expect(header("x-amz-security-token") == nil)
                #expect(header("accept-encoding") == "gzip, identity")
                #expect(sent.body["system"] as? [[String: String]] == [["text": "You are a mathematician."]])
                #expect((sent.body["messages"] as? [[String: Any]])?.first?["role"] as? String == "user")
                #expect((sent.body["inferenceConfig"] as? [String: Any])?["maxTokens"] as? Int == 512)

                let streamed = try await post(proxy, "stream.test", #"{"stream":true,"messages":[{"role":"user","content":"What is 2 + 12?"}]}"#)
                #expect(streamed.status == 200)
                #expect(streamed.header("Content-Type") == "text/event-stream")
                let events = events(streamed.text)
                #expect(events.last == "[DONE]")
                let calls = events.dropLast().compactMap { event -> [String: Any]? in
                    let chunk = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any]
                    let delta = (chunk?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
                    return (delta?["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any]
                }
                #expect(calls.compactMap { $0["name"] as? String } == ["add"])
                let arguments = calls.compactMap { $0["arguments"] as? String }.joined()
                let parsed = try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Int]
                #expect(parsed == ["a": 2, "b": 12])
                let streamSent = try received(up, "/model/converse-stream")
                #expect(streamSent.headers.contains { $0.0.lowercased() == "authorization" && $0.1.contains("/us-east-1/bedrock/aws4_request") })
                let usage = try #require(try await analytics(log)["usage"] as? [String: Any])
                // The metadata's counts, and Kong's recount of the last read at the stream's end.
                #expect(usage["prompt_tokens"] as? Int == 478 * 2 && usage["completion_tokens"] as? Int == 44 * 2)

                let noRegion = try await post(proxy, "noregion.test", Self.chat)
                #expect(noRegion.status == 500)
                #expect((noRegion.json?["error"] as? [String: Any])?["message"] as? String == "LLM request failed before proxying")
            }
        }
    }

    // MARK: AI transformers

    @Test("ai-request-transformer with anthropic: the LLM call goes in Anthropic's format and its answer becomes the body")
    func requestTransformerAnthropic() async throws {
        try await withCannedUpstream(["/v1/messages": Canned(Self.claudeAnswer)]) { up in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(up.port)/echo-body
                  routes:
                  - hosts: [transform.test]
                    plugins:
                    - name: ai-request-transformer
                      config:
                        prompt: "Translate the body to French"
                        llm:
                          route_type: llm/v1/chat
                          auth: {header_name: x-api-key, header_value: anthropic-key}
                          model: {provider: anthropic, name: claude-2.1, options: {max_tokens: 512, anthropic_version: "2023-06-01", upstream_url: "http://127.0.0.1:\(up.port)/v1/messages"}}
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.send("POST", "/", host: "transform.test", headers: [("Content-Type", "text/plain")], body: "hello world")
                #expect(r.status == 200)
                #expect(r.text == "The sum of 1 + 1 is 2.")
                let call = try received(up, "/v1/messages")
                #expect(call.headers.first { $0.0.lowercased() == "anthropic-version" }?.1 == "2023-06-01")
                #expect(call.headers.first { $0.0.lowercased() == "x-api-key" }?.1 == "anthropic-key")
                #expect(call.body["system"] as? String == "Translate the body to French")
                #expect((call.body["messages"] as? [[String: Any]])?.first?["content"] as? String == "hello world")
                #expect(call.body["max_tokens"] as? Int == 512)
            }
        }
    }
}
