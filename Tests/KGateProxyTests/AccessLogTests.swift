import Foundation
import KGateStore
import KGateTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import KGateHTTP
@testable import KGateProxy
@testable import KGateSettings

/// nginx's access-log lines: the `combined` and Kong's `kong_log_format` formats, escaping,
/// `$remote_user`, and the proxy's lines for proxied, generated, refused and abandoned requests.
struct AccessLogLineTests {
    private func line(
        _ format: AccessLogFormat, address: String = "10.0.0.1", user: [UInt8]? = nil, request: String,
        status: Int, body: Int, referer: String? = nil, agent: String? = nil, id: String? = nil
    ) -> String {
        var writer = AccessLogWriter(format: format)
        Array(address.utf8).withUnsafeBytes { address in
            Array(request.utf8).withUnsafeBytes { request in
                withOptionalBytes(user) { user in
                    withOptionalBytes(referer.map { Array($0.utf8) }) { referer in
                        withOptionalBytes(agent.map { Array($0.utf8) }) { agent in
                            withOptionalBytes(id.map { Array($0.utf8) }) { id in
                                writer.append(
                                    AccessLogEntry(
                                        remoteAddress: address, remoteUser: user, requestLine: request, status: status,
                                        bodyBytesSent: body, referer: referer, userAgent: agent, requestID: id),
                                    epochSeconds: 0)
                            }
                        }
                    }
                }
            }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The time as `localtime_r` gives it for the epoch (the machine's zone).
    private var epochText: String { LocalTimeText.format(epochSeconds: 0) }

    @Test func combined() {
        #expect(
            line(.combined, request: "GET /a?b=1 HTTP/1.1", status: 200, body: 12, agent: "curl/8.5.0")
                == "10.0.0.1 - - [\(epochText)] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" \"curl/8.5.0\"\n")
    }

    @Test func kongFormatAddsTheRequestID() {
        #expect(
            line(.kong, user: Array("alice".utf8), request: "POST / HTTP/1.0", status: 201, body: 0, referer: "", id: "ab12")
                == "10.0.0.1 - alice [\(epochText)] \"POST / HTTP/1.0\" 201 0 \"\" \"-\" kong_request_id: \"ab12\"\n")
    }

    /// `escape=default`: quotes, backslashes, control bytes and bytes from 0x7F as `\xHH`.
    @Test func escapesAsNginx() {
        let text = line(.combined, request: "GET /\u{1}\"\\é HTTP/1.1", status: 400, body: 5, agent: "a\tb")
        #expect(text.contains(#""GET /\x01\x22\x5C\xC3\xA9 HTTP/1.1" 400 5 "-" "a\x09b""#))
    }

    /// nginx's `%03ui` status and plain decimal sizes.
    @Test func numbers() {
        #expect(line(.combined, request: "x", status: 9, body: 1_234_567).contains("\"x\" 009 1234567 "))
    }

    @Test func timeLocal() {
        // `dd/Mon/yyyy:HH:MM:SS +hhmm`.
        let text = LocalTimeText.format(epochSeconds: 1_795_000_000)
        #expect(text.range(of: #"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$"#, options: .regularExpression) != nil)
    }

    @Test(arguments: [
        ("Basic YWxpY2U6c2VjcmV0", "alice"),
        ("basic   Ym9iOg==", "bob"),
        ("BASIC OmVtcHR5", ""),
    ])
    func basicUser(header: String, user: String) {
        let decoded = Array(header.utf8).withUnsafeBytes { BasicAuthUser.decode($0) }
        #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == user)
    }

    @Test(arguments: ["Bearer abc", "Basic", "Basic !!!!", "Basic YWxpY2U=", "Basic YW=xp"])
    func notABasicUser(header: String) {
        #expect(Array(header.utf8).withUnsafeBytes { BasicAuthUser.decode($0) } == nil)
    }

    /// Kong's stream `basic` format: `$remote_addr [$time_local] $protocol $status $bytes_sent
    /// $bytes_received $session_time`.
    @Test func streamBasic() {
        var writer = AccessLogWriter(format: .basic)
        writer.appendStream(remoteAddress: "10.0.0.1", status: 200, bytesSent: 12, bytesReceived: 34, milliseconds: 1005, epochSeconds: 0)
        writer.appendStream(remoteAddress: "::1", status: 502, bytesSent: 0, bytesReceived: 5, milliseconds: 42, epochSeconds: 0)
        #expect(String(decoding: writer.bytes, as: UTF8.self)
            == "10.0.0.1 [\(epochText)] TCP 200 12 34 1.005\n::1 [\(epochText)] TCP 502 0 5 0.042\n")
    }

