import Foundation
import KGateHTTP
import KGateProxy
import KGateSettings
import KGateStore
import Testing

/// `proxy_listen ... http2`: HTTP/2 from clients (ALPN `h2` on `ssl` addresses, prior
/// knowledge on plain ones), each stream proxied as nginx proxies it: to an HTTP/1.1 upstream,
/// with Kong's headers, limits and errors.
@Suite("HTTP/2 listeners: h2 and h2c streams proxied to HTTP/1.1 upstreams")
struct HTTP2Tests {
    static func yaml(_ upstream: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - name: s
          url: http://127.0.0.1:\(upstream)
          routes:
          - name: r
            paths: [/]
          - name: grpc-only
            paths: [/grpc]
            protocols: [grpc, grpcs]
        """
    }

    /// A proxy with a plain HTTP/1.1 listener, then `http2 ssl`, plain `http2` and `ssl` ones.
    static func withHTTP2Proxy(
        _ yaml: String, accessLog: AccessLog? = nil, _ body: (ProxyHarness, _ h2: Int, _ h2c: Int, _ tls: Int) async throws -> Void
    ) async throws {
        try await withProxy(
            yaml, accessLog: accessLog,
            configure: {
                $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, ssl: true, http2: true))
                $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, http2: true))
                $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, ssl: true))
            }
        ) { proxy in
            let ports = proxy.server.localAddresses.compactMap(\.port)
            try #require(ports.count == 4)
            try await body(proxy, ports[1], ports[2], ports[3])
        }
    }

    @Test("h2 by ALPN: Kong's headers both ways, Via says 2 upstream, cookies joined, no hop-by-hop fields")
    func headers() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withHTTP2Proxy(Self.yaml(ups[0].port)) { _, h2, _, _ in
                let client = try await H2Client.connect(port: h2, tls: true)
                defer { Task { await client.close() } }
                #expect(client.negotiated == "h2")
                let response = try await client.request(
                    "/echo?x=1", headers: [("via", "1.1 dev"), ("cookie", "a=1"), ("cookie", "b=2"), ("x-test", "t")])
                #expect(response.status == 200)
                let lines = response.text.split(separator: "\n").map(String.init)
                #expect(lines.first == "GET /echo?x=1")
                #expect(lines.contains("Via: 1.1 dev, 2 kong/3.10.0"))
                #expect(lines.contains("cookie: a=1; b=2"))
                #expect(lines.contains("x-test: t"))
                #expect(lines.contains("X-Forwarded-Proto: https"))
                #expect(lines.contains("Host: 127.0.0.1:\(ups[0].port)"))
                #expect(response.header("via") == "1.1 kong/3.10.0")
                #expect(response.header("x-kong-request-id")?.count == 32)
                #expect(response.header("connection") == nil && response.header("transfer-encoding") == nil)
            }
        }
    }

    @Test("h2 bodies: uploads with and without content-length, a 5 MB download, HEAD, 100-continue")
    func bodies() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withHTTP2Proxy(Self.yaml(ups[0].port)) { _, h2, _, _ in
                let client = try await H2Client.connect(port: h2, tls: true)
                defer { Task { await client.close() } }
                let body = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                var checksum: UInt64 = 0
                for byte in body { checksum = checksum &* 31 &+ UInt64(byte) }
                // Without `content-length` the body reaches kgate as a chunked one; it is read
                // whole and sent with a length (request buffering), as nginx does.
                let unsized = try await client.request("/upload", method: "POST", body: body)
                #expect(unsized.text == "1000000 \(checksum)")
                let sized = try await client.request("/upload", method: "POST", headers: [("content-length", "1000000")], body: body)
                #expect(sized.text == "1000000 \(checksum)")
                let continued = try await client.request(
                    "/upload", method: "POST", headers: [("content-length", "3"), ("expect", "100-continue")], body: Array("abc".utf8))
                #expect(continued.interim == [100] && continued.status == 200)

                let download = try await client.request("/bytes/5000000")
                #expect(download.status == 200 && download.body.count == 5_000_000)
                #expect(download.header("content-length") == "5000000")
                let chunked = try await client.request("/chunked/300000")
                #expect(chunked.status == 200 && chunked.body.count == 300_000)
                let head = try await client.request("/bytes/100", method: "HEAD")
                #expect(head.status == 200 && head.body.isEmpty && head.header("content-length") == "100")
            }
        }
    }

    @Test("h2: concurrent streams on one connection, Kong's errors, gRPC route checks")
    func streamsAndErrors() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withHTTP2Proxy(Self.yaml(ups[0].port)) { _, h2, _, _ in
                let client = try await H2Client.connect(port: h2, tls: true)
                defer { Task { await client.close() } }
                let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for i in 0..<60 {
                        group.addTask {
                            let r = try await client.request("/slow/\(i % 5 * 20)?n=\(i)")
                            return (r.status, r.text)
                        }
                    }
                    return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
                }
                #expect(statuses.count == 60 && statuses.allSatisfy { $0 == (200, "slow") })
                // A gRPC route refuses what is not gRPC (Kong's 415); a malformed request is 400.
                let notGRPC = try await client.request("/grpc")
                #expect(notGRPC.status == 415)
                #expect(notGRPC.text.contains("Non-gRPC request matched gRPC route"))
                // nginx refuses a `:path` that is not a path (HTTP/1.1's parser here).
                let bad = try await client.request("nope")
                #expect(bad.status == 400)
                // The connection still serves.
                #expect(try await client.request("/echo").status == 200)
            }
        }
    }

    @Test("plain http2 addresses speak h2c with prior knowledge and HTTP/1.1; ssl without http2 offers http/1.1 only")
    func cleartextAndALPN() async throws {
        try await withUpstreams(["u"]) { ups in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-h2-\(UUID().uuidString).log").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let log = AccessLog(file: try LogFile(path: path), format: .kong)
            try await Self.withHTTP2Proxy(Self.yaml(ups[0].port), accessLog: log) { proxy, h2, h2c, tls in
                let clear = try await H2Client.connect(port: h2c, tls: false)
                let response = try await clear.request("/echo", scheme: "http")
                #expect(response.status == 200)
                #expect(response.text.contains("X-Forwarded-Proto: http\n"))
                await clear.close()

                let http1 = try await RawClient.connect(port: h2c, group: TestLoops.group)
                try await http1.send(ProxyHarness.request("GET", "/echo"))
                let old = try await http1.readResponse()
                #expect(old.status == 200 && old.version == "HTTP/1.1")
                #expect(EchoedRequest(old).header("Via") == "1.1 kong/3.10.0")
                await http1.close()

                let h1Only = try await H2Client.connect(port: tls, tls: true)
                #expect(h1Only.negotiated == "http/1.1")
                await h1Only.close()
                let h1ByChoice = try await H2Client.connect(port: h2, tls: true, protocols: ["http/1.1"])
                #expect(h1ByChoice.negotiated == "http/1.1")
                await h1ByChoice.close()

                // nginx's `$request` of an HTTP/2 stream says HTTP/2.0.
                let text = await fileLines(path, atLeast: 2).joined(separator: "\n")
                #expect(text.contains("\"GET /echo HTTP/2.0\" 200"))
                #expect(text.contains("\"GET /echo HTTP/1.1\" 200"))
            }
        }
    }

    static func grpcYAML(plain: Int, secure: Int, refused: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - name: grpc
          url: grpc://127.0.0.1:\(plain)
          routes:
          - name: g
            protocols: [grpc]
            hosts: [grpc]
        - name: grpc-prefixed
          url: grpc://127.0.0.1:\(plain)
          routes:
          - name: gp
            protocols: [grpc]
            hosts: [prefixed]
            paths: [/hello.HelloService]
        - name: grpcs
          url: grpcs://localhost:\(secure)
          routes:
          - name: gs
            protocols: [grpcs]
            hosts: [grpcs]
        - name: dead
          url: grpc://127.0.0.1:\(refused)
          retries: 1
          routes:
          - name: d
            protocols: [grpc]
            hosts: [dead]
        """
    }

