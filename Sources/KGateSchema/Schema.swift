/// A Kong schema: an entity (services, routes...), a plugin config, or a nested record.
///
/// Schemas are data: built once at start-up, then shared read-only by every validation.
public final class Schema: Sendable {
    /// A shorthand field: input-only sugar that expands into real fields (`services.url`).
    public struct Shorthand: Sendable {
        public var name: String
        public var field: Field
        /// Maps the validated shorthand value to the real fields it sets.
        public var expand: @Sendable (Value) -> Object
        /// With a deprecation, real fields given in the input win over the expansion.
        public var deprecated: Bool
        /// The deprecation's `replaced_with` path (`redis.host`): the input may not give both
        /// with different values, and reads show the shorthand with the field's value.
        public var replacedWith: String?
        /// The deprecation's words, as `GET /schemas/...` shows them.
        public var notice: DeprecationNotice?
        public init(
            _ name: String, _ field: Field, deprecated: Bool = false, replacedWith: String? = nil,
            notice: DeprecationNotice? = nil, expand: @escaping @Sendable (Value) -> Object
        ) {
            self.name = name
            self.field = field
            self.deprecated = deprecated || replacedWith != nil || notice != nil
            self.replacedWith = replacedWith
            self.notice = notice
            self.expand = expand
        }
    }

    /// The `message`, `removal_in_version` and `old_default` of a Kong `deprecation` attribute.
    public struct DeprecationNotice: Sendable {
        public var message: String
        public var removalInVersion: String
        /// A field's former default (Kong warns only when the field is given another value).
        public var oldDefault: Value?
        public init(_ message: String, removalInVersion: String, oldDefault: Value? = nil) {
            self.message = message
            self.removalInVersion = removalInVersion
            self.oldDefault = oldDefault
        }
    }

    /// A transformation with `input`/`needs` field lists (Kong's `transformations`); only its
    /// field-requirement check matters for validation, the `transform` runs when `_transform` is on.
    public struct Transformation: Sendable {
        public var input: [String]
        public var needs: [String]
        /// Transforms the processed entity (e.g. hashes a basic-auth password).
        public var transform: @Sendable (Object) -> Object
        public init(input: [String], needs: [String] = [], transform: @escaping @Sendable (Object) -> Object) {
            self.input = input
            self.needs = needs
            self.transform = transform
        }
    }

    /// Custom whole-entity check (Kong's `check`), run on full validation only.
    public typealias Check = @Sendable (Object) -> ErrorNode?

    public let name: String
    /// Field names in declaration order with their definitions.
    public let fields: [(name: String, field: Field)]
    private let fieldIndex: [String: Int]
    public let entityChecks: [EntityCheck]
    public let shorthandFields: [Shorthand]
    /// Whether this schema or a record inside it has a shorthand with `replacedWith` (reads
    /// then show it, see `withReplacedShorthands`).
    public let showsShorthands: Bool
    public let transformations: [Transformation]
    public let check: Check?

    public let primaryKey: [String]
    public let endpointKey: String?
    public let cacheKey: [String]?
    public let workspaceable: Bool
    /// Rows may carry a `ttl` (which is then not validated in declarative config).
    public let ttl: Bool
    /// Excluded from `GET /config` when false.
    public let dbExport: Bool
    /// Admin API collection name when it differs from `name` (`key-sets`, `key-auths`).
    public let adminAPIName: String?
    public let adminAPINestedName: String?

    /// The field whose value picks a subschema (`name` for plugins, `protocols` for routes).
    public let subschemaKey: String?
    /// The message for an unknown subschema key; `%s` is the value.
    public let subschemaError: String?
    public let subschemas: [String: Schema]

    public init(
        name: String,
        primaryKey: [String] = ["id"],
        endpointKey: String? = nil,
        cacheKey: [String]? = nil,
        workspaceable: Bool = false,
        ttl: Bool = false,
        dbExport: Bool = true,
        adminAPIName: String? = nil,
        adminAPINestedName: String? = nil,
        fields: [(String, Field)],
        entityChecks: [EntityCheck] = [],
        shorthandFields: [Shorthand] = [],
        transformations: [Transformation] = [],
        check: Check? = nil,
        subschemaKey: String? = nil,
        subschemaError: String? = nil,
        subschemas: [String: Schema] = [:]
    ) {
        self.name = name
        self.fields = fields.map { (name: $0.0, field: $0.1) }
        var index: [String: Int] = [:]
        for (i, f) in fields.enumerated() { index[f.0] = i }
        self.fieldIndex = index
        let ownFields = self.fields
        func lookup(_ path: String) -> Field? { Schema.field(path: path, in: ownFields, index: index) }
        self.entityChecks = entityChecks.map { $0.resolved(using: lookup) }
        self.shorthandFields = shorthandFields
        self.transformations = transformations
        self.showsShorthands = shorthandFields.contains { $0.replacedWith != nil }
            || fields.contains { $0.1.record?.showsShorthands == true }
            || subschemas.values.contains { $0.showsShorthands }
        self.check = check
        self.primaryKey = primaryKey
        self.endpointKey = endpointKey
        self.cacheKey = cacheKey
        self.workspaceable = workspaceable
        self.ttl = ttl
        self.dbExport = dbExport
        self.adminAPIName = adminAPIName
        self.adminAPINestedName = adminAPINestedName
        self.subschemaKey = subschemaKey
        self.subschemaError = subschemaError
        // A subschema's checks see its own fields first, then the parent's.
        self.subschemas = subschemas.mapValues { sub in
            sub.copy(entityChecks: sub.entityChecks.map { check in
                check.resolved(using: { sub.field(path: $0) ?? lookup($0) })
            })
        }
    }

