import KGateSchema

/// Field definitions shared by many entity schemas (`id`, timestamps, tags, foreign keys).
enum EntityFields {
    static let id: (String, Field) = ("id", Typedefs.uuid)
    static let createdAt: (String, Field) = ("created_at", Typedefs.autoTimestampS)
    static let updatedAt: (String, Field) = ("updated_at", Typedefs.autoTimestampS)
    static let tags: (String, Field) = ("tags", Typedefs.tags)

    /// A foreign key to `entity`, as written in Kong's schemas.
    static func foreign(
        _ entity: String, required: Bool = false, onDelete: String? = nil, defaultNull: Bool = false,
        unique: Bool = false
    ) -> Field {
        Field.foreign(entity, onDelete: onDelete).with {
            $0.required = required
            $0.unique = unique
            if defaultNull { $0.defaultValue = .null }
        }
    }

    /// A list of strings as schema values (`one_of`, defaults).
    static func strings(_ items: [String]) -> [Value] { items.map(Value.string) }

    /// A list of integers as schema values.
    static func integers(_ items: [Int]) -> [Value] { items.map(Value.integer) }

    /// Kong's `conditional` check: if `ifField` passes `ifMatch`, `thenField` must pass `thenMatch`.
    static func conditional(
        _ ifField: String, _ ifMatch: @escaping EntityCheck.Match, then thenField: String,
        required: Bool = false, _ thenMatch: @escaping EntityCheck.Match = { _ in }, thenErr: String? = nil
    ) -> EntityCheck {
        let match: EntityCheck.Match
        if required {
            match = { field in
                field.required = true
                thenMatch(&field)
            }
        } else {
            match = thenMatch
        }
        return .conditional(
            EntityCheck.Conditional(
                ifField: ifField, ifMatch: ifMatch, thenField: thenField, thenRequired: required,
                thenMatch: match, thenErr: thenErr))
    }

    /// Kong's `is_empty_field` (router transform): absent, null, or an empty table.
    static func isEmpty(_ value: Value?) -> Bool {
        switch value {
        case nil, .null?: return true
        case .array(let a)?: return a.isEmpty
        case .object(let o)?: return o.isEmpty
        default: return false
        }
    }

    /// Absent or null (Kong's `v == nil or v == ngx.null`).
    static func isNull(_ value: Value?) -> Bool {
        value == nil || value == .null
    }
}

/// Lua numbers as schema values.
enum LuaNumber {
    /// A number as a schema value: integral numbers become integers (so `80` stays `80`).
    static func value(_ d: Double) -> Value {
        if d.isFinite, d == d.rounded(), abs(d) < 9.2e18 { return .integer(Int(d)) }
        return .number(d)
    }
}
