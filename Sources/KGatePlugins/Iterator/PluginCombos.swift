/// Kong's configuration lookup by scope (`plugins_iterator.lua`: `build_compound_key`,
/// `lookup_cfg`), kept as Kong writes it for tests and for building the per-route plans.
public enum PluginCombos {
    /// Kong's compound key `"<route>:<service>:<consumer>"`, missing parts empty; `"::"` is the
    /// global key.
    public static func compoundKey(route: String?, service: String?, consumer: String?) -> String {
        (route ?? "") + ":" + (service ?? "") + ":" + (consumer ?? "")
    }

    /// Kong's `lookup_cfg`: the first existing combination in Kong's precedence order.
    ///
    /// | rank | scope |
    /// |---|---|
    /// | 1 | route + service + consumer |
    /// | 2 | route + consumer |
    /// | 3 | service + consumer |
    /// | 4 | route + service |
    /// | 5 | consumer |
    /// | 6 | route |
    /// | 7 | service |
    /// | 8 | global |
    public static func lookup<T>(_ combos: [String: T], route: String?, service: String?, consumer: String?) -> T? {
        if let route, let service, let consumer, let v = combos[compoundKey(route: route, service: service, consumer: consumer)] {
            return v
        }
        if let route, let consumer, let v = combos[compoundKey(route: route, service: nil, consumer: consumer)] { return v }
        if let service, let consumer, let v = combos[compoundKey(route: nil, service: service, consumer: consumer)] {
            return v
        }
        if let route, let service, let v = combos[compoundKey(route: route, service: service, consumer: nil)] { return v }
        if let consumer, let v = combos[compoundKey(route: nil, service: nil, consumer: consumer)] { return v }
        if let route, let v = combos[compoundKey(route: route, service: nil, consumer: nil)] { return v }
        if let service, let v = combos[compoundKey(route: nil, service: service, consumer: nil)] { return v }
        return combos[compoundKey(route: nil, service: nil, consumer: nil)]
    }
}

/// One plugin's configs of a generation, indexed by the shape of their scope so that a
/// route's plan is built with dictionary reads.
struct PluginConfigIndex {
    struct RouteService: Hashable {
        var route: String
        var service: String
    }

    var routeServiceConsumer: [RouteService: [String: any AnyPluginInstance]] = [:]
    var routeConsumer: [String: [String: any AnyPluginInstance]] = [:]
    var serviceConsumer: [String: [String: any AnyPluginInstance]] = [:]
    var routeService: [RouteService: any AnyPluginInstance] = [:]
    var consumer: [String: any AnyPluginInstance] = [:]
    var route: [String: any AnyPluginInstance] = [:]
    var service: [String: any AnyPluginInstance] = [:]
    var global: (any AnyPluginInstance)?

    /// Route and service ids some config of this plugin names.
    var routeIDs: Set<String> = []
    var serviceIDs: Set<String> = []

    /// Adds a config; a later config with the same scope replaces the earlier one (Kong's
    /// `combos[name][key] = cfg`; the loader refuses duplicate scopes anyway).
    mutating func insert(_ instance: any AnyPluginInstance) {
        let s = instance.scope
        if let r = s.routeID { routeIDs.insert(r) }
        if let sv = s.serviceID { serviceIDs.insert(sv) }
        switch (s.routeID, s.serviceID, s.consumerID) {
        case let (r?, sv?, c?): routeServiceConsumer[RouteService(route: r, service: sv), default: [:]][c] = instance
        case let (r?, nil, c?): routeConsumer[r, default: [:]][c] = instance
        case let (nil, sv?, c?): serviceConsumer[sv, default: [:]][c] = instance
        case let (r?, sv?, nil): routeService[RouteService(route: r, service: sv)] = instance
        case let (nil, nil, c?): consumer[c] = instance
        case let (r?, nil, nil): route[r] = instance
        case let (nil, sv?, nil): service[sv] = instance
        case (nil, nil, nil): global = instance
        }
    }

