import KGateConfig
import KGateSchema

/// Kong's `ai-prompt-template` (PRIORITY 773, `kong/plugins/ai-prompt-template`): a request
/// whose `messages` or `prompt` is `{template://NAME}` has its body replaced by that configured
/// template, with each `{{property}}` filled from the body's `properties` (JSON-escaped, so a
/// template can hold JSON).
public struct AIPromptTemplatePlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var templates: [(name: String, template: String)]
        var allowUntemplated: Bool
        var logOriginalRequest: Bool
        var maxBodySize: Int
    }

    /// `ai-prompt-template`.
    public static let name = "ai-prompt-template"
    /// 773.
    public static let priority = 773
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Kong's config schema.
    public static let schema = Schema.record([
        (
            "templates",
            Field.array(
                of: Field.record(
                    Schema.record([
                        ("name", Field.string.isRequired),
                        ("template", Field.string.isRequired),
                    ])
                ).isRequired
            ).isRequired
        ),
        ("allow_untemplated_requests", Field.boolean.isRequired.defaulting(true)),
        ("log_original_request", Field.boolean.isRequired.defaulting(false)),
        ("max_request_body_size", LLMRequest.maxBodySizeField),
    ])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let templates = (config["templates"]?.sequenceElements ?? []).map { t in
            (name: t["name"]?.stringValue ?? "", template: t["template"]?.stringValue ?? "")
        }
        return Config(
            templates: templates, allowUntemplated: config.bool("allow_untemplated_requests", default: true),
            logOriginalRequest: config.bool("log_original_request"),
            maxBodySize: Int(config.number("max_request_body_size") ?? 8192))
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let raw = LLMRequest.rawBody(ctx.request, maxFileSize: config.maxBodySize)
        if config.logOriginalRequest {
            ctx.serializedValues["ai.payload.original_request"] = raw.map { .string(String(decoding: $0, as: UTF8.self)) }
        }
        // `kong.request.get_body("application/json", ...)`: JSON whatever the `Content-Type`.
        guard let raw, let body = LLMRequest.table(raw, contentType: "application/json") else {
            return try LLMRequest.badRequest("this LLM route only supports application/json requests", &ctx)
        }
        switch Self.render(body, config) {
        case .unchanged:
            return
        case .refused(let message):
            try LLMRequest.badRequest(message, &ctx)
        case .rendered(let text):
            ctx.request.setRawBody(Array(text.utf8))
        }
    }

    /// What a request body comes to.
    enum Outcome: Equatable {
        /// Not a template reference, and those are allowed.
        case unchanged
        /// Kong's 400 message.
        case refused(String)
        /// The new body.
        case rendered(String)
    }

    /// Kong's `render-prompt-template` filter on a decoded body.
    static func render(_ body: Value, _ config: Config) -> Outcome {
        let object = body.objectValue
        let messages = object?["messages"]
        let prompt = object?["prompt"]
        if LuaTable.isTruthy(messages), LuaTable.isTruthy(prompt) {
            return .refused("cannot run 'messages' and 'prompt' templates at the same time")
        }
        guard let reference = LuaTable.isTruthy(messages) ? messages : LuaTable.isTruthy(prompt) ? prompt : nil else {
            return .refused("only 'llm/v1/chat' and 'llm/v1/completions' formats are supported for templating")
        }
        guard let name = templateName(reference) else {
            return config.allowUntemplated ? .unchanged : .refused("this LLM route only supports templated requests")
        }
        guard let template = config.templates.first(where: { $0.name == name }) else {
            return .refused("could not find template name [\(name)]")
        }
        switch fill(template.template, properties: object?["properties"]) {
        case .success(let text): return .rendered(text)
        case .failure(let error): return .refused(error.description)
        }
    }

    /// The NAME of a `{template://NAME}` string.
    static func templateName(_ reference: Value) -> String? {
        guard case .string(let text) = reference else { return nil }
        let bytes = Array(text.utf8)
        let prefix = Array("{template://".utf8)
        guard bytes.count >= prefix.count + 1, bytes.starts(with: prefix), bytes.last == UInt8(ascii: "}") else { return nil }
        return String(decoding: bytes[prefix.count..<(bytes.count - 1)], as: UTF8.self)
    }

    /// A rendering error (Kong's messages).
    struct RenderError: Error, CustomStringConvertible, Equatable {
        let description: String
    }

    /// Kong's `templater.render`: each `{{name}}` (`[%w_]+`) whose property exists is replaced
    /// by its JSON-escaped value (cjson's `encode`, quotes removed); any left is an error naming
    /// them, once each, in order.
    static func fill(_ template: String, properties: Value?) -> Result<String, RenderError> {
        var values: [String: String] = [:]
        switch properties {
        case nil, .bool(false)?:
            break
        case .object(let object)?:
            for (key, value) in object {
                guard case .string(let text) = value else {
                    return .failure(RenderError(description: "property values must be a string, got \(LuaTable.typeName(value))"))
                }
                var encoded: [UInt8] = []
                KongJSONEncoder().encode(.string(text), into: &encoded)
                values[key] = String(decoding: encoded.dropFirst().dropLast(), as: UTF8.self)
            }
        case .array(let elements)? where elements.isEmpty:
            // cjson decodes `[]` to an empty table: no properties.
            break
        default:
            return .failure(RenderError(description: "properties must be an object"))
        }
        let result = substitute(template) { values[$0] }
        var missing: [String] = []
        _ = substitute(result) { name in
            if !missing.contains(name) { missing.append(name) }
            return nil
        }
        guard missing.isEmpty else {
            return .failure(RenderError(description: "missing template parameters: " + missing.map { "[\($0)]" }.joined(separator: ", ")))
        }
        return .success(result)
    }

    /// Lua's `gsub(text, "{{([%w_]+)}}", f)`: each match, left to right and not overlapping,
    /// replaced by `f(name)`, or kept when that is nil.
    private static func substitute(_ text: String, _ replacement: (String) -> String?) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "{"), bytes[i + 1] == UInt8(ascii: "{") {
                var j = i + 2
                while j < bytes.count, isWordByte(bytes[j]) { j += 1 }
                if j > i + 2, j + 1 < bytes.count, bytes[j] == UInt8(ascii: "}"), bytes[j + 1] == UInt8(ascii: "}") {
                    let name = String(decoding: bytes[(i + 2)..<j], as: UTF8.self)
                    if let value = replacement(name) {
                        out += value.utf8
                    } else {
                        out += bytes[i..<(j + 2)]
                    }
                    i = j + 2
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lua's `%w` (ASCII letters and digits) and `_`.
    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
}
