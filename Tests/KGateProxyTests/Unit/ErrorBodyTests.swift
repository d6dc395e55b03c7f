import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

@Suite("Kong error bodies")
struct ErrorBodyTests {
    @Test(
        "Accept negotiation as kong.tools.http.get_response_type",
        arguments: [
            (nil, ErrorFormat.json), ("text/html", .html), ("application/xml", .xml), ("text/plain", .plain),
            ("*/*", .json), ("text/*", .plain), ("application/*", .json), ("image/png", .json),
            ("text/html;q=0.5, application/xml;q=0.9", .xml), ("text/plain; charset=utf-8", .plain),
            ("TEXT/HTML", .json), ("text/html;level=1;q=0.2, text/plain;q=0.1", .html), ("garbage", .json),
        ] as [(String?, ErrorFormat)])
    func negotiate(_ accept: String?, _ expected: ErrorFormat) {
        #expect(ErrorFormat.negotiate(accept: accept) == expected)
    }

    @Test("templates")
    func templates() {
        #expect(ErrorBody.text("no Route matched with those values", requestID: "abc", format: .json)
            == "{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\"abc\"\n}")
        #expect(ErrorBody.text("Bad request", requestID: "r", format: .plain) == "Bad request\nrequest_id: r\n")
        #expect(ErrorBody.text("x", requestID: "r", format: .html).contains("<p>x.</p>"))
        #expect(ErrorBody.text("x", requestID: "r", format: .xml).contains("<message>x</message>"))
    }

    @Test("nginx errors: Accept, then Content-Type, then error_default_type")
    func nginxFormat() {
        #expect(ErrorBody.nginxFormat(accept: nil, contentType: nil, defaultType: .plain) == .plain)
        #expect(ErrorBody.nginxFormat(accept: nil, contentType: "application/json", defaultType: .plain) == .json)
        #expect(ErrorBody.nginxFormat(accept: "text/html", contentType: "application/json", defaultType: .plain) == .html)
        #expect(ErrorBody.nginxFormat(accept: nil, contentType: nil, defaultType: .xml) == .xml)
        #expect(ErrorBody.nginxMessage(status: 502) == "An invalid response was received from the upstream server")
        #expect(ErrorBody.nginxMessage(status: 418) == "The upstream server responded with 418")
    }

    @Test("a rendered generated response carries Kong's headers")
    func rendered() {
        let c = LocalResponse.Context(
            enabled: .kongDefault, serverToken: "kong/3.10.0", viaToken: "1.1 kong/3.10.0", requestID: "rid", date: "D",
            keepAlive: true, errorDefaultType: .plain, responseLatency: 3, proxyLatency: 1, upstreamLatency: 2)
        let bytes = LocalResponse.nginx(502, proxied: true).render(format: .init(), c, isHEAD: false, allocator: .init())
        let text = String(buffer: bytes)
        #expect(text.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8\r\n"))
        #expect(text.contains("X-Kong-Upstream-Latency: 2\r\n"))
        #expect(text.contains("Via: 1.1 kong/3.10.0\r\n"))
        #expect(text.contains("X-Kong-Request-Id: rid\r\n"))
        #expect(text.hasSuffix("An invalid response was received from the upstream server\nrequest_id: rid\n"))
        let notFound = LocalResponse(status: .notFound, message: "no Route matched with those values", origin: .kong)
            .render(format: .init(), c, isHEAD: true, allocator: .init())
        let head = String(buffer: notFound)
        #expect(head.contains("X-Kong-Response-Latency: 3\r\n"))
        #expect(head.contains("Server: kong/3.10.0\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
    }
}
