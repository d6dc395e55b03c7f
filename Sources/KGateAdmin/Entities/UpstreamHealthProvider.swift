import KGateSchema

/// The data plane's upstream health as the Admin and Status APIs show it (Kong reads it from
/// the worker's balancers). Supplied by the node; without one every target reports
/// `HEALTHCHECKS_OFF`.
public struct UpstreamHealthProvider: Sendable {
    /// Whether the upstream (by id) runs health checks, and each target's status keyed by
    /// `host:port` (Kong's `get_upstream_health`); nil when it has no balancer.
    public var targets: @Sendable (_ upstreamID: String) -> (checks: Bool, byTarget: [String: Value])?
    /// `?balancer_health=1`'s data (Kong's `get_balancer_health`).
    public var balancer: @Sendable (_ upstreamID: String) -> Value?
    /// Sets a target's health (all its addresses, or the one at `address`); returns Kong's
    /// error message (answered with 400) or nil.
    public var set: @Sendable (_ upstreamID: String, _ target: String, _ address: String?, _ healthy: Bool) -> String?

    public init(
        targets: @escaping @Sendable (String) -> (checks: Bool, byTarget: [String: Value])?,
        balancer: @escaping @Sendable (String) -> Value?,
        set: @escaping @Sendable (String, String, String?, Bool) -> String?
    ) {
        self.targets = targets
        self.balancer = balancer
        self.set = set
    }
}
