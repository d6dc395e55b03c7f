import KGateRouter

/// One request's use of a balancer that keeps state about it (Kong's balancer handle): the
/// value it hashes, the address each try used, and what the request said about the address.
///
/// Made only for balancers that need it (consistent hashing, least-connections, latency,
/// health checks); a plain round-robin pick needs none. Confined to the request's event loop.
/// An address picked by least-connections is counted out when the try ends, or when the
/// request goes away without ending (the lease is released when dropped).
final class BalancerLease {
    let balancer: Balancer
    /// The route's path captures (for `hash_on: uri_capture`).
    let captures: RouteCaptures?
    /// The value consistent hashing hashes, set at the first try.
    var hashValue: String?
    /// A cookie made for `hash_on: cookie`: its `Set-Cookie` value goes on the response.
    var newCookie: String?
    /// The current try's pick.
    private(set) var current: BalancerPick?
    /// The addresses of earlier tries.
    private(set) var used: [BalancerAddress] = []

    init(balancer: Balancer, captures: RouteCaptures?) {
        self.balancer = balancer
        self.captures = captures
    }

    /// What the next pick should know: the hash, and the addresses tried.
    func request(now: Double) -> PickRequest {
        PickRequest(hashValue: hashValue, failed: used, now: now)
    }

    /// Before another try picks: the previous try's address is done with (Kong reports the
    /// failed try, then releases its address, before it asks for the next peer).
    func retry(after failure: HealthReport?) {
        guard let previous = current else { return }
        if let failure { balancer.report(failure, for: previous) }
        balancer.release(previous, rtt: nil, now: 0)
        used.append(previous.address)
        current = nil
    }

    /// A try starts with `pick`.
    func begin(_ pick: BalancerPick) {
        current = pick
    }

    /// The request is over with `status` from the last try's address (Kong's log phase: 504
    /// counts as a timeout); `rtt` is its connect plus response time in seconds.
    func finish(status: Int, rtt: Double, now: Double) {
        guard let pick = current else { return }
        balancer.report(status == 504 ? .timeout : .httpStatus(status), for: pick)
        balancer.release(pick, rtt: rtt, now: now)
        current = nil
    }

    deinit {
        if let current { balancer.release(current, rtt: nil, now: 0) }
    }
}

/// What a pick knows of the request.
struct PickRequest {
    /// The value consistent hashing hashes ("" when `hash_on` found nothing).
    var hashValue: String?
    /// The addresses earlier tries of this request used (least-connections and latency avoid
    /// them).
    var failed: [BalancerAddress] = []
    /// Seconds (monotonic), for the latency algorithm's decay.
    var now: Double = 0
}

/// An address a balancer chose, on the page it chose it from.
struct BalancerPick: Sendable {
    let page: BalancerPage
    let index: Int

    var address: BalancerAddress { page.addresses[index] }
}
