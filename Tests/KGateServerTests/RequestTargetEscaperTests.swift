import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import KGateHTTP

/// Raw bytes 0x80–0xFF in request targets: escaped for the parser, headers and bodies left alone.
struct RequestTargetEscaperTests {
    /// Bytes from text where `\u{80}`...`\u{FF}` stand for single raw bytes.
    static func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8($0.value) } }

    static func escaped(_ chunks: [[UInt8]]) -> [UInt8] {
        var escaper = RequestTargetEscaper()
        return chunks.flatMap { chunk in
            let out = escaper.escape(ByteBuffer(bytes: chunk))
            return Array(out.readableBytesView)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let input: [UInt8]
        let expected: [UInt8]
        let testDescription: String
        init(_ name: String, _ input: String, _ expected: String) {
            self.input = RequestTargetEscaperTests.bytes(input)
            self.expected = RequestTargetEscaperTests.bytes(expected)
            self.testDescription = name
        }
    }

    static let cases: [Case] = [
        Case(
            "utf-8 tag", "GET /consumers?tags=\u{F0}\u{9F}\u{A6}\u{8D} HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /consumers?tags=%F0%9F%A6%8D HTTP/1.1\r\nHost: a\r\n\r\n"),
        Case(
            "path, query and fragment", "GET /tags/\u{FF}?x=\u{FF}#\u{80} HTTP/1.1\r\n\r\n",
            "GET /tags/%FF?x=%FF#%80 HTTP/1.1\r\n\r\n"),
        Case(
            "headers untouched", "GET /?a HTTP/1.1\r\nX-Name: caf\u{E9}\r\n\r\n",
            "GET /?a HTTP/1.1\r\nX-Name: caf\u{E9}\r\n\r\n"),
        Case(
            "a sized body is passed over",
            "\r\nPOST /x?\u{FF} HTTP/1.1\r\ncontent-length: 18\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n"
                + "GET /y?\u{FE} HTTP/1.1\r\n\r\n",
            "\r\nPOST /x?%FF HTTP/1.1\r\ncontent-length: 18\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n"
                + "GET /y?%FE HTTP/1.1\r\n\r\n"),
        Case(
            "a chunked body and its trailers are passed over",
            "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                + "5;ext=\u{FF}\r\n?\u{FF}\r\n\u{FF}\r\nA\r\n0123456789\r\n0\r\nX-T: \u{FF}\r\n\r\n"
                + "GET /y?\u{FE} HTTP/1.1\r\n\r\n",
            "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                + "5;ext=\u{FF}\r\n?\u{FF}\r\n\u{FF}\r\nA\r\n0123456789\r\n0\r\nX-T: \u{FF}\r\n\r\n"
                + "GET /y?%FE HTTP/1.1\r\n\r\n"),
        Case(
            "nothing after an upgrade",
            "GET /?\u{FF} HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n\r\n",
            "GET /?%FF HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n\r\n"),
        Case(
            "nothing after a length it cannot read",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET /?\u{FF} HTTP/1.1\r\n\r\n"),
    ]

    @Test(arguments: cases)
    func escapesTargetsOnly(_ c: Case) {
        #expect(Self.escaped([c.input]) == c.expected)
        // The same bytes arriving one at a time.
        #expect(Self.escaped(c.input.map { [$0] }) == c.expected)
    }

    @Test func unchangedBuffersAreForwardedAsTheyAre() {
        var escaper = RequestTargetEscaper()
        let input = ByteBuffer(string: "GET /?a=b HTTP/1.1\r\n\r\n")
        let output = escaper.escape(input)
        #expect(output == input)
        #expect(output.storageCapacity == input.storageCapacity)
    }

    /// Through NIO's parser: the requests llhttp refused reach the responder with `%XX`.
    @Test func theParserAcceptsEscapedQueries() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(RequestTargetEscapingHandler(), position: .first)
        try channel.pipeline.syncOperations.addHandler(
            HTTPExchangeHandler(
                responder: { request in .json(.ok, #"{"uri":"\#(request.uri)"}"#) }, maxBodySize: 1024))
        try channel.writeInbound(ByteBuffer(bytes: Self.bytes("GET /\u{E9}?tags=\u{FF} HTTP/1.1\r\nHost: a\r\n\r\n")))
        var out = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        #expect(out.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(out.hasSuffix(#"{"uri":"/%E9?tags=%FF"}"#))
    }
}
