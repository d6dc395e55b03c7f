import Testing

@testable import KGateRouter

/// Kong's `08-router_spec.lua`, `describe("exec()")`: upstream URL and URI, captures, strip
/// paths, preserve_host, special characters, invalid UTF-8, run with every flavor.
@Suite struct ExecSpecTests {
    static let httpService = ServiceDefinition(
        id: "c0c0c0c0-0000-4000-8000-000000000001", name: "service-invalid", protocol: "http", host: "example.org")
    static let httpsService = ServiceDefinition(
        id: "c0c0c0c0-0000-4000-8000-000000000002", name: "service-invalid", protocol: "https", host: "example.org")

    @Test(arguments: Router.Flavor.allCases)
    func upstreamURLAndURI(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [
                route(1, paths: ["/my-route"], service: Self.httpService),
                route(2, paths: ["/my-route-2"], service: Self.httpsService),
            ],
            services: [Self.httpService, Self.httpsService], flavor: flavor)
        var m = try #require(router.match(exec("GET", "/my-route", host: "domain.org")))
        #expect(m.route.id == uid(1))
        #expect(m.service?.protocol == "http" && m.service?.host == "example.org" && m.service?.effectivePort == 80)
        #expect(m.upstreamHost == nil)
        #expect(m.upstreamPath == "/my-route")
        #expect(!router.usesHeaders)
        m = try #require(router.match(exec("GET", "/my-route-2", host: "domain.org")))
        #expect(m.route.id == uid(2))
        #expect(m.service?.protocol == "https" && m.service?.effectivePort == 443)
        #expect(m.upstreamPath == "/my-route-2")
    }

    @Test(arguments: Router.Flavor.allCases)
    func matchedValuesAndHeaders(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [
                route(1, hosts: ["host.com"], paths: ["/my-route"], methods: ["GET"]),
                route(2, hosts: ["host.com"], paths: ["/my-route"]),
                route(3, hosts: ["*.host.com"], headers: [("location", ["my-location-1", "my-location-2"])]),
                route(4, paths: [#"~/users/\d+/profile"#]),
            ], flavor: flavor)
        #expect(router.usesHeaders)
        #expect(router.match(exec("GET", "/my-route", host: "host.com"))?.route.id == uid(1))
        #expect(router.match(exec("GET", "/my-route/prefix/match", host: "host.com"))?.route.id == uid(1))
        #expect(router.match(exec("POST", "/my-route", host: "host.com"))?.route.id == uid(2))
        let h = try #require(
            router.match(exec("GET", "/", host: "test.host.com", headers: [("location", "my-location-1")])))
        #expect(h.route.id == uid(3))
        let r = try #require(router.match(exec("GET", "/users/123/profile", host: "domain.org")))
        #expect(r.route.id == uid(4) && r.captures == nil)
        if flavor == .traditional {
            #expect(h.matchedHost == "*.host.com" && h.matchedHeaders == ["location": "my-location-1"])
            #expect(r.matchedPath == #"/users/\d+/profile"#)
        }
    }

    @Test(arguments: Router.Flavor.allCases)
    func capturesWithOptionalGroup(_ flavor: Router.Flavor) throws {
        let router = makeRouter([route(1, paths: [#"~/(users/)?1984/(?<subpath>profile)$"#])], flavor: flavor)
        let c = try #require(router.match(exec("GET", "/1984/profile", host: "domain.org"))?.captures)
        #expect(c[1] == nil)
        #expect(c["subpath"] == "profile")
        #expect(c["scope"] == nil)
    }

    @Test(arguments: Router.Flavor.allCases)
    func capturesFromRegex(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [route(1, paths: [#"~/users/(?P<user_id>\d+)/profile/?(?P<scope>[a-z]*)"#])], flavor: flavor)
        for _ in 0..<2 {
            let c = try #require(router.match(exec("GET", "/users/1984/profile", host: "domain.org"))?.captures)
            #expect(c[1] == "1984" && c["user_id"] == "1984" && c[2] == "" && c["scope"] == "")
            #expect(c[0] == "/users/1984/profile")
            #expect(c["stripped_uri"] == nil && c["uri_postfix"] == nil)
            #expect(c.count == 2)
        }
        let c = try #require(router.match(exec("GET", "/users/1984/profile/email", host: "domain.org"))?.captures)
        #expect(c[1] == "1984" && c["user_id"] == "1984" && c[2] == "email" && c["scope"] == "email")
        #expect(c[0] == "/users/1984/profile/email")
        #expect(c.count == 2)
    }

    @Test(arguments: Router.Flavor.allCases)
    func capturesAreNormalized(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [route(1, paths: [#"~/users/(?P<fullname>[a-zA-Z\s\d%]+)/profile/?(?P<scope>[a-z]*)"#])], flavor: flavor)
        let c = try #require(router.match(exec("GET", "/users/%6aohn%20doe/profile", host: "domain.org"))?.captures)
        #expect(c[1] == "john doe" && c["fullname"] == "john doe" && c[2] == "" && c["scope"] == "")
        #expect(c[0] == "/users/john doe/profile")
        #expect(c.count == 2)
    }

    @Test(arguments: Router.Flavor.allCases)
    func noCapturesFromPrefix(_ flavor: Router.Flavor) throws {
        let router = makeRouter([route(1, paths: ["/hello"], stripPath: true)], flavor: flavor)
        let m = try #require(router.match(exec("GET", "/hello/world", host: "domain.org")))
        #expect(m.upstreamPath == "/world")
        #expect(m.captures == nil)
    }

    @Test(arguments: Router.Flavor.allCases)
    func serviceParts(_ flavor: Router.Flavor) throws {
        let withPath = ServiceDefinition(
            id: "c0c0c0c0-0000-4000-8000-000000000003", protocol: "http", host: "example.org", path: "/get")
        let p8080 = ServiceDefinition(
            id: "c0c0c0c0-0000-4000-8000-000000000004", protocol: "http", host: "example.org", port: 8080)
        let p8443 = ServiceDefinition(
            id: "c0c0c0c0-0000-4000-8000-000000000005", protocol: "https", host: "example.org", port: 8443)
        let router = makeRouter(
            [
                route(1, paths: ["/my-route"], service: withPath), route(2, paths: ["/my-route-2"], service: p8080),
                route(3, paths: ["/my-route-3"], service: p8443),
            ],
            services: [withPath, p8080, p8443], flavor: flavor)
        #expect(router.match(exec("GET", "/my-route", host: "domain.org"))?.service?.path == "/get")
        #expect(router.match(exec("GET", "/my-route-2", host: "domain.org"))?.service?.effectivePort == 8080)
        #expect(router.match(exec("GET", "/my-route-3", host: "domain.org"))?.service?.effectivePort == 8443)
    }

    @Test(arguments: Router.Flavor.allCases)
    func reservedEncodedPaths(_ flavor: Router.Flavor) throws {
        let router = makeRouter([route(1, paths: ["/endel%2Fst"], stripPath: false)], flavor: flavor)
        let m = try #require(router.match(exec("GET", "/endel%2Fst", host: "domain.org")))
        #expect(m.upstreamPath == "/endel%2Fst")
        let strip = makeRouter([route(1, paths: ["/endel%2Fst"], stripPath: true)], flavor: flavor)
        let s = try #require(strip.match(exec("GET", "/endel%2Fst", host: "domain.org")))
        #expect(s.prefix == "/endel%2Fst" && s.upstreamPath == "/")
    }

    /// `stripped paths #strip`.
    @Test(arguments: Router.Flavor.allCases)
    func strippedPaths(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [
                route(1, paths: ["/my-route", "/xx-route"], stripPath: true),
                route(2, paths: ["/my-route", "/xx-route"], methods: ["POST"], stripPath: false),
            ],
            flavor: flavor)
        var m = try #require(router.match(exec("GET", "/my-route/hello/world", host: "domain.org")))
        #expect(m.route.id == uid(1) && m.prefix == "/my-route" && m.upstreamPath == "/hello/world")
        for _ in 0..<2 {
            for p in ["/my-route", "/xx-route"] {
                m = try #require(router.match(exec("GET", p, host: "domain.org")))
                #expect(m.route.id == uid(1) && m.prefix?.description == p && m.upstreamPath == "/")
            }
        }
        m = try #require(router.match(exec("POST", "/my-route/hello/world", host: "domain.org")))
        #expect(m.route.id == uid(2) && m.prefix == nil && m.upstreamPath == "/my-route/hello/world")
        m = try #require(router.match(exec("POST", "/my-route/hello/./world/../world", host: "domain.org")))
        #expect(m.upstreamPath == "/my-route/hello/world")
        let root = makeRouter([route(1, paths: ["/"], stripPath: true)], flavor: flavor)
        m = try #require(root.match(exec("POST", "/my-route/hello/world", host: "domain.org")))
        #expect(m.prefix == "/" && m.upstreamPath == "/my-route/hello/world")
        for regex in [#"~/users/\d+/profile"#, #"~/users/(\d+)/profile"#] {
            let r = makeRouter([route(1, paths: [regex], stripPath: true)], flavor: flavor)
            m = try #require(r.match(exec("GET", "/users/123/profile/hello/world", host: "domain.org")))
            #expect(m.prefix == "/users/123/profile" && m.upstreamPath == "/hello/world")
        }
    }

    /// `preserve Host header` (http and grpc services).
    @Test(arguments: Router.Flavor.allCases, ["http", "grpc"])
    func preserveHost(_ flavor: Router.Flavor, _ proto: String) throws {
        let svc = ServiceDefinition(
            id: "c0c0c0c0-0000-4000-8000-000000000006", name: "service-invalid", protocol: proto, host: "example.org")
        let router = makeRouter(
            [
                route(1, hosts: ["preserve.com"], preserveHost: true, service: svc),
                route(2, hosts: ["discard.com"], preserveHost: false, service: svc),
            ],
            services: [svc], flavor: flavor)
        var m = try #require(router.match(exec("GET", "/", host: "preserve.com")))
        #expect(
            m.route.id == uid(1) && m.upstreamHost == "preserve.com" && m.service?.host == "example.org"
                && m.service?.protocol == proto)
        m = try #require(router.match(exec("GET", "/", host: "preserve.com:123")))
        #expect(m.upstreamHost == "preserve.com:123")
        #expect(m.upstreamHostHeader(targetHost: "example.org", targetPort: 80) == "preserve.com:123")
        m = try #require(router.match(exec("GET", "/", host: "discard.com")))
        #expect(m.route.id == uid(2) && m.upstreamHost == nil && m.service?.host == "example.org")
        #expect(m.upstreamHostHeader(targetHost: "example.org", targetPort: 80) == "example.org")
        #expect(m.upstreamHostHeader(targetHost: "example.org", targetPort: 8080) == "example.org:8080")
        let noHost = makeRouter(
            [route(1, paths: ["/nohost"], preserveHost: true, service: svc)], services: [svc], flavor: flavor)
        for h in ["domain1.com", "domain2.com"] {
            #expect(noHost.match(exec("GET", "/nohost", host: h))?.upstreamHost == h)
        }
        // 02-router_spec 'HTTP/1.0 routes normally': without a Host, Kong's upstream_host stays
        // nil and the balancer sends the target's Host.
        let bare = try #require(noHost.match(exec("GET", "/nohost", host: nil)))
        #expect(bare.upstreamHost == nil)
        #expect(bare.upstreamHostHeader(targetHost: "example.org", targetPort: 8080) == "example.org:8080")
    }

    @Test(arguments: Router.Flavor.allCases)
    func specialCharacters(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [
                route(1, paths: [#"/\d"#], service: Self.httpService),
                route(2, paths: [#"~/\d+""#], service: Self.httpsService),
            ],
            services: [Self.httpService, Self.httpsService], flavor: flavor)
        var m = try #require(router.match(exec("GET", #"/\d"#, host: "domain.org")))
        #expect(m.route.id == uid(1) && m.upstreamPath == #"/\d"# && m.upstreamHost == nil)
        m = try #require(router.match(exec("GET", #"/123""#, host: "domain.org")))
        #expect(m.route.id == uid(2) && m.upstreamPath == #"/123""#)
        #expect(m.upstreamTarget == "/123%22")
    }

    /// atc-router refuses paths that are not UTF-8 (Kong logs the error and answers 404).
    @Test(arguments: [Router.Flavor.traditionalCompatible, .expressions])
    func invalidUTF8(_ flavor: Router.Flavor) {
        let router = makeRouter([route(1, paths: ["/hello"])], flavor: flavor)
        let bytes: [UInt8] = [0x2F, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0xFC, 0x80, 0x80]
        #expect(router.match(exec("GET", "/hello%FC%80%80", host: "example.org")) == nil)
        #expect(router.match(exec("GET", String(decoding: bytes, as: UTF8.self), host: "example.org")) != nil)
    }

    /// Query strings are kept as sent, an empty one included; the path is escaped.
    @Test(arguments: Router.Flavor.allCases)
    func upstreamTarget(_ flavor: Router.Flavor) throws {
        let router = makeRouter([route(1, paths: ["/a"], stripPath: false)], flavor: flavor)
        #expect(router.match(exec("GET", "/a/b?x=1&y=%20", host: "h"))?.upstreamTarget == "/a/b?x=1&y=%20")
        #expect(router.match(exec("GET", "/a/b?", host: "h"))?.upstreamTarget == "/a/b?")
        #expect(router.match(exec("GET", "/a/b%20c%2Fd", host: "h"))?.upstreamTarget == "/a/b%20c%2Fd")
        #expect(router.match(exec("GET", "/a/%7Cpipe", host: "h"))?.upstreamTarget == "/a/%7Cpipe")
        let m = try #require(router.match(exec("GET", "/a//b/../c?q", host: "h")))
        #expect(m.path == "/a/c" && m.query == "q" && m.upstreamTarget == "/a/c?q")
    }
}
