import NIOCore

/// The keep-alive pool of one event loop, as a pure state machine: it decides, the I/O shell
/// (`UpstreamPool`) acts. Keyed by peer (address, port, TLS identity), like nginx's
/// `keepalive` cache that Kong's `upstream_keepalive_*` settings drive.
///
/// - `lease` hands out the most recently parked connection of a key (warm, least likely to have
///   been closed by the upstream), or asks for a new one.
/// - `release` parks a reusable connection; a connection that served
///   `upstream_keepalive_max_requests` is closed instead, and when a key already holds
///   `upstream_keepalive_pool_size` idle connections the least recently used one is evicted.
/// - `expire` closes those idle for longer than `upstream_keepalive_idle_timeout`.
/// - `shutdown` closes every idle connection and makes later releases close.
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
        /// Parked; nothing to do (`armExpiry` says whether the idle timer must be armed).
        case parked(armExpiry: NIODeadline?)
        /// Close it (not reusable, max requests reached, pool disabled or shut down).
        case close(Connection)
        /// Parked, but the least recently used idle connection of its key must be closed.
        case parkedEvicting(Connection, armExpiry: NIODeadline?)
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
        let armExpiry = idleCount == 0 ? limits.idleTimeout.map { now + $0 } : nil
        let stack: Stack
        if let existing = idle[key] {
            stack = existing
        } else {
            stack = Stack()
            idle[key] = stack
        }
        var evicted: Connection?
        if stack.items.count >= limits.maxIdlePerKey {
            evicted = stack.items.removeFirst().connection
            idleCount -= 1
        }
        stack.items.append(Idle(connection: connection, since: now))
        idleCount += 1
        if let evicted { return .parkedEvicting(evicted, armExpiry: armExpiry) }
        return .parked(armExpiry: armExpiry)
    }

    /// An idle connection was closed by its peer (or failed): forget it.
    mutating func idleConnectionClosed(_ connection: Connection, key: Key) {
        guard let stack = idle[key], let i = stack.items.firstIndex(where: { $0.connection === connection }) else { return }
        stack.items.remove(at: i)
        idleCount -= 1
    }

    /// Removes the connections idle since before `now - idleTimeout`.
    ///
    /// - Returns: the connections to close, and when the next one expires (to re-arm the timer).
    mutating func expire(now: NIODeadline) -> (expired: [Connection], next: NIODeadline?) {
        guard let timeout = limits.idleTimeout, idleCount > 0 else { return ([], nil) }
        var expired: [Connection] = []
        var next: NIODeadline?
        for (key, stack) in idle {
            // Oldest first: a stack is in parking order.
            var cut = 0
            while cut < stack.items.count, stack.items[cut].since + timeout <= now { cut += 1 }
            if cut > 0 {
                expired.append(contentsOf: stack.items[..<cut].map(\.connection))
                idleCount -= cut
                stack.items.removeFirst(cut)
            }
            if let oldest = stack.items.first {
                let at = oldest.since + timeout
                next = next.map { min($0, at) } ?? at
            } else {
                idle[key] = nil
            }
        }
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
