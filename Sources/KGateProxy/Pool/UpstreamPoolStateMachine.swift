import NIOCore

/// The keep-alive pool of one event loop, as a pure state machine: it decides, the I/O shell
/// (`UpstreamPool`) acts. Keyed by peer (address, port, TLS identity), like nginx's
/// `keepalive` cache that Kong's `upstream_keepalive_*` settings drive.
///
/// - `lease` hands out the most recently parked connection of a key (warm, least likely to have
///   been closed by the upstream), or asks for a new one.
/// - `release` parks a reusable connection; a connection that served
///   `upstream_keepalive_max_requests` is closed instead.
/// - `expire` closes those idle for longer than `upstream_keepalive_idle_timeout`, and the least
///   recently used ones of a key holding more than `upstream_keepalive_pool_size` idle
///   connections once they stayed idle for `surplusGrace`.
/// - `shutdown` closes every idle connection and makes later releases close.
///
/// Why a grace instead of closing a surplus connection at once: nginx takes at most 512 events
/// per `epoll_wait`, which bounds how many upstream requests a burst starts in one go, so with
/// the default pool of 512 it rarely holds more. SwiftNIO takes every ready event, so a burst of
/// a thousand clients needs a thousand upstream connections at once; closing the surplus as
/// each returns would reopen it for the next burst (one connect in ten requests at 1,000
/// clients). Keeping it for a moment lets the next burst reuse it, and a key still settles at
/// `upstream_keepalive_pool_size` idle connections when the burst is over.
///
/// Active connections are not tracked: nginx does not cap them either.
struct UpstreamPoolStateMachine<Key: Hashable, Connection: AnyObject> {
    /// The pool's limits.
    struct Limits: Sendable {
        /// Idle connections kept per key; 0 disables keep-alive.
        var maxIdlePerKey: Int
        /// Requests per connection before it is closed; 0 = unlimited.
        var maxRequests: Int
        /// How long a connection may stay idle; nil = forever.
        var idleTimeout: TimeAmount?
        /// How long connections beyond `maxIdlePerKey` may stay idle.
        var surplusGrace: TimeAmount = .seconds(1)
    }

    struct Idle {
        let connection: Connection
        let since: NIODeadline
    }

    /// What to do for a lease.
    enum LeaseAction {
        /// Use this idle connection.
        case reuse(Connection)
        /// Open a new connection.
        case connect
    }

    /// What to do with a released connection.
    enum ReleaseAction {
        /// Parked; `armExpiry`: run `expire` then (nil: the timer is already due early enough).
        case parked(armExpiry: NIODeadline?)
        /// Close it (not reusable, max requests reached, pool disabled or shut down).
        case close(Connection)
    }

    /// One key's idle connections, oldest first. A class, so that a lease or a release
    /// mutates the array in place instead of through the dictionary's accessors (which would
    /// copy it).
    final class Stack {
        var items: [Idle] = []
    }

    let limits: Limits
    private var idle: [Key: Stack] = [:]
    private(set) var idleCount = 0
    private(set) var isShutdown = false
    /// When `expire` was last asked to run (nil: not armed).
    private var expiryDue: NIODeadline?

    init(limits: Limits) {
        self.limits = limits
    }

    /// A connection for `key`.
    ///
    /// Stacks are kept when empty, so steady-state leases and releases allocate nothing.
    mutating func lease(_ key: Key) -> LeaseAction {
        guard idleCount > 0, let stack = idle[key], let last = stack.items.popLast() else { return .connect }
        idleCount -= 1
        return .reuse(last.connection)
    }

    /// A connection finished an exchange.
    ///
    /// - Parameters:
    ///   - reusable: the exchange ended cleanly and both sides allow keep-alive.
    ///   - requestsServed: requests this connection has carried, this one included.
    mutating func release(
        _ connection: Connection, key: Key, reusable: Bool, requestsServed: Int, now: NIODeadline
    ) -> ReleaseAction {
        guard reusable, !isShutdown, limits.maxIdlePerKey > 0 else { return .close(connection) }
        if limits.maxRequests > 0, requestsServed >= limits.maxRequests { return .close(connection) }
        let stack: Stack
        if let existing = idle[key] {
            stack = existing
        } else {
            stack = Stack()
            idle[key] = stack
        }
        stack.items.append(Idle(connection: connection, since: now))
        idleCount += 1
        let surplus = stack.items.count > limits.maxIdlePerKey
        // A surplus is looked at when its oldest connection's grace ends (the oldest connection
        // parked before `now`, so that is no later than `now + surplusGrace`).
        let due = surplus ? stack.items[0].since + limits.surplusGrace : limits.idleTimeout.map { now + $0 }
        guard let due, expiryDue.map({ due < $0 }) ?? true else { return .parked(armExpiry: nil) }
        expiryDue = due
        return .parked(armExpiry: due)
    }

    /// An idle connection was closed by its peer (or failed): forget it.
    mutating func idleConnectionClosed(_ connection: Connection, key: Key) {
        guard let stack = idle[key], let i = stack.items.firstIndex(where: { $0.connection === connection }) else { return }
        stack.items.remove(at: i)
        idleCount -= 1
    }

    /// Removes the connections idle since before `now - idleTimeout`, and a key's least
    /// recently used connections beyond `maxIdlePerKey` idle since before `now - surplusGrace`.
    ///
    /// - Returns: the connections to close, and when to run again (to re-arm the timer).
    mutating func expire(now: NIODeadline) -> (expired: [Connection], next: NIODeadline?) {
        expiryDue = nil
        guard idleCount > 0 else { return ([], nil) }
        var expired: [Connection] = []
        var next: NIODeadline?
        for (key, stack) in idle {
            // Oldest first: a stack is in parking order.
            var cut = 0
            if let timeout = limits.idleTimeout {
                while cut < stack.items.count, stack.items[cut].since + timeout <= now { cut += 1 }
            }
            let surplus = stack.items.count - limits.maxIdlePerKey
            while cut < surplus, stack.items[cut].since + limits.surplusGrace <= now { cut += 1 }
            if cut > 0 {
                expired.append(contentsOf: stack.items[..<cut].map(\.connection))
                idleCount -= cut
                stack.items.removeFirst(cut)
            }
            guard let oldest = stack.items.first else {
                idle[key] = nil
                continue
            }
            var due = limits.idleTimeout.map { oldest.since + $0 }
            if stack.items.count > limits.maxIdlePerKey {
                due = min(due ?? .distantFuture, oldest.since + limits.surplusGrace)
            }
            if let due { next = min(next ?? due, due) }
        }
        expiryDue = next
        return (expired, next)
    }

    /// Stops pooling: returns every idle connection to close; later releases close too.
    mutating func shutdown() -> [Connection] {
        isShutdown = true
        let all = idle.values.flatMap { $0.items.map(\.connection) }
        idle = [:]
        idleCount = 0
        return all
    }

    /// Idle connections of one key (tests and diagnostics).
    func idleCount(for key: Key) -> Int { idle[key]?.items.count ?? 0 }
}
