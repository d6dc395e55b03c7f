import Atomics
import NIOCore
import Synchronization

/// One target of an upstream: an IP address, or a name each of whose addresses gets a share of
/// the traffic.
struct BalancerTarget: Sendable, Hashable {
    /// The host as configured (a name, or an IP literal without brackets).
    var host: String
    /// The port (8000 when the target names none, as Kong).
    var port: Int
    /// `weight` (targets with weight 0 never make it into a balancer).
    var weight: Int
    /// The parsed address when `host` is an IP literal; nil for names (resolved by DNS).
    var ip: IPBytes?

    /// Parses Kong's `target` field: `host`, `host:port`, `a.b.c.d:port`, `[v6]:port` or `v6`.
    init?(target: String, weight: Int) {
        var host = Substring(target)
        var port = 8000
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, (0...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
        self.weight = weight
        self.ip = IPBytes(parsing: self.host)
    }
}

/// One address on a balancer's wheel: an IP target, or one of the addresses a target's name
/// resolved to.
struct BalancerAddress: Sendable, Hashable {
    var ip: IPBytes
    var port: Int
    var weight: Int
    /// The target's host as configured (its name, or the IP literal): what the upstream `Host`
    /// and SNI name, as Kong uses the target's name for every address of it.
    var host: String
}

/// One version of a balancer's wheel. Immutable: an answer that changes a name's addresses
/// makes a new page, published with one atomic store.
final class BalancerPage: Sendable, AtomicReference {
    /// The addresses, targets in config order.
    let addresses: [BalancerAddress]
    /// Slots: indexes into `addresses`.
    let wheel: [Int32]
    /// When the next name is due a query (`.distantFuture` when every target is an IP).
    let refreshAt: NIODeadline
    /// Some target's name was never asked: an empty wheel means "wait for the answer", not
    /// "no peer".
    let awaitingAnswers: Bool

    init(addresses: [BalancerAddress], refreshAt: NIODeadline, awaitingAnswers: Bool) {
        self.addresses = addresses
        self.wheel = Balancer.buildWheel(weights: addresses.map(\.weight))
        self.refreshAt = refreshAt
        self.awaitingAnswers = awaitingAnswers
    }

    /// The same addresses and wheel (shared, not copied) with new query times.
    init(_ page: BalancerPage, refreshAt: NIODeadline, awaitingAnswers: Bool) {
        self.addresses = page.addresses
        self.wheel = page.wheel
        self.refreshAt = refreshAt
        self.awaitingAnswers = awaitingAnswers
    }
}

/// Weighted round-robin over an upstream's addresses (Kong's `round-robin` algorithm).
///
/// As in Kong, the wheel is over addresses, not targets: an IP target is one address, and
/// each address a target's name resolves to is one more, with the target's weight (an SRV
/// record brings its own port and weight). A name with three addresses thus gets three shares.
/// Kong fills a wheel with `weight / gcd` slots per address; kgate builds the same wheel,
/// interleaved by smooth weighted round-robin rather than shuffled, so the order is
/// deterministic and evenly spread. The cursor is one relaxed atomic shared by all event
/// loops: a pick is one increment, no lock.
///
/// Names are asked when a pick finds their answer expired (the first pick after a config
/// load asks the names no earlier config knew): the pick goes on with the current page while
/// the queries run; their answers build a new page off the hot path, published with one
/// atomic store. A balancer of IP targets only has one page for life and never loads one.
final class Balancer: Sendable {
    /// The upstream's id.
    let id: String
    /// The upstream's `name` (what services name in `host`).
    let name: String
    /// `host_header`: the upstream `Host` instead of the target's host.
    let hostHeader: String?
    /// Targets with a positive weight, in config order.
    let targets: [BalancerTarget]
    /// The page when every target is an IP: it never changes.
    private let fixedPage: BalancerPage?
    /// The page when some target names a host (an `AtomicReference`, as the config store's
    /// generation: a load is lock-free and never sees a freed page).
    private let livePage: ManagedAtomic<BalancerPage>?
    /// The names' answers and the query round in flight: touched by query rounds and by picks
    /// that wait for first answers, never by an ordinary pick.
    private let resolution: Mutex<Resolution>
    /// Set while a query round runs, so a pick that finds an answer expired checks one flag.
    private let refreshing = ManagedAtomic(false)
    private let cursor: ManagedAtomic<Int>

    private struct Resolution: Sendable {
        var names: BalancerNames
        var inFlight: EventLoopFuture<Void>?
    }

    /// What a pick gives.
    enum Pick {
        case address(BalancerAddress)
        /// No address (no target, or no name resolves): Kong's `failure to get a peer from
        /// the ring-balancer`.
        case noPeer
        /// The wheel is empty until first answers come: pick again when this completes.
        case waiting(EventLoopFuture<Void>)
    }

    /// The largest wheel built; heavier weight sets are scaled down to fit.
    static let maxWheelSize = 65536

