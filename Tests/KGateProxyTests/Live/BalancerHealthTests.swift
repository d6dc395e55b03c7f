import KGateStore
import NIOCore
import NIOPosix
import Testing

@testable import KGateProxy

@Suite("Kong's balancer algorithms and health checks, live", .serialized)
struct BalancerHealthTests {
    /// A port nothing listens on (bound, then closed): connections to it are refused. Take it
    /// after the test's upstreams listen: a port freed before they bind may become theirs.
    static func refusedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: TestLoops.group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    static func balancer(_ proxy: ProxyHarness, _ name: String = "pool") -> Balancer? {
        proxy.store.current.artifact(for: ProxyPlansBuilder.self)?.balancers[name]
    }

    /// The health of the pool's address on `port`.
    static func isHealthy(_ proxy: ProxyHarness, port: Int) -> Bool? {
        guard let page = balancer(proxy)?.page, let index = page.addresses.firstIndex(where: { $0.port == port }) else {
            return nil
        }
        return page.health?[index].isHealthy
    }

    static func pool(_ targets: [Int], upstream extra: String = "", path: String = "/") -> String {
        """
        _format_version: "3.0"
        upstreams:
        - name: pool
        \(extra.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
          targets:
        \(targets.map { "  - target: 127.0.0.1:\($0)" }.joined(separator: "\n"))
        services:
        - host: pool
          retries: 5
          routes:
          - paths: [\(path)]
        """
    }

    @Test("passive checks: a target refusing connections is marked unhealthy after tcp_failures and skipped")
    func passiveTCPFailures() async throws {
        try await withUpstreams(["live"]) { ups in
            // Taken while the upstream listens, so the kernel cannot give it that port.
            let refused = try await Self.refusedPort()
            let yaml = Self.pool(
                [refused, ups[0].port],
                upstream: """
                    healthchecks:
                      passive:
                        unhealthy:
                          tcp_failures: 2
                    """)
            try await withProxy(yaml) { proxy in
                #expect(Self.isHealthy(proxy, port: refused) == true)
                for _ in 0..<6 {
                    let r = try await proxy.get("/echo")
                    #expect(r.status == 200)
                    #expect(r.header("X-Upstream") == "live")
                }
                #expect(Self.isHealthy(proxy, port: refused) == false)
                #expect(Self.isHealthy(proxy, port: ups[0].port) == true)
                // Marked down, it is no longer tried: no new connect failure is logged.
                let failures = proxy.errors.messages.filter { $0.contains("connect() failed") }.count
                for _ in 0..<4 { #expect(try await proxy.get("/echo").status == 200) }
                #expect(proxy.errors.messages.filter { $0.contains("connect() failed") }.count == failures)
            }
        }
    }

    @Test("passive checks: http_failures count the upstream's statuses; with every target down the upstream answers 503")
    func passiveHTTPFailures() async throws {
        try await withUpstreams(["a"]) { ups in
            let yaml = Self.pool(
                [ups[0].port],
                upstream: """
                    healthchecks:
                      passive:
                        unhealthy:
                          http_failures: 2
                    """)
            try await withProxy(yaml) { proxy in
                #expect(try await proxy.get("/status/500").status == 500)
                #expect(try await proxy.get("/status/404").status == 404)  // not in the unhealthy list
                #expect(Self.isHealthy(proxy, port: ups[0].port) == true)
                #expect(try await proxy.get("/status/503").status == 503)
                #expect(Self.isHealthy(proxy, port: ups[0].port) == false)
                let r = try await proxy.get("/echo")
                #expect(r.status == 503)
                #expect(r.text.contains("failure to get a peer from the ring-balancer"))
            }
        }
    }

    @Test("active checks: probes (the configured path) mark a dead target unhealthy; traffic goes to the live one")
    func activeProbes() async throws {
        try await withUpstreams(["live"]) { ups in
            // Taken while the upstream listens, so the kernel cannot give it that port.
            let refused = try await Self.refusedPort()
            let yaml = Self.pool(
                [refused, ups[0].port],
                upstream: """
                    healthchecks:
                      active:
                        http_path: /status/200
                        timeout: 1
                        healthy:
                          interval: 0.1
                          successes: 1
                        unhealthy:
                          interval: 0.1
                          tcp_failures: 1
                    """)
            try await withProxy(yaml) { proxy in
                // Both rounds start together: wait for the dead target's verdict and the live
                // target's first probe, whichever lands last.
                func probes() -> Int { ups[0].requests.filter { $0.head.uri == "/status/200" }.count }
                var waited = 0
                while Self.isHealthy(proxy, port: refused) != false || probes() == 0, waited < 50 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                #expect(Self.isHealthy(proxy, port: refused) == false)
                #expect(Self.isHealthy(proxy, port: ups[0].port) == true)
                // The live target was probed with the configured path.
                #expect(probes() > 0)
                for _ in 0..<4 { #expect(try await proxy.get("/echo").header("X-Upstream") == "live") }
                #expect(!proxy.errors.messages.contains { $0.contains("connect() failed") })
            }
        }
    }

    @Test("a target named by a host is resolved before traffic: probed, reported with its address, its health settable")
    func namedTargetResolvedBeforeTraffic() async throws {
        try await withUpstreams(["named"]) { ups in
            let resolver = ScriptedResolver()
            resolver.answer("named.test", ["127.0.0.1"])
            let yaml = """
                _format_version: "3.0"
                upstreams:
                - name: pool
                  healthchecks:
                    active:
                      http_path: /status/200
                      healthy: {interval: 0.1, successes: 1}
                      unhealthy: {interval: 0, http_failures: 1}
                  targets: [{target: "named.test:\(ups[0].port)"}]
                services:
                - host: pool
                  routes: [{paths: [/]}]
                """
            try await withProxy(yaml, resolver: resolver) { proxy in
                var waited = 0
                while ups[0].requests.isEmpty, waited < 100 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                let probe = try #require(ups[0].requests.first)
                #expect(probe.head.uri == "/status/200")
                #expect(probe.head.headers["Host"] == ["named.test"])
                let plans = try #require(proxy.store.current.artifact(for: ProxyPlansBuilder.self))
                let id = try #require(Self.balancer(proxy)?.id)
                let health = try #require(plans.targetHealth(upstreamID: id))
                let addresses = health.byTarget["named.test:\(ups[0].port)"]?["addresses"]?.arrayValue ?? []
                #expect(addresses.first?["ip"] == "127.0.0.1")
                #expect(addresses.first?["health"] == "HEALTHY")
                // An address given by name sets every address of the target.
                #expect(plans.setTargetHealth(
                    upstreamID: id, target: "named.test:\(ups[0].port)", address: "named.test:\(ups[0].port)",
                    healthy: false) == nil)
                #expect(Self.isHealthy(proxy, port: ups[0].port) == false)
                let status = try #require(plans.balancerHealth(upstreamID: id))
                let host = status["details"]?["hosts"]?.arrayValue?.first
                #expect(host?["addresses"]?.arrayValue?.first?["healthy"] == .bool(false))
            }
        }
    }

