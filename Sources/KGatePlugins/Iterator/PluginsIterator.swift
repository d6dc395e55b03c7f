import KGateConfig
import KGateRouter
import KGateSchema
import KGateStore

/// Kong's plugins iterator for one generation (`plugins_iterator.lua`), precomputed: for each
/// route, the plugins in execution order with the config that applies, so that a request
/// finds its plugins with one dictionary read, plus one per consumer-scoped plugin once a
/// consumer is identified.
///
/// Built by `PluginsBuilder` with the page; immutable and shared by every request of the
/// generation.
struct PluginsIterator: Sendable {
    /// The steps of requests on one route, in execution order.
    final class Plan: Sendable {
        let steps: [PluginStep]
        /// The most any reachable config needs of the request body.
        let bodyNeed: RequestBodyNeed

        init(steps: [PluginStep]) {
            self.steps = steps
            self.bodyNeed = steps.flatMap(\.allInstances).map(\.bodyNeed).max() ?? .never
        }
    }

    /// Plans of routes that some config names (by route or by the route's service).
    let plans: [String: Plan]
    /// The plan of every other route: global and consumer-only configs.
    let defaultPlan: Plan
    /// Global configs by phase (certificate, rewrite, and the downstream phases of requests
    /// that never reached `access`), in execution order.
    let globals: [PluginPhase: [any AnyPluginInstance]]
    /// The phases the global configs implement.
    let globalPhases: PluginPhases
    /// Every config of the generation, by plugin name (for `configure`).
    let instancesByName: [String: [any AnyPluginInstance]]
    /// True when the generation has at least one enabled plugin (Kong's `has_plugins`).
    let hasPlugins: Bool

    /// The failures Kong reports while building the iterator.
    struct BuildError: Error, Sendable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Builds the iterator from a page's `plugins` rows.
    ///
    /// - A row whose plugin the registry does not have fails the build with Kong's
    ///   `<name> plugin is in use but not enabled` (`... but not implemented by kgate` for a
    ///   Kong bundled plugin).
    /// - A row is used when `enabled` and one of its `protocols` is of `subsystem` (Kong's
    ///   `should_process_plugin`); for streams, only plugins with ``Plugin/streamPhases``.
    init(page: Page, registry: PluginRegistry, subsystem: Router.Subsystem = .http) throws {
        var indexes: [String: PluginConfigIndex] = [:]
        var byName: [String: [any AnyPluginInstance]] = [:]
        var globalInstances: [any AnyPluginInstance] = []
        for (id, row) in page["plugins"]?.rows ?? [:] {
            guard let name = row["name"]?.stringValue else { continue }
            guard let handler = registry.handlers[name] else {
                let reason = BundledPlugins.info(name) == nil ? "not enabled" : "not implemented by kgate"
                throw BuildError(message: "\(name) plugin is in use but \(reason)")
            }
            guard row["enabled"]?.boolValue ?? true, subsystem.servesPlugin(protocols: row["protocols"]),
                subsystem == .http || !handler.descriptor.streamPhases.isEmpty
            else { continue }
            let scope = PluginScope(
                id: id, name: name, instanceName: row["instance_name"]?.stringValue,
                routeID: EntityTableKey.id(row["route"]), serviceID: EntityTableKey.id(row["service"]),
                consumerID: EntityTableKey.id(row["consumer"]))
            let instance: any AnyPluginInstance
            do {
                instance = try handler.makeInstance(config: row["config"]?.objectValue ?? [:], scope: scope)
            } catch {
                throw BuildError(message: "plugin \(name) (\(id)): \(error)")
            }
            indexes[name, default: PluginConfigIndex()].insert(instance)
            byName[name, default: []].append(instance)
            if scope.isGlobal { globalInstances.append(instance) }
        }
        instancesByName = byName
        hasPlugins = !byName.isEmpty

        let ordered = indexes.keys.compactMap { registry.handlers[$0]?.descriptor }.sorted(by: PluginDescriptor.runsBefore)

        func plan(route: String?, service: String?) -> Plan {
            var steps: [PluginStep] = []
            steps.reserveCapacity(ordered.count)
            for d in ordered {
                guard let index = indexes[d.name] else { continue }
                let step = index.step(
                    route: d.noRoute ? nil : route, service: d.noService ? nil : service, noConsumer: d.noConsumer)
                if let step { steps.append(step) }
            }
            return Plan(steps: steps)
        }

        defaultPlan = plan(route: nil, service: nil)
        var plans: [String: Plan] = [:]
        if hasPlugins, let routes = page["routes"] {
            let namedRoutes = indexes.values.reduce(into: Set<String>()) { $0.formUnion($1.routeIDs) }
            let namedServices = indexes.values.reduce(into: Set<String>()) { $0.formUnion($1.serviceIDs) }
            for (routeID, row) in routes.rows {
                let serviceID = EntityTableKey.id(row["service"])
                guard namedRoutes.contains(routeID) || serviceID.map(namedServices.contains) == true else { continue }
                plans[routeID] = plan(route: routeID, service: serviceID)
            }
        }
        self.plans = plans

        let sortedGlobals = globalInstances.sorted { PluginDescriptor.runsBefore($0.descriptor, $1.descriptor) }
        var globals: [PluginPhase: [any AnyPluginInstance]] = [:]
        for phase in PluginPhase.allCases where phase != .access {
            let list = sortedGlobals.filter { $0.phases.contains(PluginPhases(phase)) }
            if !list.isEmpty { globals[phase] = list }
        }
        self.globals = globals
        globalPhases = sortedGlobals.reduce(into: PluginPhases()) { $0.formUnion($1.phases) }
    }

    /// The plan of a route.
    @inline(__always)
    func plan(route routeID: String) -> Plan { plans[routeID] ?? defaultPlan }
}

extension Router.Subsystem {
    /// Whether a plugin row's `protocols` include one of the subsystem's (absent: Kong's
    /// default, the HTTP ones): Kong's `should_process_plugin`.
    public func servesPlugin(protocols: Value?) -> Bool {
        guard let list = protocols?.sequenceElements else { return self == .http }
        return list.contains { $0.stringValue.map(serves) ?? false }
    }
}
