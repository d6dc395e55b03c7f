import Testing

@testable import KGateRouter

/// Routing cases of Kong's `spec/02-integration/05-proxy/02-router_spec.lua` (the parts that
/// depend only on the router), as tables; requests go through normalisation as in `exec()`.
@Suite struct IntegrationSpecTests {
    static let trad: Set<Router.Flavor> = [.traditional]

    static func get(
        _ path: String, _ host: String? = "domain.test", headers: [(String, String)] = [], method: String = "GET"
    ) -> RouteRequest {
        exec(method, path, host: host, headers: headers)
    }

    static let methodsRoutes: [RouteDefinition] = [
        route(
            1, hosts: ["ahost.test"], paths: ["/unrelated/longer/uri/that/should/not/match", "/root/fixture"],
            methods: ["GET"]),
        route(2, hosts: ["ahost.test"], paths: ["/root/fixture/get"], methods: ["GET"]),
        route(3, hosts: ["anotherhost.test"], paths: ["/root/fixture/get"], methods: ["GET"]),
        route(4, hosts: ["onemorehost.test"], paths: ["/root/fixture/get"], methods: ["GET"]),
        route(5, hosts: ["api.local"], paths: ["/rest/devportal/api/v1", "/rest/devportal"]),
        route(6, hosts: ["api.local"], paths: ["/rest/devportal/aux"]),
        route(7, hosts: ["test-api.local"], paths: ["/rest/devportal/aux"]),
        route(8, hosts: ["atest-api.local"], paths: ["/rest/devportal/aux"]),
        route(9, hosts: ["atest-api.local"], paths: ["/rest/devportal"]),
        route(10, hosts: ["api.local"], paths: ["/concat_test/devportal/api/v1", "/concat_test/devportal"]),
        route(11, hosts: ["api.local"], paths: ["/concat_test/devportal/aux"]),
        route(12, hosts: ["test-api.local"], paths: ["/concat_test/devportal/aux"]),
        route(13, hosts: ["atest-api.local"], paths: ["/concat_test/devportal/aux"]),
        route(14, hosts: ["atest-api.local"], paths: ["/concat_test/devportal"]),
    ]

    /// Each path of routes 1-9 reaches its route; routes 10-14 with a suffix added.
    static func regression5438Probes() -> [Probe] {
        var probes: [Probe] = []
        for i in 1...14 {
            let r = methodsRoutes[i - 1]
            let host = r.hosts?.first
            for p in r.paths ?? [] {
                probes.append(Probe(get(i <= 9 ? p : p + "/status/418", host), i))
            }
        }
        probes.append(Probe(get("/rest/devportal", "atest-api.local"), 9))
        probes.append(Probe(get("/root/fixture/get", "ahost.test"), 2))
        return probes
    }

