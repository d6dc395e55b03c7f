import Testing

@testable import KGateRouter

/// The indexed search must answer exactly what trying every route in Kong's order answers
/// (``Router/matchByScan(_:)``): random route sets built from small pools of overlapping
/// hosts, paths, methods and headers, and random requests from the same pools.
@Suite struct DifferentialTests {
    /// SplitMix64, for reproducible tables.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let hostPool = [
        "a.com", "b.com", "x.a.com", "y.x.a.com", "*.a.com", "*.x.a.com", "a.*", "x.*", "a.com:8080", "*.a.com:8080",
        "a.*:80", "[::1]", "::1", "c.org",
    ]
    static let requestHosts = [
        "a.com", "a.com:8080", "a.com:80", "x.a.com", "y.x.a.com:8080", "a.org", "x.y", "[::1]", "::1", "c.org", "zzz",
        "",
    ]
    static let pathPool = [
        "/", "/a", "/a/", "/a/b", "/ab", "/b", "/a/b/c", "~/a/\\d+", "~/(a|b)/x", "~/a.*z", "~/b/(?<id>[0-9]+)$",
        "~/a/b|/c",
        "~/[0]?a",
    ]
    static let requestPaths = [
        "/", "/a", "/a/", "/a/b", "/a/1", "/a/12/x", "/b/x", "/b/77", "/abz", "/ab", "/c", "/x/a/b/c", "/0a/b",
    ]
    static let methods = ["GET", "POST", "PUT"]
    static let headerPool: [(String, [String])] = [
        ("x-v", ["1"]), ("x-v", ["1", "2"]), ("x_w", ["~*^a.c"]), ("X-V", ["2"]),
    ]

    static func pick<T>(_ pool: [T], _ g: inout Generator, max: Int) -> [T]? {
        let n = Int(g.next() % UInt64(max + 1))
        if n == 0 { return g.next() % 3 == 0 ? [] : nil }
        return (0..<n).map { _ in pool[Int(g.next() % UInt64(pool.count))] }
    }

    static func routes(seed: UInt64, count: Int) -> [RouteDefinition] {
        var g = Generator(state: seed)
        var out: [RouteDefinition] = []
        while out.count < count {
            let hosts = pick(hostPool, &g, max: 2)
            let paths = pick(pathPool, &g, max: 2)
            let methods = g.next() % 3 == 0 ? pick(methods, &g, max: 2) : nil
            let headers = g.next() % 4 == 0 ? pick(headerPool, &g, max: 1) : nil
            if (hosts ?? []).isEmpty, (paths ?? []).isEmpty, (methods ?? []).isEmpty, (headers ?? []).isEmpty {
                continue
            }
            var r = route(
                out.count + 1, hosts: hosts, paths: paths, methods: methods, headers: headers,
                regexPriority: Int(g.next() % 3),
                createdAt: Double(g.next() % 2))
            // Ids in both orders so that UUID ties go either way.
            if g.next() % 2 == 0 { r.id = "f" + r.id.dropFirst() }
            out.append(r)
        }
        return out
    }

    static func requests(seed: UInt64, count: Int) -> [RouteRequest] {
        var g = Generator(state: seed ^ 0xABCDEF)
        return (0..<count).map { _ in
            let host = requestHosts[Int(g.next() % UInt64(requestHosts.count))]
            let path = requestPaths[Int(g.next() % UInt64(requestPaths.count))]
            var headers: [RouteRequest.Header] = []
            if g.next() % 2 == 0 { headers.append(.init("X-V", g.next() % 2 == 0 ? "1" : "2")) }
            if g.next() % 3 == 0 { headers.append(.init("x-w", "ABC")) }
            return RouteRequest(
                method: methods[Int(g.next() % 3)], target: path, host: g.next() % 8 == 0 ? nil : host,
                scheme: g.next() % 4 == 0 ? .https : .http, headers: headers, destinationPort: 8080)
        }
    }

    @Test(arguments: Router.Flavor.allCases, Array(UInt64(1)...UInt64(40)))
    func indexedEqualsScan(_ flavor: Router.Flavor, _ seed: UInt64) {
        let routes = Self.routes(seed: seed, count: 3 + Int(seed % 25))
        let router = makeRouter(routes, flavor: flavor)
        for request in Self.requests(seed: seed, count: 60) {
            let indexed = router.match(request)
            let scanned = router.matchByScan(request)
            #expect(
                indexed?.route.id == scanned?.route.id,
                "\(request.method) \(request.target) \(request.host ?? "nil") seed \(seed)")
            #expect(indexed?.upstreamPath == scanned?.upstreamPath)
            #expect(indexed?.captures == scanned?.captures)
        }
    }
}

/// Odd routes and odd requests: the router answers (possibly nothing) and never traps.
@Suite struct RobustnessTests {
    static let oddRoutes: [RouteDefinition] = [
        route(1, paths: ["", "~", "~(", "/%", "~/(?<uri_postfix>x)"]),
        route(2, hosts: ["", "*", ":80", "[::1]", "*.", ".*", "a*b", "*:x", "[*]"]),
        route(3, headers: [("", [""]), ("x", []), ("host", ["a"]), ("y", ["~*("])]),
        route(
            4, snis: [".", "", "*"], sources: [.init(ip: "not-an-ip"), .init(ip: "10.0.0.0/99")],
            destinations: [.init()]),
        route(5, hosts: [], paths: [], methods: [""], headers: [], snis: []),
        RouteDefinition(id: ""), RouteDefinition(id: "x", paths: ["/dup"]), RouteDefinition(id: "x", paths: ["/dup"]),
    ]

    static let oddRequests: [RouteRequest] = [
        RouteRequest(target: ""), RouteRequest(target: "*"), RouteRequest(target: "?"), RouteRequest(target: "??x"),
        RouteRequest(target: "%", host: ":"), RouteRequest(target: "/%G1/%/../..", host: "["),
        RouteRequest(target: "/a\u{0}b", host: "[::1]:"),
        RouteRequest(target: String(repeating: "/x", count: 5_000), host: "h:99999999999"),
        RouteRequest(
            method: "", target: "/dup", host: "", scheme: .https, sni: "", headers: [.init("", ""), .init("X", "~*(")]),
        RouteRequest(target: "/é/%E2%82%AC/%FF", host: "ÉXAMPLE.com", headers: [.init("y", "(")]),
    ]

    @Test(arguments: Router.Flavor.allCases)
    func neverTraps(_ flavor: Router.Flavor) {
        for subsystem in [Router.Subsystem.http, .stream] {
            let router = Router(routes: Self.oddRoutes, services: [specService], flavor: flavor, subsystem: subsystem)
            let empty = Router(routes: [], services: [], flavor: flavor, subsystem: subsystem)
            for r in Self.oddRequests {
                let m = router.match(r)
                _ = m?.upstreamTarget
                _ = m?.prefix
                _ = m?.postfix
                #expect(router.matchByScan(r)?.route.id == m?.route.id)
                #expect(empty.match(r) == nil)
                _ = router.explain(r)
            }
        }
    }
}
