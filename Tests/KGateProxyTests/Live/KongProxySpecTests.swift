import Foundation
import KGatePlugins
import KGateSchema
import KGateSettings
import Testing

@testable import KGateProxy

/// Kong's `dummy` fixture plugin with `resp_code`: replaces the status in `header_filter`.
private struct StatusInHeaderFilterPlugin: Plugin {
    struct Config: Sendable { var status: Int }
    static let name = "resp-code"
    static let priority = 1000
    static let phases: PluginPhases = [.headerFilter]
    static let schema = Schema.record([("resp_code", Field.integer)])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(status: config.integer("resp_code") ?? 200)
    }

    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setStatus(config.status)
    }
}

/// Kong's `enable-buffering-response` fixture plugin: a `response` phase (buffered proxying)
/// that, by `mode`, sets a digest of the upstream body as a header (`md5-header`; FNV-1a here),
/// replaces the body with JSON and sets `Modified: yes` (`modify-json`), or does nothing.
private struct BufferingPlugin: Plugin {
    struct Config: Sendable { var mode: String }
    static let name = "enable-buffering-response"
    static let priority = 1_000_000
    static let phases: PluginPhases = [.response]
    static let schema = Schema.record([("mode", Field.string)])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(mode: config.string("mode") ?? "")
    }

    func response(_ config: Config, _ ctx: inout PluginContext) throws {
        switch config.mode {
        case "md5-header":
            ctx.response.setHeader("MD5", BufferingPlugin.digest(ctx.response.body ?? []))
        case "modify-json":
            ctx.response.body = Array("{\"modified\":true}".utf8)
            ctx.response.setHeader("Content-Type", "application/json")
            ctx.response.setHeader("Modified", "yes")
        default: break
        }
    }

    static func digest(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}

/// Kong's `error-generator` fixture plugin with `access = true`: fails in access.
private struct ErrorGeneratorPlugin: Plugin {
    struct Config: Sendable {}
    struct Failure: Error {}
    static let name = "error-generator"
    static let priority = 1_000_000
    static let phases: PluginPhases = [.access]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }
    func access(_ config: Config, _ ctx: inout PluginContext) throws { throw Failure() }
}

/// Kong's `logger` fixture plugin, reduced to what a response shows: its `header_filter` ran.
private struct PhaseLoggerPlugin: Plugin {
    struct Config: Sendable {}
    static let name = "logger"
    static let priority = 1000
    static let phases: PluginPhases = [.access, .headerFilter]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }
    func access(_ config: Config, _ ctx: inout PluginContext) throws {}
    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setHeader("Logged-Phase", "header_filter")
    }
}

/// The spec's `post-function` that sets Kong's own response headers in `header_filter`
/// (33-request-id-header_spec, 14-server_tokens_spec): every one to `overwritten`, and `Via`
/// to the config's `via`.
private struct HeaderOverwritePlugin: Plugin {
    struct Config: Sendable { var via: String }
    static let name = "header-overwrite"
    static let priority = 1000
    static let phases: PluginPhases = [.headerFilter]
    static let schema = Schema.record([("via", Field.string)])
    static let names = [
        "X-Kong-Request-Id", "Server", "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency", "X-Kong-Response-Latency",
    ]

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(via: config.string("via") ?? "overwritten")
    }

    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        for name in Self.names { ctx.response.setHeader(name, "overwritten") }
        ctx.response.setHeader("Via", config.via)
    }
}


/// Kong's proxy specs under spec/02-integration/05-proxy, as a DB-less node over HTTP/1.1
/// answers them (the cases the other live suites do not already hold).
@Suite("Kong's proxy specs: upstream status, add_header, buffering, plugin errors, max args, error types, websockets", .serialized)
struct KongProxySpecTests {
    // MARK: 15-upstream-status-header_spec

