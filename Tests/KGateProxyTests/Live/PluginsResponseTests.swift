import Foundation
import Testing

/// request-termination, cors and correlation-id through the proxy, against Kong's specs
/// (spec/03-plugins/14-request-termination, 13-cors, 11-correlation-id).
@Suite("Plugins live: request-termination, cors, correlation-id", .serialized)
struct PluginsResponseTests {
    static let corsDefaultMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"

    /// Kong's `UUID_PATTERN`: lower-case 8-4-4-4-12 hex.
    static func isUUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12]
            && parts.allSatisfy { $0.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) } }
    }

    // MARK: request-termination

    @Test("request-termination: status_code, message, body and content_type; the upstream is never called")
    func termination() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [rt1.test]
                    plugins: [{name: request-termination}]
                  - hosts: [rt2.test]
                    plugins: [{name: request-termination, config: {status_code: 404}}]
                  - hosts: [rt3.test]
                    plugins: [{name: request-termination, config: {status_code: 406, message: Invalid}}]
                  - hosts: [rt5.test]
                    plugins:
                    - name: request-termination
                      config:
                        status_code: 451
                        content_type: text/html
                        body: "<html><body><h1>Service is down due to content infringement</h1></body></html>"
                  - hosts: [rt6.test]
                    plugins:
                    - name: request-termination
                      config: {status_code: 503, body: '{"code": 1, "message": "Service unavailable"}'}
                  - hosts: [rt8.test]
                    plugins: [{name: request-termination, config: {status_code: 204}}]
                routes:
                - hosts: [serviceless.test]
                  plugins: [{name: request-termination}]
                """
            try await withProxy(yaml) { proxy in
                let d = try await proxy.get("/echo", host: "rt1.test")
                #expect(d.status == 503)
                #expect(d.text == #"{"message":"Service unavailable"}"#)
                #expect(d.header("Content-Type") == "application/json; charset=utf-8")
                #expect(d.header("Content-Length") == String(d.body.count))
                #expect(d.header("Server") == "kong/3.10.0")

                let serviceless = try await proxy.get("/echo", host: "serviceless.test")
                #expect(serviceless.status == 503)
                #expect(serviceless.text == #"{"message":"Service unavailable"}"#)

                let notFound = try await proxy.get("/echo", host: "rt2.test")
                #expect(notFound.status == 404)
                #expect(notFound.text == #"{"message":"Not found"}"#)

                let invalid = try await proxy.get("/echo", host: "rt3.test")
                #expect(invalid.status == 406)
                #expect(invalid.text == #"{"message":"Invalid"}"#)

                let html = try await proxy.get("/echo", host: "rt5.test")
                #expect(html.status == 451)
                #expect(html.text == "<html><body><h1>Service is down due to content infringement</h1></body></html>")
                // nginx's charset filter (`nginx_http_charset`, UTF-8) completes a bare text type.
                #expect(html.header("Content-Type") == "text/html; charset=UTF-8")

                let json = try await proxy.get("/echo", host: "rt6.test")
                #expect(json.status == 503)
                #expect(json.json?["code"] as? Int == 1)
                #expect(json.message == "Service unavailable")

                let empty = try await proxy.get("/echo", host: "rt8.test")
                #expect(empty.status == 204)
                #expect(empty.header("Content-Length") == nil)
                #expect(empty.body.isEmpty)

                #expect(ups[0].requests.isEmpty)
            }
        }
    }

    @Test("request-termination: echo, and a trigger in a header or the query")
    func terminationEchoAndTrigger() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [rt9.test]
                    paths: ["~/(?<parameter>[a-z]+)/200"]
                    plugins: [{name: request-termination, config: {status_code: 404, echo: true}}]
                  - hosts: [rt10.test]
                    plugins: [{name: request-termination, config: {status_code: 404, echo: true, trigger: gimme-an-echo}}]
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.send("GET", "/status/200?hello=there", host: "rt9.test", body: "cool body")
                #expect(r.status == 404)
                let json = try #require(r.json)
                #expect(json["message"] as? String == "Not found")
                let request = try #require(json["request"] as? [String: Any])
                #expect(request["method"] as? String == "GET")
                #expect(request["path"] as? String == "/status/200")
                #expect(request["host"] as? String == "rt9.test")
                #expect(request["scheme"] as? String == "http")
                #expect(request["port"] as? Int == proxy.port)
                #expect(request["raw_body"] as? String == "cool body")
                #expect((request["query"] as? [String: Any])?["hello"] as? String == "there")
                let headers = try #require(request["headers"] as? [String: Any])
                #expect(headers["content-length"] as? String == "9")
                #expect(headers["host"] as? String == "rt9.test")
                let captures = request["uri_captures"] as? [String: Any]
                #expect((captures?["named"] as? [String: Any])?["parameter"] as? String == "status")
                #expect(captures?["unnamed"] as? [String] == ["status"])
                let route = json["matched_route"] as? [String: Any]
                #expect((route?["hosts"] as? [String])?.first == "rt9.test")
                #expect(json["matched_service"] is [String: Any])

                let passes = try await proxy.get("/echo", host: "rt10.test")
                #expect(passes.status == 200)
                #expect(EchoedRequest(passes).requestLine == "GET /echo")

                let byHeader = try await proxy.get("/echo", host: "rt10.test", headers: [("Gimme-An-Echo", "anything")])
                #expect(byHeader.status == 404)
                #expect((byHeader.json?["request"] as? [String: Any])?["path"] as? String == "/echo")

                let byQuery = try await proxy.get("/echo?gimme-an-echo", host: "rt10.test")
                #expect(byQuery.status == 404)
                #expect(ups[0].requests.count == 1)
            }
        }
    }

    // MARK: cors

    private func corsYAML(_ port: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - hosts: [cors1.test]
            plugins: [{name: cors}]
          - hosts: [cors2.test]
            plugins:
            - name: cors
              config:
                origins: [example.test]
                methods: [GET]
                headers: [origin, type, accepts]
                exposed_headers: [x-auth-token]
                max_age: 23
                credentials: true
          - hosts: [cors3.test]
            plugins:
            - name: cors
              config:
                origins: [example.test]
                methods: [GET]
                headers: [origin, type, accepts]
                exposed_headers: [x-auth-token]
                max_age: 23
                preflight_continue: true
          - hosts: [cors4.test]
            plugins: [{name: cors}, {name: key-auth}]
          - hosts: [cors5.test]
            plugins: [{name: cors, config: {origins: ["*"], credentials: true}}]
          - hosts: [cors-multi.test]
            plugins: [{name: cors, config: {origins: ["http://foo.test", "https://bar.test:1234"]}}]
          - hosts: [cors-regex.test]
            plugins: [{name: cors, config: {origins: ["(.*[./])?foo\\\\.test"]}}]
          - hosts: [cors-regex-port.test]
            plugins: [{name: cors, config: {origins: ["https://(.*[.])?foo\\\\.test:8000"]}}]
        """
    }

    private func preflight(_ proxy: ProxyHarness, _ host: String, origin: String, extra: [(String, String)] = []) async throws
        -> RawResponse
    {
        try await proxy.send(
            "OPTIONS", "/echo", host: host, headers: [("Origin", origin), ("Access-Control-Request-Method", "GET")] + extra)
    }

    @Test("cors: preflight defaults, config options, request headers, credentials with *")
    func corsPreflight() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(corsYAML(ups[0].port)) { proxy in
                let d = try await preflight(proxy, "cors1.test", origin: "origin1.test")
                #expect(d.status == 200)
                #expect(d.header("Content-Length") == "0")
                #expect(d.header("Access-Control-Allow-Methods") == Self.corsDefaultMethods)
                #expect(d.header("Access-Control-Allow-Origin") == "*")
                for name in ["Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials",
                             "Access-Control-Max-Age", "Vary"] {
                    #expect(d.header(name) == nil, "\(name)")
                }

                let o = try await preflight(proxy, "cors2.test", origin: "example.test")
                #expect(o.status == 200)
                #expect(o.header("Access-Control-Allow-Methods") == "GET")
                #expect(o.header("Access-Control-Allow-Origin") == "example.test")
                #expect(o.header("Access-Control-Max-Age") == "23")
                #expect(o.header("Access-Control-Allow-Credentials") == "true")
                #expect(o.header("Access-Control-Allow-Headers") == "origin,type,accepts")
                #expect(o.header("Vary") == "Origin")
                #expect(o.header("Access-Control-Expose-Headers") == nil)

                let acrh = try await preflight(
                    proxy, "cors1.test", origin: "origin1.test", extra: [("Access-Control-Request-Headers", "origin,accepts")])
                #expect(acrh.header("Access-Control-Allow-Headers") == "origin,accepts")

                let star = try await preflight(proxy, "cors5.test", origin: "origin5.test")
                #expect(star.header("Access-Control-Allow-Origin") == "origin5.test")
                #expect(star.header("Access-Control-Allow-Credentials") == "true")
                #expect(star.header("Vary") == "Origin")

                // Preflights with key-auth on the route: cors answers first (priority 2000).
                let withAuth = try await preflight(proxy, "cors4.test", origin: "origin5.test")
                #expect(withAuth.status == 200)
                #expect(ups[0].requests.isEmpty)
            }
        }
    }

    @Test("cors: allowed and disallowed origins, regex origins")
    func corsOrigins() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(corsYAML(ups[0].port)) { proxy in
                let allowed = try await preflight(proxy, "cors-multi.test", origin: "https://bar.test:1234")
                #expect(allowed.header("Access-Control-Allow-Origin") == "https://bar.test:1234")
                #expect(allowed.header("Vary") == "Origin")
                let normalized = try await preflight(proxy, "cors-multi.test", origin: "http://foo.test:80")
                #expect(normalized.header("Access-Control-Allow-Origin") == "http://foo.test")
                let disallowed = try await preflight(proxy, "cors-multi.test", origin: "http://evil.test")
                #expect(disallowed.status == 200)
                #expect(disallowed.header("Access-Control-Allow-Origin") == nil)
                #expect(disallowed.header("Access-Control-Allow-Methods") == Self.corsDefaultMethods)

                let regex: [(String, String?)] = [
                    ("http://evil.test", nil), ("http://foo.test", "http://foo.test"),
                    ("http://foo.test.evil.test", nil), ("http://something.foo.test", "http://something.foo.test"),
                    ("http://evilfoo.test", nil), ("http://foo.test:80", "http://foo.test"),
                    ("http://foo.test:8000", "http://foo.test:8000"), ("https://foo.test:8000", "https://foo.test:8000"),
                    ("http://foobtest", nil),
                ]
                for (origin, expected) in regex {
                    let r = try await preflight(proxy, "cors-regex.test", origin: origin)
                    #expect(r.header("Access-Control-Allow-Origin") == expected, "\(origin)")
                }
                let withPort: [(String, String?)] = [
                    ("http://foo.test:8000", nil), ("https://foo.test:8000", "https://foo.test:8000"),
                    ("https://a.foo.test:8000", "https://a.foo.test:8000"), ("https://foo.test", nil),
                ]
                for (origin, expected) in withPort {
                    let r = try await preflight(proxy, "cors-regex-port.test", origin: origin)
                    #expect(r.header("Access-Control-Allow-Origin") == expected, "\(origin)")
                }
                // Non-preflight requests get the origin too.
                let get = try await proxy.get("/echo", host: "cors-regex.test", headers: [("Origin", "http://a.foo.test")])
                #expect(get.status == 200)
                #expect(get.header("Access-Control-Allow-Origin") == "http://a.foo.test")
                #expect(get.header("Vary") == "Origin")
            }
        }
    }

    @Test("cors: a normal request gets exposed headers and credentials; preflight_continue; 401 and 404 responses")
    func corsNormalRequests() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(corsYAML(ups[0].port)) { proxy in
                let r = try await proxy.get("/echo", host: "cors2.test", headers: [("Origin", "example.test")])
                #expect(r.status == 200)
                #expect(r.header("X-Upstream") == "u")
                #expect(r.header("Access-Control-Allow-Origin") == "example.test")
                #expect(r.header("Access-Control-Expose-Headers") == "x-auth-token")
                #expect(r.header("Access-Control-Allow-Credentials") == "true")
                #expect(r.header("Vary") == "Origin")
                #expect(r.header("Access-Control-Allow-Methods") == nil)
                #expect(r.header("Access-Control-Allow-Headers") == nil)
                #expect(r.header("Access-Control-Max-Age") == nil)

                let plain = try await proxy.get("/echo", host: "cors1.test")
                #expect(plain.header("Access-Control-Allow-Origin") == "*")
                #expect(plain.header("Vary") == nil)

                // A non-preflight OPTIONS (no Access-Control-Request-Method) is proxied.
                let options = try await proxy.send("OPTIONS", "/echo", host: "cors1.test", headers: [("Origin", "x.test")])
                #expect(options.status == 200)
                #expect(EchoedRequest(options).requestLine == "OPTIONS /echo")
                #expect(options.header("Access-Control-Allow-Origin") == "*")
                #expect(options.header("Access-Control-Allow-Methods") == nil)

                let continued = try await preflight(proxy, "cors3.test", origin: "example.test")
                #expect(continued.status == 200)
                #expect(EchoedRequest(continued).requestLine == "OPTIONS /echo")
                #expect(continued.header("Access-Control-Allow-Origin") == nil)
                #expect(continued.header("Access-Control-Allow-Methods") == nil)

                let unauthorized = try await proxy.get("/echo", host: "cors4.test", headers: [("Origin", "x.test")])
                #expect(unauthorized.status == 401)
                #expect(unauthorized.header("Access-Control-Allow-Origin") == "*")
                #expect(unauthorized.header("Access-Control-Allow-Methods") == nil)

                let upstream404 = try await proxy.get("/status/404", host: "cors1.test", headers: [("Origin", "x.test")])
                #expect(upstream404.status == 404)
                #expect(upstream404.header("Access-Control-Allow-Origin") == "*")
            }
        }
    }

    @Test("cors headers on a 502 from a failed upstream")
    func corsOnUpstreamFailure() async throws {
        // A port with nothing listening (an upstream started and stopped).
        let port = try await withUpstreams(["gone"]) { ups in ups[0].port }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: http://127.0.0.1:\(port)
              routes:
              - hosts: [cors-error.test]
                plugins:
                - name: cors
                  config: {origins: [example.test], exposed_headers: [x-auth-token]}
            """
        try await withProxy(yaml) { proxy in
            let r = try await proxy.get("/echo", host: "cors-error.test", headers: [("Origin", "example.test")])
            #expect(r.status == 502)
            #expect(r.header("Access-Control-Allow-Origin") == "example.test")
            #expect(r.header("Access-Control-Expose-Headers") == "x-auth-token")
            #expect(r.header("Vary") == "Origin")
            #expect(r.header("Access-Control-Allow-Credentials") == nil)
            #expect(r.header("Access-Control-Allow-Methods") == nil)
        }
    }

    // MARK: correlation-id

    @Test("correlation-id: generators upstream, echo_downstream, an existing header kept")
    func correlationID() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [counter.test]
                    plugins: [{name: correlation-id}]
                  - hosts: [named.test]
                    plugins: [{name: correlation-id, config: {header_name: Foo-Bar-Id}}]
                  - hosts: [uuid-echo.test]
                    plugins: [{name: correlation-id, config: {generator: uuid, echo_downstream: true}}]
                  - hosts: [uuid-echo-auth.test]
                    plugins:
                    - {name: correlation-id, config: {generator: uuid, echo_downstream: true}}
                    - {name: key-auth}
                """
            try await withProxy(yaml) { proxy in
                let first = try await proxy.get("/echo", host: "counter.test")
                let second = try await proxy.get("/echo", host: "counter.test")
                let id1 = try #require(EchoedRequest(first).header("Kong-Request-ID"))
                let id2 = try #require(EchoedRequest(second).header("Kong-Request-ID"))
                let p1 = id1.split(separator: "#"), p2 = id2.split(separator: "#")
                #expect(p1.count == 2 && Self.isUUID(String(p1[0])))
                #expect(p1.first == p2.first)
                #expect(Int(p2.last ?? "") == (Int(p1.last ?? "") ?? -9) + 1)
                #expect(first.header("Kong-Request-ID") == nil)

                let named = EchoedRequest(try await proxy.get("/echo", host: "named.test"))
                #expect(named.header("Foo-Bar-Id")?.contains("#") == true)
                #expect(named.header("Kong-Request-ID") == nil)

                let echoed = try await proxy.get("/echo", host: "uuid-echo.test")
                let upstreamID = try #require(EchoedRequest(echoed).header("Kong-Request-ID"))
                #expect(Self.isUUID(upstreamID))
                #expect(echoed.header("Kong-Request-ID") == upstreamID)
                let other = try await proxy.get("/echo", host: "uuid-echo.test")
                #expect(other.header("Kong-Request-ID") != upstreamID)

                let kept = try await proxy.get("/echo", host: "uuid-echo.test", headers: [("Kong-Request-ID", "foobar")])
                #expect(EchoedRequest(kept).all("Kong-Request-ID") == ["foobar"])
                #expect(kept.header("Kong-Request-ID") == "foobar")

                // Echoed on a response another plugin produced.
                let rejected = try await proxy.get("/echo", host: "uuid-echo-auth.test")
                #expect(rejected.status == 401)
                #expect(Self.isUUID(rejected.header("Kong-Request-ID") ?? ""))
            }
        }
    }

    @Test("correlation-id tracker: the connection's local address and port, its number and the request's on it")
    func correlationIDTracker() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - plugins: [{name: correlation-id, config: {generator: tracker}}]
                    paths: [/]
                """
            try await withProxy(yaml) { proxy in
                func tracker(_ c: RawClient) async throws -> [Substring] {
                    try await c.send(ProxyHarness.request("GET", "/echo"))
                    let id = try #require(EchoedRequest(try await c.readResponse()).header("Kong-Request-ID"))
                    return id.split(separator: "-")
                }
                let c = try await proxy.client()
                let first = try await tracker(c)
                let second = try await tracker(c)
                await c.close()
                let other = try await proxy.client()
                let third = try await tracker(other)
                await other.close()
                #expect(first.count == 6)
                #expect(first[0] == "127.0.0.1")
                #expect(first[1] == "\(proxy.port)")
                #expect(first[2] == "\(getpid())")
                #expect((first[4], second[4], third[4]) == ("1", "2", "1"))
                #expect(first[3] == second[3])
                let (connection, next) = (try #require(Int(first[3])), try #require(Int(third[3])))
                #expect(connection > 0 && next > connection)
            }
        }
    }
}
