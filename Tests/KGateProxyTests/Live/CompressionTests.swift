import KGateSettings
import Testing

@testable import KGateProxy

/// Response compression through a live proxy: Kong's `nginx_proxy_brotli*` and
/// `nginx_*_gzip*` properties (spec 05-proxy/34-proxy_with_compress_spec), streamed upstream
/// bodies of any framing, Kong's own answers, HTTP/1.0 clients and keep-alive after a
/// compressed body.
@Suite("Live: response compression", .serialized)
struct CompressionTests {
    private static func compression(
        http: [(CompressionDirectives.Directive, String)] = [], proxy: [(CompressionDirectives.Directive, String)] = []
    ) throws -> ResponseCompression? {
        func level(_ pairs: [(CompressionDirectives.Directive, String)]) throws -> CompressionDirectives {
            var d = CompressionDirectives()
            for (directive, value) in pairs { try d.set(directive, value, property: directive.rawValue) }
            return d
        }
        return ResponseCompression(http: try level(http), proxy: try level(proxy), location: CompressionDirectives())
    }

    private static func yaml(_ port: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - paths: [/0]
        """
    }

    @Test("brotli as the spec sets it: a br response for a client accepting br (34-proxy_with_compress_spec)")
    func brotliSpec() async throws {
        let brotli = try Self.compression(proxy: [
            (.brotli, "on"), (.brotli_comp_level, "6"),
            (.brotli_types,
             "text/plain text/css application/json application/x-javascript text/xml application/xml application/xml+rss text/javascript application/javascript text/x-js"),
        ])
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port), configure: { $0.compression = brotli }) { proxy in
                let r = try await proxy.get(
                    "/0/xml", headers: [("Accept-Encoding", "br"), ("Content-Type", "application/xml")])
                #expect(r.status == 200)
                #expect(r.header("Content-Encoding") == "br")
                #expect(r.header("Content-Length") == nil)
                #expect(r.chunked)
                let text = try #require(Decompress.unbrotli(r.body))
                #expect(text.hasPrefix("GET /xml\n"))
                let plain = try await proxy.get("/0/xml", headers: [("Accept-Encoding", "gzip")])
                #expect(plain.header("Content-Encoding") == nil)
                #expect(plain.text.hasPrefix("GET /xml\n"))
            }
        }
    }

    @Test("gzip streams upstream bodies of every framing, keeps the connection, and varies")
    func gzipStreams() async throws {
        let gzip = try Self.compression(
            http: [(.gzip, "on"), (.gzip_vary, "on")], proxy: [(.gzip_types, "*"), (.gzip_comp_level, "5")])
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port), configure: { $0.compression = gzip }) { proxy in
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                for path in ["/0/bytes/300000", "/0/chunked/300000", "/0/bytes/300000"] {
                    try await c.send(ProxyHarness.request("GET", path, headers: [("Accept-Encoding", "gzip, deflate")]))
                    let r = try await c.readResponse()
                    #expect(r.status == 200)
                    #expect(r.header("Content-Encoding") == "gzip")
                    #expect(r.header("Vary") == "Accept-Encoding")
                    #expect(r.header("Connection") != "close")
                    let text = try #require(Decompress.gunzip(r.body), "\(path)")
                    #expect(text.utf8.count == 300_000)
                    #expect(text.utf8.allSatisfy { $0 == UInt8(ascii: "x") })
                    #expect(r.body.count < 10_000)
                }
                // Short bodies of known length are left as they are (nginx checks the length
                // before it marks the response for Vary).
                try await c.send(ProxyHarness.request("GET", "/0/bytes/10", headers: [("Accept-Encoding", "gzip")]))
                let short = try await c.readResponse()
                #expect(short.header("Content-Encoding") == nil)
                #expect(short.header("Content-Length") == "10")
                #expect(short.header("Vary") == nil)
                // A client not asking gets the plain body.
                try await c.send(ProxyHarness.request("GET", "/0/bytes/1000"))
                let plain = try await c.readResponse()
                #expect(plain.header("Content-Encoding") == nil)
                #expect(plain.body.count == 1000)
                // HEAD: no body, nothing to compress.
                try await c.send(ProxyHarness.request("HEAD", "/0/bytes/1000", headers: [("Accept-Encoding", "gzip")]))
                let head = try await c.readResponse(headRequest: true)
                #expect(head.header("Content-Encoding") == nil)
                #expect(head.header("Content-Length") == "1000")
            }
        }
    }

    @Test("Kong's own answers are compressed too; an HTTP/1.0 client gets the body until the connection closes")
    func generatedAndHTTP10() async throws {
        let both = try Self.compression(proxy: [
            (.gzip, "on"), (.gzip_types, "application/json text/plain"), (.brotli, "on"), (.brotli_types, "text/plain"),
        ])
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port), configure: { $0.compression = both }) { proxy in
                let notFound = try await proxy.get("/nowhere", headers: [("Accept-Encoding", "gzip")])
                #expect(notFound.status == 404)
                #expect(notFound.header("Content-Encoding") == "gzip")
                let json = try #require(Decompress.gunzip(notFound.body))
                #expect(json.contains("no Route matched with those values"))

                let c = try await proxy.client()
                defer { Task { await c.close() } }
                try await c.send("GET /0/old HTTP/1.0\r\nHost: example.test\r\nConnection: keep-alive\r\nAccept-Encoding: br, gzip\r\n\r\n")
                let r = try await c.readResponse()
                #expect(r.header("Content-Encoding") == "br")
                #expect(r.header("Connection") == "close")
                #expect(!r.chunked)
                #expect(try #require(Decompress.unbrotli(r.body)).hasPrefix("GET /old\n"))
                #expect(await c.waitForClose())
            }
        }
    }
}
