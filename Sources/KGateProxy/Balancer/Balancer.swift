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

/// An upstream's balancer: its targets' addresses, the algorithm choosing among them
/// (Kong's `round-robin`, `consistent-hashing`, `least-connections` or `latency`) and their
/// health.
///
/// As in Kong, choices are over addresses, not targets: an IP target is one address, and
/// each address a target's name resolves to is one more, with the target's weight (an SRV
/// record brings its own port and weight). A name with three addresses thus gets three shares.
/// For round-robin, Kong fills a wheel with `weight / gcd` slots per address; kgate builds the
/// same wheel, interleaved by smooth weighted round-robin rather than shuffled, so the order
/// is deterministic and evenly spread. The cursor is one relaxed atomic shared by all event
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
    /// Targets with weight 0: never picked, but resolved and reported as Kong's balancer keeps
    /// them (`/upstreams/{u}/health` shows their addresses with `HEALTHCHECKS_OFF`).
    let idleTargets: [BalancerTarget]
    let algorithm: BalancerAlgorithm
    /// `slots`: the consistent-hashing continuum's size.
    let slots: Int
    /// What consistent hashing hashes (`hash_on`, `hash_fallback`).
    let hashing: HashSource.Pair
    /// The targets' health and the `healthchecks` settings.
    let health: UpstreamHealth
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
        case address(BalancerPick)
        /// No address (no target, none healthy, or no name resolves): Kong's `failure to get
        /// a peer from the ring-balancer`.
        case noPeer
        /// The page is empty until first answers come: pick again when this completes.
        case waiting(EventLoopFuture<Void>)
    }

    /// The largest wheel built; heavier weight sets are scaled down to fit.
    static let maxWheelSize = 65536

    /// Makes a balancer.
    ///
    /// - Parameter previous: the balancer of the same upstream in the previous generation:
    ///   its answers serve the names both have, so a reload does not ask them again, and its
    ///   targets' health carries over.
    init(
        id: String, name: String, hostHeader: String?, targets: [BalancerTarget], algorithm: BalancerAlgorithm = .roundRobin,
        slots: Int = 10000, hashing: HashSource.Pair = .none, healthchecks: HealthcheckSettings = HealthcheckSettings(),
        previous: Balancer? = nil, start: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.hostHeader = hostHeader
        self.algorithm = algorithm
        self.slots = slots
        self.hashing = hashing
        self.health = UpstreamHealth(settings: healthchecks, previous: previous?.health)
        let live = targets.filter { $0.weight > 0 }
        self.targets = live
        self.idleTargets = targets.filter { $0.weight <= 0 }
        let hostnames = (live + idleTargets).filter { $0.ip == nil }.map(\.host)
        let names = BalancerNames(names: hostnames, carryingOver: previous?.resolution.withLock { $0.names })
        let page = Self.page(
            addresses: names.addresses(of: live), algorithm: algorithm, targetCount: live.count, slots: slots,
            health: health, names: names)
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

    private static func page(
        addresses: [BalancerAddress], algorithm: BalancerAlgorithm, targetCount: Int, slots: Int,
        health: UpstreamHealth, names: BalancerNames
    ) -> BalancerPage {
        BalancerPage(
            addresses: addresses,
            selection: AddressSelection(algorithm, addresses: addresses, targetCount: targetCount, slots: slots),
            health: health, refreshAt: names.nextRefresh, awaitingAnswers: names.isAwaitingAnswers)
    }

    /// Whether requests need a ``BalancerLease``: an algorithm with per-request state, or
    /// health checks to report to.
    var needsLease: Bool { algorithm != .roundRobin || health.settings.isEnabled }

    /// The current page.
    var page: BalancerPage { fixedPage ?? livePage!.load(ordering: .acquiring) }

    /// The addresses of a target of weight 0 as its name's latest answer gives them (for the
    /// health report; never picked).
    func idleAddresses(of target: BalancerTarget) -> [BalancerAddress] {
        resolution.withLock { $0.names.addresses(of: [target]) }
    }

    /// Whether the balancer has no address to offer now (Kong's "No peers are available").
    var isEmpty: Bool { page.addresses.isEmpty }

    /// The next address of the current page for a first try without a hash, asking no name;
    /// nil when there is none.
    func next() -> BalancerAddress? {
        let page = page
        return select(on: page, PickRequest()).map { page.addresses[$0] }
    }

    /// The address index the algorithm gives for `request` on `page`, skipping unavailable
    /// addresses; nil when none is available or the balancer is below its health threshold.
    @inline(__always)
    private func select(on page: BalancerPage, _ request: PickRequest) -> Int? {
        let threshold = health.settings.threshold
        if threshold > 0, !page.isHealthy(threshold: threshold) { return nil }
        switch page.selection {
        case .wheel(let wheel):
            guard !wheel.isEmpty else { return nil }
            guard page.health != nil else {
                let n = cursor.loadThenWrappingIncrement(ordering: .relaxed)
                return Int(wheel[Int(UInt(bitPattern: n) % UInt(wheel.count))])
            }
            for _ in 0..<wheel.count {
                let n = cursor.loadThenWrappingIncrement(ordering: .relaxed)
                let index = Int(wheel[Int(UInt(bitPattern: n) % UInt(wheel.count))])
                if page.isAvailable(index) { return index }
            }
            return nil
        case .continuum(let continuum):
            guard !page.addresses.isEmpty else { return nil }
            let point = continuum.point(for: request.hashValue ?? "")
            return continuum.address(from: point, isAvailable: page.isAvailable)
        case .leastConnections(let counts):
            return counts.pick(isAvailable: page.isAvailable) { request.failed.contains(page.addresses[$0]) }
        case .latency(let ewma):
            return ewma.pick(isAvailable: page.isAvailable, failed: { request.failed.contains(page.addresses[$0]) }, now: request.now)
        }
    }

    /// The address for `request`; starts a query round (on `eventLoop`, with `resolver`) when a
    /// name's answer expired at `now`.
    func pick(now: NIODeadline, resolver: any DNSResolving, on eventLoop: EventLoop, _ request: PickRequest = PickRequest()) -> Pick {
        guard let livePage else {
            let page = fixedPage!
            return select(on: page, request).map { .address(BalancerPick(page: page, index: $0)) } ?? .noPeer
        }
        let page = livePage.load(ordering: .acquiring)
        if page.refreshAt <= now, !refreshing.load(ordering: .relaxed) {
            refresh(resolver: resolver, on: eventLoop)
        }
        if let index = select(on: page, request) { return .address(BalancerPick(page: page, index: index)) }
        guard page.awaitingAnswers else { return .noPeer }
        // No round in flight any more: it just published its page, so picking again sees it.
        return .waiting(resolution.withLock { $0.inFlight } ?? eventLoop.makeSucceededVoidFuture())
    }

    /// Starts a query round when a name's answer is due (or was never asked), without picking:
    /// the balancer's names are resolved before traffic comes, as Kong resolves a balancer's
    /// targets when it creates it.
    func resolveDueNames(resolver: any DNSResolving, on eventLoop: EventLoop) {
        guard let livePage, livePage.load(ordering: .acquiring).refreshAt <= eventLoop.now,
            !refreshing.load(ordering: .relaxed)
        else { return }
        refresh(resolver: resolver, on: eventLoop)
    }

    /// The try that used `pick` ended: least-connections counts it out; `rtt` (seconds, connect
    /// plus response time) feeds the latency algorithm when the try got a response.
    func release(_ pick: BalancerPick, rtt: Double?, now: Double) {
        switch pick.page.selection {
        case .leastConnections(let counts): counts.release(pick.index)
        case .latency(let ewma): if let rtt { ewma.record(pick.index, rtt: rtt, now: now) }
        case .wheel, .continuum: break
        }
    }

    /// Counts what the proxied traffic said about the address `pick` chose (passive checks).
    func report(_ report: HealthReport, for pick: BalancerPick) {
        guard let health = pick.page.health else { return }
        self.health.record(report, for: health[pick.index], kind: .passive)
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
                let previous = livePage.load(ordering: .relaxed)
                let page =
                    changed
                    ? Self.page(
                        addresses: names.addresses(of: targets), algorithm: algorithm, targetCount: targets.count,
                        slots: slots, health: health, names: names
                    ).carryingLatencies(of: previous, now: Double(now.uptimeNanoseconds) / 1e9)
                    : BalancerPage(previous, refreshAt: names.nextRefresh, awaitingAnswers: names.isAwaitingAnswers)
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
