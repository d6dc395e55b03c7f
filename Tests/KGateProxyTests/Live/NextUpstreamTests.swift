import Atomics
import KGateSettings
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import KGateProxy

/// A server that accepts connections and closes each one at once (Kong's `bad_tcp_server` of
/// spec/02-integration/05-proxy/05-dns_spec.lua), counting them.
private final class ClosingServer: Sendable {
    let channel: Channel
    private let accepted: ManagedAtomic<Int>
    var port: Int { channel.localAddress!.port! }
    var count: Int { accepted.load(ordering: .relaxed) }

    init() async throws {
        let accepted = ManagedAtomic(0)
        channel = try await ServerBootstrap(group: TestLoops.group)
            .childChannelInitializer { channel in
                accepted.wrappingIncrement(ordering: .relaxed)
                return channel.close()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.accepted = accepted
    }

    func stop() async { try? await channel.close() }
}

@Suite("nginx's proxy_next_upstream and Kong's balancer targets", .serialized)
struct NextUpstreamTests {
    /// An upstream over a closing server and a live one, `retries: 5`.
    static func closingAndLive(bad: Int, live: Int, path: String) -> String {
        """
        _format_version: "3.0"
        upstreams:
        - name: pool
          targets:
          - target: 127.0.0.1:\(bad)
          - target: 127.0.0.1:\(live)
        services:
        - host: pool
          retries: 5
          routes:
          - paths: [\(path)]
        """
    }

    @Test("an upstream that closes before answering is tried 1 + retries times, then 502 (Kong's dns spec)")
    func retriesAfterConnecting() async throws {
        let bad = try await ClosingServer()
        let yaml = """
            _format_version: "3.0"
            services:
            - name: tests-retries
              url: http://127.0.0.1:\(bad.port)
              retries: 3
              routes:
              - paths: [/]
            """
        try await withProxy(yaml) { proxy in
            let r = try await proxy.get("/")
            #expect(r.status == 502)
            #expect(bad.count == 4)
            // A POST went upstream once: nginx never passes a non-idempotent request on.
            let c = try await proxy.client()
            try await c.send(ProxyHarness.request("POST", "/", body: "x"))
            #expect(try await c.readResponse().status == 502)
            await c.close()
            #expect(bad.count == 5)
        }
        await bad.stop()
    }

    @Test("the next target answers when one closes connections; an invalid response is not retried")
    func nextTarget() async throws {
        let bad = try await ClosingServer()
        try await withUpstreams(["live"]) { ups in
            let yaml = Self.closingAndLive(bad: bad.port, live: ups[0].port, path: "/two")
            try await withProxy(yaml) { proxy in
                for _ in 0..<4 {
                    let r = try await proxy.get("/two/echo")
                    #expect(r.status == 200)
                    #expect(r.header("X-Upstream") == "live")
                }
            }
        }
        await bad.stop()
    }

    @Test("a request body is sent again to the next target when it was buffered (nginx's request buffering); a streamed one only when small")
    func retriesWithBody() async throws {
        let bad = try await ClosingServer()
        try await withUpstreams(["live"]) { ups in
            let yaml = Self.closingAndLive(bad: bad.port, live: ups[0].port, path: "/")
            try await withProxy(yaml) { proxy in
                for i in 0..<4 {
                    let c = try await proxy.client()
                    let body = "hello=\(i)"
                    try await c.send(ProxyHarness.request("PUT", "/echo-body", body: body))
                    let r = try await c.readResponse()
                    #expect(r.status == 200)
                    #expect(r.text == body)
                    await c.close()
                }
                // Larger bodies too, held in memory or in a temporary file (request buffering),
                // as nginx resends its buffered body; not once a body was streamed.
                for size in [20000, 1 << 20] {
                    for _ in 0..<4 {
                        let c = try await proxy.client()
                        try await c.send(ProxyHarness.request("PUT", "/upload", body: String(repeating: "x", count: size)))
                        let r = try await c.readResponse()
                        #expect(r.status == 200)
                        #expect(r.text.hasPrefix("\(size) "))
                        await c.close()
                    }
                }
            }
            // `request_buffering: false`: a body larger than client_body_buffer_size streams
            // and is not kept, so a failed try that sent some of it is not retried.
            try await withProxy(yaml + "\n    request_buffering: false\n") { proxy in
                var statuses: [Int] = []
                for _ in 0..<4 {
                    let c = try await proxy.client()
                    try await c.send(ProxyHarness.request("PUT", "/upload", body: String(repeating: "x", count: 20000)))
                    statuses.append(try await c.readResponse().status)
                    await c.close()
                }
                #expect(statuses.contains(502))
                #expect(statuses.contains(200))
            }
        }
        await bad.stop()
    }

