import KGateSchema

/// A plugin that keeps values where Kong keeps them in `kong.cache` (ldap-auth's bind
/// outcomes), so the Admin API's `/cache` can probe and drop them.
public protocol NodeCachingPlugin: AnyObject, Sendable {
    /// The live entry under `key` (Kong's `kong.cache:probe`), nil when there is none.
    func cachedValue(forKey key: String, now: Double) -> Value?
    /// Drops the entry under `key` (Kong's `invalidate_local`).
    func invalidateCached(key: String)
    /// Drops every entry (Kong's `purge`).
    func purgeCached()
}

extension PluginRegistry {
    /// The plugins with node caches.
    public var nodeCaches: [any NodeCachingPlugin] {
        names.compactMap { handlers[$0]?.anyPlugin as? any NodeCachingPlugin }
    }
}
