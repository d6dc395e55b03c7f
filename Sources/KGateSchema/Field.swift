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

    /// Copy-on-write storage: a `Field` is copied on every read of a schema, so it must be one
    /// reference, not forty.
    ///
    /// `@unchecked Sendable`: the storage is only mutated through `Field`'s setters after a
    /// uniqueness check (copy-on-write), so a shared instance is never written.
    private final class Storage: @unchecked Sendable {
        var type: Kind
        var required: Bool = false
        var explicitlyOptional: Bool = false
        /// The default filled in on insert when the field is absent (`nil` means no default).
        var defaultValue: Value?
        var auto: Bool = false
        var unique: Bool = false
        var uniqueAcrossWorkspaces: Bool = false
        var referenceable: Bool = false
        var transient: Bool = false
        var immutable: Bool = false
        var encrypted: Bool = false
        /// Metaschema only: a missing value is fine and no null is filled in.
        var nilable: Bool = false
        /// Kong's `abstract`: a placeholder a subschema must specialise (plugin `config`).
        var abstract: Bool = false
        /// Kong's `err`: replaces the message of the first failing validator.
        var err: String?
        /// For `foreign` fields: the referenced entity name, and what a delete does.
        var reference: String?
        var onDelete: String?
        // Validators, run in Kong's fixed order (see `Field.validatorOrder`).
        var eq: Value?
        var ne: Value?
        var notOneOf: [Value]?
        var oneOf: [Value]?
        var gt: Double?
        var timestamp: Bool = false
        var uuid: Bool = false
        var isRegex: Bool = false
        var between: ClosedRange<Double>?
        var lenEq: Int?
        var lenMin: Int?
        var lenMax: Int?
        var startsWith: String?
        var notMatch: String?
        var matchNone: [PatternRule]?
        var match: String?
        var matchAll: [PatternRule]?
        var matchAny: MatchAny?
        var contains: Value?
        var customValidator: Validator?
        var mutuallyExclusiveSubsets: [[String]]?
        var deprecation: Schema.DeprecationNotice?
        var _elements: Box?
        var _keys: Box?
        var _values: Box?
        /// For records: the nested schema (its fields, entity checks and shorthands).
        var record: Schema?
        /// For `foreign` fields: the referenced entity's schema, once the catalogue resolved it.
        var foreignSchema: Schema?

        init(_ type: Kind) { self.type = type }

        func copy() -> Storage {
            let c = Storage(type)
            c.required = required
            c.explicitlyOptional = explicitlyOptional
            c.defaultValue = defaultValue
            c.auto = auto
            c.unique = unique
            c.uniqueAcrossWorkspaces = uniqueAcrossWorkspaces
            c.referenceable = referenceable
            c.transient = transient
            c.immutable = immutable
            c.encrypted = encrypted
            c.nilable = nilable
            c.abstract = abstract
            c.err = err
            c.reference = reference
            c.onDelete = onDelete
            c.eq = eq
            c.ne = ne
            c.notOneOf = notOneOf
            c.oneOf = oneOf
            c.gt = gt
            c.timestamp = timestamp
            c.uuid = uuid
            c.isRegex = isRegex
            c.between = between
            c.lenEq = lenEq
            c.lenMin = lenMin
            c.lenMax = lenMax
            c.startsWith = startsWith
            c.notMatch = notMatch
            c.matchNone = matchNone
            c.match = match
            c.matchAll = matchAll
            c.matchAny = matchAny
            c.contains = contains
            c.customValidator = customValidator
            c.mutuallyExclusiveSubsets = mutuallyExclusiveSubsets
            c.deprecation = deprecation
            c._elements = _elements
            c._keys = _keys
            c._values = _values
            c.record = record
            c.foreignSchema = foreignSchema
            return c
        }
    }

    private var storage: Storage

    public init(_ type: Kind) { storage = Storage(type) }

    private mutating func mutableStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public var type: Kind {
        get { storage.type }
        set { mutableStorage().type = newValue }
    }
    public var required: Bool {
        get { storage.required }
        set { mutableStorage().required = newValue }
    }
    /// Kong's `required = false` written out: `Entity.new_subschema` (`make_records_required`)
    /// then leaves the record optional, so a missing one stays `null` (ai-proxy's `auth`).
    public var explicitlyOptional: Bool {
        get { storage.explicitlyOptional }
        set { mutableStorage().explicitlyOptional = newValue }
    }
    /// The default filled in on insert when the field is absent (`nil` means no default).
    public var defaultValue: Value? {
        get { storage.defaultValue }
        set { mutableStorage().defaultValue = newValue }
    }
    public var auto: Bool {
        get { storage.auto }
        set { mutableStorage().auto = newValue }
    }
    public var unique: Bool {
        get { storage.unique }
        set { mutableStorage().unique = newValue }
    }
    public var uniqueAcrossWorkspaces: Bool {
        get { storage.uniqueAcrossWorkspaces }
        set { mutableStorage().uniqueAcrossWorkspaces = newValue }
    }
    public var referenceable: Bool {
        get { storage.referenceable }
        set { mutableStorage().referenceable = newValue }
    }
    public var transient: Bool {
        get { storage.transient }
        set { mutableStorage().transient = newValue }
    }
    public var immutable: Bool {
        get { storage.immutable }
        set { mutableStorage().immutable = newValue }
    }
    public var encrypted: Bool {
        get { storage.encrypted }
        set { mutableStorage().encrypted = newValue }
    }
    /// Metaschema only: a missing value is fine and no null is filled in.
    public var nilable: Bool {
        get { storage.nilable }
        set { mutableStorage().nilable = newValue }
    }
    /// Kong's `abstract`: a placeholder a subschema must specialise (plugin `config`).
    public var abstract: Bool {
        get { storage.abstract }
        set { mutableStorage().abstract = newValue }
    }
    /// Kong's `err`: replaces the message of the first failing validator.
    public var err: String? {
        get { storage.err }
        set { mutableStorage().err = newValue }
    }
    /// For `foreign` fields: the referenced entity name, and what a delete does.
    public var reference: String? {
        get { storage.reference }
        set { mutableStorage().reference = newValue }
    }
    public var onDelete: String? {
        get { storage.onDelete }
        set { mutableStorage().onDelete = newValue }
    }
    public var eq: Value? {
        get { storage.eq }
        set { mutableStorage().eq = newValue }
    }
    public var ne: Value? {
        get { storage.ne }
        set { mutableStorage().ne = newValue }
    }
    public var notOneOf: [Value]? {
        get { storage.notOneOf }
        set { mutableStorage().notOneOf = newValue }
    }
    public var oneOf: [Value]? {
        get { storage.oneOf }
        set { mutableStorage().oneOf = newValue }
    }
    public var gt: Double? {
        get { storage.gt }
        set { mutableStorage().gt = newValue }
    }
    public var timestamp: Bool {
        get { storage.timestamp }
        set { mutableStorage().timestamp = newValue }
    }
    public var uuid: Bool {
        get { storage.uuid }
        set { mutableStorage().uuid = newValue }
    }
    public var isRegex: Bool {
        get { storage.isRegex }
        set { mutableStorage().isRegex = newValue }
    }
    public var between: ClosedRange<Double>? {
        get { storage.between }
        set { mutableStorage().between = newValue }
    }
    public var lenEq: Int? {
        get { storage.lenEq }
        set { mutableStorage().lenEq = newValue }
    }
    public var lenMin: Int? {
        get { storage.lenMin }
        set { mutableStorage().lenMin = newValue }
    }
    public var lenMax: Int? {
        get { storage.lenMax }
        set { mutableStorage().lenMax = newValue }
    }
    public var startsWith: String? {
        get { storage.startsWith }
        set { mutableStorage().startsWith = newValue }
    }
    public var notMatch: String? {
        get { storage.notMatch }
        set { mutableStorage().notMatch = newValue }
    }
    public var matchNone: [PatternRule]? {
        get { storage.matchNone }
        set { mutableStorage().matchNone = newValue }
    }
    public var match: String? {
        get { storage.match }
        set { mutableStorage().match = newValue }
    }
    public var matchAll: [PatternRule]? {
        get { storage.matchAll }
        set { mutableStorage().matchAll = newValue }
    }
    public var matchAny: MatchAny? {
        get { storage.matchAny }
        set { mutableStorage().matchAny = newValue }
    }
    public var contains: Value? {
        get { storage.contains }
        set { mutableStorage().contains = newValue }
    }
    public var customValidator: Validator? {
        get { storage.customValidator }
        set { mutableStorage().customValidator = newValue }
    }
    public var mutuallyExclusiveSubsets: [[String]]? {
        get { storage.mutuallyExclusiveSubsets }
        set { mutableStorage().mutuallyExclusiveSubsets = newValue }
    }
    /// Kong's `deprecation` attribute: shown by `GET /schemas/...`; validation ignores it (Kong
    /// only logs its message when the field is given a value other than `old_default`).
    public var deprecation: Schema.DeprecationNotice? {
        get { storage.deprecation }
        set { mutableStorage().deprecation = newValue }
    }
    private var _elements: Box? {
        get { storage._elements }
        set { mutableStorage()._elements = newValue }
    }
    private var _keys: Box? {
        get { storage._keys }
        set { mutableStorage()._keys = newValue }
    }
    private var _values: Box? {
        get { storage._values }
        set { mutableStorage()._values = newValue }
    }
    /// For records: the nested schema (its fields, entity checks and shorthands).
    public var record: Schema? {
        get { storage.record }
        set { mutableStorage().record = newValue }
    }
    /// For `foreign` fields: the schema of the referenced entity (Kong's `field.schema`), set by
    /// `Schema.resolvingForeignSchemas(_:)`. A value that is not a valid primary key is then
    /// validated as that entity, and its errors are reported instead of `missing primary key`.
    public var foreignSchema: Schema? {
        get { storage.foreignSchema }
        set { mutableStorage().foreignSchema = newValue }
    }

    /// Elements of an array or set. Elements, map keys and map values are always required
    /// (Kong sets `required = true` on them before validating).
    public var elements: Field? {
        get { _elements?.field }
        set { _elements = newValue.map { Box($0.with { $0.required = true }) } }
    }
    /// Keys of a map.
    public var keys: Field? {
        get { _keys?.field }
        set { _keys = newValue.map { Box($0.with { $0.required = true }) } }
    }
    /// Values of a map.
    public var values: Field? {
        get { _values?.field }
        set { _values = newValue.map { Box($0.with { $0.required = true }) } }
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