    @Test("a target whose name does not resolve gets no traffic; with no other target: no peer (503)")
    func unresolvedTargets() async throws {
        try await withUpstreams(["live"]) { ups in
            let yaml = """
                _format_version: "3.0"
                upstreams:
                - name: mixed
                  targets:
                  - target: nonexistent.invalid:80
                  - target: 127.0.0.1:\(ups[0].port)
                - name: broken
                  targets:
                  - target: nonexistent.invalid:80
                services:
                - host: mixed
                  retries: 0
                  routes:
                  - paths: [/mix]
                - host: broken
                  routes:
                  - paths: [/broken]
                """
            try await withProxy(yaml) { proxy in
                for _ in 0..<4 {
                    let r = try await proxy.get("/mix/echo")
                    #expect(r.status == 200)
                }
                let r = try await proxy.get("/broken")
                #expect(r.status == 503)
                #expect(r.reason == "Service Temporarily Unavailable")
                #expect(r.text.contains("failure to get a peer from the ring-balancer"))
            }
        }
    }
}

@Suite("Request headers as Kong reads them", .serialized)
struct KongRequestHeaderTests {
    static func yaml(_ port: Int) -> String {
        ProxyHarness.oneService(port: port)
    }

    @Test("TRACE is refused with 405 before routing (nginx), with Kong's error body")
    func trace() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("TRACE", "/"))
                let r = try await c.readResponse()
                #expect(r.status == 405)
                #expect(r.reason == "Not Allowed")
                #expect(r.header("Server")?.hasPrefix("kong/") == true)
                #expect(r.text.hasPrefix("Method not allowed\nrequest_id: "))
                // nginx refuses it before deciding on keep-alive: the connection closes.
                #expect(r.header("Connection") == "close")
                #expect(await c.waitForClose())
                await c.close()
                #expect(!ups[0].requests.contains { $0.head.method == .TRACE })
            }
        }
    }

    @Test("nginx's 400s: a method that is not upper-case, an invalid Host")
    func nginxBadRequests() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port)) { proxy in
                for raw in [
                    "get / HTTP/1.1\r\nHost: a.test\r\n\r\n", "GET / HTTP/1.1\r\nHost: bad host\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: a..test\r\n\r\n", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost:\r\n\r\n",
                ] {
                    let c = try await proxy.client()
                    try await c.send(raw)
                    #expect(try await c.readResponse().status == 400, "\(raw)")
                    await c.close()
                }
                for host in ["a.test.", "[::1]:8000", "A.Test:80"] {
                    #expect(try await proxy.get("/echo", host: host).status == 200, "\(host)")
                }
                #expect(ups[0].requests.count == 3)
            }
        }
    }

    @Test("global plugins filter nginx's own 414 and 400 (Kong's error page handler), status lines as nginx")
    func globalPluginsOnNginxErrors() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = ProxyHarness.oneService(port: ups[0].port) + """
                plugins:
                - name: cors
                - name: correlation-id
                  config:
                    echo_downstream: true
                """
            try await withProxy(yaml) { proxy in
                let long = try await proxy.get("/?foo=" + String(repeating: "a", count: 10 * 1024))
                #expect(long.status == 414)
                #expect(long.reason == "Request-URI Too Large")
                #expect(long.header("Access-Control-Allow-Origin") == "*")
                #expect(long.header("Kong-Request-ID") != nil)
                let c = try await proxy.client()
                try await c.send("GET / HTTP/1.1\r\nHost: a.test\r\nX-Large: \(String(repeating: "b", count: 10 * 1024))\r\n\r\n")
                let large = try await c.readResponse()
                #expect(large.status == 400)
                #expect(large.header("Access-Control-Allow-Origin") == "*")
                await c.close()
                let raw = try await proxy.client()
                try await raw.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                #expect(try await raw.readResponse().status == 200)
                await raw.close()
            }
        }
    }

    @Test("repeated X-Forwarded-For and Via lines: Kong reads the first")
    func firstLines() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port)) { proxy in
                let r = try await proxy.get(
                    "/echo",
                    headers: [
                        ("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "2.2.2.2"), ("Via", "1.1 a"), ("Via", "1.1 b"),
                    ])
                #expect(r.text.contains("X-Forwarded-For: 1.1.1.1, 127.0.0.1\n"))
                #expect(r.text.contains("Via: 1.1 a, 1.1 kong/3.10.0\n"))
            }
        }
    }

    @Test("Upgrade: websocket goes upstream whatever Connection says; h2c never does")
    func upgrades() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port)) { proxy in
                let ws = try await proxy.get("/echo", headers: [("Upgrade", "WebSocket")])
                #expect(ws.text.contains("Connection: keep-alive, Upgrade\n"))
                #expect(ws.text.contains("Upgrade: websocket\n"))
                // The upstream declined the upgrade (200): its connection is not reused, as an
                // llhttp server (this one, Node's) stops parsing after an Upgrade request.
                let h2c = try await proxy.get("/echo", headers: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")])
                #expect(ups[0].connectionsAccepted == 2)
                #expect(h2c.status == 200)
                #expect(!h2c.text.contains("Upgrade: h2c"))
                #expect(h2c.text.contains("Connection: keep-alive\n"))
                #expect(h2c.header("Connection")?.lowercased() != "close")
            }
        }
    }

    @Test("trusted peers: X-Real-IP and X-Forwarded-For parsed as nginx's realip module")
    func realIP() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(
                Self.yaml(ups[0].port),
                configure: {
                    $0.trustedIPs = TrustedIPs(["127.0.0.1", "172.16.0.1", "192.168.0.1"])
                    $0.realIPHeader = "X-Forwarded-For"
                    $0.realIPRecursive = true
                }
            ) { proxy in
                let r = try await proxy.get(
                    "/echo",
                    headers: [("X-Forwarded-For", "127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18")])
                #expect(r.text.contains("X-Real-IP: 10.0.0.1\n"))
            }
            try await withProxy(Self.yaml(ups[0].port), configure: { $0.trustedIPs = TrustedIPs(["127.0.0.1"]) }) { proxy in
                let r = try await proxy.get("/echo", headers: [("X-Real-IP", "garbage")])
                #expect(r.text.contains("X-Real-IP: 127.0.0.1\n"))
                #expect(r.text.contains("X-Forwarded-For: 127.0.0.1\n"))
            }
        }
    }
}

