import Testing

@testable import KGateRouter

/// Kong's `08-router_spec.lua`: `[uri prefix]`, `[uri regex]`, `[wildcard host]`,
/// `[wildcard host] + [uri regex]`, `[headers]`, `[wildcard sni]`, as tables.
@Suite struct PrefixRegexWildcardSpecTests {
    static let trad: Set<Router.Flavor> = [.traditional]
    static let atc: Set<Router.Flavor> = [.traditionalCompatible, .expressions]

    static let wildcardBase = [route(1, hosts: ["*.route.com"]), route(2, hosts: ["route.*"])]

    static let cases: [RoutingCase] = [
        // [uri prefix]
        RoutingCase(
            "does not supersede another route with a longer [uri]",
            routes: [route(1, paths: ["/my-route/hello"]), route(2, paths: ["/my-route"])],
            probes: [
                Probe(select("GET", "/my-route/hello", "domain.org"), 1),
                Probe(select("GET", "/my-route/hello/world", "domain.org"), 1),
                Probe(select("GET", "/my-route", "domain.org"), 2),
                Probe(select("GET", "/my-route/world", "domain.org"), 2),
            ]),
        RoutingCase(
            "does not supersede another route with a longer [uri] while [methods] are also defined",
            routes: [
                route(1, paths: ["/my-route"], methods: ["POST", "PUT", "GET"]),
                route(2, paths: ["/my-route/hello"], methods: ["POST", "PUT", "GET"]),
            ],
            probes: [
                Probe(select("GET", "/my-route/hello", "domain.org"), 2),
                Probe(select("GET", "/my-route/hello/world", "domain.org"), 2),
                Probe(select("GET", "/my-route", "domain.org"), 1),
                Probe(select("GET", "/my-route/world", "domain.org"), 1),
            ]),
        RoutingCase(
            "does not supersede another route with a longer [uri] while [hosts] are also defined",
            routes: [
                route(1, hosts: ["domain.org"], paths: ["/my-route"]),
                route(2, hosts: ["domain.org"], paths: ["/my-route/hello"]),
            ],
            probes: [
                Probe(select("GET", "/my-route/hello", "domain.org"), 2),
                Probe(select("GET", "/my-route/hello/world", "domain.org"), 2),
                Probe(select("GET", "/my-route", "domain.org"), 1),
                Probe(select("GET", "/my-route/world", "domain.org"), 1),
            ]),
        RoutingCase(
            "does not supersede another route with a longer [uri] when a better [uri] match exists for another [host]",
            routes: [
                route(1, hosts: ["example.com"], paths: ["/my-route"]),
                route(2, hosts: ["example.com"], paths: ["/my-route/hello"]),
                route(3, hosts: ["example.net"], paths: ["/my-route/hello/world"]),
            ],
            probes: [
                Probe(select("GET", "/my-route/hello/world", "example.com"), 2),
                Probe(select("GET", "/my-route/hello/world/and/goodnight", "example.com"), 2),
            ]),
        RoutingCase(
            "only matches [uri prefix] as a prefix (anchored mode)",
            routes: [route(1, paths: ["/something/my-route"]), route(2, hosts: ["example.com"], paths: ["/my-route"])],
            probes: [Probe(select("GET", "/something/my-route", "example.com"), 1)]),
        // [uri regex]
        RoutingCase(
            "matches with [uri regex]", routes: [route(1, paths: [#"~/users/\d+/profile"#])],
            probes: [Probe(select("GET", "/users/123/profile", "domain.org"), 1)]),
        RoutingCase(
            "matches the right route when several ones have a [uri regex]",
            routes: [
                route(1, paths: [#"~/route/persons/\d{3}"#]), route(2, paths: [#"~/route/persons/\d{3}/following"#]),
                route(3, paths: [#"~/route/persons/\d{3}/[a-z]+"#]),
            ],
            probes: [Probe(select("GET", "/route/persons/456", "domain.org"), 1)]),
        RoutingCase(
            "matches a [uri regex] even if a [prefix uri] got a match",
            routes: [route(1, paths: ["/route/persons"]), route(2, paths: [#"~/route/persons/\d+/profile"#])],
            probes: [Probe(select("GET", "/route/persons/123/profile", "domain.org"), 2)]),
        RoutingCase(
            "matches a [uri regex] even if a [uri] got an exact match",
            routes: [route(1, paths: ["/route/fixture"]), route(2, paths: ["~/route/(fixture)"])],
            probes: [Probe(select("GET", "/route/fixture", "domain.org"), 2)]),
        RoutingCase(
            "matches a [uri regex + host] even if a [prefix uri] got a match",
            routes: [
                route(1, hosts: ["route.com"], paths: ["/pat"]),
                route(2, hosts: ["route.com"], paths: ["/path"], methods: ["POST"]),
                route(3, hosts: ["route.com"], paths: ["~/(path)"]),
            ],
            probes: [Probe(select("GET", "/path", "route.com"), 3)]),
        RoutingCase(
            "matches from the beginning of the request URI [uri regex]", routes: [route(1, paths: ["~/prefix/[0-9]+"])],
            probes: [
                Probe(select("GET", "/prefix/123", "domain.org"), 1),
                Probe(select("GET", "/extra/prefix/123", "domain.org"), nil),
            ]),
        // [wildcard host]
        RoutingCase(
            "wildcard hosts: leftmost, rightmost, any port", routes: wildcardBase,
            probes: [
                Probe(select("GET", "/", "foo.route.com"), 1), Probe(select("GET", "/", "route.org"), 2),
                Probe(select("GET", "/", "route.org:123"), 2), Probe(select("GET", "/", "foo.route.com:123"), 1),
            ]),
        RoutingCase(
            "wildcard hosts: matches port-specific routes",
            routes: wildcardBase + [route(3, hosts: ["*.route.net:123"]), route(4, hosts: ["route.*:123"])],
            probes: [
                Probe(select("GET", "/", "foo.route.net:123"), 3), Probe(select("GET", "/", "foo.route.net:456"), nil),
                Probe(select("GET", "/", "route.org:123"), 4),
            ]),
        RoutingCase(
            "wildcard hosts: prefers port-specific even for http default port",
            routes: wildcardBase + [route(3, hosts: ["route.*:80"])],
            probes: [
                Probe(select("GET", "/", "route.org:123"), 2), Probe(select("GET", "/", "route.org:80"), 3),
                Probe(select("GET", "/", "route.org"), 3, only: trad),
            ]),
        RoutingCase(
            "wildcard hosts: prefers port-specific even for https default port",
            routes: wildcardBase + [route(3, hosts: ["route.*:443"])],
            probes: [
                Probe(select("GET", "/", "route.org:123"), 2), Probe(select("GET", "/", "route.org:443"), 3),
                Probe(select("GET", "/", "route.org", scheme: .https), 3, only: trad),
            ]),
        RoutingCase(
            "wildcard hosts: do not take precedence over a plain host",
            routes: [route(3, hosts: ["plain.route.com"])] + wildcardBase + [route(4, hosts: ["route.com"])],
            probes: [
                Probe(select("GET", "/", "route.com"), 4), Probe(select("GET", "/", "route.org"), 2),
                Probe(select("GET", "/", "plain.route.com"), 3), Probe(select("GET", "/", "foo.route.com"), 1),
            ]),
        RoutingCase(
            "matches [wildcard host + path] even if a similar [plain host] exists",
            routes: [
                route(1, hosts: ["*.route.com"], paths: ["/path1"]),
                route(2, hosts: ["plain.route.com"], paths: ["/path2"]),
            ],
            probes: [
                Probe(select("GET", "/path1", "plain.route.com"), 1),
                Probe(select("GET", "/path2", "plain.route.com"), 2),
            ]),
        RoutingCase(
            "submatch_weight [wildcard host port] > [wildcard host]",
            routes: [route(1, hosts: ["route.*"]), route(2, hosts: ["route.*:80", "route.com.*"])],
            probes: [Probe(select("GET", "/", "route.org:80"), 2)]),
        RoutingCase(
            "matches a [wildcard host + port] even if a [wildcard host] matched",
            routes: [route(1, hosts: ["route.*"]), route(2, hosts: ["route.*:123"]), route(3, hosts: ["route.*:80"])],
            probes: [
                Probe(select("GET", "/", "route.org:123"), 2), Probe(select("GET", "/", "route.org"), 3, only: trad),
            ]),
        RoutingCase(
            "matches [wildcard/plain + uri + method]",
            routes: wildcardBase + [
                route(5, hosts: ["*.domain.com", "example.com"], paths: ["/path"], methods: ["GET", "TRACE"])
            ],
            probes: [
                Probe(select("POST", "/path", "foo.domain.com"), nil),
                Probe(select("GET", "/path", "foo.domain.com"), 5),
                Probe(select("TRACE", "/path", "example.com"), 5),
            ]),
        RoutingCase(
            "[wildcard host] + [uri regex]",
            routes: [
                route(1, hosts: ["*.example.com"], paths: [#"~/users/\d+/profile"#]),
                route(2, hosts: ["*.example.com"], paths: ["/users"]),
            ],
            probes: [
                Probe(select("GET", "/users/123/profile", "test.example.com"), 1),
                Probe(select("GET", "/users", "test.example.com"), 2),
            ]),
        // [headers]
        RoutingCase(
            "evaluates Routes with more [headers] first",
            routes: [
                route(1, headers: [("version", ["v1", "v2"]), ("user_agent", ["foo", "bar"])]),
                route(
                    2,
                    headers: [
                        ("version", ["v1", "v2"]), ("user_agent", ["foo", "bar"]), ("location", ["east", "west"]),
                    ]),
            ],
            probes: [
                Probe(
                    select(
                        "GET", "/", nil,
                        headers: [
                            ("version", "v1"), ("user_agent", "foo"), ("location", "north"), ("location", "west"),
                        ]), 2)
            ]),
        RoutingCase(
            "header names are case-insensitive",
            routes: [
                route(1, headers: [("USER_AGENT", ["foo", "bar"])]), route(2, headers: [("user_agent", ["baz"])]),
            ],
            probes: [
                Probe(select("GET", "/", nil, headers: [("user_agent", "foo")]), 1),
                Probe(select("GET", "/", nil, headers: [("USER_AGENT", "baz")]), 2),
                Probe(select("GET", "/", nil, headers: [("User-Agent", "baz")]), 2),
            ]),
        RoutingCase(
            "header values match in a case-insensitive way",
            routes: [
                route(1, headers: [("user_agent", ["foo", "bar"])]), route(2, headers: [("user_agent", ["BAZ"])]),
            ],
            probes: [
                Probe(select("GET", "/", nil, headers: [("user_agent", "FOO")]), 1),
                Probe(select("GET", "/", nil, headers: [("user_agent", "baz")]), 2),
            ]),
        // [wildcard sni] (ATC flavors accept wildcard snis)
        RoutingCase(
            "[wildcard sni]", flavors: atc, routes: [route(1, snis: ["*.sni.test"]), route(2, snis: ["sni.*"])],
            probes: [
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "foo.sni.test"), 1),
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "foo.bar.sni.test"), 1),
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "sni.foo"), 2),
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "sni.foo.bar"), 2),
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "bar.sni.foo"), nil),
                Probe(select("GET", "/", "any.test", scheme: .https, sni: "foo.sni.test.bar"), nil),
            ]),
    ]

    @Test(arguments: expand(cases))
    func routes(_ c: RoutingCase, _ flavor: Router.Flavor) {
        let failures = run(c, flavor)
        #expect(failures.isEmpty, "\(c.name) [\(flavor.rawValue)]: \(failures)")
    }

    /// The traditional router's `matches.host` / `matches.uri` in these cases.
    @Test func traditionalMatchedValues() throws {
        let plain = makeRouter(
            [route(3, hosts: ["plain.route.com"])] + Self.wildcardBase + [route(4, hosts: ["route.com"])],
            flavor: .traditional)
        #expect(plain.match(select("GET", "/", "route.org"))?.matchedHost == "route.*")
        #expect(plain.match(select("GET", "/", "foo.route.com"))?.matchedHost == "*.route.com")
        #expect(plain.match(select("GET", "/", "plain.route.com"))?.matchedHost == "plain.route.com")
        let ports = makeRouter(
            [route(1, hosts: ["route.*"]), route(2, hosts: ["route.*:123"]), route(3, hosts: ["route.*:80"])],
            flavor: .traditional)
        #expect(ports.match(select("GET", "/", "route.org:123"))?.matchedHost == "route.*:123")
        #expect(ports.match(select("GET", "/", "route.org"))?.matchedHost == "route.*:80")
        let regex = makeRouter(
            [route(1, paths: ["/route/fixture"]), route(2, paths: ["~/route/(fixture)"])], flavor: .traditional)
        #expect(regex.match(select("GET", "/route/fixture", "domain.org"))?.matchedPath == "/route/(fixture)")
        let anchored = makeRouter(
            [route(1, paths: ["/something/my-route"]), route(2, hosts: ["example.com"], paths: ["/my-route"])],
            flavor: .traditional)
        #expect(
            anchored.match(select("GET", "/something/my-route", "example.com"))?.matchedPath == "/something/my-route")
    }
}
