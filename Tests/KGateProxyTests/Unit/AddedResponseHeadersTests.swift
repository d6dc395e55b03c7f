import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

/// nginx's `add_header` as Kong injects it (`nginx_http_add_header`, `nginx_proxy_add_header`,
/// `nginx_location_add_header`): statuses, `always`, inheritance between the blocks, and the
/// fields nginx keeps one of.
@Suite("add_header on response heads")
struct AddedResponseHeadersTests {
    private static func applied(
        _ added: AddedResponseHeaders, to head: String, status: Int = 200, scope: AddedResponseHeaders.Scope = .location
    ) -> String {
        var buffer = ByteBuffer(string: head)
        added.apply(to: &buffer, status: status, scope: scope)
        return String(buffer: buffer)
    }

    private static let head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    @Test("appended after the head's fields, on nginx's statuses only unless always")
    func statuses() {
        let added = AddedResponseHeaders(
            http: [], proxy: [AddHeaderDirective(name: "X-A", value: "a"), AddHeaderDirective(name: "X-B", value: "b", always: true)],
            location: [])
        #expect(Self.applied(added, to: Self.head) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: a\r\nX-B: b\r\n\r\n")
        for status in [201, 204, 206, 301, 302, 303, 304, 307, 308] {
            #expect(Self.applied(added, to: Self.head, status: status).contains("X-A: a\r\n"))
        }
        let notFound = Self.applied(added, to: Self.head, status: 404)
        #expect(!notFound.contains("X-A"))
        #expect(notFound.contains("X-B: b\r\n"))
        #expect(Self.applied(added, to: Self.head, status: 502, scope: .server).contains("X-B: b\r\n"))
    }

    @Test("a block with its own add_header inherits none from the blocks above")
    func inheritance() {
        let http = [AddHeaderDirective(name: "X-Http", value: "1", always: true)]
        let proxy = [AddHeaderDirective(name: "X-Proxy", value: "1", always: true)]
        let location = [AddHeaderDirective(name: "X-Location", value: "1", always: true)]
        let onlyHTTP = AddedResponseHeaders(http: http, proxy: [], location: [])
        #expect(onlyHTTP.location == http && onlyHTTP.server == http)
        let proxyToo = AddedResponseHeaders(http: http, proxy: proxy, location: [])
        #expect(proxyToo.location == proxy && proxyToo.server == proxy)
        let all = AddedResponseHeaders(http: http, proxy: proxy, location: location)
        #expect(all.location == location && all.server == proxy)
        #expect(AddedResponseHeaders(http: [], proxy: [], location: location).server.isEmpty)
        #expect(AddedResponseHeaders().isEmpty)
    }

    @Test("an empty value adds nothing; ETag and Last-Modified replace the head's, empty removes it")
    func replacedFields() {
        let upstream = "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nX-Keep: 1\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        let added = AddedResponseHeaders(
            http: [],
            proxy: [
                AddHeaderDirective(name: "X-Empty", value: ""), AddHeaderDirective(name: "etag", value: "\"v2\""),
                AddHeaderDirective(name: "Last-Modified", value: ""),
            ], location: [])
        #expect(Self.applied(added, to: upstream) == "HTTP/1.1 200 OK\r\nX-Keep: 1\r\netag: \"v2\"\r\n\r\n")
    }

    @Test("a generated response keeps its body after the added fields")
    func wholeResponse() {
        let added = AddedResponseHeaders(http: [AddHeaderDirective(name: "X-A", value: "a")], proxy: [], location: [])
        let response = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        let out = added.apply(toResponse: response, status: 200, scope: .location)
        #expect(String(buffer: out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\r\n\r\nhi")
        #expect(added.apply(toResponse: response, status: 500, scope: .location) == response)
    }
}
