import KGateAdmin
import KGateConfig
import KGatePlugins
import KGateProxy
import KGateSchema
import KGateStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node's `GET /metrics` (Admin API and Status API): the prometheus plugin's request
/// metrics with the node's gauges, as Kong's exporter sets them at each scrape.
struct NodeMetrics: Sendable {
    let plugin: PrometheusPlugin
    let statusReport: StatusReport
    let store: ConfigStore
    let nodeID: String
    /// The hosts file's address of a target's name (`localhost`), when the node proxies.
    let hostsFileAddress: @Sendable (String) -> String?
    /// The node has `stream_listen` addresses: its stream subsystem is reported too.
    var streamListening = false

    /// The exposition text.
    func text() -> String {
        var facts = PrometheusNodeFacts(nodeID: nodeID, version: PluginConstants.kongVersion)
        let c = statusReport.connections()
        facts.connections.accepted = c.accepted
        facts.connections.handled = c.handled
        facts.connections.active = c.active
        facts.connections.writing = c.writing
        facts.connections.waiting = max(0, c.active - c.writing)
        facts.connections.requests = c.requests
        facts.sharedDictionaries = KongSharedDictionaries.all(prometheus: true).map {
            .init(name: $0.name, allocated: 0, capacity: $0.capacity)
        }
        facts.workers = [.init(pid: Int(getpid()), bytes: MemoryStats.residentBytes())]
        if streamListening { facts.subsystems.append("stream") }
        let store = self.store
        let resolve = hostsFileAddress
        facts.targets = {
            let generation = store.current
            let plans = generation.artifact(for: ProxyPlansBuilder.self)
            return Self.targetHealth(generation.page, resolve: resolve) { plans?.targetHealth(upstreamID: $0) }
        }
        return plugin.exposition(node: facts)
    }

    /// Every target of every upstream with its address and state. An upstream with health
    /// checks reports each address of its balancer (`healthy`, `unhealthy`, or `dns_error` for
    /// a target without one), as Kong's exporter reads `get_upstream_health`. Without checks
    /// each target is `healthchecks_off`: one given by IP address is its own address; one
    /// given by a name the hosts file knows has that file's address; any other name is
    /// reported under its name and port (kgate's DNS answers live in the proxy's event loops).
    static func targetHealth(
        _ page: Page, resolve: (String) -> String?,
        balancer: (String) -> (checks: Bool, byTarget: [String: Value])? = { _ in nil }
    ) -> [PrometheusNodeFacts.TargetHealth] {
        guard let targets = page["targets"] else { return [] }
        var health: [PrometheusNodeFacts.TargetHealth] = []
        var checked: [String: [String: Value]] = [:]
        for row in targets.rows.values {
            guard let target = row["target"]?.stringValue,
                let upstream = page.referenced("upstream", by: row, in: "targets"),
                let name = upstream["name"]?.stringValue
            else { continue }
            if let id = upstream["id"]?.stringValue, let byTarget = checked[id] ?? balancer(id).flatMap({ $0.checks ? $0.byTarget : nil }) {
                checked[id] = byTarget
                let addresses = byTarget[HostAndIP.formatTarget(target) ?? target]?["addresses"]?.arrayValue ?? []
                if addresses.isEmpty {
                    health.append(.init(upstream: name, target: target, address: "", state: "dns_error"))
                }
                for address in addresses {
                    let ip = address["ip"]?.stringValue ?? ""
                    let port = address["port"]?.integerValue ?? 0
                    let state = (address["health"]?.stringValue ?? "").lowercased()
                    health.append(.init(upstream: name, target: target, address: "\(ip):\(port)", state: state))
                }
                continue
            }
            var address = target
            if let normalized = try? HostAndIP.normalize(target), normalized.type == .name, let ip = resolve(normalized.host) {
                address = HostAndIP.formatHost(ip, port: normalized.port ?? 8000)
            }
            health.append(.init(upstream: name, target: target, address: address, state: "healthchecks_off"))
        }
        return health
    }
}
