import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

@Suite("WebSocket tunnels, bad input over sockets, graceful shutdown", .serialized)
struct TunnelAndShutdownTests {
    private func yaml(_port: Int) -> String {
        ProxyHarness.oneService(port: _port)
    }

    @Test("a WebSocket upgrade becomes a byte tunnel: frames echo through the gateway")
    func websocket() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(
                    "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                let r = try await c.readResponse()
                #expect(r.status == 101)
                #expect(r.header("Upgrade") == "websocket")
                #expect(r.header("Connection") == "upgrade")
                let upstreamSaw = ups[0].requests.last?.head.headers
                #expect(upstreamSaw?["Connection"].first == "keep-alive, Upgrade")
                #expect(upstreamSaw?["Upgrade"].first == "websocket")
                for message in ["hello", String(repeating: "z", count: 100_000)] {
                    try await c.send(message)
                    let echoed = try await c.readBytes(message.utf8.count)
                    #expect(String(decoding: echoed, as: UTF8.self) == message)
                }
                await c.close()
            }
        }
    }

    @Test("an upgrade the upstream declines is a plain response: the connection stays open, as nginx keeps it")
    func declinedUpgrade() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                let declined = try await c.readResponse()
                #expect(declined.status == 200)
                #expect(declined.header("Connection") == "keep-alive")
                try await c.send(ProxyHarness.request("GET", "/echo"))
                #expect(try await c.readResponse().status == 200)
                await c.close()
            }
        }
    }

    @Test(
        "bad input over a socket: 400/414 and a close, and the gateway keeps serving",
        arguments: [
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
            ("GET /\(String(repeating: "a", count: 10000)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("\u{0}\u{1}\u{2}\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("GET Wx HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            // Paths nginx refuses: above the root, a NUL, a broken escape.
            ("GET /a/%2e%2e/../x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /a%zz?b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            // Headers nginx takes once; a bad Host refused before the head ends.
            ("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a b\r\nX-", 400),
            // Refused at the first impossible byte, without waiting for the head's end.
            ("GET / HTT#P/1.1\r\nHost: x\r\n", 400),
            ("GET / HTTP/5.1\r\nHo", 505),
            ("GET /\(String(repeating: "a", count: 10000)) HTT#", 400),
        ] as [(String, Int)])
    func badInput(_ bytes: String, _ status: Int) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(bytes)
                let r = try await c.readResponse()
                #expect(r.status == status)
                #expect(await c.waitForClose())
                #expect(try await proxy.get("/echo").status == 200)
                #expect(ups[0].requests.allSatisfy { $0.head.uri == "/echo" })
            }
        }
    }

    /// Kong users raise `large_client_header_buffers` for large cookies and tokens: kong.conf's
    /// `nginx_proxy_large_client_header_buffers` sets the line and head limits.
    @Test("nginx_proxy_large_client_header_buffers raises the header line and request line limits")
    func largeClientHeaderBuffers() async throws {
        var settings = NodeSettings()
        settings.nginxHttpLargeClientHeaderBuffers = try #require(HeaderBuffers("2 16k"))
        let token = String(repeating: "t", count: 12_000)
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send("GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
                #expect(try await c.readResponse().status == 400)
            }
            try await withProxy(yaml(_port: ups[0].port), settings: settings) { proxy in
                let c = try await proxy.client()
                try await c.send("GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
                let r = try await c.readResponse()
                #expect(r.status == 200)
                #expect(EchoedRequest(r).header("Authorization") == "Bearer \(token)")
                try await c.send("GET /echo?q=\(token) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await c.readResponse().status == 200)
                // Two buffers: a head over 32k is refused whatever its lines.
                let many = (0..<3).map { "X-\($0): \(token)\r\n" }.joined()
                try await c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\(many)\r\n")
                #expect(try await c.readResponse().status == 400)
                let long = try await proxy.client()
                try await long.send("GET /\(String(repeating: "a", count: 17_000)) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await long.readResponse().status == 414)
            }
        }
    }

    @Test(
        "a refused request's answer survives what the client still sends: the gateway lingers, dropping input, until the client closes",
        arguments: [
            ("OPTIONS * HTTP/1.1\r\nHost: x\r\n", 400),
            ("POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n", 413),
        ] as [(String, Int)])
    func lingeringClose(_ head: String, _ status: Int) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port), configure: { $0.clientMaxBodySize = 1024 }) { proxy in
                // A client that writes everything before it reads (curl uploading a file):
                // closing at once, the gateway would leave bytes unread, the kernel would reset
                // the connection, and the client's writes would fail before it read the answer.
                let bytes = Array(head.utf8) + [UInt8](repeating: 0x61, count: 1 << 20)
                let (sent, received, closed) = try BlockingSocket.exchange(port: proxy.port, send: bytes, pause: .milliseconds(100))
                #expect(sent == bytes.count)
                #expect(closed, "the connection was reset")
                #expect(String(decoding: received.prefix(12), as: UTF8.self) == "HTTP/1.1 \(status)")
                #expect(try await proxy.get("/echo").status == 200)
            }
        }
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(_port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(
                    ProxyHarness.request("GET", "/echo?1") + ProxyHarness.request("POST", "/upload", body: "abc")
                        + ProxyHarness.request("GET", "/echo?3"))
                #expect(EchoedRequest(try await c.readResponse()).requestLine == "GET /echo?1")
                #expect(try await c.readResponse().text.hasPrefix("3 "))
                #expect(EchoedRequest(try await c.readResponse()).requestLine == "GET /echo?3")
                await c.close()
            }
        }
    }

    @Test("graceful shutdown: in-flight requests finish, idle connections close, new ones are refused")
    func gracefulShutdown() async throws {
        try await withUpstreams(["u"]) { ups in
            let proxy = try await ProxyHarness.start(yaml(_port: ups[0].port))
            let idle = try await proxy.client()
            try await idle.send(ProxyHarness.request("GET", "/echo"))
            #expect(try await idle.readResponse().status == 200)
            let busy = try await proxy.client()
            try await busy.send(ProxyHarness.request("GET", "/slow/300"))
            // In flight once the upstream has it (a request still in the socket is not).
            for _ in 0..<2000 where !ups[0].requests.contains(where: { $0.head.uri == "/slow/300" }) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let shutdown = Task { await proxy.server.shutdown(gracePeriod: .seconds(5)) }
            #expect(await idle.waitForClose(timeout: .seconds(2)))
            let r = try await busy.readResponse()
            #expect(r.status == 200)
            #expect(r.header("Connection") == "close")
            #expect(await busy.waitForClose())
            await shutdown.value
            await #expect(throws: (any Error).self) { _ = try await proxy.client() }
        }
    }
}
