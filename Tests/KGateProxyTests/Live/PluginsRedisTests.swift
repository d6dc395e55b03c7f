import Foundation
import KGateTestSupport
import Testing

@testable import KGateProxy

/// rate-limiting with `policy: redis` through two proxies sharing a real `redis-server` (Kong's
/// spec/03-plugins/23-rate-limiting/04-access_spec.lua with the redis strategy): the request
/// waits for Redis without blocking the loop, its body held, and the connection goes on.
@Suite("Plugins live: redis policy", .serialized)
struct PluginsRedisTests {
    private func yaml(upstream: Int, redis: Int, extra: String = "") -> String {
        """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://127.0.0.1:\(upstream)
          routes:
          # Named: without a name a route's id is random per load (as Kong's), and the
          # nodes' keys would differ.
          - name: limited
            hosts: [limited.test]
            plugins:
            - name: rate-limiting
              config: {minute: 5, policy: redis, redis: {host: 127.0.0.1, port: \(redis), timeout: 300}\(extra)}
        """
    }

    @Test("two nodes share the counts; bodies and kept-alive connections survive the wait")
    func nodesShareCounts() async throws {
        let redis = try RedisServer()
        try await withUpstreams(["u"]) { ups in
            let config = yaml(upstream: ups[0].port, redis: redis.port)
            try await withProxy(config) { a in
                try await withProxy(config) { b in
                    try await awaitRoomInWindow(period: 60, margin: 5)
                    let ca = try await a.client()
                    let cb = try await b.client()
                    defer { Task { await ca.close(); await cb.close() } }
                    func send(_ client: RawClient, _ method: String = "GET", body: String? = nil) async throws -> RawResponse {
                        try await client.send(ProxyHarness.request(method, "/", host: "limited.test", body: body))
                        return try await client.readResponse()
                    }
                    var remaining: [String?] = []
                    var statuses: [Int] = []
                    for (client, method, body) in [(ca, "GET", nil), (ca, "POST", "hello redis"), (cb, "GET", nil), (cb, "GET", nil), (cb, "GET", nil)] {
                        let r = try await send(client, method, body: body)
                        statuses.append(r.status)
                        remaining.append(r.header("X-RateLimit-Remaining-Minute"))
                    }
                    #expect(statuses == [200, 200, 200, 200, 200])
                    #expect(remaining == ["4", "3", "2", "1", "0"])
                    #expect(ups[0].requests.contains { $0.head.method == .POST && String(decoding: $0.body, as: UTF8.self) == "hello redis" })

                    // Both nodes refuse now, each on its kept-alive connection; a refused body
                    // is read and dropped, and the connection serves the next request.
                    let refused = try await send(ca, "POST", body: String(repeating: "x", count: 100_000))
                    #expect(refused.status == 429)
                    #expect(refused.text.contains("API rate limit exceeded"))
                    #expect(refused.header("Retry-After") != nil)
                    #expect(try await send(cb).status == 429)
                    #expect(try await send(ca).status == 429)
                    #expect(ups[0].requests.count == 5)
                }
            }
        }
    }

    @Test("Redis down or silent: fault_tolerant passes without headers, else Kong's 500; a client leaving mid-wait is fine")
    func redisFailures() async throws {
        try await withUpstreams(["u"]) { ups in
            // Nobody listens on the port.
            let down = try RedisServer.freePort()
            try await withProxy(yaml(upstream: ups[0].port, redis: down)) { proxy in
                let r = try await proxy.get("/", host: "limited.test")
                #expect(r.status == 200)
                #expect(r.header("X-RateLimit-Limit-Minute") == nil)
            }
            try await withProxy(yaml(upstream: ups[0].port, redis: down, extra: ", fault_tolerant: false")) { proxy in
                let r = try await proxy.get("/", host: "limited.test", headers: [("Accept", "application/json")])
                #expect(r.status == 500)
                #expect(r.text.contains("\"message\":\"An unexpected error occurred\""))
            }

            // A server that accepts and never answers: the 300 ms timeout.
            let silent = try SilentServer()
            let port = silent.port
            try await withProxy(yaml(upstream: ups[0].port, redis: port)) { proxy in
                // This client leaves while its request waits for Redis.
                let leaving = try await proxy.client()
                try await leaving.send(ProxyHarness.request("GET", "/", host: "limited.test"))
                await leaving.close()
                let started = ContinuousClock.now
                let r = try await proxy.get("/", host: "limited.test")
                #expect(r.status == 200)
                #expect(ContinuousClock.now - started >= .milliseconds(250))
                #expect(r.header("X-RateLimit-Limit-Minute") == nil)
            }
        }
    }
}