    private static func field(path: String, in fields: [(name: String, field: Field)], index: [String: Int]) -> Field? {
        guard let (head, tail) = path.splitAtFirstDot() else { return index[path].map { fields[$0].field } }
        return index[head].flatMap { fields[$0].field.record?.field(path: tail) }
    }

    /// A record schema (no primary key), as Kong builds for a `record` field.
    public static func record(
        _ fields: [(String, Field)], entityChecks: [EntityCheck] = [], shorthandFields: [Shorthand] = []
    ) -> Schema {
        Schema(name: "record", primaryKey: [], fields: fields, entityChecks: entityChecks, shorthandFields: shorthandFields)
    }

    /// The definition of a top-level field.
    public func field(named name: String) -> Field? {
        fieldIndex[name].map { fields[$0].field }
    }

    /// Kong's `get_schema_field` for dotted paths through records (`consumer.id`, `config.second`).
    public func field(path: String) -> Field? {
        guard let (head, tail) = path.splitAtFirstDot() else { return field(named: path) }
        return field(named: head)?.record?.field(path: tail)
    }

    /// A copy with some parts replaced (used to derive subschemas and declarative records).
    public func copy(
        name: String? = nil,
        fields: [(String, Field)]? = nil,
        entityChecks: [EntityCheck]? = nil,
        subschemas: [String: Schema]? = nil,
        subschemaError: String?? = nil
    ) -> Schema {
        Schema(
            name: name ?? self.name, primaryKey: primaryKey, endpointKey: endpointKey, cacheKey: cacheKey,
            workspaceable: workspaceable, ttl: ttl, dbExport: dbExport, adminAPIName: adminAPIName,
            adminAPINestedName: adminAPINestedName,
            fields: fields ?? self.fields.map { ($0.name, $0.field) },
            entityChecks: entityChecks ?? self.entityChecks, shorthandFields: shorthandFields,
            transformations: transformations, check: check, subschemaKey: subschemaKey,
            subschemaError: subschemaError ?? self.subschemaError, subschemas: subschemas ?? self.subschemas)
    }

    /// A copy whose `foreign` fields carry the schemas they reference (Kong's `field.schema`),
    /// taken from `schemas` by entity name; references to unknown entities stay unresolved.
    public func resolvingForeignSchemas(_ schemas: [String: Schema]) -> Schema {
        guard fields.contains(where: { $0.field.type == .foreign }) else { return self }
        return copy(fields: fields.map { name, field in
            guard field.type == .foreign, let target = field.reference.flatMap({ schemas[$0] }) else {
                return (name, field)
            }
            return (name, field.with { $0.foreignSchema = target })
        })
    }

    /// Kong's `make_records_required` (`Entity.new_subschema`): every record field, nested ones
    /// too, becomes required, so a missing record is filled with its defaults and reads show
    /// its whole structure (rate-limiting's `redis`). kgate's fields have no unset `required`:
    /// a record whose Kong definition says `required = false` is marked `explicitlyOptional`
    /// and stays optional (the records inside it are still processed).
    public func requiringRecords() -> Schema {
        guard fields.contains(where: { $0.field.type == .record }) else { return self }
        return copy(fields: fields.map { name, field in
            guard field.type == .record else { return (name, field) }
            return (name, field.with {
                if !$0.explicitlyOptional { $0.required = true }
                $0.record = $0.record?.requiringRecords()
            })
        })
    }

    /// The subschema an input selects (Kong's `get_subschema`): by string value, or the first
    /// element of a set that names a subschema.
    public func subschema(for input: Object) -> Schema? {
        guard let key = subschemaKey, !subschemas.isEmpty, let v = input[key] else { return nil }
        switch v {
        case .string(let s): return subschemas[s]
        case .array(let items):
            for item in items { if let s = item.stringValue, let sub = subschemas[s] { return sub } }
            return nil
        default: return nil
        }
    }

    /// The effective definition of a field given a subschema (subschema fields override).
    public func resolvedField(_ name: String, subschema: Schema?) -> Field? {
        if let sub = subschema, let f = sub.field(named: name) { return f }
        return field(named: name)
    }
}