    @Test func parsesSettings() throws {
        #expect(try AccessLogSetting.parse("off", property: "p") == nil)
        #expect(try AccessLogSetting.parse("a.log  combined", property: "p") == .init(path: "a.log", format: .combined))
        #expect(throws: InvalidValue.self) { try AccessLogSetting.parse("a.log x y", property: "p") }
        #expect(try AccessLogSetting.parse("logs/access.log basic", property: "p") == .init(path: "logs/access.log", format: .basic))
    }
}

/// A config with one route, `/p` to `api`, logged by `plugin` with `config` (a YAML flow map).
private func loggedRoute(to api: TestUpstream, plugin: String, config: String) -> String {
    """
    _format_version: "3.0"
    services:
    - name: s
      url: http://127.0.0.1:\(api.port)
      routes:
      - name: r
        paths: [/p]
        plugins:
        - name: \(plugin)
          config: \(config)
    """
}

/// Live: the proxy's `proxy_access_log` lines, read back from the file.
@Suite(.serialized)
struct ProxyAccessLogTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "kgate-access-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// One line per request, in order: proxied (with its body size and the client's
    /// `Basic` user, `Referer` and `User-Agent`), a generated 404, a refused head (400, its
    /// first line escaped), and a client that left before the answer (499).
    @Test func proxiedGeneratedRefusedAndAbandoned() async throws {
        try await withUpstreams(["u"]) { upstreams in
            let path = directory + "/access.log"
            let log = AccessLog(file: try LogFile(path: path), format: .kong)
            try await withProxy(
                """
                _format_version: "3.0"
                services:
                - name: s
                  url: http://127.0.0.1:\(upstreams[0].port)
                  routes:
                  - name: r
                    paths: [/p]
                    strip_path: true
                """, accessLog: log
            ) { proxy in

            let ok = try await proxy.get(
                "/p/bytes/300?x=1",
                headers: [("User-Agent", "t/1"), ("Referer", "r"), ("Authorization", "Basic dTpw")])
            #expect(ok.status == 200)
            let none = try await proxy.get("/nowhere")
            #expect(none.status == 404)
            let bad = try await proxy.client()
            try await bad.send("GET /\u{1} HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try await bad.readResponse().status == 400)
            await bad.close()
            let gone = try await proxy.client()
            try await gone.send("GET /p/slow/2000 HTTP/1.1\r\nHost: h\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))
            await gone.close()

            let lines = await fileLines(path, atLeast: 4)
            try #require(lines.count == 4)
            let id = #"kong_request_id: "[0-9a-f]{32}"$"#
            #expect(lines[0].hasPrefix("127.0.0.1 - u ["))
            #expect(
                lines[0].range(of: #"\] "GET /p/bytes/300\?x=1 HTTP/1.1" 200 300 "r" "t/1" "# + id, options: .regularExpression)
                    != nil)
            #expect(lines[1].contains(#""GET /nowhere HTTP/1.1" 404 \#(none.body.count) "-" "-" kong_request_id: "#))
            #expect(lines[2].contains(#""GET /\x01 HTTP/1.1" 400 "#))
            #expect(lines[3].contains(#""GET /p/slow/2000 HTTP/1.1" 499 0 "#))
            }
        }
    }
}

/// Live: file-log's lines carry what the proxy served (Kong's `kong.log.serialize()`).
@Suite(.serialized)
struct ProxyFileLogTests {
    @Test func servedExchangeInTheLine() async throws {
        let path = NSTemporaryDirectory() + "kgate-file-log-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withUpstreams(["u"]) { upstreams in
            try await withProxy(
                """
                _format_version: "3.0"
                services:
                - name: s
                  url: http://127.0.0.1:\(upstreams[0].port)/base
                  routes:
                  - name: r
                    paths: [/p]
                - name: dead
                  url: http://127.0.0.1:9
                  retries: 0
                  routes:
                  - name: d
                    paths: [/dead]
                  - name: terminated
                    paths: [/terminated]
                    plugins:
                    - name: request-termination
                      config: {status_code: 200, body: hello}
                plugins:
                - name: file-log
                  config: {path: "\(path)"}
                """
            ) { proxy in
                let ok = try await proxy.get("/p/bytes/300?q=1", headers: [("Authorization", "secret")])
                #expect(ok.status == 200)
                let dead = try await proxy.get("/dead")
                #expect(dead.status == 502)
                #expect(try await proxy.get("/terminated").status == 200)
                #expect(try await proxy.get("/nowhere").status == 404)
                let lines = await fileLines(path, atLeast: 4)
                try #require(lines.count == 4)
                // Kong's `balancer_data` is made once a request is routed (tcp-log_spec "tries
                // field encoded as JSON array instead of object #6390"), not for a 404.
                #expect(lines[2].contains("\"tries\":[]"))
                #expect(!lines[3].contains("\"tries\""))
                let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
                let request = try #require(first["request"] as? [String: Any])
                #expect(request["uri"] as? String == "/p/bytes/300?q=1")
                #expect((request["headers"] as? [String: Any])?["authorization"] as? String == "REDACTED")
                #expect(first["upstream_uri"] as? String == "/base/bytes/300?q=1")
                #expect(first["upstream_status"] as? String == "200")
                let response = try #require(first["response"] as? [String: Any])
                #expect(response["status"] as? Int == 200)
                let headers = try #require(response["headers"] as? [String: Any])
                #expect(headers["content-length"] as? String == String(ok.body.count))
                #expect(headers["x-kong-request-id"] as? String == ok.header("X-Kong-Request-Id"))
                // The whole response: its head and body.
                #expect((response["size"] as? Int ?? 0) > ok.body.count + 100)
                #expect((first["tries"] as? [[String: Any]])?.first?["port"] as? Int == upstreams[0].port)
                #expect(first["source"] as? String == "upstream")
                #expect((first["route"] as? [String: Any])?["name"] as? String == "r")

                let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
                #expect((second["response"] as? [String: Any])?["status"] as? Int == 502)
                // As Kong logs an error after trying (07-upstream_timeouts_spec "sets status for
                // last try"): the last try failed with nginx's status, `$upstream_status` lists
                // it, the waiting time is known, and the answer is Kong's, not the service's.
                #expect(second["upstream_status"] as? String == "502")
                let tries = try #require(second["tries"] as? [[String: Any]])
                #expect(tries.count == 1)
                #expect(tries.first?["state"] as? String == "failed" && tries.first?["code"] as? Int == 502)
                #expect((tries.first?["balancer_start_ns"] as? Int ?? 0) > 1_000_000_000_000_000_000)
                #expect(((second["latencies"] as? [String: Any])?["proxy"] as? Int ?? -1) >= 0)
                #expect(second["source"] as? String == "kong")
            }
        }
    }
}

