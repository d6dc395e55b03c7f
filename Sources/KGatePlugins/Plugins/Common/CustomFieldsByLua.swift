import KGateSchema

/// Logging plugins' `custom_fields_by_lua`: log fields whose values Lua code computes for each
/// request, in the `log` phase before the entry is serialized (Kong's
/// `kong.log.set_serialize_value(key, sandbox(code)())`). Keys with dots reach into the entry
/// (`request.headers.x`).
struct CustomFieldsByLua: Sendable {
    /// The fields by key, sorted (Kong sets them in `pairs` order).
    let fields: [(key: String, code: String)]
    let mode: LuaCodeMode

    /// The fields of a logging plugin's config.
    init(_ config: Object, mode: LuaCodeMode) {
        let table = config["custom_fields_by_lua"]?.objectValue ?? [:]
        fields = table.compactMap { key, value in value.stringValue.map { (key, $0) } }.sorted { $0.key < $1.key }
        self.mode = mode
    }

    /// Runs each field's code and sets its value on the log entry (a nil result leaves the
    /// field out). Throws the first error, as Kong's handler stops at it, logging nothing.
    func apply(_ ctx: inout PluginContext, plugin: String) throws(LuaPhaseError) {
        guard !fields.isEmpty else { return }
        let runtime = LuaRuntime.current
        for field in fields {
            ctx.serializedValues[field.key] = try runtime.evaluate(field.code, mode: mode, plugin: plugin, &ctx)
        }
    }

    /// Applies the fields in a plugin's `log` phase; false (the error logged) when the entry
    /// must not be sent.
    func applied(_ ctx: inout PluginContext, plugin: String) -> Bool {
        do {
            try apply(&ctx, plugin: plugin)
            return true
        } catch {
            ctx.logger.error("\(error)", metadata: ["phase": "log"])
            return false
        }
    }
}