    @Test("gRPC: h2c and h2 clients reach grpc and grpcs services over HTTP/2, trailers come back, one upstream connection carries the streams")
    func grpcServices() async throws {
        let plain = try GRPCTestUpstream()
        let secure = try GRPCTestUpstream(tls: true)
        try await plain.start()
        try await secure.start()
        defer { Task { await plain.stop(); await secure.stop() } }
        let refusedPort = try await BalancerHealthTests.refusedPort()
        try await Self.withHTTP2Proxy(Self.grpcYAML(plain: plain.port, secure: secure.port, refused: refusedPort)) {
            proxy, h2, h2c, _ in
            let message: [UInt8] = [0, 0, 0, 0, 5] + Array("hello".utf8)
            let grpcHeaders = [("content-type", "application/grpc"), ("te", "trailers")]

            let clear = try await H2Client.connect(port: h2c, tls: false)
            for _ in 0..<3 {
                let r = try await clear.request(
                    "/hello.HelloService/SayHello", method: "POST", authority: "grpc", scheme: "http", headers: grpcHeaders,
                    body: message)
                #expect(r.status == 200)
                #expect(r.body == message)
                #expect(r.trailers.first { $0.0 == "grpc-status" }?.1 == "0")
                #expect(r.trailers.first { $0.0 == "grpc-message" }?.1 == "ok")
                #expect(r.header("via") == "2 kong/3.10.0")
                #expect(r.header("server") == "grpc-test")
                #expect(r.header("x-echo-path") == "/hello.HelloService/SayHello")
                #expect(r.header("x-echo-authority") == "127.0.0.1:\(plain.port)")
                #expect(r.header("x-echo-scheme") == "http")
                #expect(r.header("x-echo-te") == "trailers")
                #expect(r.header("x-echo-via") == "2 kong/3.10.0")
            }
            #expect(plain.connectionsAccepted == 1)
            // nginx's grpc_pass sends the request's own target: strip_path does not apply.
            let prefixed = try await clear.request(
                "/hello.HelloService/SayHello?x=1", method: "POST", authority: "prefixed", scheme: "http", headers: grpcHeaders,
                body: message)
            #expect(prefixed.status == 200)
            #expect(prefixed.header("x-echo-path") == "/hello.HelloService/SayHello?x=1")
            // A refused gRPC upstream is Kong's 502 after its retries.
            let dead = try await clear.request(
                "/x", method: "POST", authority: "dead", scheme: "http", headers: grpcHeaders, body: message)
            #expect(dead.status == 502)
            await clear.close()

            let tls = try await H2Client.connect(port: h2, tls: true)
            let r = try await tls.request(
                "/hello.HelloService/SayHello", method: "POST", authority: "grpcs", headers: grpcHeaders, body: message)
            #expect(r.status == 200 && r.body == message)
            #expect(r.trailers.first { $0.0 == "grpc-status" }?.1 == "0")
            #expect(r.header("x-echo-scheme") == "https")
            #expect(r.header("x-echo-x-forwarded-proto") == "https")
            // A grpcs route refuses gRPC over cleartext with Kong's gRPC answer.
            let clear2 = try await H2Client.connect(port: h2c, tls: false)
            let refused = try await clear2.request(
                "/x", method: "POST", authority: "grpcs", scheme: "http", headers: grpcHeaders, body: message)
            #expect(refused.status == 200)
            #expect(refused.header("grpc-status") == "1" || refused.trailers.first { $0.0 == "grpc-status" }?.1 == "1")
            await clear2.close()
            await tls.close()

            // gRPC over HTTP/1.1 gets Kong's 426.
            let http1 = try await RawClient.connect(port: h2c, group: TestLoops.group)
            try await http1.send(
                ProxyHarness.request("POST", "/x", host: "grpc", headers: [("Content-Type", "application/grpc")], body: ""))
            #expect(try await http1.readResponse().status == 426)
            await http1.close()
            _ = proxy
        }
    }

