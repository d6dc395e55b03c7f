import KGateSchema

/// Kong's router, built once per config generation and then only read (safe to share between
/// threads).
///
/// ```swift
/// let router = Router(routes: routes, services: services)
/// if let m = router.match(RouteRequest(method: "GET", target: "/v1/users/7", host: "api.example.com")) {
///     print(m.route.name, m.upstreamTarget)
/// }
/// ```
///
/// **Flavors** (`router_flavor`, kong-reference §5.1):
/// - ``Flavor/traditionalCompatible`` (Kong 3's default): each route becomes ATC matchers with
///   a 64-bit priority (§5.4), a route's paths split into groups (all regexes; each prefix
///   length). Matchers are tried by descending priority; **ties are broken by the matcher's
///   UUID, highest first** (atc-router keys matchers by `(priority, uuid)` and iterates in
///   reverse), a split group having the id `uuid_v5(7f145bf9-…, "<route id>#<n>")`. Routes
///   whose id is not a UUID come last among equals, in config order.
/// - ``Flavor/traditional``: Kong's pre-3.0 matcher (§5.3): one entry per path, entries in
///   categories ordered by match weight then by field bits, inside a category by
///   `sort_routes` (sub-match weight, header count, regex_priority, prefix length,
///   `created_at`), **remaining ties in config order** (Kong's sort is unstable there); the
///   request's category, the reduced candidate set first, then the whole category.
/// - ``Flavor/expressions``: expression routes (``ATCExpression``) are tried first, by
///   descending `priority` then UUID (Kong sets the top byte of their ATC priority); routes
///   without `expression` behave as with traditional_compatible.
///
/// Both flavors answer exactly what trying every route in Kong's order would, but through
/// indexes: exact hosts and prefix paths in a radix tree, wildcard hosts by anchor, regexes
/// only under their literal prefix (see `CandidateIndex`).
public final class Router: Sendable {
    /// `router_flavor`.
    public enum Flavor: String, Sendable, Hashable, CaseIterable {
        /// Kong's pre-3.0 router.
        case traditional
        /// Kong 3's default: traditional fields compiled to ATC matchers.
        case traditionalCompatible = "traditional_compatible"
        /// ATC expressions; routes without an expression behave as traditional_compatible.
        case expressions
    }

    /// Which routes a router serves: HTTP (http, https, grpc, grpcs) or stream (tcp, tls,
    /// udp, tls_passthrough), as Kong builds one router per nginx subsystem.
    public enum Subsystem: Sendable, Hashable {
        /// http, https, grpc, grpcs routes.
        case http
        /// tcp, tls, udp, tls_passthrough routes.
        case stream

        /// Whether `proto` is one of the subsystem's protocols.
        public func serves(_ proto: String) -> Bool {
            switch self {
            case .http: return ["http", "https", "grpc", "grpcs"].contains(proto)
            case .stream: return ["tcp", "tls", "udp", "tls_passthrough"].contains(proto)
            }
        }
    }

    /// Build options.
    public struct Options: Sendable, Hashable {
        /// traditional_compatible priorities computed as Kong's LuaJIT code actually does
        /// (32-bit shifts; see `CompatPriority`) instead of the documented 64-bit layout.
        public var luajitPriorityArithmetic: Bool

        /// Makes options.
        public init(luajitPriorityArithmetic: Bool = false) {
            self.luajitPriorityArithmetic = luajitPriorityArithmetic
        }
    }

    enum Engine: Sendable {
        case compat(CompatEngine)
        case traditional(TraditionalEngine)
    }

    /// The flavor.
    public let flavor: Flavor
    /// The subsystem.
    public let subsystem: Subsystem
    /// The routes the router serves (those of the subsystem whose service is not disabled), in
    /// config order.
    public let routes: [RouteDefinition]
    /// Services by id.
    public let services: [String: ServiceDefinition]
    /// Routes left out and why (disabled service, missing service, uncompilable regex, ...).
    public let diagnostics: [String]
    let entries: [RouteEntry]
    let engine: Engine
    /// The expression routes (the `expressions` flavor), tried before `engine`.
    let expressionEngine: ExpressionEngine?

