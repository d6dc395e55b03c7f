import KGateSchema
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import KGateHTTP

/// The buffered HTTP/1.1 exchange, driven through an `EmbeddedChannel`.
struct HTTPExchangeHandlerTests {
    private func channel(maxBodySize: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try BufferedHTTPServer(
            answering: .inline { request in
                .json(.ok, #"{"path":"\#(request.path)","body":\#(request.body.readableBytes)}"#)
            }, maxBodySize: maxBodySize
        ).configureHTTP1(channel)
        return channel
    }

    private func response(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return out
    }

    @Test func answersAndKeepsAlive() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "GET /status?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        let text = try response(channel)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.lowercased().contains("content-length: 27\r\n"))
        #expect(text.hasSuffix(#"{"path":"/status","body":0}"#))
        try channel.writeInbound(ByteBuffer(string: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"))
        #expect(try response(channel).hasSuffix(#"{"path":"/x","body":3}"#))
    }

    /// nginx puts `Date` and `Connection` on every response of Kong's admin and status servers,
    /// its own error pages included (RFC 9110: an origin server with a clock must send `Date`).
    @Test func everyAnswerCarriesDateAndConnection() throws {
        let ok = try channel()
        try ok.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        let tooBig = try channel(maxBodySize: 4)
        try tooBig.writeInbound(ByteBuffer(string: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"))
        let malformed = try channel()
        _ = try? malformed.writeInbound(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        for (channel, connection) in [(ok, "keep-alive"), (tooBig, "close"), (malformed, "close")] {
            let head = try response(channel).split(separator: "\r\n\r\n").first ?? ""
            let lines = head.split(separator: "\r\n").map { $0.lowercased() }
            let date = try #require(lines.first { $0.hasPrefix("date: ") }).dropFirst(6)
            #expect(date.count == 29 && date.hasSuffix(" gmt"), "\(date)")
            #expect(lines.filter { $0.hasPrefix("connection: ") } == ["connection: \(connection)"])
        }
        #expect(HTTPTime.format(1_732_183_200) == "Thu, 21 Nov 2024 10:00:00 GMT")
    }

    @Test func oversizedBodiesGet413() throws {
        let channel = try channel(maxBodySize: 4)
        try channel.writeInbound(ByteBuffer(string: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"))
        let text = try response(channel)
        #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
        #expect(text.contains("Request size limit exceeded"))
    }

    @Test func malformedRequestsGet400() throws {
        let channel = try channel()
        _ = try? channel.writeInbound(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        let text = try response(channel)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }

    /// A method token llhttp does not know, in a well-formed request line, is one nginx passes
    /// on: Kong's Admin API answers it 405. Garbage and lower-case tokens stay 400.
    @Test(arguments: [
        ("GEEEET / HTTP/1.1\r\nHost: a\r\n\r\n", 405), ("FOO_BAR-X /x?y HTTP/1.0\r\n\r\n", 405),
        ("geeeet / HTTP/1.1\r\n\r\n", 400), ("GEEEET nope HTTP/1.1\r\n\r\n", 400), ("GEEEET /\r\n\r\n", 400),
    ])
    func unknownMethodTokens(request: String, status: Int) throws {
        let channel = try channel()
        _ = try? channel.writeInbound(ByteBuffer(string: request))
        let text = try response(channel)
        #expect(text.hasPrefix("HTTP/1.1 \(status) "))
        if status == 405 { #expect(text.hasSuffix(#"{"message":"Method not allowed"}"#)) }
    }
}
