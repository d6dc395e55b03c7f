import NIOCore
import Testing

@testable import KGateProxy

@Suite("Kong's upstream and downstream headers", .serialized)
struct HeaderTests {
    private func yaml(_ port: Int) -> String {
        """
        _format_version: "3.0"
        upstreams:
        - name: with-host-header
          host_header: custom.example
          targets:
          - target: 127.0.0.1:\(port)
        services:
        - name: plain
          url: http://127.0.0.1:\(port)
          routes:
          - name: stripped
            paths: [/strip]
          - name: kept
            paths: [/keep]
            strip_path: false
          - name: preserved
            paths: [/preserve]
            preserve_host: true
        - name: balanced
          host: with-host-header
          port: 80
          routes:
          - paths: [/balanced]
        """
    }

    @Test("nginx's request grammar: an absolute-form target routes by its path with its host as $host; odd header names are dropped, a bare name goes on empty")
    func nginxRequestGrammar() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(
                    "GET http://Front.Example:81/keep/a?b=1 HTTP/1.1\r\nHost: other\r\nX.Dotted: 1\r\nBare\r\nX_Under: 2\r\n\r\n")
                let e = EchoedRequest(try await c.readResponse())
                #expect(e.requestLine == "GET /keep/a?b=1")
                #expect(e.header("X-Forwarded-Host") == "front.example")
                #expect(e.header("X-Forwarded-Path") == "/keep/a")
                #expect(e.all("X.Dotted").isEmpty)
                #expect(e.all("Bare") == [""])
                #expect(e.header("X_Under") == "2")
                // CONNECT is refused by nginx before Kong runs, as TRACE is.
                try await c.send("CONNECT /keep HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await c.readResponse().status == 405)
                await c.close()
            }
        }
    }

    @Test("X-Forwarded-*, X-Real-IP, Via, X-Kong-Request-Id and Host (untrusted client)")
    func forwardingUntrusted() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let r = try await proxy.get(
                    "/strip/path?x=1", host: "Gateway.Example:9999",
                    headers: [
                        ("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil"),
                        ("X-Forwarded-Port", "1"), ("X-Forwarded-Path", "/evil"), ("X-Real-IP", "10.9.9.9"),
                        ("Via", "1.1 front"), ("X-Kong-Request-Id", "spoofed"),
                    ])
                let e = EchoedRequest(r)
                #expect(e.requestLine == "GET /path?x=1")
                #expect(e.header("Host") == "127.0.0.1:\(ups[0].port)")
                #expect(e.header("X-Forwarded-For") == "10.0.0.1, 127.0.0.1")
                #expect(e.header("X-Forwarded-Proto") == "http")
                #expect(e.header("X-Forwarded-Host") == "gateway.example")
                #expect(e.header("X-Forwarded-Port") == String(proxy.port))
                #expect(e.header("X-Forwarded-Path") == "/strip/path")
                #expect(e.header("X-Forwarded-Prefix") == "/strip")
                #expect(e.header("X-Real-IP") == "127.0.0.1")
                #expect(e.header("Via") == "1.1 front, 1.1 kong/3.10.0")
                #expect(e.all("X-Kong-Request-Id") == [r.header("X-Kong-Request-Id")!])
                #expect(e.header("Connection") == "keep-alive")
                #expect(e.all("X-Forwarded-For").count == 1)
            }
        }
    }

    @Test("a trusted client's forwarding headers are kept")
    func forwardingTrusted() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port), configure: { $0.trustedIPs = TrustedIPs(["127.0.0.1"]) }) { proxy in
                let e = EchoedRequest(
                    try await proxy.get(
                        "/keep/a", host: "h",
                        headers: [
                            ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "front.example"),
                            ("X-Forwarded-Port", "443"), ("X-Forwarded-Path", "/orig"), ("X-Forwarded-Prefix", "/p"),
                            ("X-Real-IP", "10.0.0.7"),
                        ]))
                #expect(e.requestLine == "GET /keep/a")
                #expect(e.header("X-Forwarded-Proto") == "https")
                #expect(e.header("X-Forwarded-Host") == "front.example")
                #expect(e.header("X-Forwarded-Port") == "443")
                #expect(e.header("X-Forwarded-Path") == "/orig")
                #expect(e.header("X-Forwarded-Prefix") == "/p")
                #expect(e.header("X-Real-IP") == "10.0.0.7")
                #expect(e.header("X-Forwarded-For") == "10.0.0.7")
            }
        }
    }

    @Test("preserve_host, host_header, no prefix when not stripped")
    func host() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let preserved = EchoedRequest(try await proxy.get("/preserve", host: "client.example:8000"))
                #expect(preserved.header("Host") == "client.example:8000")
                let balanced = EchoedRequest(try await proxy.get("/balanced"))
                #expect(balanced.header("Host") == "custom.example:\(ups[0].port)")
                let kept = EchoedRequest(try await proxy.get("/keep"))
                #expect(kept.header("X-Forwarded-Prefix") == nil)
            }
        }
    }

    @Test("hop-by-hop request headers are removed, others kept")
    func hopByHopRequest() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let e = EchoedRequest(
                    try await proxy.get(
                        "/keep", host: "h",
                        headers: [
                            ("Connection", "X-Foo, X-Bar"), ("Keep-Alive", "timeout=5"), ("Proxy", "remove-me"),
                            ("Proxy-Connection", "close"), ("Proxy-Authorization", "Basic YQ=="),
                            ("TE", "trailers, deflate;q=0.5"), ("Upgrade", "example/1"), ("X-Foo", "x"), ("X-Bar", "y"),
                            ("X-Foo-Bar", "Keep-Me"), ("Close", "Keep-Me"), ("Expect", "100-continue"),
                        ]))
                #expect(e.header("Keep-Alive") == nil)
                #expect(e.header("Proxy") == nil)
                #expect(e.header("Proxy-Connection") == nil)
                #expect(e.header("Upgrade") == nil)
                #expect(e.header("X-Foo") == nil)
                #expect(e.header("X-Bar") == nil)
                #expect(e.header("Expect") == nil)
                #expect(e.header("Proxy-Authorization") == "Basic YQ==")
                #expect(e.header("TE") == "trailers")
                #expect(e.header("X-Foo-Bar") == "Keep-Me")
                #expect(e.header("Close") == "Keep-Me")
            }
        }
    }

    @Test("downstream: hop-by-hop removed, upstream Server and Via kept, Kong's latency headers")
    func downstream() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let r = try await proxy.get("/strip/hop")
                #expect(r.status == 200)
                #expect(r.header("Keep-Alive") == nil)
                #expect(r.header("X-Foo") == nil)
                #expect(r.header("Trailer") == nil)
                #expect(r.header("Upgrade") == nil)
                #expect(r.header("X-Accel-Buffering") == nil)
                #expect(r.header("X-Keep") == "kept")
                #expect(r.header("Server") == "test-upstream")
                #expect(r.header("Via") == "1.1 upstream-proxy, 1.1 kong/3.10.0")
                #expect(r.header("Connection") == "keep-alive")
                #expect(Int(r.header("X-Kong-Upstream-Latency") ?? "") != nil)
                #expect(Int(r.header("X-Kong-Proxy-Latency") ?? "") != nil)
                #expect(r.header("X-Kong-Request-Id")?.utf8.count == 32)
                let echo = try await proxy.get("/keep")
                #expect(echo.header("Server") == "kong/3.10.0")
                #expect(echo.header("Via") == "1.1 kong/3.10.0")
            }
        }
    }

    @Test("headers = off and headers_upstream = off")
    func headersOff() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port), configure: {
                $0.responseHeaders = []
                $0.requestIDUpstream = false
            }) { proxy in
                let r = try await proxy.get("/keep")
                #expect(r.header("Via") == nil)
                #expect(r.header("X-Kong-Upstream-Latency") == nil)
                #expect(r.header("X-Kong-Request-Id") == nil)
                #expect(EchoedRequest(r).header("X-Kong-Request-Id") == nil)
                // Kong's nginx has no proxy_set_header for it then: the client's passes.
                let client = try await proxy.get("/keep", headers: [("X-Kong-Request-Id", "client_value")])
                #expect(EchoedRequest(client).all("X-Kong-Request-Id") == ["client_value"])
                let missing = try await proxy.get("/none")
                #expect(missing.header("Server") == nil)
                #expect(missing.header("X-Kong-Response-Latency") == nil)
            }
        }
    }
}
