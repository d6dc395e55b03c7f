import Testing

@testable import KGateProxy

@Suite("Kong's balancer over the addresses of targets' names", .serialized)
struct BalancerDNSTests {
    /// Requests on one connection until `done` holds for a response (the names' first answers
    /// and re-queries run in the background), then `count` more, counted by upstream.
    private static func spread(_ proxy: ProxyHarness, count: Int, after done: (RawResponse) -> Bool) async throws
        -> [String: Int]
    {
        let c = try await proxy.client()
        defer { Task { await c.close() } }
        var settled = false
        for _ in 0..<100 where !settled {
            try await c.send(ProxyHarness.request("GET", "/echo"))
            settled = done(try await c.readResponse())
            if !settled { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(settled)
        var counts: [String: Int] = [:]
        for _ in 0..<count {
            try await c.send(ProxyHarness.request("GET", "/echo"))
            let r = try await c.readResponse()
            #expect(r.status == 200)
            counts[r.header("X-Upstream") ?? "?", default: 0] += 1
        }
        return counts
    }

    @Test("a name resolving to two addresses gets two shares of its weight; the wheel follows a changed answer")
    func twoAddresses() async throws {
        // "a" and "b" share a port on two loopback addresses: the name's two addresses.
        let a = TestUpstream(name: "a", group: TestLoops.group)
        try await a.start()
        let b = TestUpstream(name: "b", group: TestLoops.group)
        try await b.start(host: "127.0.0.2", port: a.port)
        let c = TestUpstream(name: "c", group: TestLoops.group)
        try await c.start()
        let resolver = ScriptedResolver()
        resolver.answer("pool.test", ["127.0.0.2", "127.0.0.1"], ttl: .seconds(1))
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: pool
              targets:
              - target: pool.test:\(a.port)
                weight: 20
              - target: 127.0.0.1:\(c.port)
                weight: 40
            - name: missing
              targets:
              - target: missing.test:80
            services:
            - host: pool
              routes:
              - paths: [/]
            - host: missing
              routes:
              - paths: [/missing]
            """
        do {
            try await withProxy(yaml, resolver: resolver) { proxy in
                // 20 + 20 for the name's addresses, 40 for the IP target.
                let counts = try await Self.spread(proxy, count: 40) { $0.header("X-Upstream") != "c" }
                #expect(counts == ["a": 10, "b": 10, "c": 20])
                // Every address of the name sends the target's name as Host.
                let r = try await proxy.get("/echo")
                if r.header("X-Upstream") != "c" { #expect(EchoedRequest(r).header("Host") == "pool.test:\(a.port)") }

                // The name now resolves to one address: once re-asked (TTL 1 s), "a" gets nothing.
                resolver.answer("pool.test", ["127.0.0.2"], ttl: .seconds(1))
                try await Task.sleep(for: .milliseconds(1100))
                var seen = 0
                let after = try await Self.spread(proxy, count: 30) { r in
                    seen = r.header("X-Upstream") == "a" ? 0 : seen + 1
                    return seen >= 4
                }
                #expect(after == ["b": 10, "c": 20])

                let missing = try await proxy.get("/missing")
                #expect(missing.status == 503)
                #expect(missing.text.contains("failure to get a peer from the ring-balancer"))
            }
        } catch {
            Issue.record(error)
        }
        #expect(resolver.queries.contains("missing.test"))
        for u in [a, b, c] { await u.stop() }
    }
}
