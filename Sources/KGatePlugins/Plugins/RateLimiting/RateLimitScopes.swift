import Synchronization

/// The counters of each config scope of a rate-limiting plugin, node-wide.
///
/// Kong keys its local counters by the config's route and service id (nil ones as the zero
/// UUID), not by plugin id: counters survive reloads, including a change of plugin id or a
/// removal and re-adding within the window, and go once all their windows ended.
final class RateLimitScopes: Sendable {
    private let counters = Mutex<[String: RateLimitCounters]>([:])

    /// The counters of a config scope, made on first use.
    func counters(for scope: PluginScope) -> RateLimitCounters {
        let key = Self.key(scope)
        return counters.withLock { map in
            if let existing = map[key] { return existing }
            let new = RateLimitCounters()
            map[key] = new
            return new
        }
    }

    /// The counters of a config scope, if it has any.
    func existing(for scope: PluginScope) -> RateLimitCounters? {
        counters.withLock { $0[Self.key(scope)] }
    }

    /// Drops the counters of scopes not in `live` once all their windows have ended.
    func keep(_ live: [PluginScope], now: Int = Int(WallClock.now())) {
        let keys = Set(live.map(Self.key))
        counters.withLock { map in
            map = map.filter { key, store in
                if keys.contains(key) { return true }
                store.sweep(now: now)
                return store.identifierCount > 0
            }
        }
    }

    /// Kong's counter key prefix for a config: its route id and service id.
    static func key(_ scope: PluginScope) -> String {
        let none = "00000000-0000-0000-0000-000000000000"
        return (scope.routeID ?? none) + ":" + (scope.serviceID ?? none)
    }
}
