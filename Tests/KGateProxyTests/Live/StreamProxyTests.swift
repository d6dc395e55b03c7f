#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KGateHTTP
import KGateStore
import KGateSettings
import KGateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

@testable import KGateProxy

/// Kong's stream subsystem on `stream_listen`: `tcp`, `tls` and `tls_passthrough` routes relay
/// bytes to their services, live over loopback.
@Suite("Stream proxying (stream_listen)", .serialized)
struct StreamProxyTests {
    /// A TCP server that greets each connection with `name` and a newline, then echoes what it
    /// reads; over TLS when given a context.
    final class EchoServer: Sendable {
        let channel: Channel
        var port: Int { channel.localAddress!.port! }

        init(name: String, tls: NIOSSLContext? = nil) async throws {
            channel = try await ServerBootstrap(group: TestLoops.group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try channel.pipeline.syncOperations.addHandler(Echo(greeting: name + "\n"))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        func stop() async { try? await channel.close() }

        final class Echo: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer
            let greeting: String
            init(greeting: String) { self.greeting = greeting }

            func channelActive(context: ChannelHandlerContext) {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil)
            }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                context.write(data, promise: nil)
            }

            func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

            func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
        }
    }

    private static func withStreamProxy<R>(
        _ yaml: String, ssl: Bool = false, proxyProtocol: Bool = false, trusted: [String] = [], log: AccessLog? = nil,
        _ body: (ProxyHarness, Int) async throws -> R
    ) async throws -> R {
        try await withProxy(
            yaml, streamAccessLog: log,
            configure: {
                $0.streamListen = [ListenAddress(host: "127.0.0.1", port: 0, ssl: ssl, proxyProtocol: proxyProtocol)]
                $0.trustedIPs = TrustedIPs(trusted)
            }
        ) { proxy in
            let port = try #require(proxy.server.streamAddresses.first?.port)
            return try await body(proxy, port)
        }
    }

    /// Whether a TLS client's handshake completed before the connection closed (it waits for
    /// the close).
    private static func handshakeThenClose(port: Int, serverName: String) async throws -> Bool {
        final class Watcher: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let outcome: EventLoopPromise<Bool>
            let handshook = NIOLockedValueBox(false)
            init(_ outcome: EventLoopPromise<Bool>) { self.outcome = outcome }
            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls { handshook.withLockedValue { $0 = true } }
                context.fireUserInboundEventTriggered(event)
            }
            func channelInactive(context: ChannelHandlerContext) { outcome.succeed(handshook.withLockedValue { $0 }) }
            func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let outcome = TestLoops.group.next().makePromise(of: Bool.self)
        _ = try await ClientBootstrap(group: TestLoops.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(Watcher(outcome))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await outcome.futureResult.get()
    }

    /// A config's start with one certificate, for the SNI `term.test`.
    private static func termCertificateYAML(cert: String, key: String) -> String {
        """
        _format_version: "3.0"
        certificates:
        \(TestCertificates.certificateEntryYAML(id: "0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01", cert: cert, key: key))
          snis: [{name: term.test}]
        """
    }

    /// Reads the greeting line an echo server sent first.
    private static func greeting(_ client: RawClient, _ name: String) async throws -> Bool {
        String(decoding: try await client.readBytes(name.utf8.count + 1), as: UTF8.self) == name + "\n"
    }

    @Test("tcp: relayed both ways with back-pressure; a refused target is tried again on the next one")
    func tcpRelay() async throws {
        let echo = try await EchoServer(name: "a")
        defer { Task { await echo.stop() } }
        let refused = try await BalancerHealthTests.refusedPort()
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: pool
              algorithm: round-robin
              targets: [{target: "127.0.0.1:\(refused)"}, {target: "127.0.0.1:\(echo.port)"}]
            services:
            - name: tcp
              url: tcp://pool
              retries: 2
              routes:
              - protocols: [tcp]
                sources: [{ip: 127.0.0.1}]
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-stream-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = AccessLog(file: try LogFile(path: path), format: .basic)
        try await Self.withStreamProxy(yaml, log: log) { _, port in
            for _ in 0..<4 {
                let client = try await RawClient.connect(port: port, group: TestLoops.group)
                #expect(try await Self.greeting(client, "a"))
                try await client.send("hello")
                #expect(try await client.readBytes(5) == Array("hello".utf8))
                await client.close()
            }
            // One `basic` line per session: 2 + 5 bytes sent to the client, 5 received.
            var lines: [String] = []
            for _ in 0..<100 {
                lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                if lines.count >= 4 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(lines.count == 4)
            #expect(lines.allSatisfy {
                $0.range(of: #"^127\.0\.0\.1 \[[^\]]+\] TCP 200 7 5 \d+\.\d{3}$"#, options: .regularExpression) != nil
            }, "\(lines)")
            // 4 MiB each way: flow control keeps what is buffered bounded.
            let client = try await RawClient.connect(port: port, group: TestLoops.group)
            #expect(try await Self.greeting(client, "a"))
            let big = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await client.send(big)
            #expect(try await client.readBytes(big.count, timeout: .seconds(30)) == big)
            await client.close()
        }
    }

    @Test("no route, or ip-restriction refusing the client: the connection is closed")
    func refused() async throws {
        let echo = try await EchoServer(name: "a")
        defer { Task { await echo.stop() } }
        let unrouted = """
            _format_version: "3.0"
            services:
            - url: tcp://127.0.0.1:\(echo.port)
              routes: [{protocols: [tcp], sources: [{ip: 10.0.0.1}]}]
            """
        try await Self.withStreamProxy(unrouted) { _, port in
            let client = try await RawClient.connect(port: port, group: TestLoops.group)
            #expect(await client.waitForClose())
        }
        let denied = """
            _format_version: "3.0"
            services:
            - url: tcp://127.0.0.1:\(echo.port)
              routes:
              - protocols: [tcp]
                sources: [{ip: 127.0.0.1}]
                plugins: [{name: ip-restriction, config: {deny: [127.0.0.1]}}]
            """
        try await Self.withStreamProxy(denied) { _, port in
            let client = try await RawClient.connect(port: port, group: TestLoops.group)
            #expect(await client.waitForClose())
        }
    }

    @Test("ssl listener: tls routes terminate with the SNI's certificate, tls_passthrough relays the client's TLS")
    func tlsRoutes() async throws {
        let plain = try await EchoServer(name: "plain")
        let secure = try await EchoServer(name: "secure", tls: TestCertificates.serverContext())
        defer { Task { await plain.stop(); await secure.stop() } }
        let yaml = """
            \(Self.termCertificateYAML(cert: TestCertificates.clientPEM, key: TestCertificates.clientKeyPEM))
            services:
            - url: tcp://127.0.0.1:\(plain.port)
              routes: [{protocols: [tls], snis: [term.test]}]
            - url: tcp://127.0.0.1:\(secure.port)
              routes: [{protocols: [tls_passthrough], snis: [pass.test]}]
            - url: tls://localhost:\(secure.port)
              routes: [{protocols: [tls], snis: [reencrypt.test]}]
            - url: tcp://127.0.0.1:\(plain.port)
              routes: [{protocols: [tcp], sources: [{ip: 127.0.0.1}]}]
            """
        try await Self.withStreamProxy(yaml, ssl: true) { proxy, port in
            let terminated = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: "term.test")
            #expect(try await Self.greeting(terminated, "plain"))
            try await terminated.send("over tls")
            #expect(try await terminated.readBytes(8) == Array("over tls".utf8))
            let presented = try await terminated.peerCertificateDER()
            #expect(presented == (try NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.clientPEM.utf8)).first?.toDERBytes()))
            await terminated.close()

            let passed = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: "pass.test")
            #expect(try await Self.greeting(passed, "secure"))
            let upstreamCertificate = try await passed.peerCertificateDER()
            #expect(upstreamCertificate == (try NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.serverPEM.utf8)).first?.toDERBytes()))
            await passed.close()

            // A `tls` service: TLS terminated here and made again to the upstream.
            let reencrypted = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: "reencrypt.test")
            #expect(try await Self.greeting(reencrypted, "secure"))
            await reencrypted.close()

            // An unknown SNI matches the tcp route, whose protocol an ssl listener does not
            // serve (Kong's "unexpected protocols in matched Route"); so does no SNI at all
            // (an empty `$ssl_preread_server_name` matches no `snis`).
            for name in ["other.test", nil] {
                let unknown = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: name)
                #expect(await unknown.waitForClose())
            }
            #expect(proxy.errors.messages.contains { $0.contains("unexpected protocols in matched Route") })
        }
    }

    /// The `plain` service (an echo server on `echoPort`) with its route `tcp-route` for TCP
    /// clients from 127.0.0.1, ending with a newline (the route's own keys may follow).
    private static func plainTCPRoute(_ echoPort: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - name: plain
          url: tcp://127.0.0.1:\(echoPort)
          routes:
          - name: tcp-route
            protocols: [tcp]
            sources: [{ip: 127.0.0.1}]

        """
    }

    /// The root of a file-log line.
    private static func logLine(_ path: String) async throws -> [String: Any] {
        let lines = await fileLines(path, atLeast: 1)
        try #require(lines.count == 1)
        return try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    }

    /// Kong's stream `log` phase (tcp-log_spec "#stream reports tcp streams" / "tls streams"):
    /// a logging plugin whose protocols name `tcp`/`tls` logs each session in the stream shape.
    @Test("logging plugins report tcp and tls sessions: bytes, status, tries, route, service, TLS")
    func logPlugins() async throws {
        let echo = try await EchoServer(name: "plain")
        defer { Task { await echo.stop() } }
        let tcpLog = NSTemporaryDirectory() + "kgate-stream-tcp-\(UUID().uuidString).log"
        let tlsLog = NSTemporaryDirectory() + "kgate-stream-tls-\(UUID().uuidString).log"
        let httpOnly = NSTemporaryDirectory() + "kgate-stream-http-\(UUID().uuidString).log"
        defer { for path in [tcpLog, tlsLog, httpOnly] { try? FileManager.default.removeItem(atPath: path) } }
        // A stream route with only `snis` matches plain connections too (Kong's compat
        // expression `net.protocol != "tls" || tls.sni == ...`): one config per listener.
        let tcpYAML = Self.plainTCPRoute(echo.port) + """
                plugins:
                - name: file-log
                  protocols: [tcp, tls]
                  config: {path: "\(tcpLog)"}
            plugins:
            - name: file-log
              config: {path: "\(httpOnly)"}
            """
        let tlsYAML = """
            \(Self.termCertificateYAML(cert: TestCertificates.serverPEM, key: TestCertificates.serverKeyPEM))
            services:
            - name: terminated
              url: tcp://127.0.0.1:\(echo.port)
              routes:
              - name: tls-route
                protocols: [tls]
                snis: [term.test]
            plugins:
            - name: file-log
              protocols: [tcp, tls]
              config: {path: "\(tlsLog)"}
            """
        try await Self.withStreamProxy(tcpYAML) { _, port in
            let client = try await RawClient.connect(port: port, group: TestLoops.group)
            #expect(try await Self.greeting(client, "plain"))
            try await client.send("hello")
            #expect(try await client.readBytes(5) == Array("hello".utf8))
            await client.close()
            let root = try await Self.logLine(tcpLog)
            let session = try #require(root["session"] as? [String: Any])
            #expect(session["status"] as? Int == 200)
            #expect(session["received"] as? Int == 5)
            #expect(session["sent"] as? Int == 11)
            #expect(session["server_port"] as? Int == port)
            #expect(session["tls"] == nil)
            let upstream = try #require(root["upstream"] as? [String: Any])
            #expect(upstream["received"] as? Int == 11)
            #expect(upstream["sent"] as? Int == 5)
            #expect(root["client_ip"] as? String == "127.0.0.1")
            #expect((root["latencies"] as? [String: Any])?["session"] is Int)
            #expect(root["started_at"] is Int)
            #expect((root["route"] as? [String: Any])?["name"] as? String == "tcp-route")
            #expect((root["service"] as? [String: Any])?["name"] as? String == "plain")
            let tries = try #require(root["tries"] as? [[String: Any]])
            #expect(tries.count == 1 && tries.first?["port"] as? Int == echo.port)
            #expect(root["request"] == nil && root["response"] == nil)
        }
        try await Self.withStreamProxy(tlsYAML, ssl: true) { _, port in
            let client = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: "term.test")
            #expect(try await Self.greeting(client, "plain"))
            await client.close()
            let session = try #require(try await Self.logLine(tlsLog)["session"] as? [String: Any])
            let tls = try #require(session["tls"] as? [String: Any])
            #expect(tls["version"] as? String == "TLSv1.3")
            #expect((tls["cipher"] as? String)?.hasPrefix("TLS_") == true)
            #expect(tls["client_verify"] as? String == "NONE")
        }
        // The global config names only HTTP protocols (Kong's default): streams are not its.
        #expect(await fileLines(httpOnly, atLeast: 0).isEmpty)
    }

    @Test("ssl listener: a client closing before its ClientHello is closed; a refused tls client after its handshake")
    func tlsPrereadAndRestriction() async throws {
        let plain = try await EchoServer(name: "plain")
        defer { Task { await plain.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - name: s
              url: tcp://127.0.0.1:\(plain.port)
              routes:
              - name: r
                protocols: [tls]
                snis: [term.test]
            plugins:
            - {name: ip-restriction, route: r, service: s, config: {deny: [127.0.0.1]}}
            - {name: ip-restriction, service: s, config: {allow: [127.0.0.1]}}
            """
        try await Self.withStreamProxy(yaml, ssl: true) { proxy, port in
            // Kong's ip-restriction runs in its TLS terminator: the handshake completes first;
            // the config scoped to the route and its service wins over the service's.
            #expect(try await Self.handshakeThenClose(port: port, serverName: "term.test"))
            #expect(proxy.errors.messages.isEmpty)
            // A client gone before its ClientHello leaves nothing open.
            let before = await proxy.server.openClientConnections()
            for _ in 0..<5 {
                let fd = try LoopbackSocket.connect(port: port)
                close(fd)
            }
            var open = 0
            for _ in 0..<100 {
                open = await proxy.server.openClientConnections()
                if open <= before { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(open <= before)
        }
    }

    @Test("tls services: the handshake names the target's host, or the client's SNI with preserve_host; a failed handshake is tried on the next target")
    func upstreamTLSNames() async throws {
        let names = NIOLockedValueBox<[String?]>([])
        let secure = try await EchoServer(
            name: "secure", tls: TestCertificates.serverContext(onHandshake: { name in names.withLockedValue { $0.append(name) } }))
        let plain = try await EchoServer(name: "plain")
        defer { Task { await secure.stop(); await plain.stop() } }
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: named
              targets: [{target: "localhost:\(secure.port)"}]
            - name: mixed
              algorithm: round-robin
              targets: [{target: "127.0.0.1:\(plain.port)"}, {target: "127.0.0.1:\(secure.port)"}]
            services:
            - url: tls://named
              routes: [{protocols: [tls], snis: [target.test]}, {protocols: [tls], snis: [keep.test], preserve_host: true}]
            - url: tls://mixed
              retries: 2
              routes: [{protocols: [tls], snis: [mixed.test]}]
            """
        try await Self.withStreamProxy(yaml, ssl: true) { proxy, port in
            for sni in ["target.test", "keep.test"] {
                let client = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: sni)
                #expect(try await Self.greeting(client, "secure"))
                await client.close()
            }
            #expect(names.withLockedValue { $0 } == ["localhost", "keep.test"])
            // The plain target fails the handshake: logged, and the next target serves.
            for _ in 0..<2 {
                let client = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: "mixed.test")
                #expect(try await Self.greeting(client, "secure"))
                await client.close()
            }
            #expect(proxy.errors.messages.contains { $0.contains("upstream: \"127.0.0.1:\(plain.port)\"") })
        }
    }

    @Test("least-connections counts a relayed connection until it ends")
    func leastConnections() async throws {
        let a = try await EchoServer(name: "a")
        let b = try await EchoServer(name: "b")
        defer { Task { await a.stop(); await b.stop() } }
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: pool
              algorithm: least-connections
              targets: [{target: "127.0.0.1:\(a.port)"}, {target: "127.0.0.1:\(b.port)"}]
            services:
            - url: tcp://pool
              routes: [{protocols: [tcp], sources: [{ip: 127.0.0.1}]}]
            """
        try await Self.withStreamProxy(yaml) { _, port in
            let held = try await RawClient.connect(port: port, group: TestLoops.group)
            let first = String(decoding: try await held.readBytes(2), as: UTF8.self)
            let other = first == "a\n" ? "b" : "a"
            for _ in 0..<4 {
                let client = try await RawClient.connect(port: port, group: TestLoops.group)
                #expect(try await Self.greeting(client, other))
                await client.close()
                try await Task.sleep(for: .milliseconds(20))
            }
            await held.close()
        }
    }

    @Test("proxy_protocol: the header's address is the client's only from a trusted peer")
    func proxyProtocolTrust() async throws {
        let echo = try await EchoServer(name: "a")
        defer { Task { await echo.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: tcp://127.0.0.1:\(echo.port)
              routes: [{protocols: [tcp], sources: [{ip: 10.1.2.3}]}]
            """
        for trusted in [false, true] {
            try await Self.withStreamProxy(yaml, proxyProtocol: true, trusted: trusted ? ["127.0.0.1"] : []) { _, port in
                let client = try await RawClient.connect(port: port, group: TestLoops.group)
                try await client.send("PROXY TCP4 10.1.2.3 127.0.0.1 40000 \(port)\r\n")
                if trusted {
                    #expect(try await Self.greeting(client, "a"))
                    await client.close()
                } else {
                    #expect(await client.waitForClose())
                }
            }
        }
    }

    /// A UDP server answering each datagram with its name, or without one with
    /// `<sender port>:<datagram>`.
    final class UDPEcho: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let name: String?
        init(name: String? = nil) { self.name = name }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            var reply = ByteBuffer(string: name ?? "\(envelope.remoteAddress.port ?? 0):")
            if name == nil { reply.writeImmutableBuffer(envelope.data) }
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)), promise: nil)
        }
    }

    /// A UDP socket on 127.0.0.1 with `handler`.
    static func udpChannel(_ handler: some ChannelInboundHandler & Sendable) async throws -> Channel {
        try await DatagramBootstrap(group: TestLoops.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Collects the datagrams a UDP client receives.
    final class UDPCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let received = NIOLockedValueBox<[String]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data).data)
            received.withLockedValue { $0.append(text) }
        }
    }

    @Test("udp: a client's datagrams are one session through one upstream socket; answers come back; unrouted ones are dropped")
    func udpSessions() async throws {
        let upstream = try await Self.udpChannel(UDPEcho())
        defer { upstream.close(promise: nil) }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: udp://127.0.0.1:\(upstream.localAddress!.port!)
              routes: [{protocols: [udp], sources: [{ip: 127.0.0.1}]}]
            """
        try await withProxy(
            yaml, configure: { $0.streamListen = [ListenAddress(host: "127.0.0.1", port: 0, udp: true)] }
        ) { proxy in
            let port = try #require(proxy.server.streamAddresses.first?.port)
            let collector = UDPCollector()
            let client = try await Self.udpChannel(collector)
            defer { client.close(promise: nil) }
            let proxyAddress = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            for text in ["one", "two", "three"] {
                try await client.writeAndFlush(AddressedEnvelope(remoteAddress: proxyAddress, data: ByteBuffer(string: text)))
                try await Task.sleep(for: .milliseconds(20))
            }
            var answers: [String] = []
            for _ in 0..<100 {
                answers = collector.received.withLockedValue { $0 }
                if answers.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(answers.map { $0.split(separator: ":").last.map(String.init) ?? "" } == ["one", "two", "three"])
            // One upstream socket for the session: the upstream saw one sender port.
            #expect(Set(answers.map { $0.split(separator: ":").first ?? "" }).count == 1)
        }
    }

    /// 10-balancer/01-healthchecks_spec "perform active health checks -- automatic recovery"
    /// (a `tcp` check on a stream service): a target that refuses connections is marked
    /// unhealthy by the probes and skipped.
    @Test("active tcp health checks mark a refusing target unhealthy")
    func activeTCPChecks() async throws {
        let echo = try await EchoServer(name: "a")
        defer { Task { await echo.stop() } }
        let refused = try await BalancerHealthTests.refusedPort()
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: pool
              healthchecks:
                active:
                  type: tcp
                  healthy: {interval: 0.1, successes: 1}
                  unhealthy: {interval: 0.1, tcp_failures: 1}
              targets: [{target: "127.0.0.1:\(refused)"}, {target: "127.0.0.1:\(echo.port)"}]
            services:
            - url: tcp://pool
              retries: 0
              routes: [{protocols: [tcp], sources: [{ip: 127.0.0.1}]}]
            """
        try await Self.withStreamProxy(yaml) { proxy, port in
            var waited = 0
            while BalancerHealthTests.isHealthy(proxy, port: refused) != false, waited < 50 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            #expect(BalancerHealthTests.isHealthy(proxy, port: refused) == false)
            #expect(BalancerHealthTests.isHealthy(proxy, port: echo.port) == true)
            for _ in 0..<4 {
                let client = try await RawClient.connect(port: port, group: TestLoops.group)
                #expect(try await Self.greeting(client, "a"))
                await client.close()
            }
        }
    }

    @Test("udp: least-connections counts a session until it ends")
    func udpLeastConnections() async throws {
        var servers: [Channel] = []
        for name in ["x", "y"] {
            servers.append(try await Self.udpChannel(UDPEcho(name: name)))
        }
        defer { for server in servers { server.close(promise: nil) } }
        let yaml = """
            _format_version: "3.0"
            upstreams:
            - name: pool
              algorithm: least-connections
              targets: [{target: "127.0.0.1:\(servers[0].localAddress!.port!)"}, {target: "127.0.0.1:\(servers[1].localAddress!.port!)"}]
            services:
            - url: udp://pool
              read_timeout: 300
              write_timeout: 300
              routes: [{protocols: [udp], sources: [{ip: 127.0.0.1}]}]
            """
        try await withProxy(
            yaml, configure: { $0.streamListen = [ListenAddress(host: "127.0.0.1", port: 0, udp: true)] }
        ) { proxy in
            let port = try #require(proxy.server.streamAddresses.first?.port)
            let proxyAddress = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            var clients: [Channel] = []
            defer { for client in clients { client.close(promise: nil) } }
            var answers: [String] = []
            // Two clients, two live sessions: each on its own target.
            for _ in 0..<2 {
                let collector = UDPCollector()
                let client = try await Self.udpChannel(collector)
                clients.append(client)
                try await client.writeAndFlush(AddressedEnvelope(remoteAddress: proxyAddress, data: ByteBuffer(string: "hi")))
                var got: [String] = []
                for _ in 0..<100 {
                    got = collector.received.withLockedValue { $0 }
                    if !got.isEmpty { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                answers += got
            }
            #expect(Set(answers) == ["x", "y"])
            // Both sessions are counted while they last.
            let selection = try #require(BalancerHealthTests.balancer(proxy)?.page.selection)
            guard case .leastConnections(let counts) = selection else {
                Issue.record("not least-connections")
                return
            }
            #expect(counts.connections(0) + counts.connections(1) == 2)
            // ... and no longer once they timed out.
            var live = 2
            for _ in 0..<100 where live > 0 {
                try await Task.sleep(for: .milliseconds(20))
                live = counts.connections(0) + counts.connections(1)
            }
            #expect(live == 0)
        }
    }
    /// zipkin_spec "#stream": a tcp session's `stream`, `stream (proxy)` and balancer spans.
    @Test("zipkin reports tcp sessions: stream, proxy and balancer spans with Kong's tags")
    func zipkinSpans() async throws {
        let echo = try await EchoServer(name: "plain")
        defer { Task { await echo.stop() } }
        try await withUpstreams(["zipkin"]) { ups in
            let collector = ups[0]
            let yaml = Self.plainTCPRoute(echo.port) + """
                plugins:
                - name: zipkin
                  protocols: [http, https, tcp, tls]
                  config:
                    http_endpoint: "http://127.0.0.1:\(collector.port)/api/v2/spans"
                    sample_ratio: 1
                    static_tags: [{name: static, value: ok}]
                    queue: {max_coalescing_delay: 0.05}
                """
            try await Self.withStreamProxy(yaml) { _, port in
                let client = try await RawClient.connect(port: port, group: TestLoops.group)
                #expect(try await Self.greeting(client, "plain"))
                await client.close()
                let spans = await collectedSpans(collector, atLeast: 3)
                func named(_ name: String) throws -> [String: Any] { try #require(spans.first { $0["name"] as? String == name }) }
                let request = try named("stream")
                let proxied = try named("stream (proxy)")
                let balancer = try named("stream (balancer try 1)")
                #expect(request["kind"] as? String == "SERVER" && proxied["kind"] as? String == "CLIENT")
                #expect(proxied["parentId"] as? String == request["id"] as? String)
                #expect(balancer["parentId"] as? String == request["id"] as? String)
                #expect(request["annotations"] == nil)
                var requestTags = request["tags"] as? [String: String] ?? [:]
                #expect(requestTags.removeValue(forKey: "kong.node.id") != nil)
                #expect(requestTags == ["lc": "kong", "static": "ok"])
                let clientEndpoint = try #require(request["remoteEndpoint"] as? [String: Any])
                #expect(clientEndpoint["ipv4"] as? String == "127.0.0.1" && (clientEndpoint["port"] as? Int ?? 0) > 0)
                let annotations = (proxied["annotations"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
                #expect(annotations == ["kps", "kpf"])
                var proxyTags = proxied["tags"] as? [String: String] ?? [:]
                #expect(proxyTags.removeValue(forKey: "kong.route") != nil && proxyTags.removeValue(forKey: "kong.service") != nil)
                #expect(proxyTags == ["kong.route_name": "tcp-route", "kong.service_name": "plain", "peer.hostname": "127.0.0.1"])
                let upstream = try #require(proxied["remoteEndpoint"] as? [String: Any])
                #expect(upstream["port"] as? Int == echo.port && upstream["serviceName"] as? String == "plain")
                #expect((balancer["tags"] as? [String: String])?["kong.balancer.try"] == "1")
            }
        }
    }
}