/// Live: a request nginx refuses before its head is parsed is logged as Kong's PDK reads it
/// from the request line (`ctx.KONG_UNEXPECTED`): its method, and its query and URI when the
/// line is whole (04-plugins_triggering_spec, "log plugins sees same request in error_page
/// handler").
@Suite(.serialized)
struct ProxyRefusedRequestLogTests {
    @Test func refusedRequestsKeepTheirRequestLine() async throws {
        let path = NSTemporaryDirectory() + "kgate-refused-log-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withProxy(
            """
            _format_version: "3.0"
            services:
            - url: http://127.0.0.1:9
              routes:
              - hosts: [unavailable]
            plugins:
            - name: file-log
              config: {path: "\(path)"}
            """
        ) { proxy in
            let large = String(repeating: "a", count: 10240)
            let tooLarge = try await RawClient.connect(port: proxy.port, group: TestLoops.group)
            try await tooLarge.send(
                "POST /status/200?foo=bar HTTP/1.1\r\nHost: unavailable\r\nX-Large: \(large)\r\nX-UUID: u\r\n\r\n")
            #expect(try await tooLarge.readResponse().status == 400)
            await tooLarge.close()
            let tooLong = try await RawClient.connect(port: proxy.port, group: TestLoops.group)
            try await tooLong.send("POST /?foo=\(large) HTTP/1.1\r\nHost: unavailable\r\nX-UUID: u\r\n\r\n")
            #expect(try await tooLong.readResponse().status == 414)
            await tooLong.close()

            let lines = await fileLines(path, atLeast: 2)
            try #require(lines.count == 2)
            let logged = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let first = try #require(logged[0]["request"] as? [String: Any])
            #expect(first["method"] as? String == "POST")
            #expect((first["querystring"] as? [String: Any])?["foo"] as? String == "bar")
            #expect(first["uri"] as? String == "/status/200?foo=bar")
            #expect(logged[0]["upstream_uri"] as? String == "")
            #expect((logged[0]["response"] as? [String: Any])?["status"] as? Int == 400)
            let second = try #require(logged[1]["request"] as? [String: Any])
            #expect(second["method"] as? String == "POST")
            #expect((second["querystring"] as? [String: Any])?.isEmpty == true)
            #expect((second["headers"] as? [String: Any])?["x-uuid"] == nil)
            #expect(logged[1]["upstream_uri"] as? String == "")
            #expect((logged[1]["response"] as? [String: Any])?["status"] as? Int == 414)
        }
    }
}

