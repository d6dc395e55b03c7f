import KGateConfig
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's AI prompt plugins (`spec/03-plugins/41-ai-prompt-decorator`, `42-ai-prompt-guard`,
/// `43-ai-prompt-template`): the body changes, the refusals, and how they chain.
struct AIPromptTests {
    /// A route `r` with `plugins` (YAML list items, indented under `plugins:` here).
    static func runner(_ plugins: String) throws -> PluginRunner {
        let indented = plugins.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        return try Gate.runner(
            """
            _format_version: "3.0"
            services:
            - name: s
              url: http://upstream.test:8080
              routes:
              - name: r
                paths: [/r]
                plugins:
            \(indented)
            """)
    }

    static func send(_ runner: PluginRunner, _ body: String, contentType: String? = "application/json") -> Exchange {
        var headers: HTTPFields = [:]
        if let contentType { headers.set("Content-Type", contentType) }
        return Exchange(runner, route: "r", method: "POST", path: "/r", headers: headers, body: body)
    }

    /// The upstream body, decoded.
    static func sentBody(_ exchange: Exchange) -> Value? {
        guard let bytes = exchange.ctx.request.body, case .success(let doc) = JSONReader.read(bytes) else { return nil }
        return doc.value
    }

    /// An exit's `{"error":{"message":...}}`.
    static func errorMessage(_ exchange: Exchange) -> String? {
        guard case .json(let v)? = exchange.ctx.exitResponse?.body else { return nil }
        return v["error"]?["message"]?.stringValue
    }

    static let chat = #"{"model":"m","messages":[{"role":"user","content":"I think that cheddar is the best cheese."},{"role":"assistant","content":"No, brie is."},{"role":"user","content":"Why brie?"}]}"#

    // MARK: ai-prompt-decorator

    static let decorator = """
              - name: ai-prompt-decorator
                config:
                  prompts:
                    prepend:
                    - {role: system, content: Prepend text 1 here.}
                    - {content: Prepend text 2 here.}
                    append:
                    - {role: assistant, content: Append text 1 here.}
                    - {role: user, content: Append text 2 here.}
        """

