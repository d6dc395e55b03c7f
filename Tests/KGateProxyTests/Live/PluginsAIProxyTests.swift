import Foundation
import KGateTestSupport
import Testing

/// ai-proxy through the proxy against an OpenAI-API upstream (the test upstream's
/// `/v1/chat/completions`), after Kong's spec/03-plugins/38-ai-proxy/02-openai_integration_spec.lua.
@Suite("Plugins live: ai-proxy", .serialized)
struct PluginsAIProxyTests {
    private func yaml(_ port: Int, log: String) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - hosts: [chat.test]
            plugins:
            - name: ai-proxy
              config:
                route_type: llm/v1/chat
                auth: {header_name: Authorization, header_value: "Bearer openai-key"}
                model:
                  provider: openai
                  name: gpt-4o
                  options: {max_tokens: 256, temperature: 1.0, upstream_url: "http://127.0.0.1:\(port)/v1/chat/completions", input_cost: 10.0, output_cost: 20.0}
                logging: {log_statistics: true, log_payloads: true}
            - name: file-log
              config: {path: "\(log)"}
          - hosts: [nochoices.test]
            plugins:
            - name: ai-proxy
              config:
                route_type: llm/v1/chat
                model: {provider: openai, name: gpt-4o, options: {upstream_url: "http://127.0.0.1:\(port)/json"}}
          - hosts: [azure.test]
            plugins:
            - name: ai-proxy
              config:
                route_type: llm/v1/chat
                auth: {param_name: api-key, param_value: azure-key, param_location: query}
                model:
                  provider: azure
                  name: "$(headers.x-model)"
                  options: {azure_instance: kgate, azure_deployment_id: gpt, upstream_url: "http://127.0.0.1:\(port)/v1/chat/completions"}
        """
    }

    private static let chat = #"{"messages":[{"role":"user","content":"What is 1 + 1?"}]}"#

    @Test("a chat request reaches the provider with the gateway's key and model; the answer and its analytics come back")
    func chat() async throws {
        let log = NSTemporaryDirectory() + "kgate-ai-proxy-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try await withUpstreams(["openai"]) { ups in
            try await withProxy(yaml(ups[0].port, log: log)) { proxy in
                let r = try await proxy.send(
                    "POST", "/anything", host: "chat.test", headers: [("Content-Type", "application/json")], body: Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "openai/gpt-4o")
                #expect(r.header("Set-Cookie") == nil)
                #expect((r.json?["choices"] as? [Any])?.count == 1)
                let sent = try #require(ups[0].requests.last)
                #expect(sent.head.uri == "/v1/chat/completions")
                #expect(sent.head.headers["Authorization"] == ["Bearer openai-key"])
                let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
                #expect(body["model"] as? String == "gpt-4o")
                #expect(body["max_tokens"] as? Int == 256)
                #expect(body["stream"] as? Bool == false)

                _ = await waitUntil { (try? String(contentsOfFile: log, encoding: .utf8))?.isEmpty == false }
                let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last ?? ""
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let ai = try #require((entry["ai"] as? [String: Any])?["proxy"] as? [String: Any])
                let usage = try #require(ai["usage"] as? [String: Any])
                #expect(usage["prompt_tokens"] as? Int == 12 && usage["completion_tokens"] as? Int == 5)
                #expect(usage["total_tokens"] as? Int == 17)
                #expect(abs((usage["cost"] as? Double ?? 0) - 0.00022) < 1e-12)
                let meta = try #require(ai["meta"] as? [String: Any])
                #expect(meta["provider_name"] as? String == "openai")
                #expect(meta["request_model"] as? String == "gpt-4o")
                #expect(meta["response_model"] as? String == "gpt-4o-2024-08-06")
                #expect((ai["payload"] as? [String: Any])?["response"] as? String != nil)
            }
        }
    }

    @Test("bad requests get Kong's 400s; an answer without choices is Kong's 500")
    func refusals() async throws {
        try await withUpstreams(["openai"]) { ups in
            try await withProxy(yaml(ups[0].port, log: "/dev/null")) { proxy in
                func post(_ body: String, host: String = "chat.test") async throws -> RawResponse {
                    try await proxy.send("POST", "/", host: host, headers: [("Content-Type", "application/json")], body: body)
                }
                func message(_ r: RawResponse) -> String? { (r.json?["error"] as? [String: Any])?["message"] as? String }
                let own = try await post(#"{"model":"gpt-3.5","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(own.status == 400 && message(own) == "cannot use own model - must be: gpt-4o")
                let bad = try await post("{not json")
                #expect(bad.status == 400 && message(bad) == "content-type header does not match request body, or bad JSON formatting")
                let completions = try await post(#"{"prompt":"hi"}"#)
                #expect(completions.status == 400)
                #expect(message(completions) == "[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type")
                let empty = try await post(#"{"messages":[]}"#)
                #expect(empty.status == 400 && message(empty) == "request body doesn't contain valid prompts")
                let noChoices = try await post(Self.chat, host: "nochoices.test")
                #expect(noChoices.status == 500)
                #expect(message(noChoices) == "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response")
            }
        }
    }

    @Test("azure: api-version and the key go in the query; the model comes from a header template")
    func azure() async throws {
        try await withUpstreams(["azure"]) { ups in
            try await withProxy(yaml(ups[0].port, log: "/dev/null")) { proxy in
                let r = try await proxy.send(
                    "POST", "/", host: "azure.test", headers: [("Content-Type", "application/json"), ("X-Model", "gpt-35")],
                    body: Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Kong-LLM-Model") == "azure/gpt-35")
                let sent = try #require(ups[0].requests.last)
                #expect(sent.head.uri == "/v1/chat/completions?api-key=azure-key&api-version=2023-05-15")
                let missing = try await proxy.send("POST", "/", host: "azure.test", headers: [("Content-Type", "application/json")], body: Self.chat)
                #expect(missing.status == 400)
                #expect((missing.json?["error"] as? [String: Any])?["message"] as? String == "headers key x-model was not provided")
            }
        }
    }

    @Test("a client accepting gzip gets the answer gzipped")
    func gzip() async throws {
        try await withUpstreams(["openai"]) { ups in
            try await withProxy(yaml(ups[0].port, log: "/dev/null")) { proxy in
                let r = try await proxy.send(
                    "POST", "/", host: "chat.test", headers: [("Content-Type", "application/json"), ("Accept-Encoding", "gzip")],
                    body: Self.chat)
                #expect(r.status == 200)
                #expect(r.header("Content-Encoding") == "gzip")
                #expect(r.body.prefix(2) == [0x1F, 0x8B])
            }
        }
    }

    @Test("ai-request-transformer: the LLM's answer becomes the body sent upstream; a pattern that does not match is a 400")
    func requestTransformer() async throws {
        let log = NSTemporaryDirectory() + "kgate-ai-transformer-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try await withUpstreams(["api"]) { ups in
            let port = ups[0].port
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(port)/echo-body
                  routes:
                  - hosts: [transform.test]
                    plugins:
                    - name: ai-request-transformer
                      config:
                        prompt: "Translate the body to French"
                        llm:
                          route_type: llm/v1/chat
                          auth: {header_name: Authorization, header_value: "Bearer key"}
                          model: {provider: openai, name: gpt-4o, options: {upstream_url: "http://127.0.0.1:\(port)/v1/chat/completions"}}
                          logging: {log_statistics: true}
                    - name: file-log
                      config: {path: "\(log)"}
                  - hosts: [nomatch.test]
                    plugins:
                    - name: ai-request-transformer
                      config:
                        prompt: "p"
                        transformation_extract_pattern: "\\\\{.*\\\\}"
                        llm:
                          route_type: llm/v1/chat
                          model: {provider: openai, name: gpt-4o, options: {upstream_url: "http://127.0.0.1:\(port)/v1/chat/completions"}}
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.send("POST", "/", host: "transform.test", headers: [("Content-Type", "text/plain")], body: "hello world")
                #expect(r.status == 200)
                #expect(r.text == "hello")
                #expect(r.header("X-Echo-Content-Length") == "5")
                let call = try #require(ups[0].requests.first { $0.head.uri == "/v1/chat/completions" })
                #expect(call.head.headers["Authorization"] == ["Bearer key"])
                let sent = try #require(try JSONSerialization.jsonObject(with: Data(call.body)) as? [String: Any])
                let messages = try #require(sent["messages"] as? [[String: Any]])
                #expect(messages.first?["content"] as? String == "Translate the body to French")
                #expect(messages.last?["content"] as? String == "hello world")
                #expect(sent["model"] as? String == "gpt-4o")
                // Kong's post_request analytics under ai.<plugin>.
                _ = await waitUntil { (try? String(contentsOfFile: log, encoding: .utf8))?.isEmpty == false }
                let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last ?? ""
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let ai = (entry["ai"] as? [String: Any])?["ai-request-transformer"] as? [String: Any]
                #expect((ai?["usage"] as? [String: Any])?["total_tokens"] as? Int == 17)
                #expect((ai?["meta"] as? [String: Any])?["response_model"] as? String == "gpt-4o-2024-08-06")
                let nomatch = try await proxy.send("POST", "/", host: "nomatch.test", headers: [("Content-Type", "text/plain")], body: "x")
                #expect(nomatch.status == 400)
                #expect((nomatch.json?["error"] as? [String: Any])?["message"] as? String == "AI response did not match specified regular expression")
            }
        }
    }

    @Test("ai-response-transformer: the service's answer goes to the LLM; the client gets the upstream's status and headers with the LLM's text")
    func responseTransformer() async throws {
        try await withUpstreams(["api"]) { ups in
            let port = ups[0].port
            let llm = "llm: {route_type: llm/v1/chat, model: {provider: openai, name: gpt-4o, options: {upstream_url: \"http://127.0.0.1:\(port)/v1/chat/completions\"}}}"
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(port)
                  routes:
                  - hosts: [response.test]
                    plugins:
                    - name: ai-response-transformer
                      config: {prompt: "Summarize", \(llm)}
                  - hosts: [instructions.test]
                    plugins:
                    - name: ai-response-transformer
                      config: {prompt: "Summarize", parse_llm_response_json_instructions: true, \(llm)}
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.get("/echo?a=1", host: "response.test", headers: [("X-Client", "c")])
                #expect(r.status == 200)
                #expect(r.text == "hello")
                #expect(r.header("X-Upstream") == "api")
                let fetched = try #require(ups[0].requests.first { $0.head.uri.hasPrefix("/echo") })
                #expect(fetched.head.uri == "/echo?a=1")
                #expect(fetched.head.headers["X-Client"] == ["c"])
                let call = try #require(ups[0].requests.first { $0.head.uri == "/v1/chat/completions" })
                let sent = try #require(try JSONSerialization.jsonObject(with: Data(call.body)) as? [String: Any])
                let user = (sent["messages"] as? [[String: Any]])?.last?["content"] as? String
                #expect(user?.hasPrefix("GET /echo?a=1") == true)
                let instructions = try await proxy.get("/echo", host: "instructions.test")
                #expect(instructions.status == 500)
                #expect((instructions.json?["error"] as? [String: Any])?["message"] as? String
                    == "failed to parse JSON response instructions from AI backend: input not table or string")
            }
        }
    }
}
