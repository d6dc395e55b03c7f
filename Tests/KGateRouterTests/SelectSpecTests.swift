import Testing

@testable import KGateRouter

/// Kong's `08-router_spec.lua`, `describe("select()")`: the shared use case (15 routes) and
/// its `it` blocks, as tables run with every flavor (Kong's `it_trad_only` / `if flavor`
/// restrictions kept).
@Suite struct SelectSpecTests {
    static let trad: Set<Router.Flavor> = [.traditional]

    /// The 15 routes of `select()`'s `use_case`.
    static let useCase: [RouteDefinition] = [
        route(1, hosts: ["domain-1.org", "domain-2.org"]),
        route(2, methods: ["TRACE"]),
        route(3, paths: ["/my-route"]),
        route(4, hosts: ["domain-1.org", "domain-2.org"], paths: ["/route-4"]),
        route(5, hosts: ["domain-1.org", "domain-2.org"], methods: ["POST", "PUT", "PATCH"]),
        route(6, paths: ["/route-6"], methods: ["POST", "PUT", "PATCH"]),
        route(
            7, hosts: ["domain-with-uri-1.org", "domain-with-uri-2.org"], paths: ["/my-route-uri"],
            methods: ["POST", "PUT", "PATCH"]),
        route(8, paths: ["/serviceless"], service: nil),
        route(9, headers: [("location", ["my-location-1", "my-location-2"])]),
        route(10, headers: [("location", ["my-location-1"]), ("version", ["v1", "v2"])]),
        route(11, paths: ["/headers-uri"], headers: [("location", ["my-location-1", "my-location-2"])]),
        route(
            12, hosts: ["domain-with-headers-1.org", "domain-with-headers-2.org"], paths: ["/headers-host-uri-method"],
            methods: ["POST", "PUT", "PATCH"], headers: [("location", ["my-location-1", "my-location-2"])]),
        route(13, hosts: ["domain-1.org:321", "domain-2.org"]),
        route(14, hosts: ["domain-3.org:321"]),
        route(15, headers: [("user_agent", [#"~*windows|linux|os\s+x\s*[\d\._]+|solaris|bsd"#])]),
    ]

    static let mozilla =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.116 Safari/537.36"

    static let cases: [RoutingCase] = [
        RoutingCase(
            "use case: hosts, ports, uri, methods, headers, misses", routes: useCase,
            probes: [
                // [host], [host] ignores default port, weird port (trad only), specific ports
                Probe(select("GET", "/", "domain-1.org"), 1),
                Probe(select("GET", "/", "domain-1.org:80"), 1),
                Probe(select("GET", "/", "domain-1.org:123"), 1, only: trad),
                Probe(select("GET", "/", "domain-1.org:321"), 13),
                Probe(select("GET", "/", "domain-3.org:321"), 14),
                Probe(select("GET", "/", "domain-3.org:123"), nil),
                // [uri], [uri + empty host], [method]
                Probe(select("GET", "/my-route", "domain.org"), 3),
                Probe(select("GET", "/my-route-uri", ""), 3),
                Probe(select("TRACE", "/", "domain.org"), 2),
                // combinations
                Probe(select("GET", "/route-4", "domain-1.org"), 4),
                Probe(select("POST", "/", "domain-1.org"), 5),
                Probe(select("PUT", "/route-6", "domain.org"), 6),
                Probe(select("PUT", "/my-route-uri", "domain-with-uri-2.org"), 7),
                // single [headers] value
                Probe(select("GET", "/", nil, headers: [("location", "my-location-1")]), 9),
                Probe(select("GET", "/", nil, headers: [("location", "my-location-2")]), 9),
                Probe(
                    select("GET", "/", nil, headers: [("location", "my-location-3"), ("location", "my-location-2")]), 9),
                Probe(select("GET", "/", nil, headers: [("location", "my-location-3")]), nil),
                Probe(select("GET", "/", nil, headers: [("location", "my-location-3"), ("location", "foo")]), nil),
                Probe(select("GET", "/", nil, headers: [("user_agent", mozilla)]), 15),
                // multiple [headers] values
                Probe(select("GET", "/", nil, headers: [("location", "my-location-1"), ("version", "v1")]), 10),
                Probe(select("GET", "/", nil, headers: [("location", "my-location-1"), ("version", "v2")]), 10),
                Probe(
                    select(
                        "GET", "/", nil,
                        headers: [("location", "my-location-3"), ("location", "my-location-1"), ("version", "v2")]), 10),
                Probe(
                    select(
                        "GET", "/", nil,
                        headers: [("location", "my-location-3"), ("location", "my-location-2"), ("version", "v2")]), 9),
                // [headers + uri], [host + headers + uri + method], [serviceless]
                Probe(select("GET", "/headers-uri", nil, headers: [("location", "my-location-2")]), 11),
                Probe(
                    select(
                        "PUT", "/headers-host-uri-method", "domain-with-headers-1.org",
                        headers: [("location", "my-location-2")]), 12),
                Probe(select("GET", "/serviceless"), 8),
                // [uri prefix]
                Probe(select("GET", "/my-route/some/path", "domain.org"), 3),
                // misses
                Probe(select("GET", "/", "domain-3.org"), nil),
                Probe(select("GET", "/route-4", "domain-3.org"), nil),
                Probe(select("GET", "/some-uri", "domain-with-uri-2.org"), nil),
                Probe(select("PUT", "/some-uri-foo", "domain-with-uri-2.org"), nil),
                Probe(select("GET", "/some-other-prefix/my-route", "domain.org"), nil),
                Probe(select("GET", "/", nil, headers: [("location", "invalid-location")]), nil),
                Probe(select("GET", "/headers-uri", nil, headers: [("location", "invalid-location")]), nil),
                Probe(select("PUT", "/headers-uri-method", nil, headers: [("location", "invalid-location")]), nil),
                Probe(
                    select(
                        "PUT", "/headers-host-uri-method", nil,
                        headers: [("location", "invalid-location"), ("host", "domain-with-headers-1.org")]), nil),
            ]),
        RoutingCase(
            "root / [uri] added to the use case", routes: [route(99, paths: ["/"])] + useCase,
            probes: [
                Probe(select("GET", "/", "domain.org"), 99),
                Probe(select("GET", "/my-route", "domain.org"), 3),
                Probe(select("GET", "/my-route/hello/world", "domain.org"), 3),
                Probe(select("GET", "/foobar/baz", "domain.org"), 99),
            ]),
        RoutingCase(
            "multiple routes of same category with conflicting values",
            routes: useCase + (41...45).map { route($0, hosts: ["domain.org"], paths: ["/my-uri"]) }
                + [route(51, hosts: ["domain.org"], paths: ["/my-target-uri"])],
            probes: [Probe(select("GET", "/my-target-uri", "domain.org"), 51)]),
        RoutingCase(
            "[host] and [uri] have higher priority than [method]", routes: Array(useCase.prefix(7)),
            probes: [
                Probe(select("TRACE", "/", "domain-2.org"), 1), Probe(select("TRACE", "/my-route", "domain.org"), 3),
            ]),
        RoutingCase(
            "IPv6 literal hosts", flavors: trad,
            routes: [
                route(1, hosts: ["::11", "[::12]"]), route(2, hosts: ["::21", "[::22]"]),
                route(3, hosts: ["[::31]:321", "[::32]:321"]), route(4, hosts: ["[::21]:321", "[::22]:321"]),
            ],
            probes: [
                Probe(select("GET", "/", "::11"), 1), Probe(select("GET", "/", "[::11]"), 1),
                Probe(select("GET", "/", "[::11]:654"), 1), Probe(select("GET", "/", "[::21]:321"), 4),
                Probe(select("GET", "/", "[::31]:321"), 3), Probe(select("GET", "/", "[::21]:654"), 2),
                Probe(select("GET", "/", "[::31]:654"), nil),
            ]),
    ]

    @Test(arguments: expand(cases))
    func routes(_ c: RoutingCase, _ flavor: Router.Flavor) {
        let failures = run(c, flavor)
        #expect(failures.isEmpty, "\(c.name) [\(flavor.rawValue)]: \(failures)")
    }

    /// Traditional's `matches` table for the use case (`match_t.matches.host` etc.).
    @Test func traditionalMatches() throws {
        let router = makeRouter(Self.useCase, flavor: .traditional)
        var m = try #require(router.match(select("GET", "/", "domain-1.org")))
        #expect(m.matchedHost == "domain-1.org")
        #expect(m.matchedMethod == nil && m.matchedPath == nil && m.captures == nil)
        m = try #require(router.match(select("GET", "/", "domain-1.org:321")))
        #expect(m.matchedHost == "domain-1.org:321")
        m = try #require(router.match(select("PUT", "/route-6", "domain.org")))
        #expect(m.matchedMethod == "PUT" && m.matchedPath == "/route-6" && m.matchedHost == nil)
        m = try #require(router.match(select("PUT", "/my-route-uri", "domain-with-uri-2.org")))
        #expect(
            m.matchedHost == "domain-with-uri-2.org" && m.matchedMethod == "PUT" && m.matchedPath == "/my-route-uri")
        m = try #require(
            router.match(
                select("GET", "/", nil, headers: [("location", "my-location-3"), ("location", "my-location-2")])))
        #expect(m.matchedHeaders == ["location": "my-location-2"])
        m = try #require(
            router.match(select("GET", "/", nil, headers: [("location", "my-location-1"), ("version", "v2")])))
        #expect(m.matchedHeaders == ["location": "my-location-1", "version": "v2"])
        m = try #require(router.match(select("GET", "/", nil, headers: [("user_agent", Self.mozilla)])))
        #expect(m.matchedHeaders == ["user_agent": Self.mozilla.lowercased()])
        m = try #require(
            router.match(
                select(
                    "PUT", "/headers-host-uri-method", "domain-with-headers-1.org",
                    headers: [("location", "my-location-2")])))
        #expect(m.matchedHeaders["location"] == "my-location-2" && m.matchedHost == "domain-with-headers-1.org")
        m = try #require(router.match(select("GET", "/serviceless")))
        #expect(m.service == nil && m.matchedPath == "/serviceless")
    }