    /// Builds a router (once per config generation).
    public init(
        routes: [RouteDefinition], services: [ServiceDefinition], flavor: Flavor = .traditionalCompatible,
        subsystem: Subsystem = .http, options: Options = Options()
    ) {
        var byID: [String: ServiceDefinition] = [:]
        for s in services { byID[s.id] = s }
        var diagnostics: [String] = []
        var entries: [RouteEntry] = []
        for route in routes {
            guard route.protocols.contains(where: subsystem.serves) else { continue }
            var service: ServiceDefinition?
            if let sid = route.serviceID {
                guard let s = byID[sid] else {
                    diagnostics.append("route \(route.id): could not find service \(sid); route skipped")
                    continue
                }
                if !s.enabled { continue }
                // Kong drops a service of the other subsystem, keeping the route without one.
                if Subsystem.http.serves(s.protocol) == (subsystem == .http) { service = s }
            }
            entries.append(RouteEntry(route: route, service: service))
        }
        self.flavor = flavor
        self.subsystem = subsystem
        self.routes = entries.map(\.route)
        self.services = byID
        self.entries = entries
        switch flavor {
        case .traditional:
            engine = .traditional(
                TraditionalEngine(entries: entries, stream: subsystem == .stream, diagnostics: &diagnostics))
        case .traditionalCompatible, .expressions:
            engine = .compat(
                CompatEngine(
                    entries: entries, stream: subsystem == .stream, luajit: options.luajitPriorityArithmetic,
                    expressions: flavor == .expressions, diagnostics: &diagnostics))
        }
        expressionEngine =
            flavor == .expressions && subsystem == .http && entries.contains { $0.route.expression != nil }
            ? ExpressionEngine(entries: entries, diagnostics: &diagnostics) : nil
        self.diagnostics = diagnostics
    }

    /// Builds a router from flat `routes` and `services` entities (as in a loaded
    /// `DeclarativeConfig`).
    public convenience init(
        routeEntities: some Sequence<Object>, serviceEntities: some Sequence<Object>,
        flavor: Flavor = .traditionalCompatible, subsystem: Subsystem = .http, options: Options = Options()
    ) {
        self.init(
            routes: routeEntities.map(RouteDefinition.init(entity:)),
            services: serviceEntities.map(ServiceDefinition.init(entity:)), flavor: flavor, subsystem: subsystem,
            options: options)
    }

    /// Whether some route matches on headers: when false the proxy need not collect
    /// ``RouteRequest/headers``.
    public var usesHeaders: Bool {
        if expressionEngine?.usesHeaders == true { return true }
        switch engine {
        case .compat(let e): return e.usesHeaders
        case .traditional(let e): return e.usesHeaders
        }
    }

    /// Whether some expression route reads the client's address or port, or the local
    /// address (`net.src.*`, `net.dst.ip`): when false the proxy need not set them.
    public var usesAddresses: Bool { expressionEngine?.usesAddresses == true }

    /// The route for `request`, or nil when none matches (Kong's 404
    /// `no Route matched with those values`).
    public func match(_ request: RouteRequest) -> RouteMatch? {
        find(request, scan: false)
    }

    private func find(_ request: RouteRequest, scan: Bool) -> RouteMatch? {
        let routing = subsystem == .stream ? RoutingPath(empty: ()) : RoutingPath(request)
        let found = RequestView.with(request, routing, stream: subsystem == .stream) { v -> EngineMatch? in
            if let expressionEngine, let m = expressionEngine.match(v, target: request.target) { return m }
            switch engine {
            case .compat(let e): return e.match(v, scan: scan)
            case .traditional(let e): return e.match(v, scan: scan)
            }
        }
        guard let found else { return nil }
        return RouteMatch(found, entry: entries[found.entry], flavor: flavor, request: request, routing: routing)
    }

    /// ``match(_:)`` trying routes one by one in Kong's order, without the indexes (the
    /// reference the indexed search is tested against).
    func matchByScan(_ request: RouteRequest) -> RouteMatch? {
        find(request, scan: true)
    }

    /// The service id of each route the router serves, by ``RouteMatch/entryIndex``: lets a
    /// caller keep what it derives from services in an array a match indexes.
    public var entryServiceIDs: [String?] { entries.map(\.serviceID) }

    /// The route id of each entry, by ``RouteMatch/entryIndex``.
    public var entryRouteIDs: [String] { entries.map(\.route.id) }

    /// The route with this id, if the router serves it.
    public func route(id: String) -> RouteDefinition? { routes.first { $0.id == id } }
}
