import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

/// Response heads against nginx and Kong: what the proxy module hides or passes, Kong's debug
/// headers, `X-Kong-Upstream-Status` on error pages, custom error templates, generated 204s.
@Suite("Response heads: nginx and Kong details")
struct ResponseHeadCompatTests {
    static let debug = RouteDebugHeaders(
        routeID: "r-id", routeName: "r-name", serviceID: "s-id", serviceName: "s-name")

    static func context(enabled: ResponseHeaders = .kongDefault, templates: ErrorTemplates = ErrorTemplates(),
                        debug: RouteDebugHeaders? = nil) -> LocalResponse.Context {
        LocalResponse.Context(
            enabled: enabled, serverToken: "kong/3.10.0", viaToken: "1.1 kong/3.10.0", requestID: "rid", date: "D",
            keepAlive: true, errorDefaultType: .plain, errorTemplates: templates, responseLatency: 3, proxyLatency: 1,
            upstreamLatency: 2, debug: debug)
    }

    static func rendered(
        _ response: LocalResponse, _ c: LocalResponse.Context, format: LocalResponse.RequestFormat = .init(),
        isHEAD: Bool = false
    ) -> String {
        String(buffer: response.render(format: format, c, isHEAD: isHEAD, allocator: .init()))
    }

    /// The proxied head for an upstream head.
    static func proxied(_ upstream: String, debug: RouteDebugHeaders? = nil) -> String {
        var head = MessageHead()
        #expect(HeadParser.parseResponse(ByteBuffer(string: upstream), into: &head) == nil)
        let a = ResponseAdditions(
            enabled: [.upstreamStatus], serverToken: "kong/3.10.0", viaToken: "1.1 kong/3.10.0", requestID: .zero,
            upstreamLatency: 0, proxyLatency: 0, date: "D", keepAlive: true, requestUpgrade: nil, wantsTrailers: false,
            debug: debug)
        var out = ByteBuffer()
        DownstreamResponseHead.write(from: head, upstreamChunked: false, framing: .none, a, into: &out)
        return String(buffer: out)
    }

    @Test("nginx's proxy_hide_header defaults: X-Pad and five X-Accel-* only; Proxy-Connection passes")
    func hiddenHeaders() {
        let text = Self.proxied(
            "HTTP/1.1 200 OK\r\nX-Pad: 1\r\nX-Accel-Buffering: no\r\nx-accel-redirect: /r\r\nX-Accel-Expires: 5\r\n"
                + "X-Accel-Limit-Rate: 9\r\nX-Accel-Charset: utf-8\r\nX-Accel-Other: kept\r\nX-Padding: kept\r\n"
                + "Proxy-Connection: close\r\nContent-Length: 0\r\n\r\n")
        for hidden in ["x-pad", "x-accel-buffering", "x-accel-redirect", "x-accel-expires", "x-accel-limit-rate",
                       "x-accel-charset"] {
            #expect(!text.lowercased().contains("\r\n" + hidden + ":"), "\(hidden)")
        }
        #expect(text.contains("X-Accel-Other: kept\r\n"))
        #expect(text.contains("X-Padding: kept\r\n"))
        #expect(text.contains("Proxy-Connection: close\r\n"))
        #expect(text.contains("Connection: keep-alive\r\n"))
        #expect(text.contains("X-Kong-Upstream-Status: 200\r\n"))
    }

    @Test("upstream heads as nginx reads them: spaces before the status, a status under 100 kept in three digits, a line without a colon sent as 'Name: '")
    func lenientUpstreamHeads() {
        #expect(Self.proxied("HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(Self.proxied("HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.1 099 Low\r\n"))
        #expect(Self.proxied("HTTP/1.1 200 OK\r\nBare\r\nContent-Length: 0\r\n\r\n").contains("\r\nBare: \r\n"))
    }

    @Test(
        "upstream body framing as nginx 1.27: one Content-Length or one chunked Transfer-Encoding, else an invalid response",
        arguments: [
            ("Content-Length: 5\r\n", BodyFraming.length(5) as BodyFraming?),
            ("Transfer-Encoding: Chunked\r\n", .chunked),
            ("", .untilClose),
            ("Content-Length: 5\r\nContent-Length: 5\r\n", nil),
            ("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", nil),
            ("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", nil),
            ("Transfer-Encoding: gzip, chunked\r\n", nil),
            ("Transfer-Encoding: identity\r\n", nil),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", nil),
            ("Content-Length: -1\r\n", nil),
        ] as [(String, BodyFraming?)])
    func upstreamFraming(_ headers: String, _ expected: BodyFraming?) {
        var head = MessageHead()
        #expect(HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\(headers)\r\n"), into: &head) == nil)
        #expect(DownstreamResponseHead.framing(of: head, requestMethod: .GET) == expected)
        // Whatever the status: nginx checks the lines as they come.
        var noContent = MessageHead()
        _ = HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\(headers)\r\n"), into: &noContent)
        #expect((DownstreamResponseHead.framing(of: noContent, requestMethod: .GET) == nil) == (expected == nil))
    }

