import KGateConfig
import KGateSchema
import OrderedCollections

/// One entity kind's rows in a page (`services`, `routes`, `keyauth_credentials`, ...) and the
/// indexes over them, built in one pass and never mutated afterwards.
///
/// Indexes map to row offsets in `rows`, so a lookup is one hash probe plus an array read.
public struct EntityTable: Sendable {
    /// The entity name (`"routes"`).
    public let name: String
    /// Flat rows by primary key, in declaration order (foreign keys as `{"id": ...}`).
    public let rows: OrderedDictionary<String, Object>
    /// The schema's endpoint key (`name`, `username`, ...), indexed when it is unique.
    public let endpointKey: String?
    /// The schema's cache key fields (`name, route, service, consumer` for plugins), if any.
    public let cacheKeyFields: [String]
    /// Foreign-key field → referenced entity (`"service": "services"`).
    public let foreignFields: [String: String]

    /// Unique scalar field → value → row offset (endpoint keys, `custom_id`, credential keys...).
    private let unique: [String: [String: Int]]
    /// Cache key (see `cacheKey(_:)`) → row offset.
    private let cacheKeys: [String: Int]
    /// Foreign-key field → referenced id → row offsets, in declaration order.
    private let children: [String: [String: [Int]]]
    /// Tag → row offsets, in declaration order.
    let taggedOffsets: [String: [Int]]

    /// Builds the table and all its indexes in one pass over the rows.
    ///
    /// Cache keys and unique values are taken first come, first served: the loader already refuses
    /// duplicate endpoint keys and primary keys.
    public init(name: String, schema: Schema?, rows: OrderedDictionary<String, Object>) {
        self.name = name
        self.rows = rows
        var foreign: [String: String] = [:]
        var uniqueFields: [String] = []
        for (fieldName, field) in schema?.fields ?? [] {
            if field.type == .foreign, let target = field.reference { foreign[fieldName] = target }
            if field.unique, Self.isIndexable(field.type) { uniqueFields.append(fieldName) }
        }
        self.foreignFields = foreign
        self.endpointKey = schema?.endpointKey
        let cacheKeyFields = schema?.cacheKey ?? []
        self.cacheKeyFields = cacheKeyFields
        let foreignNames = Array(foreign.keys)

        var unique: [String: [String: Int]] = [:]
        for field in uniqueFields { unique[field] = Dictionary(minimumCapacity: rows.count) }
        var cacheKeys: [String: Int] = cacheKeyFields.isEmpty ? [:] : Dictionary(minimumCapacity: rows.count)
        var children: [String: [String: [Int]]] = [:]
        var tagged: [String: [Int]] = [:]

        for (offset, row) in rows.values.enumerated() {
            for field in uniqueFields {
                if let key = Self.keyString(row[field]), unique[field]?[key] == nil { unique[field]?[key] = offset }
            }
            if !cacheKeyFields.isEmpty {
                let key = Self.cacheKey(cacheKeyFields.map { Self.keyString(row[$0]) })
                if cacheKeys[key] == nil { cacheKeys[key] = offset }
            }
            for field in foreignNames {
                guard let parent = Self.keyString(row[field]) else { continue }
                children[field, default: [:]][parent, default: []].append(offset)
            }
            if case .array(let tags)? = row["tags"] {
                for case .string(let tag) in tags { tagged[tag, default: []].append(offset) }
            }
        }
        self.unique = unique
        self.cacheKeys = cacheKeys
        self.children = children
        self.taggedOffsets = tagged
    }

    /// Number of rows.
    public var count: Int { rows.count }

    /// The row with this primary key.
    @inlinable public func row(id: String) -> Object? { rows[id] }

    /// The row whose endpoint key (`name`, `username`, ...) has this value.
    ///
    /// Nil when the entity has no unique endpoint key (targets: use `row(cacheKey:)`).
    public func row(endpointKey value: String) -> Object? {
        guard let endpointKey else { return nil }
        return row(unique: endpointKey, value)
    }

    /// The row whose unique field has this value (`row(unique: "custom_id", "c-1")`).
    public func row(unique field: String, _ value: String) -> Object? {
        unique[field]?[value].map { rows.values[$0] }
    }

    /// The row with this cache key (see `cacheKey(_:)`).
    public func row(cacheKey key: String) -> Object? {
        cacheKeys[key].map { rows.values[$0] }
    }

    /// The rows whose foreign key `field` points at `parentID` (`routes` with `service` = id),
    /// in declaration order.
    public func rows(referencing parentID: String, via field: String) -> [Object] {
        (children[field]?[parentID] ?? []).map { rows.values[$0] }
    }

    /// The ids of the rows whose foreign key `field` points at `parentID`, in declaration order.
    public func ids(referencing parentID: String, via field: String) -> [String] {
        (children[field]?[parentID] ?? []).map { rows.keys[$0] }
    }

    /// The rows carrying a tag, in declaration order.
    public func rows(tagged tag: String) -> [Object] {
        (taggedOffsets[tag] ?? []).map { rows.values[$0] }
    }

    /// The ids of the rows carrying a tag, in declaration order.
    public func ids(tagged tag: String) -> [String] {
        (taggedOffsets[tag] ?? []).map { rows.keys[$0] }
    }

    /// The cache key of a row of this entity: its cache key fields joined with `:`.
    public func cacheKey(of row: Object) -> String? {
        cacheKeyFields.isEmpty ? nil : Self.cacheKey(cacheKeyFields.map { Self.keyString(row[$0]) })
    }

    /// A cache key from its components, in the schema's `cacheKey` order.
    ///
    /// Components are joined with `:`; a missing or null component is empty, and a foreign key is
    /// its id. For plugins: `cacheKey(["key-auth", routeID, nil, nil])` is
    /// `key-auth:<route id>::`; for targets: `cacheKey([upstreamID, "10.0.0.1:80"])`. This is
    /// Kong's `dao:cache_key` without the entity prefix and the workspace suffix.
    public static func cacheKey(_ components: [String?]) -> String {
        var key = ""
        for (i, part) in components.enumerated() {
            if i > 0 { key.append(":") }
            if let part { key.append(part) }
        }
        return key
    }

    /// The index key of a value: strings as is, numbers and booleans as Lua prints them, a
    /// foreign key `{"id": x}` as `x`; nil for null, missing and other tables.
    public static func keyString(_ value: Value?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .integer(let i)?: return String(i)
        case .number?, .bool?: return value!.luaString
        case .object(let o)?: return keyString(o["id"])
        default: return nil
        }
    }

    private static func isIndexable(_ kind: Field.Kind) -> Bool {
        switch kind {
        case .string, .integer, .number, .foreign: return true
        default: return false
        }
    }
}
