/// A Kong field definition: a type, attributes, and validators (`kong/db/schema/init.lua`).
///
/// Fields are plain values built once at start-up; the engine reads them on every validation.
/// Composite fields point to their parts through `elements`, `keys`, `values` (for arrays, sets
/// and maps) and `record` (for records, a whole nested `Schema`).
public struct Field: Sendable {
    public enum Kind: String, Sendable {
        case string, integer, number, boolean, array, set, map, record, foreign
        /// Kong's internal `any`: run validators only (used by `_ignore` elements).
        case any
        /// Kong's `json` type, validated against a JSON schema (kept loose: any value).
        case json
    }

    /// A Lua pattern with the message to give (Kong's `match_all` / `match_none` entries).
    public struct PatternRule: Sendable {
        public var pattern: String
        public var err: String
        public init(_ pattern: String, _ err: String) {
            self.pattern = pattern
            self.err = err
        }
    }

    /// Kong's `match_any = { patterns = {...}, err = "..." }`.
    public struct MatchAny: Sendable {
        public var patterns: [String]
        public var err: String
        public init(_ patterns: [String], err: String) {
            self.patterns = patterns
            self.err = err
        }
    }

    /// A custom validator: returns an error message, or nil when the value is valid.
    public typealias Validator = @Sendable (Value) -> String?

    public var type: Kind
    public var required = false
    /// The default filled in on insert when the field is absent (`nil` means no default).
    public var defaultValue: Value?
    public var auto = false
    public var unique = false
    public var uniqueAcrossWorkspaces = false
    public var referenceable = false
    public var transient = false
    public var immutable = false
    public var encrypted = false
    /// Metaschema only: a missing value is fine and no null is filled in.
    public var nilable = false
    /// Kong's `abstract`: a placeholder a subschema must specialise (plugin `config`).
    public var abstract = false
    /// Kong's `err`: replaces the message of the first failing validator.
    public var err: String?
    /// For `foreign` fields: the referenced entity name, and what a delete does.
    public var reference: String?
    public var onDelete: String?

    // Validators, run in Kong's fixed order (see `Field.validatorOrder`).
    public var eq: Value?
    public var ne: Value?
    public var notOneOf: [Value]?
    public var oneOf: [Value]?
    public var gt: Double?
    public var timestamp = false
    public var uuid = false
    public var isRegex = false
    public var between: ClosedRange<Double>?
    public var lenEq: Int?
    public var lenMin: Int?
    public var lenMax: Int?
    public var startsWith: String?
    public var notMatch: String?
    public var matchNone: [PatternRule]?
    public var match: String?
    public var matchAll: [PatternRule]?
    public var matchAny: MatchAny?
    public var contains: Value?
    public var customValidator: Validator?
    public var mutuallyExclusiveSubsets: [[String]]?

    private var _elements: Box?
    private var _keys: Box?
    private var _values: Box?
    /// For records: the nested schema (its fields, entity checks and shorthands).
    public var record: Schema?

    public init(_ type: Kind) { self.type = type }

    /// Elements of an array or set.
    public var elements: Field? {
        get { _elements?.field }
        set { _elements = newValue.map(Box.init) }
    }
    /// Keys of a map.
    public var keys: Field? {
        get { _keys?.field }
        set { _keys = newValue.map(Box.init) }
    }
    /// Values of a map.
    public var values: Field? {
        get { _values?.field }
        set { _values = newValue.map(Box.init) }
    }

    private final class Box: Sendable {
        let field: Field
        init(_ field: Field) { self.field = field }
    }
}

// MARK: - Building fields

extension Field {
    /// Returns a copy changed by `change`: `Field.string.with { $0.required = true }`.
    @inlinable public func with(_ change: (inout Field) -> Void) -> Field {
        var copy = self
        change(&copy)
        return copy
    }

    public static var string: Field { Field(.string) }
    public static var integer: Field { Field(.integer) }
    public static var number: Field { Field(.number) }
    public static var boolean: Field { Field(.boolean) }

    public static func array(of elements: Field) -> Field {
        var f = Field(.array)
        f.elements = elements
        return f
    }

    public static func set(of elements: Field) -> Field {
        var f = Field(.set)
        f.elements = elements
        return f
    }

    public static func map(keys: Field, values: Field) -> Field {
        var f = Field(.map)
        f.keys = keys
        f.values = values
        return f
    }

    public static func record(_ schema: Schema) -> Field {
        var f = Field(.record)
        f.record = schema
        return f
    }

    /// A foreign key to `entity` (validated as that entity's primary key).
    public static func foreign(_ entity: String, onDelete: String? = nil) -> Field {
        var f = Field(.foreign)
        f.reference = entity
        f.onDelete = onDelete
        return f
    }

    public var isRequired: Field { with { $0.required = true } }

    public func defaulting(_ value: Value) -> Field { with { $0.defaultValue = value } }
}
