import KGateSchema

@testable import KGateRouter

/// Helpers for the table tests ported from Kong's `spec/01-unit/08-router_spec.lua`.

/// Kong's spec ids: `e8fb37f1-102d-461e-9c51-6608a6bb81NN`.
func uid(_ n: Int) -> String {
    let s = String(n)
    return "e8fb37f1-102d-461e-9c51-6608a6bb81" + String(repeating: "0", count: max(0, 2 - s.count)) + s
}

/// The spec's `service = { name = "service-invalid", protocol = "http" }`.
let specService = ServiceDefinition(
    id: "a0a0a0a0-0000-4000-8000-000000000001", name: "service-invalid", protocol: "http")

/// A route in the spec's shorthand; `n` makes the id (``uid(_:)``). As in Kong's spec fixtures,
/// `strip_path` is off unless given (the spec's routes leave it nil).
func route(
    _ n: Int, hosts: [String]? = nil, paths: [String]? = nil, methods: [String]? = nil,
    headers: [(String, [String])]? = nil, snis: [String]? = nil, sources: [NetworkEndpoint]? = nil,
    destinations: [NetworkEndpoint]? = nil, protocols: [String] = ["http", "https"], stripPath: Bool = false,
    preserveHost: Bool = false, pathHandling: PathHandling = .v0, regexPriority: Int = 0, createdAt: Double? = nil,
    service: ServiceDefinition? = specService, name: String? = nil, id: String? = nil
) -> RouteDefinition {
    RouteDefinition(
        id: id ?? uid(n), name: name, protocols: protocols, methods: methods, hosts: hosts, paths: paths,
        headers: headers?.map { HeaderRule(name: $0.0, values: $0.1) }, snis: snis, sources: sources,
        destinations: destinations, stripPath: stripPath, preserveHost: preserveHost, pathHandling: pathHandling,
        regexPriority: regexPriority, serviceID: service?.id, createdAt: createdAt)
}

/// Builds a router, collecting the services the routes use.
func makeRouter(
    _ routes: [RouteDefinition], services: [ServiceDefinition] = [specService], flavor: Router.Flavor,
    subsystem: Router.Subsystem = .http, options: Router.Options = Router.Options()
) -> Router {
    Router(routes: routes, services: services, flavor: flavor, subsystem: subsystem, options: options)
}

/// Kong's `router:select(method, uri, host, scheme, src_ip, src_port, dst_ip, dst_port, sni,
/// headers)`: the path is used as is (no normalisation).
func select(
    _ method: String = "GET", _ uri: String = "/", _ host: String? = nil, scheme: RouteRequest.Scheme = .http,
    srcIP: String? = nil, srcPort: Int? = nil, dstIP: String? = nil, dstPort: Int? = nil, sni: String? = nil,
    headers: [(String, String)] = []
) -> RouteRequest {
    RouteRequest(
        method: method, target: uri, host: host, scheme: scheme, sni: sni,
        headers: headers.map { RouteRequest.Header($0.0, $0.1) }, sourceIP: srcIP.flatMap(IPAddress.init),
        sourcePort: srcPort, destinationIP: dstIP.flatMap(IPAddress.init), destinationPort: dstPort, isNormalized: true)
}

/// Kong's `router:exec()` with a mocked nginx: the request URI is stripped of its query and
/// normalised by the router.
func exec(_ method: String = "GET", _ uri: String, host: String?, headers: [(String, String)] = []) -> RouteRequest {
    RouteRequest(method: method, target: uri, host: host, headers: headers.map { RouteRequest.Header($0.0, $0.1) })
}

/// One request of a table case and the route (by spec number) it must reach; nil: no match.
struct Probe: Sendable, CustomStringConvertible {
    let request: RouteRequest
    let expected: Int?
    /// Flavors for which this probe holds (Kong's `it_trad_only` / `if flavor == ...`).
    let flavors: Set<Router.Flavor>

    init(_ request: RouteRequest, _ expected: Int?, only flavors: Set<Router.Flavor> = Set(Router.Flavor.allCases)) {
        self.request = request
        self.expected = expected
        self.flavors = flavors
    }

    var description: String {
        "\(request.method) \(request.target) host=\(request.host ?? "nil") → \(expected.map { "#\($0)" } ?? "no match")"
    }
}

/// A routing table test: routes and the probes they must answer.
struct RoutingCase: Sendable, CustomStringConvertible {
    let name: String
    let routes: [RouteDefinition]
    let probes: [Probe]
    let flavors: Set<Router.Flavor>
    let subsystem: Router.Subsystem

    init(
        _ name: String, flavors: Set<Router.Flavor> = Set(Router.Flavor.allCases), subsystem: Router.Subsystem = .http,
        routes: [RouteDefinition], probes: [Probe]
    ) {
        self.name = name
        self.routes = routes
        self.probes = probes
        self.flavors = flavors
        self.subsystem = subsystem
    }

    var description: String { name }

    /// The expected route id of a probe, from the route numbered `n` (by id suffix).
    func id(_ n: Int) -> String { uid(n) }
}

/// Every (case, flavor) pair a table applies to.
func expand(_ cases: [RoutingCase]) -> [(RoutingCase, Router.Flavor)] {
    cases.flatMap { c in Router.Flavor.allCases.filter { c.flavors.contains($0) }.map { (c, $0) } }
}

/// Runs a routing case with one flavor; returns failures as text.
func run(_ c: RoutingCase, _ flavor: Router.Flavor) -> [String] {
    let router = makeRouter(c.routes, flavor: flavor, subsystem: c.subsystem)
    var failures: [String] = []
    for p in c.probes where p.flavors.contains(flavor) {
        let got = router.match(p.request)?.route.id
        let want = p.expected.map(uid)
        if got != want { failures.append("\(p): got \(got ?? "nil")") }
    }
    return failures
}