    /// Whether any config is consumer-scoped.
    var hasConsumerConfigs: Bool {
        !routeServiceConsumer.isEmpty || !routeConsumer.isEmpty || !serviceConsumer.isEmpty || !consumer.isEmpty
    }

    /// The step of a request whose route and service are `route` and `service` (already nil
    /// when the plugin forbids that scope); `noConsumer` leaves consumer configs out.
    func step(route: String?, service: String?, noConsumer: Bool) -> PluginStep? {
        let rank4 = route.flatMap { r in service.flatMap { routeService[RouteService(route: r, service: $0)] } }
        let low = route.flatMap { self.route[$0] } ?? service.flatMap { self.service[$0] } ?? global
        let plain = rank4 ?? low
        var tables: ConsumerTables?
        if !noConsumer, hasConsumerConfigs {
            var byRoute: [String: any AnyPluginInstance] = route.flatMap { routeConsumer[$0] } ?? [:]
            if let r = route, let sv = service, let exact = routeServiceConsumer[RouteService(route: r, service: sv)] {
                byRoute.merge(exact) { _, rank1 in rank1 }
            }
            let byService = service.flatMap { serviceConsumer[$0] } ?? [:]
            if !byRoute.isEmpty || !byService.isEmpty || !consumer.isEmpty {
                tables = ConsumerTables(
                    routeConsumer: byRoute, serviceConsumer: byService, routeService: rank4, consumer: consumer, low: low)
            }
        }
        if plain == nil, tables == nil { return nil }
        return PluginStep(plain: plain, consumerTables: tables)
    }
}

/// One plugin name in a route's plan: the config that applies without a consumer, and the
/// consumer-scoped ones.
struct PluginStep: Sendable {
    /// Ranks 4, 6, 7, 8 (what applies when no consumer is identified).
    let plain: (any AnyPluginInstance)?
    /// Ranks 1, 2, 3, 5, nil when no consumer config can apply.
    let consumerTables: ConsumerTables?

    /// The config for a request with this consumer (Kong's `lookup_cfg`).
    @inline(__always)
    func resolve(consumer: String?) -> (any AnyPluginInstance)? {
        guard let consumer, let t = consumerTables else { return plain }
        if let v = t.routeConsumer[consumer] ?? t.serviceConsumer[consumer] { return v }
        if let v = t.routeService { return v }
        return t.consumer[consumer] ?? t.low
    }

    /// Every config the step may resolve to.
    var allInstances: [any AnyPluginInstance] {
        var list: [any AnyPluginInstance] = plain.map { [$0] } ?? []
        if let t = consumerTables {
            list += Array(t.routeConsumer.values) + Array(t.serviceConsumer.values) + Array(t.consumer.values)
        }
        return list
    }
}

/// The consumer-scoped configs a step may resolve to. The `consumer` table (rank 5) is shared
/// by every route's step of a plugin.
final class ConsumerTables: Sendable {
    /// Ranks 1 (same service) and 2, merged, for this route.
    let routeConsumer: [String: any AnyPluginInstance]
    /// Rank 3 for this route's service.
    let serviceConsumer: [String: any AnyPluginInstance]
    /// Rank 4.
    let routeService: (any AnyPluginInstance)?
    /// Rank 5.
    let consumer: [String: any AnyPluginInstance]
    /// Ranks 6, 7, 8.
    let low: (any AnyPluginInstance)?

    init(
        routeConsumer: [String: any AnyPluginInstance], serviceConsumer: [String: any AnyPluginInstance],
        routeService: (any AnyPluginInstance)?, consumer: [String: any AnyPluginInstance], low: (any AnyPluginInstance)?
    ) {
        self.routeConsumer = routeConsumer
        self.serviceConsumer = serviceConsumer
        self.routeService = routeService
        self.consumer = consumer
        self.low = low
    }
}