    @Test func decoratorPrependsAndAppends() throws {
        let exchange = Self.send(try Self.runner(Self.decorator), Self.chat, contentType: "application/json; charset=utf-8")
        #expect(exchange.status == 0)
        let messages = try #require(Self.sentBody(exchange)?["messages"]?.sequenceElements)
        #expect(messages.map { $0["content"]?.stringValue ?? "" } == [
            "Prepend text 1 here.", "Prepend text 2 here.", "I think that cheddar is the best cheese.", "No, brie is.",
            "Why brie?", "Append text 1 here.", "Append text 2 here.",
        ])
        // A role left out is `system`, the schema's default.
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["system", "system", "user", "assistant", "user", "assistant", "user"])
        // The rest of the body stays, in its order; the type is the one `set_body` was given.
        #expect(Self.sentBody(exchange)?["model"]?.stringValue == "m")
        #expect(exchange.upstream("Content-Type") == "application/json")
    }

    @Test func decoratorRefusals() throws {
        let runner = try Self.runner(Self.decorator)
        let cases: [(String, String?, String)] = [
            ("not json", "application/json", "this LLM route only supports application/json requests"),
            (#"{"prompt":"hi"}"#, "application/json", "this LLM route only supports llm/chat type requests"),
            (#"{"messages":[]}"#, "application/json", "this LLM route only supports llm/chat type requests"),
            (#"[1,2]"#, "application/json", "this LLM route only supports llm/chat type requests"),
            // No Content-Type reads as JSON.
            (#"{"messages":{}}"#, nil, "this LLM route only supports llm/chat type requests"),
        ]
        for (body, type, message) in cases {
            let exchange = Self.send(runner, body, contentType: type)
            #expect(exchange.status == 400, "\(body)")
            #expect(Self.errorMessage(exchange) == message, "\(body)")
        }
        // A form whose `messages` is a string: Kong's Lua fails on it (500).
        #expect(Self.send(runner, "messages=hello", contentType: "application/x-www-form-urlencoded").status == 500)
        // Without a Content-Type, a JSON chat is decorated.
        #expect(Self.send(runner, Self.chat, contentType: nil).status == 0)
    }

    @Test func decoratorSchema() throws {
        #expect(throws: (any Error).self) { try Self.runner("  - {name: ai-prompt-decorator, config: {prompts: {}}}") }
        #expect(throws: (any Error).self) {
            try Self.runner("  - {name: ai-prompt-decorator, config: {prompts: {append: [{role: robot, content: x}]}}}")
        }
        #expect(throws: (any Error).self) {
            try Self.runner("  - {name: ai-prompt-decorator, config: {prompts: {append: [{content: ''}]}}}")
        }
        // Kong converts bedrock and gemini bodies with adapters kgate lacks: refused with the config.
        let error = try #require(throws: (any Error).self) {
            try Self.runner("  - {name: ai-prompt-decorator, config: {llm_format: gemini, prompts: {append: [{content: x}]}}}")
        }
        #expect("\(error)".contains("llm_format 'gemini' is not supported by kgate"))
    }

    // MARK: ai-prompt-guard

    static func guardConfig(
        allow: [String] = [], deny: [String] = [], latestOnly: Bool = false, allRoles: Bool = false
    ) -> AIPromptGuardPlugin.Config {
        .init(
            allow: allow.map(AIPromptGuardPlugin.Pattern.init), deny: deny.map(AIPromptGuardPlugin.Pattern.init), latestOnly: latestOnly, allRoles: allRoles, maxBodySize: 8192)
    }

    static func chatBody(_ messages: [(String, String)]) -> Value {
        .object(["messages": .array(messages.map { .object(["role": .string($0.0), "content": .string($0.1)]) })])
    }

    @Test func guardPatterns() throws {
        let matching = Self.chatBody([("system", "this is a system message"), ("user", "a user request with pattern")])
        let other = Self.chatBody([("system", "this is a system message"), ("user", "a user request with no match")])
        #expect(try AIPromptGuardPlugin.check(matching, Self.guardConfig()) == .allowed)
        #expect(try AIPromptGuardPlugin.check(matching, Self.guardConfig(allow: ["pa..ern"])) == .allowed)
        #expect(try AIPromptGuardPlugin.check(other, Self.guardConfig(allow: ["pa..ern"])) == .refused("prompt doesn't match any allowed pattern"))
        #expect(try AIPromptGuardPlugin.check(matching, Self.guardConfig(deny: ["pa..ern"])) == .refused("prompt pattern is blocked"))
        #expect(try AIPromptGuardPlugin.check(other, Self.guardConfig(deny: ["pa..ern"])) == .allowed)
        // Deny wins over allow.
        #expect(try AIPromptGuardPlugin.check(matching, Self.guardConfig(allow: ["pattern"], deny: ["user"])) == .refused("prompt pattern is blocked"))
        // A completion's prompt.
        let completion = Value.object(["prompt": .string("complete this pattern")])
        #expect(try AIPromptGuardPlugin.check(completion, Self.guardConfig(allow: ["pattern$"])) == .allowed)
    }

    @Test func guardHistoryAndRoles() throws {
        // History: the latest user message first, each followed by a space.
        let history = Self.chatBody([("user", "older pattern"), ("assistant", "reply pattern"), ("user", "latest")])
        #expect(try AIPromptGuardPlugin.check(history, Self.guardConfig(allow: ["^latest older pattern $"])) == .allowed)
        // Only the latest user message.
        #expect(try AIPromptGuardPlugin.check(history, Self.guardConfig(allow: ["pattern"], latestOnly: true))
            == .refused("prompt doesn't match any allowed pattern"))
        #expect(try AIPromptGuardPlugin.check(history, Self.guardConfig(allow: ["^latest$"], latestOnly: true)) == .allowed)
        // Every role's.
        #expect(try AIPromptGuardPlugin.check(history, Self.guardConfig(deny: ["reply"])) == .allowed)
        #expect(try AIPromptGuardPlugin.check(history, Self.guardConfig(deny: ["reply"], allRoles: true)) == .refused("prompt pattern is blocked"))
        // Malformed messages.
        let noRole = Value.object(["messages": .array([.object(["content": .string("x")])])])
        #expect(try AIPromptGuardPlugin.check(noRole, Self.guardConfig(deny: ["x"])) == .refused(AIPromptGuardPlugin.badFormat))
        let badContent = Value.object(["messages": .array([.object(["role": .string("user"), "content": .integer(1)])])])
        #expect(try AIPromptGuardPlugin.check(badContent, Self.guardConfig(deny: ["x"])) == .refused(AIPromptGuardPlugin.badFormat))
        #expect(try AIPromptGuardPlugin.check(.object(["model": .string("m")]), Self.guardConfig(deny: ["x"])) == .refused(AIPromptGuardPlugin.badFormat))
    }

    @Test func guardAnswers() throws {
        let runner = try Self.runner(
            """
              - name: ai-prompt-guard
                config: {deny_patterns: [".*(cheddar).*"]}
            """)
        let refused = Self.send(runner, Self.chat)
        #expect(refused.status == 400)
        // The reason is not told.
        #expect(Self.errorMessage(refused) == "bad request")
        #expect(Self.send(runner, #"{"messages":[{"role":"user","content":"Why brie?"}]}"#).status == 0)
        #expect(Self.errorMessage(Self.send(runner, "{")) == "this LLM route only supports application/json requests")
        // A pattern PCRE refuses fails the request (500), as `ngx.re.find` does under Kong.
        let broken = try Self.runner("  - {name: ai-prompt-guard, config: {allow_patterns: ['(unclosed']}}")
        #expect(Self.send(broken, Self.chat).status == 500)
        // So does one that backtracks past Kong's regex match limit.
        let slow = try Self.runner("  - {name: ai-prompt-guard, config: {deny_patterns: ['(a|aa)+$']}}")
        let many = String(repeating: "a", count: 64) + "b"
        #expect(Self.send(slow, #"{"messages":[{"role":"user","content":"\#(many)"}]}"#).status == 500)
        #expect(Self.send(slow, #"{"messages":[{"role":"user","content":"aab"}]}"#).status == 0)
    }

    @Test func guardSchema() throws {
        #expect(throws: (any Error).self) { try Self.runner("  - {name: ai-prompt-guard, config: {}}") }
        // match_all_roles needs the history.
        #expect(throws: (any Error).self) {
            try Self.runner(
                "  - {name: ai-prompt-guard, config: {deny_patterns: [x], match_all_roles: true, allow_all_conversation_history: true}}")
        }
        _ = try Self.runner("  - {name: ai-prompt-guard, config: {deny_patterns: [x], match_all_roles: true}}")
    }

    /// Kong's `00-config_spec.lua` cases: the messages of the field and entity checks.
    @Test func configErrors() {
        func load(_ plugin: String, _ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: \(plugin)\n  config: \(config)\n")
        }
        let eitherSide = "at least one of these fields must be non-empty: 'config.prompts.prepend', 'config.prompts.append'"
        #expect(load("ai-prompt-decorator", "{}")?.contains(eitherSide) == true)
        #expect(load("ai-prompt-decorator", "{prompts: {}}")?.contains(eitherSide) == true)
        #expect(load("ai-prompt-decorator", "{prompts: {prepend: [], append: []}}")?.contains(eitherSide) == true)
        #expect(load("ai-prompt-decorator", "{prompts: {prepend: [{role: system, content: x}]}}") == nil)
        #expect(load("ai-prompt-decorator", "{prompts: {append: [{role: system, content: x}]}}") == nil)
        let long = String(repeating: "a", count: 501)
        #expect(load("ai-prompt-decorator", "{prompts: {append: [{content: \(long)}]}}")?.contains("length must be at most 500") == true)
        let sixteen = "[" + Array(repeating: "{content: x}", count: 16).joined(separator: ", ") + "]"
        #expect(load("ai-prompt-decorator", "{prompts: {append: \(sixteen)}}")?.contains("length must be at most 15") == true)

        let patterns = "at least one of these fields must be non-empty: 'config.allow_patterns', 'config.deny_patterns'"
        #expect(load("ai-prompt-guard", "{}")?.contains(patterns) == true)
        #expect(load("ai-prompt-guard", "{allow_patterns: [], deny_patterns: []}")?.contains(patterns) == true)
        #expect(load("ai-prompt-guard", "{allow_patterns: [\(long)]}")?.contains("length must be at most 500") == true)
        let eleven = "[" + Array(repeating: "x", count: 11).joined(separator: ", ") + "]"
        #expect(load("ai-prompt-guard", "{allow_patterns: \(eleven)}")?.contains("length must be at most 10") == true)
        let conditional = load("ai-prompt-guard", "{allow_patterns: [wat], allow_all_conversation_history: true, match_all_roles: true}")
        #expect(conditional?.contains("failed conditional validation given value of field 'config.match_all_roles'") == true)
        #expect(conditional?.contains("value must be false") == true)

        #expect(load("ai-prompt-template", "{}")?.contains("required field missing") == true)
        #expect(load("ai-prompt-template", "{templates: [{name: a}]}")?.contains("required field missing") == true)
    }

    // MARK: ai-prompt-template

    static let templates = """
              - name: ai-prompt-template
                config:
                  allow_untemplated_requests: false
                  templates:
                  - name: developer-chat
                    template: '{"messages":[{"role":"system","content":"You are a {{program}} developer."},{"role":"user","content":"What is {{function}}?"}]}'
                  - name: completion
                    template: '{"prompt":"Explain {{thing}} to a {{age}} year old"}'
        """

    @Test func templateRenders() throws {
        let runner = try Self.runner(Self.templates)
        let exchange = Self.send(
            runner, #"{"messages":"{template://developer-chat}","properties":{"program":"\"C\"/C++","function":"puts"}}"#)
        #expect(exchange.status == 0)
        // Values are JSON-escaped (cjson escapes `/` too), so the result is JSON.
        #expect(String(decoding: exchange.ctx.request.body ?? [], as: UTF8.self)
            == #"{"messages":[{"role":"system","content":"You are a \"C\"\/C++ developer."},{"role":"user","content":"What is puts?"}]}"#)
        let completion = Self.send(runner, #"{"prompt":"{template://completion}","properties":{"thing":"gravity","age":"5"}}"#)
        #expect(String(decoding: completion.ctx.request.body ?? [], as: UTF8.self) == #"{"prompt":"Explain gravity to a 5 year old"}"#)
    }

    @Test func templateRefusals() throws {
        let runner = try Self.runner(Self.templates)
        let cases: [(String, String)] = [
            ("nope", "this LLM route only supports application/json requests"),
            (#"{"messages":"{template://completion}","prompt":"x"}"#, "cannot run 'messages' and 'prompt' templates at the same time"),
            (#"{"model":"m"}"#, "only 'llm/v1/chat' and 'llm/v1/completions' formats are supported for templating"),
            (#"{"messages":[{"role":"user","content":"hi"}]}"#, "this LLM route only supports templated requests"),
            (#"{"prompt":"{template://other}"}"#, "could not find template name [other]"),
            (#"{"prompt":"{template://completion}","properties":{"thing":"x"}}"#, "missing template parameters: [age]"),
            (#"{"prompt":"{template://completion}"}"#, "missing template parameters: [thing], [age]"),
            (#"{"prompt":"{template://completion}","properties":{"thing":1}}"#, "property values must be a string, got number"),
            (#"{"prompt":"{template://completion}","properties":"x"}"#, "properties must be an object"),
        ]
        for (body, message) in cases {
            let exchange = Self.send(runner, body)
            #expect(exchange.status == 400, "\(body)")
            #expect(Self.errorMessage(exchange) == message, "\(body)")
        }
        // Untemplated requests pass by default.
        let open = try Self.runner("  - {name: ai-prompt-template, config: {templates: [{name: t, template: x}]}}")
        #expect(Self.send(open, Self.chat).status == 0)
        #expect(Self.send(open, Self.chat).ctx.request.body.map { String(decoding: $0, as: UTF8.self) } == Self.chat)
    }

    @Test func templateFill() {
        // A placeholder made by a value is reported as missing, as Lua's second gsub finds it.
        #expect(AIPromptTemplatePlugin.fill("{{a}}", properties: .object(["a": .string("{{b}}")]))
            == .failure(.init(description: "missing template parameters: [b]")))
        // Not placeholders: `{{}}`, `{{a-b}}`, a single brace.
        #expect(AIPromptTemplatePlugin.fill("{{}} {{a-b}} {a} {{a}", properties: nil) == .success("{{}} {{a-b}} {a} {{a}"))
        #expect(AIPromptTemplatePlugin.fill("{{{a}}}", properties: .object(["a": .string("x")])) == .success("{x}"))
        #expect(AIPromptTemplatePlugin.fill("x", properties: .array([])) == .success("x"))
        #expect(AIPromptTemplatePlugin.fill("x", properties: .null) == .failure(.init(description: "properties must be an object")))
    }

    // MARK: Together

    /// template (773), then decorator (772), then guard (771): each sees the body the one
    /// before it left.
    @Test func chainInPriorityOrder() throws {
        let runner = try Self.runner(
            """
              - name: ai-prompt-template
                config:
                  templates:
                  - {name: t, template: '{"messages":[{"role":"user","content":"tell me about {{topic}}"}]}'}
              - name: ai-prompt-decorator
                config: {prompts: {prepend: [{content: Be brief.}]}}
              - name: ai-prompt-guard
                config: {allow_patterns: ["^tell me about cheese $"], match_all_roles: false}
            """)
        let allowed = Self.send(runner, #"{"messages":"{template://t}","properties":{"topic":"cheese"}}"#)
        #expect(allowed.status == 0)
        #expect(Self.sentBody(allowed)?["messages"]?.sequenceElements?.map { $0["content"]?.stringValue ?? "" }
            == ["Be brief.", "tell me about cheese"])
        let refused = Self.send(runner, #"{"messages":"{template://t}","properties":{"topic":"wine"}}"#)
        #expect(refused.status == 400)
        #expect(Self.errorMessage(refused) == "bad request")
    }
}