    /// Makes a balancer.
    ///
    /// - Parameter previous: the balancer of the same upstream in the previous generation:
    ///   its answers serve the names both have, so a reload does not ask them again.
    init(
        id: String, name: String, hostHeader: String?, targets: [BalancerTarget], previous: Balancer? = nil,
        start: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.hostHeader = hostHeader
        let live = targets.filter { $0.weight > 0 }
        self.targets = live
        let hostnames = live.filter { $0.ip == nil }.map(\.host)
        let names = BalancerNames(names: hostnames, carryingOver: previous?.resolution.withLock { $0.names })
        let page = BalancerPage(
            addresses: names.addresses(of: live), refreshAt: names.nextRefresh,
            awaitingAnswers: names.isAwaitingAnswers)
        if hostnames.isEmpty {
            self.fixedPage = page
            self.livePage = nil
        } else {
            self.fixedPage = nil
            self.livePage = ManagedAtomic(page)
        }
        self.resolution = Mutex(Resolution(names: names, inFlight: nil))
        self.cursor = ManagedAtomic(start ?? Int.random(in: 0..<max(1, page.wheel.count)))
    }

    /// The current page.
    var page: BalancerPage { fixedPage ?? livePage!.load(ordering: .acquiring) }

    /// Whether the balancer has no address to offer now (Kong's "No peers are available").
    var isEmpty: Bool { page.wheel.isEmpty }

    /// The next address of the current page, asking no name; nil when there is none.
    func next() -> BalancerAddress? { next(on: page) }

    @inline(__always)
    private func next(on page: BalancerPage) -> BalancerAddress? {
        let wheel = page.wheel
        guard !wheel.isEmpty else { return nil }
        let n = cursor.loadThenWrappingIncrement(ordering: .relaxed)
        return page.addresses[Int(wheel[Int(UInt(bitPattern: n) % UInt(wheel.count))])]
    }

    /// The next address; starts a query round (on `eventLoop`, with `resolver`) when a name's
    /// answer expired at `now`.
    func pick(now: NIODeadline, resolver: any DNSResolving, on eventLoop: EventLoop) -> Pick {
        guard let livePage else {
            return next(on: fixedPage!).map(Pick.address) ?? .noPeer
        }
        let page = livePage.load(ordering: .acquiring)
        if page.refreshAt <= now, !refreshing.load(ordering: .relaxed) {
            refresh(resolver: resolver, on: eventLoop)
        }
        if let address = next(on: page) { return .address(address) }
        guard page.awaitingAnswers else { return .noPeer }
        // No round in flight any more: it just published its page, so picking again sees it.
        return .waiting(resolution.withLock { $0.inFlight } ?? eventLoop.makeSucceededVoidFuture())
    }

    /// Asks the names whose answers expired, then publishes the page their answers make.
    /// One round at a time; a round that changes no address publishes the same wheel with
    /// the new query times.
    private func refresh(resolver: any DNSResolving, on eventLoop: EventLoop) {
        guard let livePage else { return }
        let round: (names: [String], promise: EventLoopPromise<Void>)? = resolution.withLock { state in
            let now = eventLoop.now
            // Another round may have published its page since the caller loaded its own.
            guard state.inFlight == nil, livePage.load(ordering: .relaxed).refreshAt <= now else { return nil }
            let due = state.names.due(at: now)
            guard !due.isEmpty else { return nil }
            let promise = eventLoop.makePromise(of: Void.self)
            state.inFlight = promise.futureResult
            refreshing.store(true, ordering: .relaxed)
            return (due, promise)
        }
        guard let round else { return }
        let queries = round.names.map { resolver.resolve($0, on: eventLoop) }
        EventLoopFuture.whenAllComplete(queries, on: eventLoop).whenSuccess { [self] results in
            let now = eventLoop.now
            resolution.withLock { state in
                var changed = false
                for (name, result) in zip(round.names, results) {
                    let answer = result.mapError { $0 as? DNSFailure ?? .other(String(describing: $0)) }
                    if state.names.record(answer, for: name, at: now) { changed = true }
                }
                let names = state.names
                let page =
                    changed
                    ? BalancerPage(
                        addresses: names.addresses(of: targets), refreshAt: names.nextRefresh,
                        awaitingAnswers: names.isAwaitingAnswers)
                    : BalancerPage(
                        livePage.load(ordering: .relaxed), refreshAt: names.nextRefresh,
                        awaitingAnswers: names.isAwaitingAnswers)
                livePage.store(page, ordering: .releasing)
                state.inFlight = nil
            }
            refreshing.store(false, ordering: .releasing)
            round.promise.succeed()
        }
    }

    /// The wheel for these weights: `weight / gcd` slots each (scaled down when the total is
    /// over `maxWheelSize`), ordered by smooth weighted round-robin.
    static func buildWheel(weights: [Int]) -> [Int32] {
        guard !weights.isEmpty else { return [] }
        var divisor = 0
        for w in weights { divisor = gcd(divisor, w) }
        var points = weights.map { $0 / max(divisor, 1) }
        var total = points.reduce(0, +)
        if total > maxWheelSize {
            points = points.map { max(1, $0 * maxWheelSize / total) }
            total = points.reduce(0, +)
        }
        var current = [Int](repeating: 0, count: points.count)
        var wheel: [Int32] = []
        wheel.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for i in points.indices {
                current[i] += points[i]
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            wheel.append(Int32(best))
        }
        return wheel
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
