import Logging
import NIOCore
import NIOPosix
import Synchronization

/// rate-limiting's `redis` policy with a `sync_rate`: the node counts locally and sends its
/// counts to Redis at most every `sync_rate` seconds, as Kong's policy does.
///
/// A key's usage is the count last read from Redis plus what this node counted since. A key
/// not known yet is read from Redis (counting the request there, and -1 locally so the sync
/// does not count it twice). Each sync sends the local counts and forgets everything, so the
/// next request of each key reads Redis again and sees the other nodes' counts.
final class RedisSyncedUsage: Sendable {
    /// A counter key of one window.
    struct Key: Sendable {
        var name: String
        var windowStart: Int
        var expiration: Int
    }

    private struct Entry {
        var usage: Int
        var expiresAt: Int
        var delta: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var syncPending = false
    }

    private let state = Mutex(State())
    let counters: RedisCounters

    init(counters: RedisCounters) {
        self.counters = counters
    }

    /// Each key's usage, or nil when a key must be read from Redis first (``store(_:counts:)``).
    /// A key whose window ended starts again from 0.
    func usage(_ keys: [Key], now: Int) -> [Int]? {
        state.withLock { state in
            var used: [Int] = []
            used.reserveCapacity(keys.count)
            for key in keys {
                guard let entry = state.entries[key.name] else { return nil }
                if entry.expiresAt > now {
                    used.append(entry.usage + entry.delta)
                } else {
                    state.entries[key.name] = Entry(usage: 0, expiresAt: key.windowStart + key.expiration, delta: 0)
                    used.append(0)
                }
            }
            return used
        }
    }

    /// Records counts read from Redis by ``RedisCounters/countOne(_:)``: the count before this
    /// request, which Redis counted already. Locally that is the count after it and -1 to sync
    /// until the request is counted (a refused request's -1 takes it back from Redis). Kong
    /// keeps the count before with the -1, so its local view misses one request per read.
    /// A sync is due within `syncRate` seconds (Kong's waits for a counted request, leaving a
    /// refused one counted in Redis until then).
    func store(_ keys: [Key], counts: [Int], syncRate: Double, logger: Logger) {
        update(syncRate: syncRate, logger: logger) { entries in
            for (key, count) in zip(keys, counts) {
                entries[key.name] = Entry(usage: count + 1, expiresAt: key.windowStart + key.expiration, delta: -1)
            }
        }
    }

    /// Counts a request that passed; a sync is due within `syncRate` seconds.
    func count(_ keys: [Key], syncRate: Double, logger: Logger) {
        update(syncRate: syncRate, logger: logger) { entries in
            for key in keys {
                entries[key.name, default: Entry(usage: 0, expiresAt: key.windowStart + key.expiration, delta: 0)].delta += 1
            }
        }
    }

    /// Changes the entries and schedules a sync unless one is pending.
    private func update(syncRate: Double, logger: Logger, _ change: (inout [String: Entry]) -> Void) {
        let schedule = state.withLock { state in
            change(&state.entries)
            defer { state.syncPending = true }
            return !state.syncPending
        }
        guard schedule else { return }
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        loop.scheduleTask(in: .milliseconds(Int64(syncRate * 1000))) { [self] in sync(logger: logger) }
    }

    /// Sends the local counts (keys Redis does not have yet expire at their window's end) and
    /// forgets every key.
    func sync(logger: Logger) {
        let items = state.withLock { state -> [(key: String, amount: Int, expiry: RedisCounters.Expiry)] in
            defer {
                state.entries.removeAll()
                state.syncPending = false
            }
            return state.entries.map { ($0.key, $0.value.delta, .at($0.value.expiresAt)) }
        }
        guard !items.isEmpty else { return }
        counters.add(items).whenFailure { error in
            logger.error("[rate-limiting] failed to sync counters to Redis: \(error)")
        }
    }

    /// Keys known locally (tests).
    var keyCount: Int { state.withLock { $0.entries.count } }
}
