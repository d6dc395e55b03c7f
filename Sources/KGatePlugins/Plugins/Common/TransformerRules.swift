import KGateSchema

/// What request-transformer and response-transformer share: their `name:value` rule entries
/// and the check of header names in them.
enum TransformerRules {
    /// Lua's `^([^:]+):*(.-)$`: the name before the first `:`, the value after the colons.
    static func split(_ entry: String) -> (name: String, value: String)? {
        let b = Array(entry.utf8)
        guard let colon = b.firstIndex(of: UInt8(ascii: ":")) ?? Optional(b.count), colon > 0 else { return nil }
        var v = colon
        while v < b.count, b[v] == UInt8(ascii: ":") { v += 1 }
        return (String(decoding: b[..<colon], as: UTF8.self), String(decoding: b[v...], as: UTF8.self))
    }

    /// Kong's `validate_headers`: the name (and for renames the value) must be a header name.
    static func validateHeaders(value checkValue: Bool) -> Field.Validator {
        { value in
            guard case .string(let entry) = value, let (name, v) = split(entry) else { return nil }
            if TypedefValidators.validateHeaderName(name) != nil { return "'\(name)' is not a valid header" }
            if checkValue, TypedefValidators.validateHeaderName(v) != nil { return "'\(v)' is not a valid header" }
            return nil
        }
    }
}