    @Test("X-Kong-Upstream-Status is the upstream's status when a plugin changes it, also buffered; none by default or on a 401 (15-upstream-status-header_spec)")
    func upstreamStatus() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/status/200]
                  - paths: [/status/plugin-changes-200-to-500]
                    plugins: [{name: resp-code, config: {resp_code: 500}}]
                  - paths: [/status/non-proxied-request]
                    plugins: [{name: key-auth}]
                  - paths: [/buffered]
                    plugins: [{name: enable-buffering-response}]
                """
            let plugins: [any Plugin] = [StatusInHeaderFilterPlugin(), BufferingPlugin()]
            try await withProxy(
                yaml, extraPlugins: plugins, configure: { $0.responseHeaders = ResponseHeaders.kongDefault.union(.upstreamStatus) }
            ) { proxy in
                let ok = try await proxy.get("/status/200")
                #expect(ok.status == 200)
                #expect(ok.header("X-Kong-Upstream-Status") == "200")
                let changed = try await proxy.get("/status/plugin-changes-200-to-500")
                #expect(changed.status == 500)
                #expect(changed.header("X-Kong-Upstream-Status") == "200")
                let buffered = try await proxy.get("/buffered")
                #expect(buffered.status == 200)
                #expect(buffered.header("X-Kong-Upstream-Status") == "200")
                let refused = try await proxy.get("/status/non-proxied-request")
                #expect(refused.status == 401)
                #expect(refused.header("X-Kong-Upstream-Status") == nil)
            }
            try await withProxy(yaml, extraPlugins: plugins) { proxy in
                let ok = try await proxy.get("/status/200")
                #expect(ok.status == 200)
                #expect(ok.header("X-Kong-Upstream-Status") == nil)
            }
        }
    }

    // MARK: 29-collect-plugin-errors_spec

    @Test("a plugin failing in access: 500 as kong.response.error renders it (templated, with the request id, by Accept); the other plugin's header_filter still runs (29-collect-plugin-errors_spec)")
    func pluginErrorInAccess() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [error.test]
                    plugins: [{name: error-generator}, {name: logger}]
                """
            try await withProxy(yaml, extraPlugins: [ErrorGeneratorPlugin(), PhaseLoggerPlugin()]) { proxy in
                let r = try await proxy.get("/get", host: "error.test")
                #expect(r.status == 500)
                #expect(r.header("Content-Type") == "application/json; charset=utf-8")
                #expect(r.message == "An unexpected error occurred")
                let id = try #require(r.header("X-Kong-Request-Id"))
                #expect(r.json?["request_id"] as? String == id)
                #expect(r.header("Logged-Phase") == "header_filter")
                #expect(ups[0].requests.isEmpty)

                let html = try await proxy.get("/get", host: "error.test", headers: [("Accept", "text/html")])
                #expect(html.status == 500)
                #expect(html.header("Content-Type") == "text/html; charset=utf-8")
                #expect(html.text.contains("<p>An unexpected error occurred.</p>"))
            }
        }
    }

    // MARK: 16-custom_nginx_directive_spec

    @Test("nginx_proxy_add_header adds its header to the proxy's responses of nginx's statuses; always also to errors; nginx_location_add_header replaces it in location / only (16-custom_nginx_directive_spec)")
    func addHeaderDirectives() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [headers-inspect.test]
                  - hosts: [terminated.test]
                    plugins: [{name: request-termination, config: {status_code: 201, message: made}}]
                - url: http://127.0.0.1:\(dead)
                  routes:
                  - hosts: [down.test]
                """
            let foo = AddHeaderDirective(name: "foo-header", value: "bar-value")
            let always = AddHeaderDirective(name: "X-Always", value: "yes", always: true)
            try await withProxy(yaml, configure: { $0.addedHeaders = .init(http: [], proxy: [foo, always], location: []) }) { proxy in
                let r = try await proxy.get("/get", host: "headers-inspect.test")
                #expect(r.status == 200)
                #expect(r.header("foo-header") == "bar-value")
                #expect(r.header("X-Always") == "yes")
                let made = try await proxy.get("/", host: "terminated.test")
                #expect(made.status == 201)
                #expect(made.header("foo-header") == "bar-value")
                let notFound = try await proxy.get("/status/404", host: "headers-inspect.test")
                #expect(notFound.status == 404)
                #expect(notFound.header("foo-header") == nil)
                #expect(notFound.header("X-Always") == "yes")
                let noRoute = try await proxy.get("/", host: "nowhere.test")
                #expect(noRoute.status == 404)
                #expect(noRoute.header("foo-header") == nil)
                #expect(noRoute.header("X-Always") == "yes")
                let down = try await proxy.get("/", host: "down.test")
                #expect(down.status == 502)
                #expect(down.header("X-Always") == "yes")
            }
            let here = AddHeaderDirective(name: "X-Location", value: "1", always: true)
            try await withProxy(yaml, configure: { $0.addedHeaders = .init(http: [foo], proxy: [always], location: [here]) }) { proxy in
                let r = try await proxy.get("/get", host: "headers-inspect.test")
                #expect(r.header("X-Location") == "1")
                #expect(r.header("X-Always") == nil)
                #expect(r.header("foo-header") == nil)
                let noRoute = try await proxy.get("/", host: "nowhere.test")
                #expect(noRoute.header("X-Location") == "1")
                // nginx's error page is the server's (`/kong_error_handler`), outside `location /`.
                let down = try await proxy.get("/", host: "down.test")
                #expect(down.status == 502)
                #expect(down.header("X-Location") == nil)
                #expect(down.header("X-Always") == "yes")
            }
        }
    }

    // MARK: 24-buffered_spec

    @Test("buffered proxying: the response phase sees the body, also of HEAD requests; 502 on connectivity errors (24-buffered_spec)")
    func buffered() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/3]
                    plugins: [{name: enable-buffering-response, config: {mode: md5-header}}]
                  - paths: [/4]
                    plugins: [{name: enable-buffering-response, config: {mode: modify-json}}]
                - url: http://127.0.0.1:\(dead)
                  routes:
                  - paths: [/502]
                    plugins: [{name: enable-buffering-response, config: {mode: header_filter}}]
                """
            try await withProxy(yaml, extraPlugins: [BufferingPlugin()]) { proxy in
                let echoed = try await proxy.get("/3/echo")
                #expect(echoed.status == 200)
                #expect(echoed.header("MD5") == BufferingPlugin.digest(echoed.body))

                let status = try await proxy.get("/3/status/235")
                #expect(status.status == 235)
                #expect(status.header("MD5") == BufferingPlugin.digest([]))

                // Kong runs the response phase for HEAD too, on the empty body.
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("HEAD", "/3/status/235"))
                let head = try await c.readResponse(headRequest: true)
                #expect(head.status == 235)
                #expect(head.body.isEmpty)
                #expect(head.header("MD5") == BufferingPlugin.digest([]))
                // The connection stays usable after the bodiless answer.
                try await c.send(ProxyHarness.request("GET", "/3/status/236"))
                #expect(try await c.readResponse().status == 236)
                await c.close()

                let modified = try await proxy.get("/4/status/237")
                #expect(modified.status == 237)
                #expect(modified.json?["modified"] as? Bool == true)
                #expect(modified.header("Modified") == "yes")
                #expect(modified.header("Content-Length") == String(modified.body.count))

                let down = try await proxy.get("/502")
                #expect(down.status == 502)
                #expect(down.header("MD5") == nil)
            }
        }
    }

    /// nginx's not-modified filter runs on what Kong prints itself (buffered responses, plugin
    /// exits), never on streamed upstream responses.
    @Test("If-Match on a buffered 200 without that ETag is nginx's 412; exits get 412 and 304 too; proxied responses never (24-buffered_spec)")
    func conditionalRequests() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/0]
                    plugins: [{name: enable-buffering-response}]
                  - paths: [/streamed]
                  - paths: [/terminated]
                    plugins: [{name: request-termination, config: {status_code: 200, message: fine}}]
                """
            try await withProxy(yaml, extraPlugins: [BufferingPlugin()]) { proxy in
                let failed = try await proxy.get("/0", headers: [("If-Match", "1")])
                #expect(failed.status == 412)
                #expect(failed.text.hasPrefix("Precondition failed\nrequest_id: "))
                #expect(failed.header("Via") == "1.1 kong/3.10.0")
                #expect(try await proxy.get("/0", headers: [("If-Match", "*")]).status == 200)
                #expect(try await proxy.get("/0/status/201", headers: [("If-Match", "1")]).status == 201)
                #expect(try await proxy.get("/streamed", headers: [("If-Match", "1")]).status == 200)

                let exit = try await proxy.get("/terminated", headers: [("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")])
                #expect(exit.status == 412)
                #expect(exit.header("X-Kong-Response-Latency") != nil)
                let unchanged = try await proxy.get("/terminated", headers: [("If-None-Match", "*")])
                #expect(unchanged.status == 304)
                #expect(unchanged.body.isEmpty)
                #expect(unchanged.header("Content-Type") == nil)
                #expect(unchanged.header("Content-Length") == nil)
                #expect(try await proxy.get("/terminated", headers: [("If-None-Match", "\"v1\"")]).status == 200)
            }
        }
    }

    // MARK: 30-max-args_spec

    @Test("proxying never truncates: 201 query args, 197 headers and a 201-argument form body reach the upstream as sent (30-max-args_spec)")
    func maxArgs() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)/echo-body
                  routes:
                  - paths: [/proxy]
                """
            try await withProxy(
                yaml, configure: {
                    $0.responseHeaders = []
                    $0.requestIDUpstream = false
                }
            ) { proxy in
                let n = 201
                let query = (1...n).map { "a\($0)=v\($0)" }.joined(separator: "&")
                var headers = (5...n).map { ("a\($0)", "v\($0)") }
                headers += [("Content-Type", "application/x-www-form-urlencoded"), ("User-Agent", "kong")]
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("POST", "/proxy?\(query)", headers: headers, body: query))
                let r = try await c.readResponse()
                await c.close()
                #expect(r.status == 200)
                #expect(r.text == query)
                #expect(r.header("X-Echo-Request") == "POST /echo-body?\(query)")
                let sent = try #require(ups[0].requests.last?.head.headers)
                let added: Set<String> = [
                    "connection", "x-forwarded-for", "x-forwarded-host", "x-forwarded-path", "x-forwarded-port",
                    "x-forwarded-prefix", "x-forwarded-proto", "x-real-ip", "via",
                ]
                let received = sent.filter { !added.contains($0.name.lowercased()) }.map { ($0.name.lowercased(), $0.value) }
                let expected =
                    [("host", "127.0.0.1:\(ups[0].port)"), ("content-length", String(query.utf8.count))]
                    + headers.map { ($0.0.lowercased(), $0.1) }
                #expect(received.sorted { $0.0 < $1.0 }.map { "\($0.0): \($0.1)" } == expected.sorted { $0.0 < $1.0 }.map { "\($0.0): \($0.1)" })
            }
        }
    }

    // MARK: 12-error_default_type_spec

    /// Kong's 504 (`The upstream server is timing out`) in each format the spec asks for.
    @Test("error_default_type and Accept choose the format of nginx's 504 page; HEAD gets none (12-error_default_type_spec)")
    func errorDefaultType() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)/slow/400
                  read_timeout: 100
                  routes:
                  - methods: [GET, HEAD]
                """
            let message = "The upstream server is timing out"
            func html(_ id: String) -> String {
                "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n"
                    + "  <body>\n    <h1>Error</h1>\n    <p>\(message).</p>\n    <p>request_id: \(id)</p>\n  </body>\n</html>"
            }
            func stripped(_ r: RawResponse) -> String { r.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            try await withProxy(yaml, configure: { $0.errorDefaultType = .html }) { proxy in
                let r = try await proxy.get("/")
                #expect(r.status == 504)
                #expect(stripped(r) == html(r.header("X-Kong-Request-Id") ?? "-"))
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("HEAD", "/"))
                let head = try await c.readResponse(headRequest: true)
                #expect(head.status == 504)
                #expect(head.body.isEmpty)
                await c.close()
            }
            try await withProxy(yaml) { proxy in
                let plain = try await proxy.get("/")
                #expect(plain.status == 504)
                #expect(stripped(plain) == "\(message)\nrequest_id: \(plain.header("X-Kong-Request-Id") ?? "-")")
                let htmlResponse = try await proxy.get("/", headers: [("Accept", "text/html")])
                #expect(stripped(htmlResponse) == html(htmlResponse.header("X-Kong-Request-Id") ?? "-"))
                let json = try await proxy.get("/", headers: [("Accept", "application/json")])
                #expect(json.message == message)
                let xml = try await proxy.get("/", headers: [("Accept", "application/xml")])
                let xmlID = xml.header("X-Kong-Request-Id") ?? "-"
                #expect(
                    stripped(xml)
                        == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>\(message)</message>\n"
                        + "  <requestid>\(xmlID)</requestid>\n</error>")
                // An entry without q has q=1.
                let q = try await proxy.get("/", headers: [("Accept", "application/json;q=0.9,text/html,text/plain;q=0.9")])
                #expect(stripped(q) == html(q.header("X-Kong-Request-Id") ?? "-"))
                // Two Accept lines: Kong's error handler (nginx's errors) reads the first only,
                // kong.response.error (Kong's own answers, such as no route) all of them joined.
                let twoAccepts = [("Accept", "text/plain;q=0.5"), ("Accept", "application/xml")]
                let timeout = try await proxy.get("/", headers: twoAccepts)
                #expect(timeout.header("Content-Type")?.hasPrefix("text/plain") == true)
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("DELETE", "/", headers: twoAccepts))
                let noRoute = try await c.readResponse()
                await c.close()
                #expect(noRoute.status == 404)
                #expect(noRoute.header("Content-Type")?.hasPrefix("application/xml") == true)
            }
        }
    }

    // MARK: 09-websockets_spec

    @Test(
        "a WebSocket handshake through a stripped route: 101 with Connection, Upgrade and Via, then frames both ways, also with a response-phase plugin and over TLS (09-websockets_spec)",
        arguments: [false, true])
    func websocket(buffering: Bool) async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: ws
                  url: http://127.0.0.1:\(ups[0].port)/ws
                  routes:
                  - protocols: [http, https]
                    paths: [/up-ws]
                    strip_path: true
                \(buffering ? "plugins:\n- name: enable-buffering-response" : "")
                """
            try await withProxy(
                yaml, extraPlugins: [BufferingPlugin()],
                configure: { $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, ssl: true)) }
            ) { proxy in
                let tlsPort = try #require(proxy.server.localAddresses.dropFirst().first?.port)
                for (port, tls) in [(proxy.port, false), (tlsPort, true)] {
                    let c = try await RawClient.connect(port: port, group: TestLoops.group, tls: tls)
                    try await c.send(
                        "GET /up-ws HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:\(port)\r\n"
                            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n\r\n")
                    let r = try await c.readResponse(headRequest: true)
                    #expect(r.status == 101)
                    #expect(r.reason == "Switching Protocols")
                    #expect(r.header("Connection") == "upgrade")
                    #expect(r.header("Upgrade") == "websocket")
                    #expect(r.header("Via") == "1.1 kong/3.10.0")
                    #expect(ups[0].requests.last?.head.uri == "/ws")
                    let frame = "{\"message\":\"hello websocket\"}"
                    try await c.send(frame)
                    #expect(String(decoding: try await c.readBytes(frame.utf8.count), as: UTF8.self) == frame)
                    await c.close()
                }
            }
        }
    }

    @Test("a 101 goes through the plugins' header_filter as nginx sends it through its header filters (09-websockets_spec)")
    func switchingProtocolsHeaderFilter() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: ws
                  url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/ws]
                    strip_path: false
                plugins:
                - name: correlation-id
                  config:
                    header_name: X-Tunnel-ID
                    echo_downstream: true
                """
            try await withProxy(yaml) { proxy in
                let c = try await RawClient.connect(port: proxy.port, group: TestLoops.group)
                try await c.send(
                    "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nHost: a.test\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n\r\n")
                let r = try await c.readResponse(headRequest: true)
                #expect(r.status == 101)
                // correlation-id echoes the id it set during access in header_filter.
                let id = try #require(r.header("X-Tunnel-ID"))
                #expect(ups[0].requests.last?.head.headers["X-Tunnel-ID"].first == id)
                #expect(r.header("Upgrade") == "websocket")
                try await c.send("ping")
                #expect(String(decoding: try await c.readBytes(4), as: UTF8.self) == "ping")
                await c.close()
            }
        }
    }

    // MARK: 33-request-id-header_spec, 14-server_tokens_spec

    @Test("Kong's own response headers are set after the plugins' header_filter: a plugin cannot replace the request id, Via or the latencies; Server only when missing or not proxied; a short-circuit with Via equal to the server token keeps the plugin's Server (33-request-id-header_spec, 14-server_tokens_spec)")
    func kongHeadersAfterPlugins() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/proxied]
                    plugins: [{name: header-overwrite}]
                  - paths: [/terminated]
                    plugins: [{name: header-overwrite}, {name: request-termination, config: {status_code: 200}}]
                  - paths: [/short-circuit-via]
                    plugins:
                    - {name: header-overwrite, config: {via: kong/3.10.0}}
                    - {name: request-termination, config: {status_code: 200}}
                  - paths: [/short-circuit-added]
                    plugins:
                    - {name: request-termination, config: {status_code: 200, message: Terminated}}
                    - {name: response-transformer, config: {add: {headers: ["Via:kong/3.10.0", "Server:Demo"]}}}
                  - paths: [/short-circuit-renamed]
                    plugins:
                    - {name: request-termination, config: {status_code: 200}}
                    - name: response-transformer
                      config:
                        rename:
                          headers: ["Server:X-Seen-Server", "X-Kong-Response-Latency:X-Seen-Lat", "X-Kong-Request-Id:X-Seen-Rid", "Date:X-Seen-Date"]
                """
            try await withProxy(yaml, extraPlugins: [HeaderOverwritePlugin()]) { proxy in
                let hex = /^[0-9a-f]+$/
                let proxied = try await proxy.get("/proxied")
                #expect(proxied.status == 200)
                #expect(try hex.wholeMatch(in: proxied.header("X-Kong-Request-Id") ?? "") != nil)
                #expect(proxied.header("Via") == "1.1 kong/3.10.0")
                #expect(Int(proxied.header("X-Kong-Upstream-Latency") ?? "") != nil)
                #expect(Int(proxied.header("X-Kong-Proxy-Latency") ?? "") != nil)
                // Kong sets Server on a proxied response only when none is left.
                #expect(proxied.header("Server") == "overwritten")
                #expect(proxied.header("X-Kong-Response-Latency") == "overwritten")

                let terminated = try await proxy.get("/terminated")
                #expect(terminated.status == 200)
                #expect(try hex.wholeMatch(in: terminated.header("X-Kong-Request-Id") ?? "") != nil)
                #expect(terminated.header("Server") == "kong/3.10.0")
                #expect(Int(terminated.header("X-Kong-Response-Latency") ?? "") != nil)
                #expect(terminated.header("Via") == "overwritten")
                #expect(terminated.header("X-Kong-Upstream-Latency") == "overwritten")

                let viaToken = try await proxy.get("/short-circuit-via")
                #expect(viaToken.header("Via") == "kong/3.10.0")
                #expect(viaToken.header("Server") == "overwritten")

                // 14-server_tokens_spec "should not return Kong 'Server' header when
                // short-circuited with a matching Kong 'Via'": response-transformer's `add`
                // finds no Server on the generated response, as in Kong, so Demo is added.
                let added = try await proxy.get("/short-circuit-added")
                #expect(added.header("Via") == "kong/3.10.0")
                #expect(added.header("Server") == "Demo")
                // The plugins see none of the headers Kong and nginx add after them.
                let renamed = try await proxy.get("/short-circuit-renamed")
                #expect(renamed.status == 200)
                for seen in ["X-Seen-Server", "X-Seen-Lat", "X-Seen-Rid", "X-Seen-Date"] { #expect(renamed.header(seen) == nil) }
                #expect(renamed.header("Server") == "kong/3.10.0")
                #expect(renamed.header("Date") != nil)
                #expect(Int(renamed.header("X-Kong-Response-Latency") ?? "") != nil)
                #expect(try hex.wholeMatch(in: renamed.header("X-Kong-Request-Id") ?? "") != nil)
            }
        }
    }
}

