import Atomics
import NIOCore

/// Kong's upstream `algorithm`.
enum BalancerAlgorithm: String, Sendable {
    case roundRobin = "round-robin"
    case consistentHashing = "consistent-hashing"
    case leastConnections = "least-connections"
    case latency
}

/// How a page chooses among its addresses: the algorithm's structure over them.
enum AddressSelection: Sendable {
    /// Round-robin: slots holding indexes into the addresses.
    case wheel([Int32])
    case continuum(HashContinuum)
    case leastConnections(LeastConnections)
    case latency(LatencyEWMA)

    init(_ algorithm: BalancerAlgorithm, addresses: [BalancerAddress], targetCount: Int, slots: Int) {
        switch algorithm {
        case .roundRobin: self = .wheel(Balancer.buildWheel(weights: addresses.map(\.weight)))
        case .consistentHashing:
            self = .continuum(HashContinuum(addresses: addresses, targetCount: targetCount, slots: slots))
        case .leastConnections: self = .leastConnections(LeastConnections(weights: addresses.map(\.weight)))
        case .latency: self = .latency(LatencyEWMA(weights: addresses.map(\.weight)))
        }
    }
}

/// One version of a balancer's addresses and the algorithm's structure over them. Immutable
/// (the least-connections and latency counters inside are their own synchronized state): an
/// answer that changes a name's addresses makes a new page, published with one atomic store.
final class BalancerPage: Sendable, AtomicReference {
    /// The addresses, targets in config order.
    let addresses: [BalancerAddress]
    let selection: AddressSelection
    /// Each address's health, index-aligned with `addresses`; nil without health checks (every
    /// address is available).
    let health: [TargetHealth]?
    /// When the next name is due a query (`.distantFuture` when every target is an IP).
    let refreshAt: NIODeadline
    /// Some target's name was never asked: an empty page means "wait for the answer", not
    /// "no peer".
    let awaitingAnswers: Bool

    init(
        addresses: [BalancerAddress], selection: AddressSelection, health: UpstreamHealth?, refreshAt: NIODeadline,
        awaitingAnswers: Bool
    ) {
        self.addresses = addresses
        self.selection = selection
        self.health = health.flatMap { h in h.settings.isEnabled ? addresses.map(h.health(of:)) : nil }
        self.refreshAt = refreshAt
        self.awaitingAnswers = awaitingAnswers
    }

    /// The same addresses, selection and health (shared, not copied) with new query times.
    init(_ page: BalancerPage, refreshAt: NIODeadline, awaitingAnswers: Bool) {
        self.addresses = page.addresses
        self.selection = page.selection
        self.health = page.health
        self.refreshAt = refreshAt
        self.awaitingAnswers = awaitingAnswers
    }

    /// The same addresses and health with another selection.
    private init(_ page: BalancerPage, selection: AddressSelection) {
        self.addresses = page.addresses
        self.selection = selection
        self.health = page.health
        self.refreshAt = page.refreshAt
        self.awaitingAnswers = page.awaitingAnswers
    }

    /// Kong's slow start when DNS changes a latency balancer's addresses: each address `previous`
    /// had keeps its EWMA, a new one starts at the mean (``LatencyEWMA/carried(to:now:previousIndex:)``).
    /// Other algorithms' pages are returned as they are.
    func carryingLatencies(of previous: BalancerPage, now: Double) -> BalancerPage {
        guard case .latency(let old) = previous.selection else { return self }
        var previousIndex: [AddressKey: Int] = [:]
        for (index, address) in previous.addresses.enumerated() where previousIndex[AddressKey(address)] == nil {
            previousIndex[AddressKey(address)] = index
        }
        let addresses = self.addresses
        let ewma = old.carried(to: addresses.map(\.weight), now: now) { previousIndex[AddressKey(addresses[$0])] }
        return BalancerPage(self, selection: .latency(ewma))
    }

    /// An address whatever its weight (an SRV answer may change the weight of the same address).
    private struct AddressKey: Hashable {
        let ip: IPBytes
        let port: Int
        let host: String

        init(_ address: BalancerAddress) {
            ip = address.ip
            port = address.port
            host = address.host
        }
    }

    /// The round-robin wheel (empty for the other algorithms).
    var wheel: [Int32] {
        if case .wheel(let wheel) = selection { return wheel }
        return []
    }

    /// Whether balancers may pick address `index` (health checks on and it is unhealthy: no).
    @inline(__always)
    func isAvailable(_ index: Int) -> Bool {
        health?[index].isHealthy ?? true
    }

    /// The weight of the addresses and of those available (Kong's `totalWeight`,
    /// `unavailableWeight`).
    var weights: (total: Int, available: Int) {
        var total = 0
        var available = 0
        for (i, address) in addresses.enumerated() {
            total += address.weight
            if isAvailable(i) { available += address.weight }
        }
        return (total, available)
    }

    /// Kong's balancer health: some weight, and the available share above `threshold` percent.
    func isHealthy(threshold: Double) -> Bool {
        let (total, available) = weights
        guard total > 0 else { return false }
        return Double(available) / Double(total) * 100 > threshold
    }
}
