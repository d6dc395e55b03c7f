import Testing

@testable import KGateProxy

/// response-ratelimiting through the proxy, against Kong's
/// spec/03-plugins/24-response-rate-limiting/04-access_spec.lua: the upstream spends limits
/// with `X-Kong-Limit`, and a response spending a limit with nothing left is replaced by an
/// empty 429 whose connection stays usable.
@Suite("Plugins live: response-ratelimiting", .serialized)
struct PluginsResponseRateLimitingTests {
    private func yaml(_ port: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - hosts: [test1.test]
            plugins:
            - name: response-ratelimiting
              config: {limit_by: ip, limits: {video: {hour: 3}, image: {hour: 5}}}
          - hosts: [test7.test]
            plugins:
            - name: response-ratelimiting
              config: {limit_by: ip, block_on_first_violation: true, limits: {video: {hour: 6}, image: {hour: 4}}}
          - hosts: [test9.test]
            plugins:
            - name: response-ratelimiting
              config: {limit_by: ip, hide_client_headers: true, limits: {video: {hour: 1}}}
        """
    }

    @Test("counts what the upstream spends, refuses with an empty 429 on a kept-alive connection")
    func spendsAndRefuses() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 3600, margin: 5)
                let client = try await proxy.client()
                defer { Task { await client.close() } }
                func get(_ path: String, host: String = "test1.test") async throws -> RawResponse {
                    try await client.send(ProxyHarness.request("GET", path, host: host))
                    return try await client.readResponse()
                }
                var remaining: [String?] = []
                for _ in 0..<3 {
                    let r = try await get("/response-headers?x-kong-limit=video%3D1")
                    #expect(r.status == 200)
                    #expect(r.text == "response-headers")
                    #expect(r.header("X-RateLimit-Limit-video-hour") == "3")
                    #expect(r.header("X-RateLimit-Limit-image-hour") == "5")
                    #expect(r.header("X-Kong-Limit") == nil)
                    remaining.append(r.header("X-RateLimit-Remaining-video-hour"))
                }
                #expect(remaining == ["2", "1", "0"])
                let seen = ups[0].requests.suffix(3).map { $0.head.headers.first(name: "X-RateLimit-Remaining-video") }
                #expect(seen == ["3", "2", "1"])

                // Nothing left: the upstream's body is dropped for an empty 429.
                let refused = try await get("/response-headers?x-kong-limit=video%3D1")
                #expect(refused.status == 429)
                #expect(refused.header("Content-Length") == "0")
                #expect(refused.body.isEmpty)
                #expect(refused.header("X-RateLimit-Remaining-video-hour") == "0")
                #expect(refused.header("X-Kong-Limit") == nil)
                // A chunked upstream body too.
                let chunked = try await get("/response-headers?x-kong-limit=video%3D2&_chunked=1")
                #expect(chunked.status == 429)
                #expect(!chunked.chunked)
                #expect(chunked.body.isEmpty)
                // Spending nothing, or another limit, still passes; the connection is intact.
                let free = try await get("/response-headers")
                #expect(free.status == 200)
                #expect(free.text == "response-headers")
                // Two X-Kong-Limit headers: each value is one pair, the last for a name wins
                // (Kong's `parse_header` on the header's table).
                let both = try await get("/response-headers?x-kong-limit=image%3D2&x-kong-limit=image%3D1")
                #expect(both.status == 200)
                #expect(both.header("X-RateLimit-Remaining-image-hour") == "4")
            }
        }
    }

    @Test("block_on_first_violation answers Kong's 429 message in access; hide_client_headers")
    func blockAndHide() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 3600, margin: 5)
                let first = try await proxy.get("/response-headers?x-kong-limit=video%3D2%2C%20image%3D4", host: "test7.test")
                #expect(first.status == 200)
                let before = ups[0].requests.count
                let blocked = try await proxy.get("/response-headers?x-kong-limit=video%3D2", host: "test7.test")
                #expect(blocked.status == 429)
                #expect(blocked.message == "API rate limit exceeded for 'image'")
                #expect(ups[0].requests.count == before)

                let hidden = try await proxy.get("/response-headers?x-kong-limit=video%3D1", host: "test9.test")
                #expect(hidden.status == 200)
                #expect(hidden.header("X-RateLimit-Remaining-video-hour") == nil)
                #expect(hidden.header("X-RateLimit-Limit-video-hour") == nil)
                #expect(hidden.header("X-Kong-Limit") == nil)
                let refused = try await proxy.get("/response-headers?x-kong-limit=video%3D1", host: "test9.test")
                #expect(refused.status == 429)
                #expect(refused.header("X-RateLimit-Remaining-video-hour") == nil)
            }
        }
    }
}