    static let cases: [RoutingCase] = [
        RoutingCase(
            "URI regexes order of evaluation with regex_priority",
            routes: [
                route(1, paths: ["~/status/(?P<foo>re)"]), route(2, paths: ["~/status/(re)"], regexPriority: 4),
                route(3, paths: ["~/status/(ab)"], createdAt: 1_234_567_890),
                route(4, paths: ["~/status/(ab)c?"], createdAt: 1_234_567_891),
            ],
            probes: [Probe(get("/status/re"), 2), Probe(get("/status/ab"), 3, only: trad)]),
        RoutingCase(
            "URI regexes order of evaluation with created_at", flavors: trad,
            routes: [
                route(1, paths: ["~/status/(re)"], createdAt: 1_234_567_890),
                route(2, paths: ["~/status/(r)"], createdAt: 1_234_567_891),
                route(3, paths: ["/status"], createdAt: 1_234_567_892),
            ],
            probes: [Probe(get("/status/r"), 2), Probe(get("/status/re"), 1)]),
        RoutingCase(
            "[paths] + [methods]: regression #5438", flavors: trad, routes: methodsRoutes,
            probes: regression5438Probes()),
        RoutingCase(
            "[paths] + [methods]: host over longer URIs, incomplete URIs", routes: methodsRoutes,
            probes: [Probe(get("/root/fixture/get", "anotherhost.test"), 3), Probe(get("/", "ahost.test"), nil)]),
        RoutingCase(
            "[paths] + [hosts]: prioritizes longer URIs", flavors: trad,
            routes: [
                route(1, hosts: ["route.com"], paths: ["/root/fixture", "/root/fixture/non-matching-but-longer"]),
                route(2, hosts: ["route.com"], paths: ["/root/fixture/get"]),
            ],
            probes: [Probe(get("/root/fixture/get", "route.com"), 2)]),
        RoutingCase(
            "[headers] matches by header",
            routes: [route(1, headers: [("version", ["v1", "v2"])]), route(2, headers: [("version", ["v3"])])],
            probes: [
                Probe(get("/", headers: [("version", "v1")]), 1), Probe(get("/", headers: [("version", "v3")]), 2),
            ]),
        RoutingCase(
            "[headers] case-insensitive",
            routes: [route(1, headers: [("Version", ["v1", "v2"])]), route(2, headers: [("version", ["V3"])])],
            probes: [
                Probe(get("/", headers: [("version", "v1")]), 1), Probe(get("/", headers: [("Version", "v3")]), 2),
            ]),
        RoutingCase(
            "[headers] prioritizes Routes with more headers",
            routes: [
                route(1, headers: [("version", ["v1", "v2"])]),
                route(2, headers: [("version", ["v3"]), ("location", ["us-east"])]),
                route(3, headers: [("version", ["v3"])]),
            ],
            probes: [
                Probe(get("/", headers: [("version", "v3"), ("location", "us-east")]), 2),
                Probe(get("/", headers: [("version", "v3")]), 3),
            ]),
        RoutingCase(
            "[headers] caching does not ignore headers",
            routes: [
                route(1, hosts: ["example.test"], paths: ["/test"], headers: [("headertest", ["itsatest"])]),
                route(2, hosts: ["example.test"], paths: ["/test"]),
            ],
            probes: [
                Probe(get("/test", "example.test", headers: [("headertest", "itsatest")]), 1),
                Probe(get("/test", "example.test"), 2),
                Probe(get("/test", "example.test", headers: [("headertest", "itsatest")]), 1),
            ]),
        RoutingCase(
            "[paths] + [headers]",
            routes: [
                route(1, paths: ["/root"], headers: [("version", ["v1", "v2"])]),
                route(2, paths: ["/root/fixture"], headers: [("version", ["v1", "v2"])]),
                route(3, paths: ["/root"], headers: [("version", ["v1", "v2"]), ("location", ["us-east"])]),
            ],
            probes: [
                Probe(get("/root/fixture/get", nil, headers: [("version", "v2"), ("location", "us-east")]), 3),
                Probe(get("/root/fixture/get", nil, headers: [("version", "v2")]), 2),
            ]),
        RoutingCase(
            "URI normalization",
            routes: [route(1, paths: ["/foo/bar"]), route(2, paths: ["/hello"]), route(3, paths: ["/a.b"])],
            probes: [
                Probe(get("/foo/baz/../bar"), 1), Probe(get("/foo//bar"), 1), Probe(get("/foo/./bar"), 1),
                Probe(get("/%68ello"), 2), Probe(get("/a%2Eb"), 3), Probe(get("/a%2eb/x"), 3),
                Probe(get("/foo%2Fbar"), nil),
            ]),
        RoutingCase(
            "method-only route if no other match is found",
            routes: [route(1, methods: ["POST"]), route(2, paths: ["/get"], methods: ["GET"])],
            probes: [Probe(get("/anything", method: "POST"), 1), Probe(get("/get"), 2), Probe(get("/anything"), nil)]),
        RoutingCase(
            "requests without Host header (HTTP/1.0)", routes: [route(1, paths: ["/get"]), route(2, hosts: ["h"])],
            probes: [Probe(get("/get", nil), 1), Probe(get("/", nil), nil)]),
    ]

    @Test(arguments: expand(cases))
    func routes(_ c: RoutingCase, _ flavor: Router.Flavor) {
        let failures = run(c, flavor)
        #expect(failures.isEmpty, "\(c.name) [\(flavor.rawValue)]: \(failures)")
    }

    /// Routes of a disabled service are left out; a longer path of a disabled service does not
    /// shadow a regex of an enabled one.
    @Test(arguments: Router.Flavor.allCases)
    func disabledServices(_ flavor: Router.Flavor) {
        let off = ServiceDefinition(id: "d0d0d0d0-0000-4000-8000-000000000001", host: "x", enabled: false)
        let on = ServiceDefinition(id: "d0d0d0d0-0000-4000-8000-000000000002", host: "y")
        let router = makeRouter(
            [
                route(1, paths: ["/disabled"], service: off), route(2, paths: ["~/dis.*"], service: on),
                route(3, paths: ["/dis/longer"], service: off),
            ],
            services: [off, on], flavor: flavor)
        #expect(router.routes.count == 1)
        #expect(router.match(Self.get("/disabled"))?.route.id == uid(2))
        #expect(router.match(Self.get("/dis/longer"))?.route.id == uid(2))
    }

    /// Routes of the other subsystem are not in the router; a service of the other subsystem
    /// leaves the route without service.
    @Test func subsystems() {
        let tcp = ServiceDefinition(id: "d0d0d0d0-0000-4000-8000-000000000003", protocol: "tcp", host: "t")
        let routes = [
            route(1, paths: ["/a"], service: tcp),
            route(2, sources: [.init(port: 1)], protocols: ["tcp"], service: tcp),
        ]
        let http = makeRouter(routes, services: [tcp], flavor: .traditionalCompatible)
        #expect(http.routes.map(\.id) == [uid(1)])
        #expect(http.match(Self.get("/a"))?.service == nil)
        let stream = makeRouter(routes, services: [tcp], flavor: .traditionalCompatible, subsystem: .stream)
        #expect(stream.routes.map(\.id) == [uid(2)])
    }
}