/// Live: http-log sends each request's serialized log to a log server (a test upstream).
@Suite(.serialized)
struct ProxyHTTPLogTests {
    private func requests(_ server: TestUpstream, atLeast count: Int) async -> [TestUpstream.RecordedRequest] {
        _ = await waitUntil { server.requests.count >= count }
        return server.requests
    }

    /// One entry per request (`max_batch_size` 1): `POST` to the endpoint's path with the
    /// endpoint's user info as Basic credentials and the configured headers.
    @Test func oneEntryPerRequest() async throws {
        try await withUpstreams(["api", "logs"]) { upstreams in
            let (api, logs) = (upstreams[0], upstreams[1])
            try await withProxy(
                loggedRoute(
                    to: api, plugin: "http-log",
                    config: #"{http_endpoint: "http://bob:s%40cret@127.0.0.1:\#(logs.port)/ingest?dropped=1", "#
                        + "headers: {X-Source: kgate}}")
            ) { proxy in
                #expect(try await proxy.get("/p/one").status == 200)
                #expect(try await proxy.get("/p/two").status == 200)
                let sent = await requests(logs, atLeast: 2)
                try #require(sent.count == 2)
                for (request, path) in zip(sent, ["/p/one", "/p/two"]) {
                    #expect(request.head.method == .POST)
                    // Kong sends to the endpoint's path only.
                    #expect(request.head.uri == "/ingest")
                    #expect(request.head.headers.first(name: "Content-Type") == "application/json")
                    #expect(request.head.headers.first(name: "Authorization") == "Basic Ym9iOnNAY3JldA==")
                    #expect(request.head.headers.first(name: "X-Source") == "kgate")
                    let entry = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
                    #expect((entry["request"] as? [String: Any])?["uri"] as? String == path)
                    #expect((entry["response"] as? [String: Any])?["status"] as? Int == 200)
                }
            }
        }
    }

