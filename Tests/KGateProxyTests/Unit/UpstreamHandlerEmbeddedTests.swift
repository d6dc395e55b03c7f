import KGateSettings
import NIOCore
import NIOEmbedded
import Testing

@testable import KGateProxy

/// Records what an `UpstreamHandler` hands to its exchange.
final class RecordingDelegate: UpstreamDelegate {
    var heads: [Int] = []
    var framings: [BodyFraming] = []
    var body: [UInt8] = []
    var ends = 0
    var failures: [ProxyError.Kind] = []
    var tunnel: [UInt8] = []
    var dataOnly = false

    func upstreamResponseHead(_ head: borrowing MessageHead, framing: BodyFraming) -> Bool {
        heads.append(head.status)
        framings.append(framing)
        return dataOnly
    }
    func upstreamBody(_ bytes: ByteBuffer) { body += bytes.readableBytesView }
    func upstreamResponseEnd() { ends += 1 }
    func upstreamTunnelBytes(_ bytes: ByteBuffer) { tunnel += bytes.readableBytesView }
    func upstreamReadComplete() {}
    func upstreamWritabilityChanged(_ isWritable: Bool) {}
    func upstreamFailed(_ error: ProxyError) { failures.append(error.kind) }
}

@Suite("Upstream handler on an embedded channel")
struct UpstreamHandlerEmbeddedTests {
    /// The node's default `nginx_proxy_proxy_buffer_size`.
    static let defaultHeadLimit = ProxyConfiguration(settings: NodeSettings()).upstreamResponseHeadLimit

    private func make() throws -> (EmbeddedChannel, UpstreamHandler, RecordingDelegate) {
        let handler = UpstreamHandler(alone: true, headLimit: Self.defaultHeadLimit)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        let delegate = RecordingDelegate()
        handler.beginExchange(delegate, method: .GET)
        return (channel, handler, delegate)
    }

    @Test("a response split anywhere: head, body, end; keep-alive allows reuse")
    func lengthDelimited() throws {
        let (channel, handler, d) = try make()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Le"))
        try channel.writeInbound(ByteBuffer(string: "ngth: 5\r\n\r\nhel"))
        try channel.writeInbound(ByteBuffer(string: "lo"))
        #expect(d.heads == [200])
        #expect(d.framings == [.length(5)])
        #expect(String(decoding: d.body, as: UTF8.self) == "hello")
        #expect(d.ends == 1)
        #expect(handler.responseAllowsReuse)
    }

    @Test("a response head larger than proxy_buffer_size (4k by default) is an invalid response, as nginx's 'upstream sent too big header'")
    func headLimit() throws {
        let (channel, _, d) = try make()
        let big = String(repeating: "a", count: 4100)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nX-Big: \(big)\r\nContent-Length: 0\r\n\r\n"))
        #expect(d.heads.isEmpty)
        #expect(d.failures == [.badResponse])
        let (fits, _, f) = try make()
        try fits.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nX-Big: \(String(repeating: "a", count: 3900))\r\nContent-Length: 0\r\n\r\n"))
        #expect(f.heads == [200])
    }

    @Test("chunked bodies as received, or data only for HTTP/1.0 clients")
    func chunked() throws {
        let (channel, _, d) = try make()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
        #expect(String(decoding: d.body, as: UTF8.self) == "3\r\nabc\r\n0\r\n\r\n")
        #expect(d.ends == 1)

        let (channel2, _, d2) = try make()
        d2.dataOnly = true
        try channel2.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"))
        #expect(String(decoding: d2.body, as: UTF8.self) == "abcde")
        #expect(d2.ends == 1)
    }

    @Test("a close-delimited body ends at the close and is not reusable")
    func untilClose() throws {
        let (channel, handler, d) = try make()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nsome body"))
        #expect(d.ends == 0)
        try channel.close().wait()
        #expect(String(decoding: d.body, as: UTF8.self) == "some body")
        #expect(d.ends == 1)
        #expect(!handler.responseAllowsReuse)
    }

    @Test("garbage, bad lengths and early closes are failures; extra bytes forbid reuse")
    func failures() throws {
        let (c1, _, d1) = try make()
        _ = try? c1.writeInbound(ByteBuffer(string: "SSH-2.0-OpenSSH\r\n\r\n"))
        #expect(d1.failures == [.badResponse])

        let (c2, _, d2) = try make()
        _ = try? c2.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"))
        #expect(d2.failures == [.badResponse])

        let (c3, _, d3) = try make()
        try c3.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        try c3.close().wait()
        #expect(d3.failures == [.badResponse])

        let (c4, h4, d4) = try make()
        try c4.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"))
        #expect(d4.ends == 1)
        #expect(!h4.responseAllowsReuse)
    }

    @Test("HEAD responses have no body; Connection: close forbids reuse; 101 turns into a tunnel")
    func specialResponses() throws {
        let handler = UpstreamHandler(alone: true, headLimit: Self.defaultHeadLimit)
        let channel = EmbeddedChannel(handler: handler)
        let d = RecordingDelegate()
        handler.beginExchange(d, method: .HEAD)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nConnection: close\r\n\r\n"))
        #expect(d.framings == [BodyFraming.none])
        #expect(d.ends == 1)
        #expect(!handler.responseAllowsReuse)

        let (tc, _, td) = try make()
        try tc.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframe"))
        try tc.writeInbound(ByteBuffer(string: "more"))
        #expect(td.heads == [101])
        #expect(String(decoding: td.tunnel, as: UTF8.self) == "framemore")
    }
}
