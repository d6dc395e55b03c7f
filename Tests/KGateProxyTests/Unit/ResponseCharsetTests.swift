import NIOCore
import Testing

@testable import KGateProxy

/// nginx's charset filter with Kong's `nginx_http_charset` (default `UTF-8`): Kong's
/// 03-upstream_headers_spec "Content-Type" cases turn it off; on, it adds the charset.
@Suite("nginx_http_charset on response Content-Type")
struct ResponseCharsetTests {
    @Test(arguments: [
        ("text/plain", 200, true), ("TEXT/HTML", 200, true), ("text/xml", 404, true),
        ("application/javascript", 200, true), ("application/rss+xml", 200, true), ("text/vnd.wap.wml", 200, true),
        ("text/plain; charset=utf-8", 200, false), ("text/plain; format=flowed", 200, false), ("text/plain;", 200, false),
        ("application/json", 200, false), ("text/css", 200, false), ("text/plain", 301, false), ("text/html", 302, false),
        ("text/html", 307, true),
    ])
    func appliesAsNginx(contentType: String, status: Int, applies: Bool) {
        #expect(ResponseCharset.applies(to: contentType, status: status) == applies)
    }

    private static func proxied(_ contentType: String, charset: ResponseCharset?, copies: Int = 1) -> String {
        var head = MessageHead()
        let lines = String(repeating: "Content-Type: \(contentType)\r\n", count: copies)
        let upstream = "HTTP/1.1 200 OK\r\n\(lines)Content-Length: 0\r\n\r\n"
        #expect(HeadParser.parseResponse(ByteBuffer(string: upstream), into: &head) == nil)
        let a = ResponseAdditions(
            enabled: [], serverToken: "kong/3.10.0", viaToken: "1.1 kong/3.10.0", requestID: .zero, upstreamLatency: 0,
            proxyLatency: 0, date: "D", keepAlive: true, requestUpgrade: nil, wantsTrailers: false, charset: charset)
        var out = ByteBuffer()
        DownstreamResponseHead.write(from: head, upstreamChunked: false, framing: .none, a, into: &out)
        return String(buffer: out)
    }

    @Test("an upstream's many Content-Type lines: the first gets the charset, and the head fits its bound")
    func manyContentTypes() {
        let text = Self.proxied("text/plain", charset: ResponseCharset("UTF-8"), copies: 500)
        #expect(text.components(separatedBy: "; charset=UTF-8").count == 2)
        #expect(text.components(separatedBy: "Content-Type: text/plain").count == 501)
    }

    @Test("proxied: the upstream's bare text type gets the charset; off leaves it; a charset of its own is kept")
    func proxiedContentType() {
        #expect(Self.proxied("text/plain", charset: ResponseCharset("UTF-8")).contains("\r\nContent-Type: text/plain; charset=UTF-8\r\n"))
        #expect(Self.proxied("text/plain", charset: nil).contains("\r\nContent-Type: text/plain\r\n"))
        #expect(
            Self.proxied("text/plain; charset=utf-8", charset: ResponseCharset("UTF-8"))
                .contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(Self.proxied("application/json", charset: ResponseCharset("UTF-8")).contains("\r\nContent-Type: application/json\r\n"))
    }

    @Test("generated: a plugin's bare text Content-Type gets the charset; Kong's error bodies have one already")
    func generatedContentType() {
        var c = ResponseHeadCompatTests.context()
        c.charset = ResponseCharset("UTF-8")
        var exit = LocalResponse(status: .ok, message: nil, origin: .kong)
        exit.rawBody = Array("<p>hi</p>".utf8)
        exit.rawContentType = "text/html"
        #expect(ResponseHeadCompatTests.rendered(exit, c).contains("\r\nContent-Type: text/html; charset=UTF-8\r\n"))
        let error = LocalResponse(status: .notFound, message: "no Route matched with those values", origin: .kong)
        #expect(ResponseHeadCompatTests.rendered(error, c).contains("\r\nContent-Type: application/json; charset=utf-8\r\n"))
    }
}
