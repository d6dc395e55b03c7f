import KGateConfig
import KGateSchema
import OrderedCollections

/// One entity of a page, named by kind and primary key (what Kong's `/tags/:tag` lists).
public struct EntityRef: Sendable, Hashable, CustomStringConvertible {
    /// The entity name (`"services"`).
    public var entity: String
    /// The primary key.
    public var id: String

    /// Creates a reference.
    public init(entity: String, id: String) {
        self.entity = entity
        self.id = id
    }

    /// `services/<id>`.
    public var description: String { entity + "/" + id }
}

/// The entity indexes of one generation: Kong's `I|`, `U|`, `F|` and tag keys, in memory.
///
/// - by id: `entity(_:id:)` (the flat rows themselves);
/// - by endpoint key: `entity(_:endpointKey:)` (services, routes, upstreams, snis by name,
///   consumers by username, ...) and any other unique field (`row(unique:_:)` on a table);
/// - by cache key: `entity(_:cacheKey:)` (plugins by `name:route:service:consumer`, targets by
///   `upstream:target`, acls by `consumer:group`, credentials by key/username...);
/// - by foreign key: `children(_:via:of:)` (routes of a service, targets of an upstream, plugins of
///   a route/service/consumer, credentials of a consumer);
/// - by tag: `entities(tagged:)` and per table `rows(tagged:)`;
/// - credentials: `keyAuthCredential(key:)`, `basicAuthCredential(username:)`.
///
/// A page is an immutable value built once per load (`init(config:catalog:)`, one pass per
/// entity kind) and shared by every reader of its generation.
public struct Page: Sendable {
    /// md5 hex of the config text (`ConfigHash.empty` for the empty page).
    public let hash: String
    /// Tables by entity name; only kinds with at least one row are present.
    public let tables: [String: EntityTable]
    /// Row counts by entity name (kinds with at least one row).
    public let counts: [String: Int]
    /// Tag → entities carrying it, in the catalogue's entity order, then declaration order.
    private let tagged: [String: [EntityRef]]

    /// The page of an empty config.
    public static let empty = Page(hash: ConfigHash.empty, tables: [:], tagged: [:])

    private init(hash: String, tables: [String: EntityTable], tagged: [String: [EntityRef]]) {
        self.hash = hash
        self.tables = tables
        self.counts = tables.mapValues(\.count)
        self.tagged = tagged
    }

    /// Builds every index from a flattened config.
    ///
    /// Entity kinds the catalogue does not know are still stored (by id, by tag), without
    /// schema-driven indexes.
    public init(config: DeclarativeConfig, catalog: EntityCatalog) {
        var tables: [String: EntityTable] = [:]
        var tagged: [String: [EntityRef]] = [:]
        let known = Set(catalog.order)
        let unknown = config.entities.keys.filter { !known.contains($0) }.sorted()
        for name in catalog.order + unknown {
            guard let rows = config.entities[name], !rows.isEmpty else { continue }
            let table = EntityTable(name: name, schema: catalog.schemas[name], rows: rows)
            tables[name] = table
            // Tags come from the table's own tag index: no second pass over the rows.
            for (tag, offsets) in table.taggedOffsets {
                tagged[tag, default: []].append(contentsOf: offsets.map { EntityRef(entity: name, id: rows.keys[$0]) })
            }
        }
        self.init(hash: config.hash, tables: tables, tagged: tagged)
    }

    /// The table of one entity kind; nil when the config has none of it.
    @inlinable public subscript(entity: String) -> EntityTable? { tables[entity] }

    /// True when the config declares no entities (Kong then reports the all-zero hash).
    public var isEmpty: Bool { tables.isEmpty }

    /// Number of entities of one kind.
    public func count(of entity: String) -> Int { counts[entity] ?? 0 }

    /// Number of entities of all kinds.
    public var totalCount: Int { counts.values.reduce(0, +) }

    /// An entity by primary key.
    public func entity(_ entity: String, id: String) -> Object? {
        tables[entity]?.row(id: id)
    }

    /// An entity by endpoint key (`entity("services", endpointKey: "httpbin")`).
    public func entity(_ entity: String, endpointKey value: String) -> Object? {
        tables[entity]?.row(endpointKey: value)
    }

    /// An entity by cache key (see `EntityTable.cacheKey(_:)`).
    public func entity(_ entity: String, cacheKey key: String) -> Object? {
        tables[entity]?.row(cacheKey: key)
    }

    /// Entities whose foreign key `field` points at `parentID` (`children("routes", via:
    /// "service", of: serviceID)`), in declaration order.
    public func children(_ entity: String, via field: String, of parentID: String) -> [Object] {
        tables[entity]?.rows(referencing: parentID, via: field) ?? []
    }

    /// The entity a row's foreign key points at (`referenced("consumer", by: credential, in:
    /// "keyauth_credentials")` is the credential's consumer).
    public func referenced(_ field: String, by row: Object, in entity: String) -> Object? {
        guard let target = tables[entity]?.foreignFields[field], let id = EntityTable.keyString(row[field]) else {
            return nil
        }
        return tables[target]?.row(id: id)
    }

    /// Every entity carrying a tag (Kong's `/tags/:tag`).
    public func entities(tagged tag: String) -> [EntityRef] { tagged[tag] ?? [] }

    /// Every tag in use, sorted.
    public var tags: [String] { tagged.keys.sorted() }

    /// The key-auth credential with this key (`keyauth_credentials` by `key`).
    public func keyAuthCredential(key: String) -> Object? {
        tables["keyauth_credentials"]?.row(unique: "key", key)
    }

    /// The basic-auth credential with this username (`basicauth_credentials` by `username`).
    public func basicAuthCredential(username: String) -> Object? {
        tables["basicauth_credentials"]?.row(unique: "username", username)
    }
}
