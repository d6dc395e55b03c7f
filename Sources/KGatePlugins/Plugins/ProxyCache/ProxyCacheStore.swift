import Synchronization

/// The `memory` strategy's storage of proxy-cache (Kong keeps cached responses in an nginx
/// shared dictionary, `kong_db_cache` by default): entries by cache key with their expiry, in
/// one store per dictionary name, holding at most the dictionary's capacity. When a new entry
/// would not fit, the oldest entries go first, as a full shared dictionary evicts its least
/// recently stored items.
final class ProxyCacheStore: Sendable {
    /// A cached response (Kong's `res` table).
    struct Entry: Sendable {
        var status: Int
        var headers: HTTPFields
        var body: [UInt8]
        /// When it was stored (seconds since 1970) and its resource TTL (seconds).
        var timestamp: Int
        var ttl: Int
        /// When the storage drops it (seconds since 1970).
        var expires: Int

        /// Roughly what it takes in memory.
        var size: Int { body.count + headers.fields.reduce(64) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 } }
    }

    private struct State {
        /// Keys in the order they were stored, oldest first.
        var order: [String] = []
        var entries: [String: Entry] = [:]
        var bytes = 0
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// The live entry of `key` at `now`.
    func fetch(_ key: String, now: Int) -> Entry? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                remove(key, from: &state)
                return nil
            }
            return entry
        }
    }

    /// Stores `entry` under `key`; an entry larger than the whole store is not kept.
    func store(_ key: String, _ entry: Entry) {
        let size = entry.size
        guard size <= capacity else { return }
        state.withLock { state in
            remove(key, from: &state)
            var dropped = 0
            while state.bytes + size > capacity, dropped < state.order.count {
                let oldest = state.order[dropped]
                if let old = state.entries.removeValue(forKey: oldest) { state.bytes -= old.size }
                dropped += 1
            }
            state.order.removeFirst(dropped)
            state.order.append(key)
            state.entries[key] = entry
            state.bytes += size
        }
    }

    /// Drops `key` (Kong's `purge`); whether it was there.
    @discardableResult
    func purge(_ key: String) -> Bool {
        state.withLock { state in
            guard state.entries[key] != nil else { return false }
            remove(key, from: &state)
            return true
        }
    }

    /// Drops everything (Kong's `flush`).
    func flush() {
        state.withLock { $0 = State() }
    }

    private func remove(_ key: String, from state: inout State) {
        guard let old = state.entries.removeValue(forKey: key) else { return }
        state.bytes -= old.size
        state.order.removeAll { $0 == key }
    }
}
