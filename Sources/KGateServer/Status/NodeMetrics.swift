import KGateAdmin
import KGatePlugins
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
        facts.sharedDictionaries = MemoryStats.sharedDictionaries(prometheus: true).map {
            .init(name: $0.name, allocated: 0, capacity: $0.capacity)
        }
        facts.workers = [.init(pid: Int(getpid()), bytes: MemoryStats.residentBytes())]
        let store = self.store
        facts.targets = { Self.targetHealth(store.current.page) }
        return plugin.exposition(node: facts)
    }

    /// Every target of every upstream with its address and state: kgate runs no health checks,
    /// so each is `healthchecks_off`. A target given by IP address is its own address; one
    /// given by name is reported under its name and port (kgate's resolved addresses live in
    /// the proxy's event loops).
    static func targetHealth(_ page: Page) -> [PrometheusNodeFacts.TargetHealth] {
        guard let targets = page["targets"] else { return [] }
        var health: [PrometheusNodeFacts.TargetHealth] = []
        for row in targets.rows.values {
            guard let target = row["target"]?.stringValue,
                let upstream = page.referenced("upstream", by: row, in: "targets"),
                let name = upstream["name"]?.stringValue
            else { continue }
            health.append(.init(upstream: name, target: target, address: target, state: "healthchecks_off"))
        }
        return health
    }
}
