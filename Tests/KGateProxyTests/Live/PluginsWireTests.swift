import Testing

/// Plugins and the wire: keep-alive after plugin answers, bodies plugins read (or cannot
/// read) still reaching the upstream whole, chunked request bodies rewritten, response heads
/// rewritten by `header_filter` keeping their framing.
@Suite("Plugins live: bodies, framing and keep-alive", .serialized)
struct PluginsWireTests {
    private func yaml(_ port: Int) -> String {
        """
        _format_version: "3.0"
        consumers:
        - username: bob
          keyauth_credentials:
          - key: kong
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - hosts: [body-auth.test]
            plugins:
            - name: key-auth
              config: {key_in_body: true}
          - hosts: [auth.test]
            plugins:
            - name: key-auth
          - hosts: [terminate.test]
            plugins:
            - name: request-termination
          - hosts: [transform.test]
            plugins:
            - name: request-transformer
              config: {add: {body: ["added:yes"]}}
          - hosts: [cors.test]
            plugins:
            - name: cors
            - name: correlation-id
              config: {echo_downstream: true}
        """
    }

    private func run(_ body: (ProxyHarness, TestUpstream) async throws -> Void) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in try await body(proxy, ups[0]) }
        }
    }

    /// `/upload`'s checksum of a body.
    private func checksum(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var c: UInt64 = 0
        for b in bytes { c = c &* 31 &+ UInt64(b) }
        return c
    }

    @Test("keep-alive: a body read by key-auth, a plugin's 401 and a terminated request with an unread body, on one connection")
    func keepAlive() async throws {
        try await run { proxy, _ in
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            try await c.send(
                ProxyHarness.request(
                    "POST", "/echo-body", host: "body-auth.test",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "apikey=kong&x=1"))
            let first = try await c.readResponse()
            #expect(first.status == 200)
            #expect(first.text == "apikey=kong&x=1")

            try await c.send(ProxyHarness.request("GET", "/echo", host: "auth.test"))
            let second = try await c.readResponse()
            #expect(second.status == 401)

            try await c.send(ProxyHarness.request("POST", "/echo", host: "terminate.test", body: "an unread body"))
            let third = try await c.readResponse()
            #expect(third.status == 503)

            try await c.send(ProxyHarness.request("GET", "/echo", host: "auth.test", headers: [("apikey", "kong")]))
            let fourth = try await c.readResponse()
            #expect(fourth.status == 200)
            #expect(EchoedRequest(fourth).requestLine == "GET /echo")
            #expect(!c.isClosed)
        }
    }

    @Test("pipelined requests answered by plugins come back in order")
    func pipelined() async throws {
        try await run { proxy, _ in
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            try await c.send(
                ProxyHarness.request("GET", "/echo", host: "auth.test")
                    + ProxyHarness.request("GET", "/echo", host: "auth.test", headers: [("apikey", "kong")])
                    + ProxyHarness.request("GET", "/echo", host: "terminate.test")
                    + ProxyHarness.request("GET", "/echo", host: "auth.test", headers: [("apikey", "kong")]))
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append(try await c.readResponse().status) }
            #expect(statuses == [401, 200, 503, 200])
        }
    }

    @Test("a body larger than plugins can read still reaches the upstream whole")
    func largeBodyWithBodyPlugin() async throws {
        try await run { proxy, _ in
            let body = (0..<100_000).map { _ in "abcdefghij".randomElement()! }
            let text = String(body)
            let r = try await proxy.send(
                "POST", "/upload", host: "body-auth.test",
                headers: [("apikey", "kong"), ("Content-Type", "application/x-www-form-urlencoded")], body: text)
            #expect(r.status == 200)
            #expect(r.text == "100000 \(checksum(text.utf8))")

            // The key in such a body is not found (nginx keeps it in a file).
            let inBody = try await proxy.send(
                "POST", "/upload", host: "body-auth.test", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "apikey=kong&pad=" + String(repeating: "x", count: 20_000))
            #expect(inBody.status == 401)
            #expect(inBody.message == "No API key found in request")

            // Chunked, with Expect: 100-continue.
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            try await c.send(
                "POST /echo-body HTTP/1.1\r\nHost: body-auth.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
            let interim = try await c.readResponse()
            #expect(interim.status == 100)
            try await c.send("7\r\napikey=\r\n4\r\nkong\r\n0\r\n\r\n")
            let chunked = try await c.readResponse()
            #expect(chunked.status == 200)
            #expect(chunked.text == "apikey=kong")
        }
    }

    @Test("a chunked request body rewritten by request-transformer goes up with Content-Length only")
    func chunkedRewritten() async throws {
        try await run { proxy, _ in
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            try await c.send(
                "POST /echo-body HTTP/1.1\r\nHost: transform.test\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n5\r\n:\"b\"}\r\n0\r\n\r\n")
            let r = try await c.readResponse()
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Transfer-Encoding") == nil)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            #expect(r.json?["a"] as? String == "b")
            #expect(r.json?["added"] as? String == "yes")

            // The same connection goes on.
            try await c.send(ProxyHarness.request("GET", "/echo", host: "transform.test"))
            #expect(try await c.readResponse().status == 200)
        }
    }

    @Test("header_filter keeps the framing of upstream responses (Content-Length, chunked, HEAD)")
    func responseFraming() async throws {
        try await run { proxy, _ in
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            for path in ["/bytes/100000", "/chunked/100000", "/bytes/0", "/status/204"] {
                try await c.send(ProxyHarness.request("GET", path, host: "cors.test", headers: [("Origin", "http://a.test")]))
                let r = try await c.readResponse()
                #expect(r.header("Access-Control-Allow-Origin") == "*", "\(path)")
                #expect(r.header("Kong-Request-ID") != nil, "\(path)")
                #expect(r.body.count == (path.hasSuffix("100000") ? 100_000 : 0), "\(path)")
                #expect(r.chunked == (path == "/chunked/100000"), "\(path)")
            }
            try await c.send(ProxyHarness.request("HEAD", "/bytes/500", host: "cors.test", headers: [("Origin", "http://a.test")]))
            let head = try await c.readResponse(headRequest: true)
            #expect(head.header("Content-Length") == "500")
            #expect(head.header("Access-Control-Allow-Origin") == "*")
            #expect(head.body.isEmpty)
            try await c.send(ProxyHarness.request("GET", "/echo", host: "cors.test"))
            #expect(try await c.readResponse().status == 200)
        }
    }

    @Test("an HTTP/1.0 client gets a plugin's answer and the connection closes")
    func http10() async throws {
        try await run { proxy, _ in
            let c = try await proxy.client()
            defer { Task { await c.close() } }
            try await c.send("GET /echo HTTP/1.0\r\nHost: auth.test\r\n\r\n")
            let r = try await c.readResponse()
            #expect(r.status == 401)
            #expect(r.message == "No API key found in request")
            #expect(await c.waitForClose(timeout: .seconds(2)))
        }
    }
}
