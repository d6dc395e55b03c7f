import OrderedCollections

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An ordered string-keyed map: the shape of YAML mappings, JSON objects and entity records.
public typealias Object = OrderedDictionary<String, Value>

/// A configuration value as Kong's Lua sees it after loading YAML or JSON.
///
/// `nil` (a missing key) and `.null` (an explicit YAML `null` / `~`, Kong's `ngx.null`) are
/// different things, as they are in Kong: a missing field gets its default, a null one does not.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent (YAML/JSON integers).
    case integer(Int)
    case number(Double)
    case string(String)
    case array([Value])
    case object(Object)
}

extension Value {
    @inlinable public var isNull: Bool { if case .null = self { return true } else { return false } }

    @inlinable public var stringValue: String? {
        if case .string(let s) = self { return s } else { return nil }
    }

    @inlinable public var boolValue: Bool? {
        if case .bool(let b) = self { return b } else { return nil }
    }

    @inlinable public var arrayValue: [Value]? {
        if case .array(let a) = self { return a } else { return nil }
    }

    @inlinable public var objectValue: Object? {
        if case .object(let o) = self { return o } else { return nil }
    }

    /// The value as a Lua number would be: integers and doubles both answer.
    @inlinable public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The value as an integer when it is integral and finite (Kong's `integer` type rule).
    @inlinable public var integerValue: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d):
            guard d.isFinite, d == d.rounded(), abs(d) < 9.2e18 else { return nil }
            return Int(d)
        default: return nil
        }
    }

    /// True for tables in Lua terms (arrays and objects).
    @inlinable public var isTable: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }

    /// Lua's `is_sequence`: arrays, and empty objects (an empty Lua table is a sequence).
    @inlinable public var sequenceElements: [Value]? {
        switch self {
        case .array(let a): return a
        case .object(let o) where o.isEmpty: return []
        default: return nil
        }
    }

    /// Kong's `is_nonempty`: not null, not "", not an empty table.
    @inlinable public var isNonEmpty: Bool {
        switch self {
        case .null: return false
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        default: return true
        }
    }

    /// Member access for objects; `nil` for anything else or a missing key.
    @inlinable public subscript(key: String) -> Value? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Kong's `get_field(tbl, "a.b.c")`: walks dotted paths through objects.
    public func lookup(path: String) -> Value? {
        guard let dot = path.utf8.firstIndex(of: UInt8(ascii: ".")) else { return self[path] }
        // One component at a time, without splitting the path into an array.
        var current: Value? = self
        var start = path.startIndex
        var end = dot
        while true {
            guard let c = current, case .object(let o) = c else { return nil }
            current = o[String(path[start..<end])]
            guard end < path.endIndex else { return current }
            start = path.index(after: end)
            end = path[start...].utf8.firstIndex(of: UInt8(ascii: ".")) ?? path.endIndex
        }
    }

    /// Lua's `tostring` of a scalar, as used inside Kong's messages
    /// (`value must be 426`, `expected one of: ...`).
    public var luaString: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return Value.formatNumber(d)
        case .string(let s): return s
        case .array: return "table"
        case .object: return "table"
        }
    }

    /// Formats a double as LuaJIT's `tostring` does, `%.14g` (`1`, `1.5`, `3.3` for
    /// `3 * 1.1`, `1e+14`, `1e+20`).
    public static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return d.sign == .minus ? "-nan" : "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e14 { return String(Int(d)) }
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([d]) { vsnprintf(&buffer, buffer.count, "%.14g", $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(Object(elements, uniquingKeysWith: { _, b in b }))
    }
}

extension Value {
    /// Equality as Lua's `==` on scalars: an integer and an equal double are the same number.
    public func luaEquals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.integer, .number), (.number, .integer):
            return doubleValue == other.doubleValue
        default:
            return self == other
        }
    }
}

extension String {
    /// Splits a dotted field path (`consumer.id`) at its first dot; nil when there is none.
    /// Searches bytes, as field paths are ASCII.
    @inlinable package func splitAtFirstDot() -> (head: String, tail: String)? {
        guard let i = utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        return (String(self[..<i]), String(self[utf8.index(after: i)...]))
    }
}