/// A plugin removing `Content-Length` in header_filter, as body-rewriting plugins do.
private struct LengthRemoverPlugin: Plugin {
    struct Config: Sendable {}
    static let name = "length-remover"
    static let priority = 1000
    static let phases: PluginPhases = [.headerFilter]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.clearHeader("Content-Length")
    }
}

@Suite("Response framing after plugins", .serialized)
struct PluginFramingTests {
    @Test("an empty body whose Content-Length a plugin removed goes chunked (its last chunk alone), as nginx's chunked filter sends it; HEAD goes without")
    func emptyBodyLengthRemoved() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/status]
                    strip_path: false
                    plugins: [{name: length-remover}]
                """
            try await withProxy(yaml, extraPlugins: [LengthRemoverPlugin()]) { proxy in
                let c = try await proxy.client()
                for _ in 0..<2 {
                    try await c.send(ProxyHarness.request("GET", "/status/200"))
                    let r = try await c.readResponse()
                    #expect(r.status == 200)
                    #expect(r.header("Content-Length") == nil)
                    #expect(r.chunked)
                    #expect(r.body.isEmpty)
                }
                await c.close()
                let head = try await proxy.client()
                try await head.send(ProxyHarness.request("HEAD", "/status/200"))
                let r = try await head.readResponse(headRequest: true)
                #expect(r.status == 200)
                #expect(r.header("Transfer-Encoding") == nil)
                await head.close()
            }
        }
    }
}
