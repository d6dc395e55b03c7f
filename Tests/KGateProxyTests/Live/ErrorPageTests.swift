import Foundation
import Testing

@testable import KGateProxy

/// The errors nginx makes before Kong routes, as Kong's template hands them on
/// (spec/02-integration/05-proxy/13-error_handlers_spec.lua): `error_page` statuses go through
/// `kong/error_handlers.lua`, the others keep nginx's own page.
@Suite("nginx's error pages through Kong's error handler", .serialized)
struct ErrorPageTests {
    @Test("a header line over large_client_header_buffers: 400 with Kong's 494 message and Server (13-error_handlers_spec)")
    func headerTooLarge() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(ProxyHarness.oneService(port: ups[0].port)) { proxy in
                let r = try await proxy.get("/", headers: [("X-Large", String(repeating: "a", count: 10 * 1024))])
                #expect(r.status == 400)
                #expect(r.header("Server") == "kong/3.10.0")
                #expect(r.text == "Request header or cookie too large\nrequest_id: \(r.header("X-Kong-Request-Id") ?? "-")\n")
                #expect(ups[0].requests.isEmpty)
            }
        }
    }

    /// nginx refuses a head at the line it cannot take, after the lines before it went into
    /// the request; Kong's error handler reads `Accept`, then `Content-Type`, from those.
    @Test(
        "a refused head's error body follows the Accept or Content-Type nginx read before the refused line",
        arguments: [
            ("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nX-Large: \(String(repeating: "a", count: 10_240))\r\n\r\n",
             "application/json; charset=utf-8", "{\n  \"message\":\"Request header or cookie too large\",\n  \"request_id\":\"ID\"\n}"),
            // A line after the refused one is never read.
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Large: \(String(repeating: "a", count: 10_240))\r\nAccept: application/json\r\n\r\n",
             "text/plain; charset=utf-8", "Request header or cookie too large\nrequest_id: ID\n"),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nBad Name: 1\r\n\r\n",
             "application/xml; charset=utf-8",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>Bad request</message>\n  <requestid>ID</requestid>\n</error>\n"),
            // A request line too long: no header was read.
            ("GET /\(String(repeating: "u", count: 9000)) HTTP/1.1\r\nAccept: application/json\r\n\r\n",
             "text/plain; charset=utf-8", "URI too long\nrequest_id: ID\n"),
        ] as [(String, String, String)])
    func refusedHeadFormat(_ request: String, _ contentType: String, _ body: String) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(ProxyHarness.oneService(port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(request)
                let r = try await c.readResponse()
                #expect(r.header("Content-Type") == contentType)
                let id = try #require(r.header("X-Kong-Request-Id"))
                #expect(r.text == body.replacingOccurrences(of: "ID", with: id))
                await c.close()
            }
        }
    }

    /// Kong's template has no `error_page` for 501 and 505, so `kong/error_handlers.lua` never
    /// sees them: the body is nginx's HTML page (without the server token Kong's build removes),
    /// while Kong's `header_filter` still adds `Server`, the latency and the request id.
    @Test(
        "501 (unknown Transfer-Encoding) and 505 (HTTP/2 on HTTP/1) keep nginx's own page",
        arguments: [
            ("POST / HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
             "Not Implemented"),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP Version Not Supported"),
        ] as [(String, Int, String)])
    func builtinPages(_ request: String, _ status: Int, _ reason: String) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(ProxyHarness.oneService(port: ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send(request)
                let r = try await c.readResponse()
                #expect(r.status == status)
                #expect(r.reason == reason)
                #expect(r.header("Content-Type") == "text/html; charset=UTF-8")
                let title = "\(status) \(reason)"
                #expect(
                    r.text
                        == "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n</body>\r\n</html>\r\n"
                )
                #expect(r.header("Server") == "kong/3.10.0")
                #expect(r.header("X-Kong-Request-Id")?.utf8.count == 32)
                #expect(r.header("Connection") == "close")
                #expect(await c.waitForClose())
            }
        }
    }
}
