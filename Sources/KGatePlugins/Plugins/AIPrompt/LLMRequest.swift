import KGateSchema

/// What Kong's AI plugins share about one request (`kong.llm.plugin.ctx`): the request body as
/// a table, parsed once by the first of them (the `parse-request` filter) and replaced by the
/// plugins that transform it, so a later plugin sees the earlier one's result (Kong's
/// `get_request_body_table_inuse`).
///
/// Lua tables are `Value`s here: `RequestBody.table`, as `kong.request.get_body` makes them.
struct LLMRequest: Sendable {
    /// The body in use; nil when the request had none that decodes (not JSON, too large).
    var body: Value?

    /// Where the state lives in the request's context (Kong's `ngx.ctx.ai_namespaced_ctx`).
    static let sharedKey = "kgate.llm.request"

    /// The state of this request, made by the `parse-request` filter the first time an AI
    /// plugin asks: the body decoded by its `Content-Type` (`application/json` when it has
    /// none), read whole up to `maxBodySize` when it went past the client body buffer.
    static func inUse(_ ctx: inout PluginContext, maxBodySize: Int) -> LLMRequest {
        if let state = ctx.shared[sharedKey] as? LLMRequest { return state }
        let contentType = ctx.request.header("content-type") ?? "application/json"
        var state = LLMRequest()
        if let raw = rawBody(ctx.request, maxFileSize: maxBodySize) {
            state.body = table(raw, contentType: contentType)
        }
        ctx.shared[sharedKey] = state
        return state
    }

    /// Replaces the body later AI plugins see (`set_request_body_table_inuse`).
    static func setInUse(_ body: Value, _ ctx: inout PluginContext) {
        ctx.shared[sharedKey] = LLMRequest(body: body)
    }

    /// Kong's `kong.request.get_raw_body(max_allowed_file_size)`: the body nginx kept in
    /// memory, else its body file when that is at most `maxFileSize` bytes; nil when larger.
    static func rawBody(_ request: PluginRequest, maxFileSize: Int) -> [UInt8]? {
        if let body = request.body { return body }
        guard let size = request.bodyFileSize else { return [] }
        guard size <= maxFileSize else { return nil }
        return request.spooledBody
    }

    /// `kong.request.get_body(content_type)` as a table; nil when it does not decode.
    static func table(_ raw: [UInt8], contentType: String) -> Value? {
        guard case .success(let decoded) = RequestBody.decode(raw, contentType: contentType) else { return nil }
        return decoded.table
    }

    /// Kong's AI plugins' refusal: 400 `{"error":{"message":...}}`.
    static func badRequest(_ message: String, _ ctx: inout PluginContext) throws {
        try ctx.exit(400, body: .json(.object(["error": .object(["message": .string(message)])])))
    }

    /// The `llm_format` field of the AI plugins that read prompts. Only `openai` bodies are read
    /// (Kong converts `bedrock` and `gemini` ones with adapters kgate does not have): the others
    /// are refused with the config, at the field.
    static let formatField = Field.string.with {
        $0.defaultValue = "openai"
        $0.oneOf = [.string("openai"), .string("bedrock"), .string("gemini")]
        $0.customValidator = { value in
            guard case .string(let format) = value, format != "openai" else { return nil }
            return "llm_format '\(format)' is not supported by kgate: only 'openai' request bodies are read"
        }
    }

    /// The `max_request_body_size` field (8 KiB, Kong's `client_body_buffer_size`).
    static let maxBodySizeField = Field.integer.with {
        $0.defaultValue = .integer(8 * 1024)
        $0.gt = 0
    }
}

/// Lua's view of a decoded body's values, where the AI plugins' Lua depends on it.
enum LuaTable {
    /// An error Lua raises on a value that is not what the code expects: the plugin fails (500).
    struct LuaError: Error, CustomStringConvertible {
        let description: String
    }

    /// Lua truthiness of a decoded value: absent and `false` are false (JSON null is cjson's
    /// light userdata, which is true).
    static func isTruthy(_ value: Value?) -> Bool {
        switch value {
        case nil, .bool(false)?: return false
        default: return true
        }
    }

    /// Lua's `#(value or {})`: an array's count, 0 for an object (a JSON object has no array
    /// part) or a missing value, a string's bytes; a number, boolean or JSON null raises.
    static func length(_ value: Value?) throws -> Int {
        switch value {
        case nil, .bool(false)?: return 0
        case .array(let a)?: return a.count
        case .object?: return 0
        case .string(let s)?: return s.utf8.count
        case let other?: throw LuaError(description: "attempt to get length of a \(typeName(other)) value")
        }
    }

    /// Lua's `type()` of a decoded value (JSON null is cjson's light userdata).
    static func typeName(_ value: Value?) -> String {
        switch value {
        case nil: return "nil"
        case .null?: return "userdata"
        case .bool?: return "boolean"
        case .integer?, .number?: return "number"
        case .string?: return "string"
        case .array?, .object?: return "table"
        }
    }
}
