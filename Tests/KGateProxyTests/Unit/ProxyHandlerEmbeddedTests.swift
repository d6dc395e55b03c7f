import KGateSettings
import KGateStore
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import KGateProxy

/// A `ProxyHandler` on an `EmbeddedChannel`: generated responses, bad input and client timers,
/// without sockets (no route here reaches an upstream).
final class EmbeddedProxy {
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    /// The handler, while something else keeps it alive.
    private(set) weak var handler: ProxyHandler?

    init(yaml: String = "_format_version: \"3.0\"\n", configure: (inout ProxyConfiguration) -> Void = { _ in }) throws {
        let store = try ConfigStore(artifacts: [ProxyPlansBuilder()])
        try ProxyHarness.install(yaml, in: store)
        var configuration = ProxyConfiguration(settings: NodeSettings(), coreCount: 1)
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let env = ProxyEnvironment(store: store, configuration: configuration, logger: logger)
        let context = LoopContext(
            eventLoop: loop, configuration: configuration, resolver: SystemDNSResolver(threadPool: .singleton))
        channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "10.1.2.3", port: 5555)).wait()
        let handler = ProxyHandler(env: env, loop: context)
        self.handler = handler
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        loop.run()  // flushes are batched to the end of the loop's tick
    }

    /// Everything written so far, parsed as responses.
    func responses() throws -> [RawResponse] {
        loop.run()
        var bytes: [UInt8] = []
        while let b = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(b.readableBytesView) }
        var out: [RawResponse] = []
        while let (r, used) = RawResponseParser.parse(bytes, closed: !channel.isActive, headRequest: false) {
            out.append(r)
            bytes.removeFirst(used)
            if bytes.isEmpty { break }
        }
        return out
    }

    var isOpen: Bool { channel.isActive }
}

@Suite("Client handler on an embedded channel")
struct ProxyHandlerEmbeddedTests {
    @Test("a closed connection frees its handler (no cycle through the channel handler context)")
    func handlerFreed() throws {
        let p = try EmbeddedProxy()
        try p.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try p.responses().first?.status == 404)
        #expect(p.handler != nil)
        try p.channel.close().wait()
        p.loop.run()
        #expect(p.handler == nil)
    }

    @Test("no route: Kong's 404 with its headers, connection kept")
    func notFound() throws {
        let p = try EmbeddedProxy()
        try p.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        let r = try #require(try p.responses().first)
        #expect(r.status == 404)
        #expect(r.header("Content-Type") == "application/json; charset=utf-8")
        #expect(r.text.hasPrefix("{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\""))
        #expect(r.header("Server") == "kong/3.10.0")
        #expect(r.header("X-Kong-Response-Latency") != nil)
        #expect(r.header("X-Kong-Request-Id")?.utf8.count == 32)
        #expect(r.text.contains(r.header("X-Kong-Request-Id")!))
        #expect(r.header("Connection") == "keep-alive")
        #expect(r.header("Date") != nil)
        #expect(p.isOpen)
        try p.send("GET /y HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n")
        let two = try p.responses()
        #expect(two.count == 2)
        #expect(two.first?.header("Content-Type") == "text/html; charset=utf-8")
    }

    @Test(
        "bad input gets a clear 4xx and a close",
        arguments: [
            ("GARBAGE\r\n\r\n", 400, "Bad request"),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Bad request"),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, "Bad request"),
            ("GET / HTTP/1.1\r\n\r\n", 400, "Bad request"),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Bad request"),
            ("GET /\(String(repeating: "u", count: 9000)) HTTP/1.1\r\nHost: a\r\n\r\n", 414, "URI too long"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "h", count: 9000))\r\n\r\n", 400,
             "Request header or cookie too large"),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "Bad request"),
        ] as [(String, Int, String)])
    func badInput(_ request: String, _ status: Int, _ message: String) throws {
        let p = try EmbeddedProxy()
        try p.send(request)
        let r = try #require(try p.responses().first)
        #expect(r.status == status)
        #expect(r.text.hasPrefix(message + "\nrequest_id: "))
        #expect(r.header("Connection") == "close")
        #expect(!p.isOpen)
    }

    @Test("a declared body over client_max_body_size is 413")
    func tooLarge() throws {
        let p = try EmbeddedProxy { $0.clientMaxBodySize = 10 }
        try p.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
        #expect(try p.responses().first?.status == 413)
        #expect(!p.isOpen)
    }

    @Test("client_header_timeout: a half-sent head gets 408, a silent connection just closes")
    func headerTimeout() throws {
        let p = try EmbeddedProxy { $0.clientHeaderTimeout = .seconds(5) }
        try p.send("GET / HTTP/1.1\r\nHos")
        p.loop.advanceTime(by: .seconds(6))
        let r = try #require(try p.responses().first)
        #expect(r.status == 408)
        #expect(r.text.hasPrefix("Request timeout\n"))
        #expect(!p.isOpen)
        // The lines read before the timeout choose the body's format, as Kong's error handler.
        let json = try EmbeddedProxy { $0.clientHeaderTimeout = .seconds(5) }
        try json.send("GET / HTTP/1.1\r\nAccept: application/json\r\nHos")
        json.loop.advanceTime(by: .seconds(6))
        let j = try #require(try json.responses().first)
        #expect(j.status == 408)
        #expect(j.header("Content-Type") == "application/json; charset=utf-8")
        #expect(j.text.hasPrefix("{\n  \"message\":\"Request timeout\","))

        let q = try EmbeddedProxy { $0.clientHeaderTimeout = .seconds(5) }
        q.loop.advanceTime(by: .seconds(6))
        #expect(try q.responses().isEmpty)
        #expect(!q.isOpen)
    }

    @Test("keepalive_timeout closes an idle keep-alive connection")
    func keepaliveTimeout() throws {
        let p = try EmbeddedProxy { $0.keepaliveTimeout = .seconds(3) }
        try p.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try p.responses().first?.status == 404)
        p.loop.advanceTime(by: .seconds(2))
        #expect(p.isOpen)
        p.loop.advanceTime(by: .seconds(2))
        #expect(!p.isOpen)
    }

    @Test("client_body_timeout: a stalled body gets 408")
    func bodyTimeout() throws {
        let p = try EmbeddedProxy { $0.clientBodyTimeout = .seconds(5) }
        try p.send("POST /nothing HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        // The 404 was answered already; the rest of the body never comes.
        #expect(try p.responses().first?.status == 404)
        p.loop.advanceTime(by: .seconds(6))
        #expect(!p.isOpen)
    }

    @Test("HTTP/1.0 gets a close unless it asks for keep-alive")
    func http10() throws {
        let p = try EmbeddedProxy()
        try p.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try p.responses().first?.header("Connection") == "keep-alive")
        try p.send("GET / HTTP/1.0\r\n\r\n")
        #expect(try p.responses().first?.header("Connection") == "close")
        #expect(!p.isOpen)
    }
}
