import KGateSchema

/// What Kong's AI plugins share about one request (`kong.llm.plugin.ctx`): the request body as
/// a table, parsed once by the first of them (the `parse-request` filter) and replaced by the
/// plugins that transform it, so a later plugin sees the earlier one's result (Kong's
/// `get_request_body_table_inuse`).
///
/// Lua tables are `Value`s here: a JSON body as decoded, a form or multipart body as an object
/// of its arguments (a string, or an array of strings for a repeated name).
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
        switch decoded {
        case .json(let value):
            return value
        case .form(let args):
            return arguments(args.pairs.map { ($0.name, $0.value ?? "") })
        case .multipart(let body):
            return arguments(body.parts.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) })
        }
    }

    /// Form or multipart arguments as Kong's table of them: a name's value, or an array of its
    /// values when it repeats.
    private static func arguments(_ pairs: [(String, String)]) -> Value {
        var object = Object()
        for (name, text) in pairs {
            let value = Value.string(text)
            switch object[name] {
            case nil: object[name] = value
            case .array(let values)?: object[name] = .array(values + [value])
            case let first?: object[name] = .array([first, value])
            }
        }
        return .object(object)
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
