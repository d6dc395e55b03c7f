import KGatePlugins
import KGateRouter
import KGateSchema
import KGateStore

/// One generation's stream subsystem, Kong's second router: the routes of protocol `tcp`,
/// `tls` or `tls_passthrough` with their services' plans, and what guards their connections.
///
/// `ip-restriction` guards stream connections (its default protocols include `tcp` and `tls`):
/// a refused address is closed, as Kong's `ngx.exit` in preread. The logging plugins log each
/// session when it ends (``PluginRunner/logStream(_:route:service:startTime:)``). Other plugins
/// configured for stream protocols are not run (``unservedPlugins``).
final class StreamPlans: Sendable {
    /// The stream router.
    let router: Router
    /// The plan of each route's service, by ``RouteMatch/entryIndex``.
    private let planByEntry: [ServicePlan?]
    /// The `ip-restriction` config for each route's connections (the one scoped to the route
    /// and its service, else the route's, else the service's, else the global one), by entry index.
    private let restrictionByEntry: [IPRestrictionPlugin.Config?]
    /// Names of enabled plugins configured for stream protocols that kgate does not run there.
    let unservedPlugins: [String]

    /// No stream routes.
    static let empty = StreamPlans(
        router: Router(routes: [], services: [], subsystem: .stream), services: [:], plugins: [], logging: [])

    /// - Parameter logging: the plugins that log stream sessions.
    init(router: Router, services: [String: ServicePlan], plugins: [Object], logging: Set<String>) {
        self.router = router
        planByEntry = router.entryServiceIDs.map { $0.flatMap { services[$0] } }
        var restrictions: [Scope: IPRestrictionPlugin.Config] = [:]
        var unserved: Set<String> = []
        for row in plugins where row["enabled"]?.boolValue ?? true {
            guard let name = row["name"]?.stringValue, Router.Subsystem.stream.servesPlugin(protocols: row["protocols"]),
                EntityTable.keyString(row["consumer"]) == nil
            else { continue }
            guard name == IPRestrictionPlugin.name else {
                if !logging.contains(name) { unserved.insert(name) }
                continue
            }
            let scope = Scope(route: EntityTable.keyString(row["route"]), service: EntityTable.keyString(row["service"]))
            let pluginScope = PluginScope(id: row["id"]?.stringValue ?? "", name: name)
            restrictions[scope] = try? IPRestrictionPlugin().makeConfig(row.record("config") ?? [:], scope: pluginScope)
        }
        restrictionByEntry = zip(router.entryRouteIDs, router.entryServiceIDs).map { route, service in
            service.flatMap { restrictions[Scope(route: route, service: $0)] }
                ?? restrictions[Scope(route: route, service: nil)]
                ?? service.flatMap { restrictions[Scope(route: nil, service: $0)] }
                ?? restrictions[Scope(route: nil, service: nil)]
        }
        unservedPlugins = unserved.sorted()
    }

    /// Where a plugin config applies (Kong's precedence: route and service, route, service,
    /// then global).
    private struct Scope: Hashable {
        var route: String?
        var service: String?
    }

    /// The plan of a matched route's service.
    func service(for match: RouteMatch) -> ServicePlan? {
        planByEntry.indices.contains(match.entryIndex) ? planByEntry[match.entryIndex] : nil
    }

    /// The `ip-restriction` config of a matched route's connections, if any.
    func restriction(for match: RouteMatch) -> IPRestrictionPlugin.Config? {
        restrictionByEntry.indices.contains(match.entryIndex) ? restrictionByEntry[match.entryIndex] : nil
    }
}
