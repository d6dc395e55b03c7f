import Testing

/// The AI prompt plugins through the proxy (spec/03-plugins/41-ai-prompt-decorator,
/// 42-ai-prompt-guard, 43-ai-prompt-template, `02-integration_spec.lua`): the changed body
/// reaches an echo upstream with its new length; refusals are Kong's JSON.
@Suite("Plugins live: ai-prompt-*", .serialized)
struct PluginsAIPromptTests {
    private func yaml(_ port: Int) -> String {
        #"""
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\#(port)
          routes:
          - hosts: [both.decorate.local]
            plugins:
            - name: ai-prompt-decorator
              config:
                prompts:
                  prepend: [{role: system, content: Prepend text 1 here.}]
                  append: [{role: user, content: Append text 4 here.}]
          - hosts: [large.decorate.local]
            plugins:
            - name: ai-prompt-decorator
              config:
                max_request_body_size: 1048576
                prompts: {append: [{role: user, content: Appended.}]}
          - hosts: [guard.local]
            plugins:
            - name: ai-prompt-guard
              config: {allow_patterns: [".*cheese.*"], deny_patterns: [".*cheddar.*"]}
          - hosts: [template.local]
            plugins:
            - name: ai-prompt-template
              config:
                allow_untemplated_requests: false
                templates:
                - name: developer-chat
                  template: '{"messages":[{"role":"user","content":"Explain {{function}} in {{program}}."}]}'
        """#
    }

    private func run(_ body: (ProxyHarness) async throws -> Void) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in try await body(proxy) }
        }
    }

    private static let chat = #"{"messages":[{"role":"user","content":"Is cheese good?"}]}"#

    @Test("decorator: the decorated body goes upstream with its length")
    func decorator() async throws {
        try await run { proxy in
            let r = try await proxy.send(
                "POST", "/echo-body", host: "both.decorate.local", headers: [("Content-Type", "application/json")], body: Self.chat)
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            #expect(r.header("X-Echo-Content-Type") == "application/json")
            #expect(r.text == #"{"messages":[{"role":"system","content":"Prepend text 1 here."},{"role":"user","content":"Is cheese good?"},{"role":"user","content":"Append text 4 here."}]}"#)
            let refused = try await proxy.send(
                "POST", "/echo-body", host: "both.decorate.local", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(refused.status == 400)
            #expect(refused.text == #"{"error":{"message":"this LLM route only supports llm\/chat type requests"}}"#)
        }
    }

    @Test("a body past client_body_buffer_size is read up to max_request_body_size")
    func largeBodies() async throws {
        try await run { proxy in
            let long = String(repeating: "cheese ", count: 3000)
            let chat = #"{"messages":[{"role":"user","content":"\#(long)"}]}"#
            // 8 KiB by default: the body went to nginx's body file, which is too big to read.
            let refused = try await proxy.send(
                "POST", "/echo-body", host: "both.decorate.local", headers: [("Content-Type", "application/json")], body: chat)
            #expect(refused.status == 400)
            #expect(refused.text == #"{"error":{"message":"this LLM route only supports application\/json requests"}}"#)
            let r = try await proxy.send(
                "POST", "/echo-body", host: "large.decorate.local", headers: [("Content-Type", "application/json")], body: chat)
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            #expect(r.text == #"{"messages":[{"role":"user","content":"\#(long)"},{"role":"user","content":"Appended."}]}"#)
        }
    }

    @Test("guard: allowed prompts pass, others get 400 bad request")
    func promptGuard() async throws {
        try await run { proxy in
            let allowed = try await proxy.send(
                "POST", "/echo-body", host: "guard.local", headers: [("Content-Type", "application/json")], body: Self.chat)
            #expect(allowed.status == 200)
            #expect(allowed.text == Self.chat)
            for prompt in ["Is cheddar cheese good?", "Is wine good?"] {
                let refused = try await proxy.send(
                    "POST", "/echo-body", host: "guard.local", headers: [("Content-Type", "application/json")],
                    body: #"{"messages":[{"role":"user","content":"\#(prompt)"}]}"#)
                #expect(refused.status == 400, "\(prompt)")
                #expect(refused.text == #"{"error":{"message":"bad request"}}"#)
                #expect(refused.header("Content-Type") == "application/json; charset=utf-8")
            }
        }
    }

    @Test("template: the rendered template replaces the body")
    func template() async throws {
        try await run { proxy in
            let r = try await proxy.send(
                "POST", "/echo-body", host: "template.local", headers: [("Content-Type", "application/json")],
                body: #"{"messages":"{template://developer-chat}","properties":{"function":"puts","program":"C"}}"#)
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            #expect(r.text == #"{"messages":[{"role":"user","content":"Explain puts in C."}]}"#)
            let missing = try await proxy.send(
                "POST", "/echo-body", host: "template.local", headers: [("Content-Type", "application/json")],
                body: #"{"messages":"{template://developer-chat}","properties":{"function":"puts"}}"#)
            #expect(missing.status == 400)
            #expect(missing.text == #"{"error":{"message":"missing template parameters: [program]"}}"#)
        }
    }
}