@Suite("proxy_protocol listeners", .serialized)
struct ProxyProtocolListenerTests {
    @Test("real_ip_header = proxy_protocol: the PROXY header's address is the client's (Kong's upstream headers spec)")
    func realIPFromHeader() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(
                ProxyHarness.oneService(port: ups[0].port),
                configure: {
                    $0.listen = [ListenAddress(host: "127.0.0.1", port: 0, proxyProtocol: true)]
                    $0.trustedIPs = TrustedIPs(["127.0.0.1", "172.16.0.1", "192.168.0.1"])
                    $0.realIPHeader = "proxy_protocol"
                    $0.realIPRecursive = true
                }
            ) { proxy in
                let c = try await proxy.client()
                try await c.send("PROXY TCP4 192.168.0.1 127.0.0.1 56324 \(proxy.port)\r\n" + ProxyHarness.request("GET", "/echo"))
                let r = try await c.readResponse()
                #expect(r.text.contains("X-Real-IP: 192.168.0.1\n"))
                #expect(r.text.contains("X-Forwarded-For: 192.168.0.1\n"))
                // Later requests on the connection keep the address.
                try await c.send(
                    ProxyHarness.request(
                        "GET", "/echo", headers: [("X-Forwarded-For", "10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1")]))
                let second = try await c.readResponse()
                #expect(second.text.contains("X-Real-IP: 192.168.0.1\n"))
                #expect(second.text.contains("X-Forwarded-For: 10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1, 127.0.0.1\n"))
                await c.close()

                // No PROXY header: the connection is closed, as nginx does.
                let bare = try await proxy.client()
                try await bare.send(ProxyHarness.request("GET", "/echo"))
                #expect(await bare.waitForClose())
            }
        }
    }
}
