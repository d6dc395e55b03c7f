import Atomics

/// One event loop's share of nginx's `stub_status` counters, which `/status` and
/// `kong_nginx_connections_total` report: open client connections, requests read, and requests
/// in progress.
///
/// Only the loop writes them, with a plain load and store (no read-modify-write, no lock); any
/// thread may read them. Each loop has its own, so loops never share a cache line for them.
final class LoopStats: Sendable {
    private let active = ManagedAtomic<Int>(0)
    private let requests = ManagedAtomic<Int>(0)
    private let inProgress = ManagedAtomic<Int>(0)

    /// A client connection opened (+1) or closed (-1).
    @inline(__always) func connections(_ delta: Int) { bump(active, delta) }
    /// A request head was read.
    @inline(__always) func requestStarted() {
        bump(requests, 1)
        bump(inProgress, 1)
    }
    /// A request ended: its response was sent, or its connection closed.
    @inline(__always) func requestEnded() { bump(inProgress, -1) }

    /// The loop's values now.
    var values: (active: Int, requests: Int, inProgress: Int) {
        (active.load(ordering: .relaxed), requests.load(ordering: .relaxed), inProgress.load(ordering: .relaxed))
    }

    /// The one writer's update.
    @inline(__always) private func bump(_ counter: ManagedAtomic<Int>, _ delta: Int) {
        counter.store(counter.load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }
}

/// The proxy's `stub_status` counters, all loops together.
public struct ProxyConnectionCounts: Sendable, Equatable {
    /// Client connections accepted (nginx's `accepted` and `handled`).
    public var accepted = 0
    /// Client connections open now.
    public var active = 0
    /// Requests read.
    public var requests = 0
    /// Requests in progress (nginx's `writing`).
    public var writing = 0
    public init() {}
}