    /// zipkin_spec "#grpc": a gRPC call's spans, with `HTTP/2` as its protocol; the response's
    /// trailers still come back with zipkin's body filter on.
    @Test("zipkin traces gRPC calls over HTTP/2")
    func zipkinGRPC() async throws {
        let plain = try GRPCTestUpstream()
        try await plain.start()
        defer { Task { await plain.stop() } }
        try await withUpstreams(["zipkin"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: grpc
                  url: grpc://127.0.0.1:\(plain.port)
                  routes:
                  - name: g
                    protocols: [grpc]
                    hosts: [grpc-route]
                plugins:
                - name: zipkin
                  config:
                    http_endpoint: "http://127.0.0.1:\(ups[0].port)/"
                    sample_ratio: 1
                    static_tags: [{name: static, value: ok}]
                    queue: {max_coalescing_delay: 0.05}
                """
            try await Self.withHTTP2Proxy(yaml) { _, _, h2c, _ in
                let message: [UInt8] = [0, 0, 0, 0, 5] + Array("hello".utf8)
                let client = try await H2Client.connect(port: h2c, tls: false)
                let r = try await client.request(
                    "/hello.HelloService/SayHello", method: "POST", authority: "grpc-route", scheme: "http",
                    headers: [("content-type", "application/grpc"), ("te", "trailers")], body: message)
                #expect(r.status == 200 && r.body == message)
                #expect(r.trailers.first { $0.0 == "grpc-status" }?.1 == "0")
                await client.close()
                let spans = await collectedSpans(ups[0], atLeast: 3)
                let request = try #require(spans.first { $0["name"] as? String == "POST" })
                var tags = request["tags"] as? [String: String] ?? [:]
                #expect(tags.removeValue(forKey: "kong.node.id") != nil)
                #expect(tags == [
                    "http.method": "POST", "http.path": "/hello.HelloService/SayHello", "http.status_code": "200",
                    "http.protocol": "HTTP/2", "http.host": "grpc-route", "lc": "kong", "static": "ok",
                ])
                #expect(spans.contains { $0["name"] as? String == "POST (proxy)" })
                #expect(spans.contains { $0["name"] as? String == "POST (balancer try 1)" })
            }
        }
    }
}
