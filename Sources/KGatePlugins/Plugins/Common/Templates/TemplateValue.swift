import KGateSchema

/// A value of request-transformer's template expressions: the part of Lua they use.
indirect enum TemplateValue: Sendable {
    case none
    case bool(Bool)
    case number(Double)
    case string(String)
    case table(TemplateTable)
    case function(String)

    /// Lua truthiness: only nil and false are false.
    var isTruthy: Bool {
        switch self {
        case .none: return false
        case .bool(let b): return b
        default: return true
        }
    }

    /// Lua's `type()`.
    var luaType: String {
        switch self {
        case .none: return "nil"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        }
    }

    /// Lua's string coercion for `..` (strings and numbers only).
    var concatString: String? {
        switch self {
        case .string(let s): return s
        case .number(let d): return Value.formatNumber(d)
        default: return nil
        }
    }

    /// Lua's arithmetic coercion (numbers and numeric strings).
    var arithmeticNumber: Double? {
        switch self {
        case .number(let d): return d
        case .string(let s): return Double(s.trimmingSpaces())
        default: return nil
        }
    }

    /// Lua's `tostring`.
    var luaString: String {
        switch self {
        case .none: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return Value.formatNumber(d)
        case .string(let s): return s
        case .table: return "table"
        case .function(let name): return "function: builtin: \(name)"
        }
    }

    /// Lua's `==`.
    func luaEquals(_ other: TemplateValue) -> Bool {
        switch (self, other) {
        case (.none, .none): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.function(let a), .function(let b)): return a == b
        default: return false
        }
    }
}

/// A read-only table: a sequence part, named entries, and how keys are looked up (the
/// headers table is keyed by lower-cased names and, like `ngx.req.get_headers`, retries a
/// missing key lower-cased with `_` as `-`).
struct TemplateTable: Sendable {
    var sequence: [TemplateValue] = []
    /// Index 0 (the whole match for `uri_captures`).
    var zero: TemplateValue = .none
    var named: [String: TemplateValue] = [:]
    var headerKeys = false

    subscript(key: TemplateValue) -> TemplateValue {
        switch key {
        case .number(let d):
            guard d == d.rounded() else { return .none }
            let i = Int(d)
            if i == 0 { return zero }
            return i >= 1 && i <= sequence.count ? sequence[i - 1] : .none
        case .string(let s):
            if headerKeys { return named[s] ?? named[HTTPFields.tableKey(s)] ?? .none }
            return named[s] ?? .none
        default:
            return .none
        }
    }

    var length: Int { sequence.count }

    /// A list of strings, or one string.
    static func value(_ values: [String]) -> TemplateValue {
        values.count == 1 ? .string(values[0]) : .table(TemplateTable(sequence: values.map(TemplateValue.string)))
    }
}