    /// Batches: entries gathered for `max_coalescing_delay` go as one JSON array; a failing log
    /// server gets the batch again.
    @Test func batchesAndRetries() async throws {
        try await withUpstreams(["api", "logs"]) { upstreams in
            let (api, logs) = (upstreams[0], upstreams[1])
            try await withProxy(
                loggedRoute(
                    to: api, plugin: "http-log",
                    config: "{http_endpoint: \"http://127.0.0.1:\(logs.port)/status/500\", "
                        + "queue: {max_batch_size: 3, max_coalescing_delay: 0.3, initial_retry_delay: 0.05}}")
            ) { proxy in
                for i in 0..<3 { #expect(try await proxy.get("/p/\(i)").status == 200) }
                // Sent once, answered 500, sent again.
                let sent = await requests(logs, atLeast: 2)
                try #require(sent.count >= 2)
                let batch = try #require(try JSONSerialization.jsonObject(with: Data(sent[0].body)) as? [[String: Any]])
                #expect(batch.compactMap { ($0["request"] as? [String: Any])?["uri"] as? String } == ["/p/0", "/p/1", "/p/2"])
                #expect(sent[1].body == sent[0].body)
            }
        }
    }
}

/// Live: tcp-log and udp-log send each request's serialized log as a line or a datagram.
@Suite(.serialized)
struct ProxySocketLogTests {
    /// What a collector received: a TCP stream of lines, or datagrams.
    final class Received: Sendable {
        let stream = Mutex<[UInt8]>([])
        let datagrams = Mutex<[[UInt8]]>([])
        /// The text before each datagram's JSON (loggly's syslog header), when kept apart.
        let headers = Mutex<[String]>([])
        let syslogHeaders: Bool

        init(syslogHeaders: Bool = false) { self.syslogHeaders = syslogHeaders }

        func entries(atLeast count: Int) async throws -> [[String: Any]] {
            func chunks() -> [[UInt8]] {
                stream.withLock { $0 }.split(separator: 0x0A).map(Array.init) + datagrams.withLock { $0 }
            }
            _ = await waitUntil { chunks().count >= count }
            return try chunks().map { try #require(try JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]) }
        }
    }

