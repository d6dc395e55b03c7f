import KGateSchema

/// The balancers' health as Kong's Admin API reports it (`kong/runloop/balancer/healthcheckers.lua`
/// `get_upstream_health` and `get_balancer_health`, `balancer:getTargetStatus`) and the
/// `PUT .../healthy|unhealthy` that sets it.
extension ProxyPlans {
    /// Whether the upstream runs health checks, and each target's status keyed by the target
    /// as Kong formats it (``HostAndIP/formatTarget(_:)``, as Kong keys `health_info`); nil
    /// when no balancer has that id.
    public func targetHealth(upstreamID: String) -> (checks: Bool, byTarget: [String: Value])? {
        guard let balancer = balancer(id: upstreamID) else { return nil }
        let checks = balancer.health.settings.isEnabled
        var byTarget: [String: Value] = [:]
        let page = balancer.page
        for target in balancer.targets {
            byTarget[HostAndIP.formatHost(target.host, port: target.port)] = Self.status(
                of: target, addresses: Self.addresses(of: target, in: page), stateKey: "health",
                state: { .string(checks ? ($0 ? "HEALTHY" : "UNHEALTHY") : "HEALTHCHECKS_OFF") })
        }
        // Kong's `get_upstream_health`: a target of weight 0 has its health checks off.
        for target in balancer.idleTargets {
            byTarget[HostAndIP.formatHost(target.host, port: target.port)] = Self.status(
                of: target, addresses: balancer.idleAddresses(of: target).map { ($0, true) }, stateKey: "health",
                state: { _ in "HEALTHCHECKS_OFF" })
        }
        return (checks, byTarget)
    }

    /// `GET /upstreams/{u}/health?balancer_health=1`'s data; nil when no balancer has that id.
    public func balancerHealth(upstreamID: String) -> Value? {
        guard let balancer = balancer(id: upstreamID) else { return nil }
        let page = balancer.page
        let checks = balancer.health.settings.isEnabled
        let healthy = page.isHealthy(threshold: balancer.health.settings.threshold)
        let (total, available) = page.weights
        let details: Value = [
            "healthy": .bool(healthy),
            "weight": ["total": .integer(total), "unavailable": .integer(total - available), "available": .integer(available)],
            "hosts": .array(
                balancer.targets.map {
                    Self.status(of: $0, addresses: Self.addresses(of: $0, in: page), stateKey: "healthy", state: Value.bool)
                }),
        ]
        let health = healthy ? "HEALTHY" : "UNHEALTHY"
        return [
            "health": .string(checks ? health : "HEALTHCHECKS_OFF"), "balancer_health": .string(health),
            "id": .string(upstreamID), "details": details,
        ]
    }

    /// Sets the health of target `target` (`host:port` or `host`, Kong's default port 8000)
    /// of the upstream, all its addresses or the one at `address` (`ip[:port]`). Returns
    /// Kong's error message when the upstream has no health checker.
    public func setTargetHealth(upstreamID: String, target: String, address: String?, healthy: Bool) -> String? {
        guard let balancer = balancer(id: upstreamID) else { return "upstream not found" }
        guard balancer.health.settings.isEnabled else { return "no healthchecker found for \(balancer.name)" }
        guard let parsed = BalancerTarget(target: target, weight: 1) else { return "invalid target '\(target)'" }
        var ip: IPBytes?
        var port = parsed.port
        if let address {
            // An address that is a name sets every address of the target on the address's
            // port (Kong's `set_all_target_statuses_for_hostname`).
            guard let at = BalancerTarget(target: address, weight: 1) else { return "invalid address '\(address)'" }
            ip = at.ip
            port = at.port
        }
        balancer.health.set(healthy: healthy, host: parsed.host, port: port, ip: ip)
        return nil
    }

    private func balancer(id: String) -> Balancer? {
        balancers.values.first { $0.id == id }
    }

    /// Kong's `getTargetStatus`: `host` as Kong's balancer names the target (an IPv6 one
    /// expanded in brackets); each address's availability under `stateKey` as `state` writes
    /// it (`healthy`, a bool, in the balancer's status; `health` as `get_upstream_health`
    /// rewrites it).
    private static func status(
        of target: BalancerTarget, addresses targetAddresses: [(address: BalancerAddress, healthy: Bool)], stateKey: String,
        state: (Bool) -> Value
    ) -> Value {
        var total = 0
        var available = 0
        var addresses: [Value] = []
        for (address, healthy) in targetAddresses {
            total += address.weight
            if healthy { available += address.weight }
            var entry: Object = [
                "ip": .string(address.ip.text), "port": .integer(address.port), "weight": .integer(address.weight),
            ]
            entry[stateKey] = state(healthy)
            addresses.append(.object(entry))
        }
        // The record type the addresses came from, as Kong names it (an IP literal is an A or
        // AAAA answer of its own).
        let first = target.ip ?? targetAddresses.first?.address.ip
        let dns = first.map { $0.isIPv6 ? "AAAA" : "A" } ?? "unknown"
        return [
            "host": .string(HostAndIP.formatHost(target.host)), "port": .integer(target.port), "dns": .string(dns),
            "nodeWeight": .integer(target.weight),
            "weight": ["total": .integer(total), "unavailable": .integer(total - available), "available": .integer(available)],
            "addresses": .array(addresses),
        ]
    }

    /// A target's addresses in a page, with their availability.
    private static func addresses(of target: BalancerTarget, in page: BalancerPage) -> [(address: BalancerAddress, healthy: Bool)] {
        page.addresses.enumerated().filter { $0.element.host == target.host && $0.element.port == target.port }
            .map { ($0.element, page.isAvailable($0.offset)) }
    }
}
