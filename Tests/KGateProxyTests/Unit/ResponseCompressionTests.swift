import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

/// nginx's gzip filter and ngx_brotli's as Kong injects them (`nginx_*_gzip*`,
/// `nginx_*_brotli*`): which responses they take, how `Accept-Encoding` is read, the rewritten
/// head, and streams that decode back to the body.
@Suite("Response compression")
struct ResponseCompressionTests {
    // MARK: Accept-Encoding

    @Test("gzip accepted as nginx's ngx_http_gzip_accept_encoding reads it", arguments: [
        ("gzip", true), ("gzip, deflate", true), ("deflate, gzip", true), ("deflate,gzip", true), ("GZIP", true),
        ("gzip;q=0.5", true), ("gzip; q=1", true), ("gzip;q=0", false), ("gzip;q=0.0", false), ("gzip;q=0.000", false),
        ("x-gzip", false), ("gzipper", false), ("br", false), ("deflate", false), ("gzip;level=1", false),
    ])
    func acceptsGzip(_ value: String, _ accepted: Bool) {
        #expect(AcceptEncoding.acceptsGzip(value) == accepted)
    }

    @Test("br accepted as ngx_brotli's check_accept_encoding reads it", arguments: [
        ("br", true), ("gzip, br", true), ("br, gzip", true), ("BR", true), ("br;q=0.001", true), ("br; q=1", true),
        ("br;q=0", false), ("br;q=0.0", false), ("br;q=0.000", false), ("brotli", false), ("xbr", false),
        ("gzip", false), ("gzip, brotli, br", true),
    ])
    func acceptsBrotli(_ value: String, _ accepted: Bool) {
        #expect(AcceptEncoding.acceptsBrotli(value) == accepted)
    }

    // MARK: Decisions

    private static func directives(_ pairs: [(CompressionDirectives.Directive, String)]) throws -> CompressionDirectives {
        var d = CompressionDirectives()
        for (directive, value) in pairs { try d.set(directive, value, property: "nginx_proxy_\(directive.rawValue)") }
        return d
    }

    private static func head(_ text: String, request: Bool = false) -> MessageHead {
        var head = MessageHead()
        let bytes = ByteBuffer(string: text)
        let error = request ? HeadParser.parseRequest(bytes, into: &head) : HeadParser.parseResponse(bytes, into: &head)
        precondition(error == nil)
        return head
    }

    private static func decide(
        _ c: ResponseCompression, status: Int = 200, response: String = "Content-Type: application/json\r\nContent-Length: 100\r\n",
        request: String = "Accept-Encoding: gzip, br\r\n", version: String = "1.1", isHEAD: Bool = false
    ) -> ResponseCompression.Decision {
        let r = head("HTTP/1.1 \(status) X\r\n\(response)\r\n")
        let q = head("GET / HTTP/\(version)\r\nHost: a\r\n\(request)\r\n", request: true)
        return c.decide(status: status, response: r, request: q, isHEAD: isHEAD)
    }

