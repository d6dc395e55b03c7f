import KGateConfig
import KGateSchema

/// Kong's `ai-prompt-decorator` (PRIORITY 772, `kong/plugins/ai-prompt-decorator`): puts the
/// configured chat messages before (`prompts.prepend`) and after (`prompts.append`) the
/// `messages` of an `llm/v1/chat` request body, and sends the body on as JSON.
public struct AIPromptDecoratorPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var prepend: [Value]
        var append: [Value]
        var maxBodySize: Int
    }

    /// `ai-prompt-decorator`.
    public static let name = "ai-prompt-decorator"
    /// 772.
    public static let priority = 772
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Kong's schema: up to 15 messages each side, at least one side.
    public static let schema: Schema = {
        let message = Field.record(
            Schema.record([
                ("role", Field.string.with {
                    $0.required = true
                    $0.oneOf = [.string("system"), .string("assistant"), .string("user")]
                    $0.defaultValue = "system"
                }),
                ("content", Field.string.with {
                    $0.required = true
                    $0.lenMin = 1
                    $0.lenMax = 500
                }),
            ]))
        let messages = Field.array(of: message).with { $0.lenMax = 15 }
        return .plugin(
            name,
            config: [
                ("prompts", Field.record(Schema.record([("prepend", messages), ("append", messages)]))),
                ("max_request_body_size", LLMRequest.maxBodySizeField),
                ("llm_format", LLMRequest.formatField),
            ],
            checks: [.atLeastOneOf(["config.prompts.prepend", "config.prompts.append"])])
    }()

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let prompts = config["prompts"]?.objectValue
        func messages(_ side: String) -> [Value] {
            (prompts?[side]?.sequenceElements ?? []).map { message in
                .object(["role": message["role"] ?? .string("system"), "content": message["content"] ?? .null])
            }
        }
        return Config(
            prepend: messages("prepend"), append: messages("append"),
            maxBodySize: Int(config.number("max_request_body_size") ?? 8192))
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let body = LLMRequest.inUse(&ctx, maxBodySize: config.maxBodySize).body else {
            return try LLMRequest.badRequest("this LLM route only supports application/json requests", &ctx)
        }
        let messages = body.objectValue?["messages"]
        guard try LuaTable.length(messages) >= 1 else {
            return try LLMRequest.badRequest("this LLM route only supports llm/chat type requests", &ctx)
        }
        // Lua's `ipairs` over a string raises: the plugin fails (500), as under Kong.
        guard case .array(let old)? = messages, case .object(var decorated) = body else {
            throw LuaTable.LuaError(description: "bad argument #1 to 'ipairs' (table expected, got \(LuaTable.typeName(messages)))")
        }
        decorated["messages"] = .array(config.prepend + old + config.append)
        let value = Value.object(decorated)
        var bytes: [UInt8] = []
        KongJSONEncoder().encode(value, into: &bytes)
        ctx.request.setRawBody(bytes)
        // `kong.service.request.set_body(table, "application/json")` sets the type it was given.
        ctx.request.setHeader("Content-Type", "application/json")
        LLMRequest.setInUse(value, &ctx)
    }
}
