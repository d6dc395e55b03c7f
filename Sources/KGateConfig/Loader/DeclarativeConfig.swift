import KGateSchema
import OrderedCollections

/// A validated, flattened declarative config: Kong's `entities`, `meta` and `hash`.
public struct DeclarativeConfig: Sendable {
    /// Entity name (`services`, `routes`, ...) → id → flat entity with defaults filled and
    /// foreign keys as `{"id": ...}` objects. Entities keep the order they were declared in.
    public var entities: [String: OrderedDictionary<String, Object>]
    /// Top-level keys starting with `_` (`_format_version` is "3.0" after migration).
    public var meta: Object
    /// md5 hex of the raw text (Kong's `configuration_hash`).
    public var hash: String
    public var fileName: String?
    /// How long reading the text (YAML/JSON → values) and validating + flattening took.
    public var parseDuration: Duration = .zero
    public var validateDuration: Duration = .zero

    public init(entities: [String: OrderedDictionary<String, Object>], meta: Object, hash: String, fileName: String?) {
        self.entities = entities
        self.meta = meta
        self.hash = hash
        self.fileName = fileName
    }

    /// Number of entities of one kind.
    public func count(of entity: String) -> Int { entities[entity]?.count ?? 0 }
}