    @Test("off unless gzip or brotli is on in location / (each directive inherited from the levels above)")
    func inheritance() throws {
        #expect(ResponseCompression(http: .init(), proxy: .init(), location: .init()) == nil)
        let on = try Self.directives([(.gzip, "on")])
        #expect(ResponseCompression(http: on, proxy: .init(), location: .init()) != nil)
        #expect(ResponseCompression(http: on, proxy: .init(), location: try Self.directives([(.gzip, "off")])) == nil)
        let typed = try #require(
            ResponseCompression(http: on, proxy: try Self.directives([(.gzip_types, "application/json")]), location: .init()))
        #expect(Self.decide(typed).coding == .gzip(level: 1))
    }

    @Test("only 200, 403 and 404 responses with a body, not encoded, of a listed type, not known to be short")
    func covered() throws {
        let c = try #require(ResponseCompression(
            http: .init(), proxy: try Self.directives([(.gzip, "on"), (.gzip_types, "application/json")]), location: .init()))
        #expect(Self.decide(c).coding == .gzip(level: 1))
        #expect(Self.decide(c, status: 404).coding != nil)
        #expect(Self.decide(c, status: 403).coding != nil)
        #expect(Self.decide(c, status: 201).coding == nil)
        #expect(Self.decide(c, status: 500).coding == nil)
        #expect(Self.decide(c, isHEAD: true).coding == nil)
        #expect(Self.decide(c, response: "Content-Type: application/json\r\nContent-Encoding: gzip\r\n").coding == nil)
        #expect(Self.decide(c, response: "Content-Type: application/json\r\nContent-Length: 19\r\n").coding == nil)
        #expect(Self.decide(c, response: "Content-Type: application/json\r\nContent-Length: 20\r\n").coding != nil)
        #expect(Self.decide(c, response: "Content-Type: Application/JSON; charset=utf-8\r\n").coding != nil)
        #expect(Self.decide(c, response: "Content-Type: text/html\r\n").coding != nil, "text/html is always listed")
        #expect(Self.decide(c, response: "Content-Type: image/png\r\n").coding == nil)
        #expect(Self.decide(c, response: "Content-Length: 100\r\n").coding == nil, "no type")
        #expect(Self.decide(c, request: "").coding == nil)
        #expect(Self.decide(c, request: "Accept-Encoding: gzip;q=0\r\n").coding == nil)
        let any = try #require(ResponseCompression(
            http: .init(), proxy: try Self.directives([(.gzip, "on"), (.gzip_types, "*"), (.gzip_min_length, "1k")]),
            location: .init()))
        #expect(Self.decide(any, response: "Content-Length: 2000\r\n").coding != nil)
        #expect(Self.decide(any, response: "Content-Length: 1000\r\n").coding == nil)
        #expect(Self.decide(any, response: "Transfer-Encoding: chunked\r\n").coding != nil, "length unknown")
    }

    @Test("brotli first when the client accepts br; gzip_vary adds Vary to every covered response")
    func brotliAndVary() throws {
        let c = try #require(ResponseCompression(
            http: try Self.directives([(.gzip, "on"), (.gzip_types, "application/json"), (.gzip_vary, "on")]),
            proxy: try Self.directives([(.brotli, "on"), (.brotli_types, "application/json"), (.brotli_comp_level, "4")]),
            location: .init()))
        #expect(Self.decide(c) == .init(coding: .brotli(level: 4, windowBits: 19), vary: true))
        #expect(Self.decide(c, request: "Accept-Encoding: gzip\r\n") == .init(coding: .gzip(level: 1), vary: true))
        #expect(Self.decide(c, request: "") == .init(coding: nil, vary: true))
        #expect(Self.decide(c, response: "Content-Type: image/png\r\n") == .init(coding: nil, vary: false))
    }

    @Test("gzip_http_version, gzip_proxied (requests with Via) and gzip_disable; brotli checks none of them")
    func gzipRequestChecks() throws {
        let gzip = try #require(ResponseCompression(
            http: .init(), proxy: try Self.directives([(.gzip, "on"), (.gzip_types, "*")]), location: .init()))
        #expect(Self.decide(gzip, version: "1.0").coding == nil)
        #expect(Self.decide(gzip, request: "Accept-Encoding: gzip\r\nVia: 1.1 cdn\r\n").coding == nil)
        let old = try #require(ResponseCompression(
            http: .init(),
            proxy: try Self.directives([
                (.gzip, "on"), (.gzip_types, "*"), (.gzip_http_version, "1.0"), (.gzip_proxied, "no-cache auth"),
                (.gzip_disable, "msie6 curl/7\\."),
            ]), location: .init()))
        #expect(Self.decide(old, version: "1.0").coding != nil)
        let via = "Accept-Encoding: gzip\r\nVia: 1.1 cdn\r\n"
        #expect(Self.decide(old, response: "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n", request: via).coding == nil)
        // nginx's ngx_http_gzip_ok: with neither Expires nor Cache-Control, only no_last_modified
        // and no_etag can refuse.
        #expect(Self.decide(old, request: via).coding != nil)
        #expect(Self.decide(gzip, request: via).coding == nil, "gzip_proxied off")
        #expect(Self.decide(old, request: via + "Authorization: Basic eA==\r\n").coding != nil)
        #expect(Self.decide(old, response: "Cache-Control: no-cache\r\n", request: via).coding != nil)
        #expect(Self.decide(old, response: "Cache-Control: max-age=5\r\n", request: via).coding == nil)
        #expect(Self.decide(old, request: "Accept-Encoding: gzip\r\nUser-Agent: CURL/7.88\r\n").coding == nil)
        #expect(Self.decide(old, request: "Accept-Encoding: gzip\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\r\n").coding == nil)
        #expect(Self.decide(old, request: "Accept-Encoding: gzip\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; SV1)\r\n").coding != nil)
        let brotli = try #require(ResponseCompression(
            http: .init(), proxy: try Self.directives([(.brotli, "on"), (.brotli_types, "*")]), location: .init()))
        #expect(Self.decide(brotli, request: "Accept-Encoding: br\r\nVia: 1.1 cdn\r\n", version: "1.0").coding != nil)
    }

    @Test("values nginx would refuse at start are refused with the property's name", arguments: [
        (CompressionDirectives.Directive.gzip, "yes"), (.gzip_comp_level, "10"), (.brotli_comp_level, "12"),
        (.brotli_window, "100k"), (.gzip_http_version, "2.0"), (.gzip_proxied, "sometimes"), (.gzip_min_length, "lots"),
        (.gzip_types, "json"), (.gzip_disable, "(unclosed"),
    ])
    func refused(_ directive: CompressionDirectives.Directive, _ value: String) {
        var d = CompressionDirectives()
        #expect(throws: InvalidValue.self) { try d.set(directive, value, property: "nginx_proxy_\(directive.rawValue)") }
        #expect(d.isEmpty)
    }

    // MARK: Heads

    @Test("the head of a compressed response: Content-Encoding, chunked, no length or ranges, weak ETag")
    func compressedHead() {
        let upstream = Self.head(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 500\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\n"
                + "Connection: keep-alive\r\nX-Other: 1\r\n\r\n")
        var out = ByteBuffer()
        ResponseCompression.writeHead(upstream, coding: .gzip(level: 1), vary: true, chunked: true, into: &out)
        #expect(String(buffer: out) == "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: W/\"v1\"\r\nX-Other: 1\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Accept-Encoding\r\nContent-Encoding: gzip\r\n\r\n")
        ResponseCompression.writeHead(upstream, coding: .brotli(level: 6, windowBits: 19), vary: false, chunked: false, into: &out)
        #expect(String(buffer: out) == "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: W/\"v1\"\r\nX-Other: 1\r\n"
            + "Connection: close\r\nContent-Encoding: br\r\n\r\n")
    }

    // MARK: Streams

    private static let body = (0..<4000).map { "line \($0) of a compressible body\n" }.joined()

    private static func compress(_ coding: ContentCoding, parts: Int, flush: Bool) throws -> [UInt8] {
        let compressor = try #require(ResponseCompressor(coding))
        let bytes = Array(body.utf8)
        let size = bytes.count / parts + 1
        var out = ByteBuffer()
        for start in stride(from: 0, to: bytes.count, by: size) {
            compressor.compress(
                ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]), flush: flush, end: false, into: &out)
        }
        compressor.compress(ByteBuffer(), flush: false, end: true, into: &out)
        return Array(out.readableBytesView)
    }

    @Test("gzip and brotli streams decode to the body, in one piece or many, flushed or not", arguments: [1, 7, 50])
    func roundTrip(parts: Int) throws {
        for flush in [false, true] {
            let gzip = try Self.compress(.gzip(level: 1), parts: parts, flush: flush)
            #expect(Decompress.gunzip(gzip) == Self.body)
            #expect(gzip.count < Self.body.utf8.count / 4)
            let brotli = try Self.compress(.brotli(level: 6, windowBits: 19), parts: parts, flush: flush)
            #expect(Decompress.unbrotli(brotli) == Self.body)
            #expect(brotli.count < Self.body.utf8.count / 4)
        }
    }

    @Test("a short body of known length gets nginx's smaller zlib window and still decodes", arguments: [1, 20, 700, 5000, 40000])
    func smallWindow(length: Int) throws {
        let text = String((0..<length).map { Character(UnicodeScalar(UInt8(97 + $0 % 7))) })
        let compressor = try #require(ResponseCompressor(.gzip(level: 6), contentLength: length))
        var out = ByteBuffer()
        compressor.compress(ByteBuffer(string: text), flush: false, end: true, into: &out)
        #expect(Decompress.gunzip(Array(out.readableBytesView)) == text)
    }

    @Test("an empty body still makes a complete stream")
    func emptyBody() throws {
        let gzip = try Self.compress(.gzip(level: 9), parts: 1, flush: false)
        #expect(Decompress.gunzip(gzip) == Self.body)
        let compressor = try #require(ResponseCompressor(.gzip(level: 1)))
        var out = ByteBuffer()
        compressor.compress(ByteBuffer(), flush: false, end: true, into: &out)
        #expect(Decompress.gunzip(Array(out.readableBytesView)) == "")
        let brotli = try #require(ResponseCompressor(.brotli(level: 6, windowBits: 19)))
        var b = ByteBuffer()
        brotli.compress(ByteBuffer(), flush: false, end: true, into: &b)
        #expect(Decompress.unbrotli(Array(b.readableBytesView)) == "")
    }
}