    /// Kong's `split_port()` table (traditional router).
    @Test(
        arguments: [
            ("", nil, "", "", false), ("localhost", nil, "localhost", "localhost", false),
            ("localhost:", nil, "localhost", "localhost", false),
            ("localhost:80", nil, "localhost", "localhost:80", true),
            ("localhost:23h", nil, "localhost:23h", "localhost:23h", false),
            ("localhost/24", nil, "localhost/24", "localhost/24", false), ("::1", nil, "::1", "::1", false),
            ("[::1]", nil, "::1", "[::1]", false), ("[::1]:", nil, "::1", "[::1]:", false),
            ("[::1]:80", nil, "::1", "[::1]:80", true), ("[::1]:80b", nil, "[::1]:80b", "[::1]:80b", false),
            ("[::1]/96", nil, "[::1]/96", "[::1]/96", false), ("", 88, "", ":88", false),
            ("localhost", 88, "localhost", "localhost:88", false),
            ("localhost:", 88, "localhost", "localhost:88", false),
            ("localhost:80", 88, "localhost", "localhost:80", true),
            ("localhost:23h", 88, "localhost:23h", "[localhost:23h]:88", false),
            ("localhost/24", 88, "localhost/24", "localhost/24:88", false), ("::1", 88, "::1", "[::1]:88", false),
            ("[::1]", 88, "::1", "[::1]:88", false), ("[::1]:", 88, "::1", "[::1]:88", false),
            ("[::1]:80", 88, "::1", "[::1]:80", true), ("[::1]:80b", 88, "[::1]:80b", "[::1]:80b:88", false),
            ("[::1]/96", 88, "[::1]/96", "[::1]/96:88", false),
        ] as [(String, Int?, String, String, Bool)])
    func splitPort(_ name: String, _ port: Int?, _ noPort: String, _ withPort: String, _ hasPort: Bool) {
        let r = HostSplit.traditionalStrings(name, defaultPort: port)
        #expect(r.0 == noPort)
        #expect(r.1 == withPort)
        #expect(r.2 == hasPort)
    }

    /// The traditional router reads `ngx.req.get_headers()[name]`: a route's `x_bar` finds a
    /// request's `x_bar` or `x-bar`, a route's `x-foo` only `x-foo` (nginx keeps the request's
    /// underscores).
    @Test func traditionalHeaderNamesWithUnderscores() throws {
        let router = makeRouter([route(1, headers: [("x-foo", ["a"])]), route(2, headers: [("x_bar", ["b"])])], flavor: .traditional)
        #expect(router.match(select("GET", "/", nil, headers: [("X-Foo", "a")]))?.route.id == uid(1))
        #expect(router.match(select("GET", "/", nil, headers: [("x_foo", "a")])) == nil)
        #expect(router.match(select("GET", "/", nil, headers: [("x_bar", "b")]))?.route.id == uid(2))
        #expect(router.match(select("GET", "/", nil, headers: [("X-Bar", "b")]))?.route.id == uid(2))
    }
}
