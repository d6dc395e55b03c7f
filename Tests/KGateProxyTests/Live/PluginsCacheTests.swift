import Testing

/// proxy-cache through the proxy (spec/03-plugins/31-proxy-cache/02-access_spec.lua): a miss
/// is proxied and stored, the next request is answered from the cache.
@Suite("Plugins live: proxy-cache", .serialized)
struct PluginsCacheTests {
    @Test("proxy-cache: Miss, then Hit without calling the upstream; Bypass for other methods and types")
    func missThenHit() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [cache.test]
                    plugins:
                    - name: proxy-cache
                      config: {strategy: memory, request_method: [GET, POST], content_type: [text/plain], vary_query_params: [a]}
                """
            try await withProxy(yaml) { proxy in
                let first = try await proxy.get("/echo?a=1&b=2", host: "cache.test")
                #expect(first.status == 200)
                #expect(first.header("X-Cache-Status") == "Miss")
                let key = try #require(first.header("X-Cache-Key"))
                #expect(key.count == 64)
                #expect(first.header("Content-Length") == String(first.body.count))
                let second = try await proxy.get("/echo?a=1&b=3", host: "cache.test")
                #expect(second.header("X-Cache-Status") == "Hit")
                #expect(second.header("X-Cache-Key") == key)
                #expect(second.header("Age") != nil)
                #expect(second.text == first.text)
                // Stored as the upstream sent it; nginx's charset filter adds the charset to both.
                #expect(first.header("Content-Type") == "text/plain; charset=UTF-8")
                #expect(second.header("Content-Type") == "text/plain; charset=UTF-8")
                #expect(ups[0].requests.count == 1)
                // A hit counts as proxied (Kong's "displays Kong core headers" cases): the
                // latencies and Via, no response latency; the stored Date and Server are kept.
                #expect(second.header("X-Kong-Proxy-Latency")?.allSatisfy(\.isNumber) == true)
                #expect(second.header("X-Kong-Upstream-Latency")?.allSatisfy(\.isNumber) == true)
                #expect(second.headers("Via") == ["1.1 kong/3.10.0"])
                #expect(second.header("X-Kong-Response-Latency") == nil)
                #expect(second.headers("Date") == [try #require(first.header("Date"))])
                #expect(second.headers("Server") == first.headers("Server"))
                #expect(second.headers("X-Kong-Request-Id").count == 1)
                #expect(second.header("X-Kong-Request-Id") != first.header("X-Kong-Request-Id"))

                // Another query value is another entry.
                #expect(try await proxy.get("/echo?a=2", host: "cache.test").header("X-Cache-Status") == "Miss")
                // A JSON body is not text/plain: bypassed (and not stored).
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                try await c.send(ProxyHarness.request("POST", "/json", host: "cache.test", body: #"{"x":1}"#))
                let json = try await c.readResponse()
                #expect(json.header("X-Cache-Status") == "Bypass")
                // A method not configured: bypassed before the cache is looked at.
                let put = try await proxy.client()
                defer { Task { await put.close() } }
                try await put.send(ProxyHarness.request("PUT", "/echo", host: "cache.test", body: "x"))
                #expect(try await put.readResponse().header("X-Cache-Status") == "Bypass")
            }
        }
    }
}
