import Testing

@testable import KGateRouter

/// Kong's `08-router_spec.lua`: `edge-cases`, `normalization stopgap measurements`,
/// `[both regex and prefix ...]`, `[overlapping prefixes]` and the `#stream context`
/// (`[sources]`, `[destinations]`, `[snis]`, sni vs src/dst priority), as tables.
@Suite struct EdgeCaseSpecTests {
    static let trad: Set<Router.Flavor> = [.traditional]

    static let cases: [RoutingCase] = [
        RoutingCase(
            "half [uri] and [host] match does not supersede another route",
            routes: [
                route(1, hosts: ["host1.com"], paths: ["/v1/path"]), route(2, hosts: ["host2.com"], paths: ["/"]),
            ],
            probes: [
                Probe(select("GET", "/v1/path", "host1.com"), 1), Probe(select("GET", "/v1/path", "host2.com"), 2),
            ]),
        RoutingCase(
            "half [wildcard host] and [method] match does not supersede another route",
            routes: [route(1, hosts: ["host.*"], methods: ["GET"]), route(2, hosts: ["host.*"], methods: ["POST"])],
            probes: [Probe(select("GET", "/", "host.com"), 1), Probe(select("POST", "/", "host.com"), 2)]),
        RoutingCase(
            "half [uri regex] and [method] match does not supersede another route",
            routes: [
                route(1, paths: [#"~/users/\d+/profile"#], methods: ["GET"]),
                route(2, paths: [#"~/users/\d*/profile"#], methods: ["POST"]),
            ],
            probes: [
                Probe(select("GET", "/users/123/profile", "domain.org"), 1),
                Probe(select("POST", "/users/123/profile", "domain.org"), 2),
            ]),
        RoutingCase(
            "[method] does not supersede [uri prefix]",
            routes: [route(1, methods: ["GET"]), route(2, paths: ["/example"])],
            probes: [
                Probe(select("GET", "/example", "domain.org"), 2),
                Probe(select("GET", "/example/status/200", "domain.org"), 2),
            ]),
        RoutingCase(
            "[method] does not supersede [wildcard host]",
            routes: [route(1, methods: ["GET"]), route(2, hosts: ["domain.*"])],
            probes: [Probe(select("GET", "/", "nothing.com"), 1), Probe(select("GET", "/", "domain.com"), 2)]),
        RoutingCase(
            "does not supersede another route with a longer [uri prefix]",
            routes: [route(1, paths: ["/a", "/bbbbbbb"]), route(2, paths: ["/a/bb"])],
            probes: [Probe(select("GET", "/a/bb/foobar", "domain.org"), 2)]),
        RoutingCase(
            "more [headers] has priority over longer [paths]",
            routes: [
                route(1, paths: ["/my-route/hello"], headers: [("version", ["v1"])]),
                route(2, paths: ["/my-route"], headers: [("version", ["v1"]), ("location", ["us-east"])]),
            ],
            probes: [
                Probe(
                    select(
                        "GET", "/my-route/hello", "domain.org", headers: [("version", "v1"), ("location", "us-east")]),
                    2),
                Probe(
                    select(
                        "GET", "/my-route/hello/world", "domain.org",
                        headers: [("version", "v1"), ("location", "us-east")]), 2),
            ]),
        RoutingCase(
            "normalization stopgap measurements (select() takes the path as is)",
            routes: [
                route(0, paths: ["/plain/a.b.c"]), route(1, paths: ["/plain/a.b%58c"]),
                route(2, paths: [#"~/reg%65x/\d+"#]),
                route(3, paths: [#"~/regex-meta/%5Cd\+%2E"#]), route(4, paths: ["~/regex-reserved%2Fabc"]),
            ],
            probes: [
                Probe(select("GET", "/plain/a.b.c", "example.com"), 0),
                Probe(select("GET", "/plain/a.bXc", "example.com"), nil),
                Probe(select("GET", "/plain/a.b%58c", "example.com"), 1),
                Probe(select("GET", "/plain/aab.c", "example.com"), nil),
                Probe(select("GET", "/regex/123", "example.com"), nil),
                Probe(select("GET", "/reg%65x/123", "example.com"), 2),
                Probe(select("GET", #"/regex/\d+"#, "example.com"), nil),
                Probe(select("GET", "/regex-meta/123a", "example.com"), nil),
                Probe(select("GET", #"/regex-meta/\d+."#, "example.com"), nil),
                Probe(select("GET", "/regex-meta/%5Cd+%2E", "example.com"), 3),
                Probe(select("GET", "/regex-reserved/abc", "example.com"), nil),
                Probe(select("GET", "/regex-reserved%2Fabc", "example.com"), 4),
            ]),
        RoutingCase(
            "[both regex and prefix with regex_priority]: prefix matching ignores regex_priority",
            routes: [
                route(1, hosts: ["domain-1.org"], paths: ["/.*"]),
                route(2, hosts: ["domain-2.org"], paths: ["/"], regexPriority: 5),
                route(3, hosts: ["domain-2.org"], paths: ["/v1"]),
            ],
            probes: [Probe(select("GET", "/v1", "domain-2.org"), 3)]),
        RoutingCase(
            "[both regex and prefix]: different priorities to regex and non-regex paths",
            routes: [
                route(1, hosts: ["domain-1.org"], paths: ["~/some/thing/else", "/foo"]),
                route(2, hosts: ["domain-1.org"], paths: ["/foo/bar"]),
            ],
            probes: [
                Probe(select("GET", "/some/thing/else", "domain-1.org"), 1),
                Probe(select("GET", "/foo/bar", "domain-1.org"), 2),
            ]),
        RoutingCase(
            "[overlapping prefixes]: different priorities to each path",
            routes: [
                route(1, hosts: ["domain-1.org"], paths: ["/foo", "/foo/bar/baz"]),
                route(2, hosts: ["domain-1.org"], paths: ["/foo/bar"]),
            ],
            probes: [
                Probe(select("GET", "/foo", "domain-1.org"), 1), Probe(select("GET", "/foo/bar", "domain-1.org"), 2),
            ]),
        RoutingCase(
            "[can create route with multiple paths and no service]",
            routes: [route(1, paths: ["/foo", "/foo/bar/baz"], service: nil)],
            probes: [Probe(select("GET", "/foo/bar/baz/x"), 1), Probe(select("GET", "/fo"), nil)]),
        // #stream context
        RoutingCase(
            "[sources]", subsystem: .stream,
            routes: [
                route(1, sources: [.init(ip: "127.0.0.1"), .init(ip: "127.0.0.2")], protocols: ["tcp"]),
                route(2, sources: [.init(port: 65001), .init(port: 65002)], protocols: ["tcp"]),
                route(3, sources: [.init(ip: "127.168.0.0/8")], protocols: ["tcp"]),
                route(4, sources: [.init(ip: "127.0.0.1", port: 65001)], protocols: ["tcp"]),
                route(
                    5, sources: [.init(ip: "127.0.0.2", port: 65300), .init(ip: "127.168.0.0/16", port: 65301)],
                    protocols: ["tcp"]),
            ],
            probes: [
                Probe(stream(src: "127.0.0.1"), 1), Probe(stream(src: "127.0.0.3", srcPort: 65001), 2),
                Probe(stream(src: "127.168.0.1"), 3), Probe(stream(src: "127.0.0.1", srcPort: 65001), 4),
                Probe(stream(src: "127.168.10.1", srcPort: 65301), 5), Probe(stream(src: "10.0.0.1"), nil),
                Probe(stream(src: "10.0.0.2", srcPort: 65301), nil),
            ]),
        RoutingCase(
            "[destinations]", subsystem: .stream,
            routes: [
                route(1, destinations: [.init(ip: "127.0.0.1"), .init(ip: "127.0.0.2")], protocols: ["tcp"]),
                route(2, destinations: [.init(port: 65001), .init(port: 65002)], protocols: ["tcp"]),
                route(3, destinations: [.init(ip: "127.168.0.0/8")], protocols: ["tcp"]),
                route(4, destinations: [.init(ip: "127.0.0.1", port: 65001)], protocols: ["tcp"]),
                route(
                    5, destinations: [.init(ip: "127.0.0.2", port: 65300), .init(ip: "127.168.0.0/16", port: 65301)],
                    protocols: ["tcp"]),
            ],
            probes: [
                Probe(stream(dst: "127.0.0.1"), 1), Probe(stream(dst: "127.0.0.3", dstPort: 65001), 2),
                Probe(stream(dst: "127.168.0.1"), 3), Probe(stream(dst: "127.0.0.1", dstPort: 65001), 4),
                Probe(stream(dst: "127.168.10.1", dstPort: 65301), 5), Probe(stream(dst: "10.0.0.1"), nil),
                Probe(stream(dst: "10.0.0.2", dstPort: 65301), nil),
            ]),
        RoutingCase(
            "[sni] (stream)", flavors: trad, subsystem: .stream,
            routes: [route(1, snis: ["www.example.org"], protocols: ["tls"])],
            probes: [Probe(stream(sni: "www.example.org"), 1)]),
        RoutingCase(
            "[sni] has higher priority than [src] or [dst]", subsystem: .stream,
            routes: [
                route(1, snis: ["www.example.org"], protocols: ["tls"]),
                route(2, sources: [.init(ip: "127.0.0.1")], protocols: ["tls"]),
                route(3, destinations: [.init(ip: "172.168.0.1")], protocols: ["tls"]),
            ],
            probes: [
                Probe(stream(src: "127.0.0.1", sni: "www.example.org"), 1),
                Probe(stream(dst: "172.168.0.1", sni: "www.example.org"), 1),
            ]),
        RoutingCase(
            "[src] + [dst] has higher priority than [sni]", subsystem: .stream,
            routes: [
                route(1, snis: ["www.example.org"], protocols: ["tls"]),
                route(
                    2, sources: [.init(ip: "127.0.0.1")], destinations: [.init(ip: "172.168.0.1")], protocols: ["tls"]),
            ],
            probes: [Probe(stream(src: "127.0.0.1", dst: "172.168.0.1", sni: "www.example.org"), 2)]),
        RoutingCase(
            "[sni] is ignored for http requests without shadowing routes with protocols={'http'} (#6425)",
            flavors: trad,
            routes: [
                route(1, snis: ["www.example.org"], protocols: ["https"]),
                route(2, hosts: ["sni.example.com"], snis: ["sni.example.com"], protocols: ["http", "https"]),
                route(3, hosts: ["sni.example.com"], protocols: ["http"]),
            ],
            probes: [Probe(select("GET", "/", "sni.example.com"), 3)]),
        RoutingCase(
            "[sni] is ignored for http requests (#6425), no shadowing route", flavors: trad,
            routes: [route(4, hosts: ["sni.example.com"], snis: ["sni.example.com"], protocols: ["http", "https"])],
            probes: [Probe(select("GET", "/", "sni.example.com"), 4)]),
    ]

    /// `router:select(nil, nil, nil, "tcp", src_ip, src_port, dst_ip, dst_port, sni)`.
    static func stream(
        src: String? = nil, srcPort: Int? = nil, dst: String? = nil, dstPort: Int? = nil, sni: String? = nil
    ) -> RouteRequest {
        var r = select("", "", nil, scheme: .tcp, srcIP: src, srcPort: srcPort, dstIP: dst, dstPort: dstPort, sni: sni)
        r.method = ""
        return r
    }

    @Test(arguments: expand(cases))
    func routes(_ c: RoutingCase, _ flavor: Router.Flavor) {
        let failures = run(c, flavor)
        #expect(failures.isEmpty, "\(c.name) [\(flavor.rawValue)]: \(failures)")
    }

    /// `could not categorize route`: a route with no matching field at all is left out
    /// (Kong refuses the whole router; kgate keeps the others and reports it).
    @Test(arguments: Router.Flavor.allCases)
    func uncategorizableRoute(_ flavor: Router.Flavor) {
        let router = makeRouter([RouteDefinition(id: uid(1)), route(2, paths: ["/x"])], flavor: flavor)
        #expect(router.match(select("GET", "/x"))?.route.id == uid(2))
        #expect(router.match(select("GET", "/y")) == nil)
        if flavor == .traditional { #expect(router.diagnostics.contains { $0.contains("could not categorize route") }) }
    }

    /// Empty fields are as absent for the ATC flavors (`check empty route fields`).
    @Test(arguments: [Router.Flavor.traditionalCompatible, .expressions])
    func emptyFields(_ flavor: Router.Flavor) {
        for (methods, paths) in [([String](), ["/foo"]), (["GET"], [String]())] {
            let r = RouteDefinition(
                id: uid(1), methods: methods, hosts: [], paths: paths, headers: [], snis: [], serviceID: specService.id)
            let router = makeRouter([r], flavor: flavor)
            let expected = methods.isEmpty ? "/foo/x" : "/anything"
            #expect(router.match(select("GET", expected))?.route.id == uid(1))
            #expect(router.match(select("POST", methods.isEmpty ? "/bar" : "/anything")) == nil)
        }
    }
}