    /// nginx ≥ 1.23 sends a proxied 204's length from the upstream's (the header filter's 204
    /// branch only runs without an upstream status line), and keeps its Content-Type.
    @Test("a proxied 204 keeps the upstream's Content-Length and Content-Type")
    func proxied204() {
        let text = Self.proxied("HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(text.contains("Content-Type: text/plain\r\n"))
        #expect(text.contains("Content-Length: 0\r\n"))
    }

    @Test("debug headers on a proxied head, only the ones that exist")
    func debugHeadersProxied() {
        let text = Self.proxied("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", debug: Self.debug)
        #expect(text.contains("Kong-Route-Id: r-id\r\nKong-Route-Name: r-name\r\nKong-Service-Id: s-id\r\n"
            + "Kong-Service-Name: s-name\r\n"))
        let partial = Self.proxied(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            debug: RouteDebugHeaders(routeID: "r", routeName: nil, serviceID: nil, serviceName: nil))
        #expect(partial.contains("Kong-Route-Id: r\r\n"))
        #expect(!partial.contains("Kong-Route-Name") && !partial.contains("Kong-Service"))
        #expect(!Self.proxied("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").contains("Kong-Route"))
    }

    @Test("an nginx error page after a proxied try carries X-Kong-Upstream-Status; Kong's own errors do not")
    func upstreamStatusOnErrorPages() {
        let c = Self.context(enabled: [.upstreamStatus])
        #expect(Self.rendered(.nginx(502, proxied: true), c).contains("X-Kong-Upstream-Status: 502\r\n"))
        #expect(Self.rendered(.nginx(504, proxied: true), c).contains("X-Kong-Upstream-Status: 504\r\n"))
        let notFound = LocalResponse(status: .notFound, message: "no Route matched with those values", origin: .kong)
        #expect(!Self.rendered(notFound, c).contains("Upstream-Status"))
        #expect(!Self.rendered(.nginx(502, proxied: true), Self.context()).contains("X-Kong-Upstream-Status"))
    }

    @Test("a generated 204 has no Content-Type nor Content-Length (ngx_http_special_response_handler)")
    func generated204() {
        let exit = LocalResponse(
            status: .noContent, message: nil, origin: .kong, rawBody: Array("ignored".utf8), rawContentType: "text/plain")
        let text = Self.rendered(exit, Self.context())
        #expect(text.hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(!text.contains("Content-Type"))
        #expect(!text.contains("Content-Length"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test("debug headers on a generated response")
    func debugHeadersGenerated() {
        let text = Self.rendered(
            LocalResponse(status: .forbidden, message: "Forbidden", origin: .kong), Self.context(debug: Self.debug))
        #expect(text.contains("Kong-Route-Id: r-id\r\n"))
        #expect(text.contains("Kong-Service-Name: s-name\r\n"))
    }

    @Test("custom error templates: string.format(template, message, request_id), per format")
    func templates() throws {
        let json = try ErrorTemplate(path: "j", bytes: Array("{\"custom\":\"%s\",\"id\":\"%s\",\"pct\":\"100%%\"}".utf8))
        let plain = try ErrorTemplate(path: "p", bytes: Array("only: %s".utf8))
        let c = Self.context(templates: ErrorTemplates(json: json, plain: plain))
        let notFound = LocalResponse(status: .notFound, message: "no Route matched with those values", origin: .kong)

        let jsonText = Self.rendered(notFound, c)
        let jsonBody = "{\"custom\":\"no Route matched with those values\",\"id\":\"rid\",\"pct\":\"100%\"}"
        #expect(jsonText.hasSuffix("\r\n\r\n" + jsonBody))
        #expect(jsonText.contains("Content-Length: \(jsonBody.utf8.count)\r\n"))
        #expect(jsonText.contains("Content-Type: application/json; charset=utf-8\r\n"))

        let plainText = Self.rendered(.nginx(502, proxied: true), c)
        #expect(plainText.hasSuffix("\r\n\r\nonly: An invalid response was received from the upstream server"))

        // No custom XML template: Kong's default; a gRPC client over HTTP/1 gets the message table.
        let xml = Self.rendered(notFound, c, format: .init(accept: "application/xml"))
        #expect(xml.contains("<message>no Route matched with those values</message>"))
        let grpc = Self.rendered(.nginx(502), c, format: .init(accept: "application/grpc"))
        #expect(grpc.hasSuffix("{\"message\":\"An invalid response was received from the upstream server\"}"))

        // HEAD: the length of the body that is not sent.
        let head = Self.rendered(notFound, c, isHEAD: true)
        #expect(head.contains("Content-Length: \(jsonBody.utf8.count)\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
    }
}