    final class StreamCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Received
        init(_ received: Received) { self.received = received }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data).readableBytesView
            received.stream.withLock { $0.append(contentsOf: bytes) }
        }
    }

    final class DatagramCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let received: Received
        init(_ received: Received) { self.received = received }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Array(unwrapInboundIn(data).data.readableBytesView)
            if received.syslogHeaders, let brace = bytes.firstIndex(of: UInt8(ascii: "{")) {
                received.headers.withLock { $0.append(String(decoding: bytes[..<brace], as: UTF8.self)) }
                bytes.removeFirst(brace)
            }
            received.datagrams.withLock { $0.append(bytes) }
        }
    }

    /// Requests `paths` through a proxy whose route logs with `plugin` to `server`; the
    /// entries the collector got.
    private func entries(
        _ plugin: String, server: any Channel, received: Received, paths: [String], extra: String = ""
    ) async throws -> [[String: Any]] {
        defer { server.close(promise: nil) }
        return try await withUpstreams(["api"]) { upstreams in
            let config = "{host: 127.0.0.1, port: \(server.localAddress?.port ?? 0)\(extra)}"
            return try await withProxy(loggedRoute(to: upstreams[0], plugin: plugin, config: config)) { proxy in
                for path in paths { #expect(try await proxy.get(path).status == 200) }
                return try await received.entries(atLeast: paths.count)
            }
        }
    }

    private func tcpCollector(_ received: Received) async throws -> any Channel {
        try await ServerBootstrap(group: TestLoops.group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamCollector(received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    private func udpCollector(_ received: Received) async throws -> any Channel {
        try await DatagramBootstrap(group: TestLoops.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramCollector(received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    private static func uris(_ entries: [[String: Any]]) -> [String] {
        entries.compactMap { ($0["request"] as? [String: Any])?["uri"] as? String }
    }

    @Test func tcpLines() async throws {
        let received = Received()
        let server = try await tcpCollector(received)
        let entries = try await entries("tcp-log", server: server, received: received, paths: ["/p/0", "/p/1", "/p/2"])
        #expect(Self.uris(entries) == ["/p/0", "/p/1", "/p/2"])
    }

    @Test func udpDatagrams() async throws {
        let received = Received()
        let server = try await udpCollector(received)
        let entries = try await entries("udp-log", server: server, received: received, paths: ["/p/udp"])
        #expect(Self.uris(entries) == ["/p/udp"])
        #expect((entries.first?["response"] as? [String: Any])?["status"] as? Int == 200)
    }

    /// datadog: one DogStatsD datagram per configured metric, tagged with the service and the
    /// status (`spec/03-plugins/08-datadog/01-log_spec.lua`).
    @Test func datadogDatagrams() async throws {
        let received = Received()
        let server = try await udpCollector(received)
        defer { server.close(promise: nil) }
        try await metricsRequest(
            "datadog",
            config: "{host: 127.0.0.1, port: \(server.localAddress?.port ?? 0), prefix: kgate, queue: {max_coalescing_delay: 0.01}}"
        ) { received.datagrams.withLock { $0.count } >= 6 }
        let lines = received.datagrams.withLock { $0 }.map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.count == 6)
        #expect(lines.first == "kgate.request.count:1|c|#name:s,status:200,app:kong")
        let stats = lines.map { $0.prefix { $0 != ":" } }
        #expect(
            stats == [
                "kgate.request.count", "kgate.latency", "kgate.request.size", "kgate.response.size",
                "kgate.upstream_latency", "kgate.kong_latency",
            ])
        for line in lines.dropFirst() {
            #expect(line.wholeMatch(of: #/kgate\.[a-z_.]+:\d+\|ms\|#name:s,status:200,app:kong/#) != nil, "\(line)")
        }
    }

    /// Requests `/p/m` through a route whose `plugin` sends to `port`; waits until `done`.
    private func metricsRequest(_ plugin: String, config: String, until done: @escaping @Sendable () -> Bool) async throws {
        try await withUpstreams(["api"]) { upstreams in
            try await withProxy(loggedRoute(to: upstreams[0], plugin: plugin, config: config)) { proxy in
                let response = try await proxy.get("/p/m")
                #expect(response.status == 200)
                _ = await waitUntil(done)
            }
        }
    }

    /// statsd over UDP: with `udp_packet_size` a request's lines share one datagram.
    @Test func statsdDatagrams() async throws {
        let received = Received()
        let server = try await udpCollector(received)
        defer { server.close(promise: nil) }
        let metrics = "[{name: request_count, stat_type: counter, sample_rate: 1}, {name: status_count, stat_type: counter, sample_rate: 1}]"
        try await metricsRequest(
            "statsd",
            config: "{host: 127.0.0.1, port: \(server.localAddress?.port ?? 0), metrics: \(metrics), udp_packet_size: 500, queue: {max_coalescing_delay: 0.01}}"
        ) { received.datagrams.withLock { !$0.isEmpty } }
        let datagrams = received.datagrams.withLock { $0 }.map { String(decoding: $0, as: UTF8.self) }
        #expect(datagrams == ["kong.service.s.request.count:1|c\nkong.service.s.status.200:1|c"])
    }

    /// statsd over TCP (`use_tcp`): one line each, newline-terminated.
    @Test func statsdOverTCP() async throws {
        let received = Received()
        let server = try await tcpCollector(received)
        defer { server.close(promise: nil) }
        let expected = "kong.service.s.request.count:1|c\nkong.service.s.latency:"
        try await metricsRequest(
            "statsd",
            config: "{host: 127.0.0.1, port: \(server.localAddress?.port ?? 0), use_tcp: true, "
                + "metrics: [{name: request_count, stat_type: counter, sample_rate: 1}, {name: latency, stat_type: timer}], "
                + "queue: {max_coalescing_delay: 0.01}}"
        ) { received.stream.withLock { $0.filter { $0 == 0x0A }.count } >= 2 }
        let text = String(decoding: received.stream.withLock { $0 }, as: UTF8.self)
        #expect(text.hasPrefix(expected) && text.hasSuffix("|ms\n"), "\(text)")
    }

    /// loggly: a syslog line (RFC 5424) around the JSON, `<14>` for a 200 at `info`.
    @Test func logglyDatagrams() async throws {
        let received = Received(syslogHeaders: true)
        let server = try await udpCollector(received)
        let entries = try await entries(
            "loggly", server: server, received: received, paths: ["/p/loggly"], extra: ", key: K1, tags: [a, b]")
        #expect(Self.uris(entries) == ["/p/loggly"])
        let header = try #require(received.headers.withLock { $0.first })
        #expect(header.wholeMatch(of: #/<14>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ kong - - \[K1@41058 tag="a" tag="b"\] /#) != nil)
    }
}
