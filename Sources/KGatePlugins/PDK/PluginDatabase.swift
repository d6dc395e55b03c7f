import KGateSchema
import KGateStore
import Logging

/// The generation's entities as plugins query them (Kong's `kong.db` and `kong.cache` in
/// DB-less mode), with the lookups auth plugins make on every request precomputed once per
/// generation: consumers by id and username, key-auth credentials by key, basic-auth and
/// hmac-auth credentials by username, jwt secrets by key, ACL groups by consumer. Each lookup
/// is one dictionary read.
///
/// Shared by every request of a generation; immutable.
public final class PluginDatabase: Sendable {
    /// The page of the generation.
    public let page: Page
    /// The node's logger (plugins add `plugin` metadata).
    public let logger: Logger
    private let consumersByID: [String: ConsumerEntity]
    private let consumersByUsername: [String: ConsumerEntity]
    private let keyAuth: [String: CredentialEntity]
    private let basicAuth: [String: CredentialEntity]
    private let jwtSecrets: [String: CredentialEntity]
    private let hmacAuth: [String: CredentialEntity]
    /// Consumer id → ACL group names, in the order of their acls' ids.
    private let aclGroups: [String: [String]]

    /// Indexes a page.
    public init(page: Page, logger: Logger = Logger(label: "kgate.plugins")) {
        self.page = page
        self.logger = logger
        var byID: [String: ConsumerEntity] = [:]
        var byName: [String: ConsumerEntity] = [:]
        for (id, row) in page["consumers"]?.rows ?? [:] {
            let c = ConsumerEntity(id: id, row: row)
            byID[id] = c
            if let name = c.username, byName[name] == nil { byName[name] = c }
        }
        func credentials(_ entity: String, by field: String) -> [String: CredentialEntity] {
            var map: [String: CredentialEntity] = [:]
            for (id, row) in page[entity]?.rows ?? [:] {
                guard let key = row.string(field), map[key] == nil else { continue }
                map[key] = CredentialEntity(id: id, row: row)
            }
            return map
        }
        var acls: [String: [(id: String, group: String)]] = [:]
        for (id, row) in page["acls"]?.rows ?? [:] {
            guard let consumer = EntityTableKey.id(row["consumer"]), let group = row.string("group") else { continue }
            acls[consumer, default: []].append((id, group))
        }
        // Kong's DB-less `each_for_consumer` walks LMDB keys `F|acls|consumer|<consumer>|<ws>|<id>`.
        let groups = acls.mapValues { $0.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }.map(\.group) }
        consumersByID = byID
        consumersByUsername = byName
        keyAuth = credentials("keyauth_credentials", by: "key")
        basicAuth = credentials("basicauth_credentials", by: "username")
        jwtSecrets = credentials("jwt_secrets", by: "key")
        hmacAuth = credentials("hmacauth_credentials", by: "username")
        aclGroups = groups
    }

    /// A consumer by id.
    public func consumer(id: String) -> ConsumerEntity? { consumersByID[id] }

    /// Kong's `kong.client.load_consumer(value, true)`: by id when `value` is a UUID, else (or
    /// when no consumer has that id) by username.
    public func consumer(idOrUsername value: String) -> ConsumerEntity? {
        if UUIDFormat.isValid(value), let c = consumersByID[value] { return c }
        return consumersByUsername[value]
    }

    /// The key-auth credential with this key, unless its `ttl` has passed at `now` (seconds
    /// since 1970).
    public func keyAuthCredential(key: String, at now: Double) -> CredentialEntity? {
        keyAuth[key].flatMap { $0.isLive(at: now) ? $0 : nil }
    }

    /// The jwt credential (`jwt_secrets`) with this key.
    public func jwtSecret(key: String) -> CredentialEntity? { jwtSecrets[key] }

    /// The hmac-auth credential with this username.
    public func hmacAuthCredential(username: String) -> CredentialEntity? { hmacAuth[username] }

    /// The basic-auth credential with this username.
    public func basicAuthCredential(username: String) -> CredentialEntity? { basicAuth[username] }

    /// The ACL groups of a consumer (empty when none), in the order Kong's DB-less strategy lists
    /// its acls: by id, the last part of their LMDB keys.
    public func groups(ofConsumer id: String) -> [String] { aclGroups[id] ?? [] }
}

/// A consumer as plugins see it (Kong's `kong.client.get_consumer()`).
public final class ConsumerEntity: Sendable {
    /// `id`.
    public let id: String
    /// `username`.
    public let username: String?
    /// `custom_id`.
    public let customID: String?
    /// The whole row.
    public let row: Object

    /// A consumer from its row (also for consumers an auth plugin makes up).
    public init(id: String, row: Object) {
        self.id = id
        self.row = row
        self.username = row.string("username")
        self.customID = row.string("custom_id")
    }
}

/// A credential as plugins see it (Kong's `kong.client.get_credential()`).
public final class CredentialEntity: Sendable {
    /// `id` (nil for a credential an external auth plugin made without one).
    public let id: String?
    /// The credential's consumer id (`consumer.id`, Kong's `consumer_id`).
    public let consumerID: String?
    /// The whole row (`key`, `username`, `password` hash...).
    public let row: Object
    /// The `ttl` of an entity whose schema has one: in a declarative config (as Kong exports
    /// it and its DB-less strategy reads it) the time it expires, in seconds since 1970.
    public let expiresAt: Double?

    /// A credential from its row.
    public init(id: String?, row: Object) {
        self.id = id
        self.row = row
        self.consumerID = EntityTableKey.id(row["consumer"])
        self.expiresAt = row["ttl"]?.doubleValue
    }

    /// Kong's DB-less `process_ttl_field`: an entity is only found while `ttl - ngx.time()`
    /// (whole seconds) is positive.
    public func isLive(at now: Double) -> Bool {
        guard let expiresAt else { return true }
        return expiresAt - now.rounded(.down) > 0
    }
}

/// Reading ids out of rows.
enum EntityTableKey {
    /// The id of a foreign key value (`{"id": x}`) or a plain string.
    static func id(_ value: Value?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .object(let o)?: return o["id"]?.stringValue
        default: return nil
        }
    }
}
