import NIOCore
import Testing

@testable import KGateProxy

@Suite("Routing and proxying", .serialized)
struct RoutingTests {
    @Test("requests reach the matched service, paths joined and query strings kept as sent")
    func proxiesToService() async throws {
        try await withUpstreams(["a", "b"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: a
                  url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/a]
                - name: b
                  url: http://127.0.0.1:\(ups[1].port)/base
                  routes:
                  - paths: [/b]
                    strip_path: false
                """
            try await withProxy(yaml) { proxy in
                let ra = try await proxy.get("/a/x?q=1&r=%20&s")
                #expect(ra.status == 200)
                #expect(ra.header("X-Upstream") == "a")
                #expect(EchoedRequest(ra).requestLine == "GET /x?q=1&r=%20&s")
                let empty = try await proxy.get("/a/x?")
                #expect(EchoedRequest(empty).requestLine == "GET /x?")
                let rb = try await proxy.get("/b/y")
                #expect(rb.header("X-Upstream") == "b")
                #expect(EchoedRequest(rb).requestLine == "GET /base/b/y")
                let none = try await proxy.get("/nothing")
                #expect(none.status == 404)
                #expect(none.text.contains("no Route matched with those values"))
            }
        }
    }

    @Test("a reload switches routes for the next request")
    func reload() async throws {
        try await withUpstreams(["a", "b"]) { ups in
            func yaml(_ port: Int) -> String {
                "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:\(port)\n  routes:\n  - paths: [/]\n"
            }
            try await withProxy(yaml(ups[0].port)) { proxy in
                #expect(try await proxy.get("/").header("X-Upstream") == "a")
                try ProxyHarness.install(yaml(ups[1].port), in: proxy.store)
                #expect(try await proxy.get("/").header("X-Upstream") == "b")
            }
        }
    }

    @Test("a kept-alive connection's repeated request is routed by the config in force: after a reload, and by Host")
    func keptAliveConnectionRoutesAgain() async throws {
        try await withUpstreams(["a", "b"]) { ups in
            func yaml(_ port: Int, other: Int) -> String {
                "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:\(port)\n  routes:\n  - paths: [/]\n"
                    + "- name: t\n  url: http://127.0.0.1:\(other)\n  routes:\n  - hosts: [t.test]\n"
            }
            try await withProxy(yaml(ups[0].port, other: ups[1].port)) { proxy in
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                func upstream(_ host: String) async throws -> String? {
                    try await c.send(ProxyHarness.request("GET", "/r?x=1", host: host))
                    return try await c.readResponse().header("X-Upstream")
                }
                #expect(try await upstream("any.test") == "a")
                #expect(try await upstream("any.test") == "a")
                #expect(try await upstream("t.test") == "b")
                #expect(try await upstream("any.test") == "a")
                try ProxyHarness.install(yaml(ups[1].port, other: ups[0].port), in: proxy.store)
                #expect(try await upstream("any.test") == "b")
                #expect(try await upstream("t.test") == "a")
                #expect(try await upstream("any.test") == "b")
                // A config where the same request matches no route any more.
                let hostsOnly = "_format_version: \"3.0\"\nservices:\n- name: t\n  url: http://127.0.0.1:\(ups[1].port)\n"
                    + "  routes:\n  - hosts: [t.test]\n"
                try ProxyHarness.install(hostsOnly, in: proxy.store)
                try await c.send(ProxyHarness.request("GET", "/r?x=1", host: "any.test"))
                #expect(try await c.readResponse().status == 404)
            }
        }
    }

    @Test("a route without service answers 503; https-only routes answer 426")
    func outcomes() async throws {
        let yaml = """
            _format_version: "3.0"
            routes:
            - name: lonely
              paths: [/lonely]
            services:
            - name: s
              url: http://127.0.0.1:1
              routes:
              - paths: [/secure]
                protocols: [https]
            """
        try await withProxy(yaml) { proxy in
            let lonely = try await proxy.get("/lonely")
            #expect(lonely.status == 503)
            #expect(lonely.text.contains("no Service found with those values"))
            let secure = try await proxy.get("/secure")
            #expect(secure.status == 426)
            #expect(secure.text.contains("Please use HTTPS protocol"))
            #expect(secure.header("Upgrade") == "TLS/1.2, HTTP/1.1")
        }
    }

    @Test("HEAD, 204 and an HTTP/1.0 upstream without length")
    func framings() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = ProxyHarness.oneService(port: ups[0].port)
            try await withProxy(yaml) { proxy in
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("HEAD", "/bytes/100"))
                let head = try await c.readResponse(headRequest: true)
                #expect(head.status == 200)
                #expect(head.header("Content-Length") == "100")
                try await c.send(ProxyHarness.request("GET", "/status/204"))
                #expect(try await c.readResponse().status == 204)
                try await c.send(ProxyHarness.request("GET", "/http10"))
                let old = try await c.readResponse()
                #expect(old.chunked)
                #expect(old.text == "old style body")
                try await c.send(ProxyHarness.request("GET", "/echo"))
                #expect(try await c.readResponse().status == 200)
                await c.close()

                // An HTTP/1.0 client gets a chunked upstream body de-chunked, then a close.
                let old10 = try await proxy.client()
                try await old10.send("GET /chunked/10 HTTP/1.0\r\nHost: x\r\n\r\n")
                let r = try await old10.readResponse()
                #expect(r.body.count == 10)
                #expect(!r.chunked)
                #expect(await old10.waitForClose())
            }
        }
    }

    /// 02-router_spec 'requests without Host header': HTTP/1.0 without `Host` routes normally;
    /// nginx's `$host` is then the server's name (`kong`), and with `preserve_host` Kong sends
    /// the target's Host as there is nothing to preserve. A trailing dot is not part of `$host`.
    @Test("HTTP/1.0 without Host: X-Forwarded-Host is the server name, preserve_host keeps the target's Host")
    func http10WithoutHost() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = ProxyHarness.oneService(port: ups[0].port) + "    preserve_host: true\n"
            try await withProxy(yaml) { proxy in
                let c = try await proxy.client()
                try await c.send("GET /kept HTTP/1.0\r\n\r\n")
                let r = try await c.readResponse()
                #expect(r.status == 200)
                let echoed = EchoedRequest(r)
                #expect(echoed.header("Host") == "127.0.0.1:\(ups[0].port)")
                #expect(echoed.header("X-Forwarded-Host") == "kong")
                await c.close()
                let dotted = try await proxy.get("/kept", host: "Example.COM.:8080")
                #expect(EchoedRequest(dotted).header("Host") == "Example.COM.:8080")
                #expect(EchoedRequest(dotted).header("X-Forwarded-Host") == "example.com")
                let absolute = try await proxy.client()
                try await absolute.send("GET http://Example.ORG.:99/kept HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(EchoedRequest(try await absolute.readResponse()).header("X-Forwarded-Host") == "example.org")
                await absolute.close()
            }
        }
    }

    @Test("DNS names resolve; unknown names answer Kong's 503")
    func dns() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://localhost:\(ups[0].port)
                  routes:
                  - paths: [/local]
                - url: http://no-such-host.invalid:80
                  routes:
                  - paths: [/nowhere]
                """
            try await withProxy(yaml) { proxy in
                let ok = try await proxy.get("/local")
                #expect(ok.status == 200)
                #expect(EchoedRequest(ok).header("Host") == "localhost:\(ups[0].port)")
                let bad = try await proxy.get("/nowhere")
                #expect(bad.status == 503)
                #expect(bad.text.contains("name resolution failed"))
            }
        }
    }
}