    @Test("consistent hashing on a header: each value always reaches the same target")
    func hashOnHeader() async throws {
        try await withUpstreams(["a", "b", "c"]) { ups in
            let yaml = Self.pool(
                ups.map(\.port),
                upstream: """
                    hash_on: header
                    hash_on_header: X-User
                    """)
            try await withProxy(yaml) { proxy in
                var seen: Set<String> = []
                for user in 0..<12 {
                    var targets: Set<String> = []
                    for _ in 0..<3 {
                        let r = try await proxy.get("/echo", headers: [("X-User", "user-\(user)")])
                        targets.insert(r.header("X-Upstream") ?? "")
                    }
                    #expect(targets.count == 1)
                    seen.formUnion(targets)
                }
                #expect(seen.count >= 2)
                #expect(Self.balancer(proxy)?.algorithm == .consistentHashing)
            }
        }
    }

    @Test("consistent hashing on a uri capture: a named group; \"1\" names no group, so the fallback hashes")
    func hashOnURICapture() async throws {
        try await withUpstreams(["a", "b", "c"]) { ups in
            func targets(capture: String) async throws -> [Set<String>] {
                let yaml = Self.pool(
                    ups.map(\.port),
                    upstream: """
                        hash_on: uri_capture
                        hash_on_uri_capture: "\(capture)"
                        hash_fallback: header
                        hash_fallback_header: X-Key
                        """,
                    path: #""~/u/(?<user>[a-z0-9-]+)""#)
                return try await withProxy(yaml) { proxy in
                    var perUser: [Set<String>] = []
                    for user in 0..<12 {
                        var seen: Set<String> = []
                        for _ in 0..<2 {
                            let r = try await proxy.get("/u/user-\(user)/echo", headers: [("X-Key", "same")])
                            #expect(r.status == 200)
                            seen.insert(r.header("X-Upstream") ?? "")
                        }
                        perUser.append(seen)
                    }
                    return perUser
                }
            }
            let named = try await targets(capture: "user")
            #expect(named.allSatisfy { $0.count == 1 })
            #expect(Set(named.flatMap { $0 }).count >= 2)
            // Kong reads `captures["1"]`, a string key: positional groups are keyed by number.
            let positional = try await targets(capture: "1")
            #expect(Set(positional.flatMap { $0 }).count == 1)
        }
    }

    @Test("consistent hashing on a cookie: a missing cookie is made and set; sent back, it keeps the target")
    func hashOnCookie() async throws {
        try await withUpstreams(["a", "b", "c"]) { ups in
            let yaml = Self.pool(
                ups.map(\.port),
                upstream: """
                    hash_on: cookie
                    hash_on_cookie: sticky
                    hash_on_cookie_path: /app
                    """)
            try await withProxy(yaml) { proxy in
                let first = try await proxy.get("/echo")
                let cookie = try #require(first.header("Set-Cookie"))
                #expect(cookie.hasPrefix("sticky="))
                #expect(cookie.hasSuffix("; Path=/app; Same-Site=Lax; HttpOnly"))
                let value = String(cookie.dropFirst("sticky=".count).prefix { $0 != ";" })
                for _ in 0..<4 {
                    let r = try await proxy.get("/echo", headers: [("Cookie", "sticky=\(value)")])
                    #expect(r.header("X-Upstream") == first.header("X-Upstream"))
                    #expect(r.header("Set-Cookie") == nil)
                }
            }
        }
    }

    @Test("least-connections: a target holding a slow request gets the next ones")
    func leastConnections() async throws {
        try await withUpstreams(["a", "b"]) { ups in
            let yaml = Self.pool(ups.map(\.port), upstream: "algorithm: least-connections")
            try await withProxy(yaml) { proxy in
                let slow = try await proxy.client()
                try await slow.send(ProxyHarness.request("GET", "/slow/600"))
                try await Task.sleep(for: .milliseconds(100))
                let busy = Self.balancer(proxy).map { b -> Int in
                    guard case .leastConnections(let counts) = b.page.selection else { return -1 }
                    return counts.connections(0) == 1 ? 0 : 1
                }
                let busyName = busy == 0 ? "a" : "b"
                for _ in 0..<4 {
                    let r = try await proxy.get("/echo")
                    #expect(r.status == 200)
                    #expect(r.header("X-Upstream") != busyName)
                }
                #expect(try await slow.readResponse().status == 200)
                await slow.close()
            }
        }
    }
}
