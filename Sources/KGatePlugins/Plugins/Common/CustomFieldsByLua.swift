import KGateSchema

/// Logging plugins' `custom_fields_by_lua`: Lua code run per request, which kgate does not
/// run. A config that sets it is refused when the config loads, instead of logging without
/// the fields it asks for.
struct CustomFieldsByLuaUnsupported: Error, CustomStringConvertible {
    var description: String { "custom_fields_by_lua runs Lua code, which kgate does not run" }

    /// Throws when `config` sets any.
    static func check(_ config: Object) throws {
        if case .object(let fields)? = config["custom_fields_by_lua"], !fields.isEmpty { throw Self() }
    }
}
