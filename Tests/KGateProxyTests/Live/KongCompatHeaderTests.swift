import Foundation
import KGatePlugins
import KGateSchema
import KGateSettings
import NIOCore
import NIOPosix
import Testing

@testable import KGateProxy

/// An upstream that answers every request with the same bytes, then closes: for response
/// headers the echo upstream does not send.
private final class CannedServer: Sendable {
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    private final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let response: String
        init(_ response: String) { self.response = response }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // The proxy's request heads are small: one read holds the whole head.
            guard String(buffer: unwrapInboundIn(data)).contains("\r\n\r\n") else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    init(_ response: String) async throws {
        channel = try await ServerBootstrap(group: TestLoops.group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer(response)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }
}

/// A global plugin answering 418 in `rewrite` (before routing) when the request has `X-Stop`.
private struct RewriteStopPlugin: Plugin {
    struct Config: Sendable {}
    static let name = "rewrite-stop"
    static let priority = 100
    static let phases: PluginPhases = [.rewrite]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

    func rewrite(_ config: Config, _ ctx: inout PluginContext) throws {
        if ctx.request.header("x-stop") != nil { try ctx.exit(418, message: "stopped") }
    }
}

@Suite("Kong's allow_debug_header, port_maps, X-Kong-Upstream-Status and error templates, live", .serialized)
struct KongCompatHeaderTests {
    enum IDs {
        static let namedService = "0a2f6c8e-0000-4000-8000-000000000001"
        static let anonymousService = "0a2f6c8e-0000-4000-8000-000000000002"
        static let downService = "0a2f6c8e-0000-4000-8000-000000000003"
        static let namedRoute = "0a2f6c8e-0000-4000-8000-000000000011"
        static let anonymousRoute = "0a2f6c8e-0000-4000-8000-000000000012"
        static let terminatedRoute = "0a2f6c8e-0000-4000-8000-000000000013"
        static let servicelessRoute = "0a2f6c8e-0000-4000-8000-000000000014"
        static let downRoute = "0a2f6c8e-0000-4000-8000-000000000015"
        static let secureRoute = "0a2f6c8e-0000-4000-8000-000000000016"
        static let slowRoute = "0a2f6c8e-0000-4000-8000-000000000017"
    }

    private func yaml(_ port: Int, dead: Int, global: String = "") -> String {
        """
        _format_version: "3.0"
        \(global)
        services:
        - id: \(IDs.namedService)
          name: named-service
          url: http://127.0.0.1:\(port)
          read_timeout: 200
          routes:
          - id: \(IDs.namedRoute)
            name: named-route
            paths: [/named]
          - id: \(IDs.terminatedRoute)
            name: terminated
            paths: [/terminated]
            plugins: [{name: request-termination, config: {status_code: 403, message: Forbidden}}]
          - id: \(IDs.secureRoute)
            name: secure
            protocols: [https]
            paths: [/secure]
          - id: \(IDs.slowRoute)
            name: slow
            paths: [/slow]
            strip_path: false
          - name: no-content
            paths: [/no-content]
            plugins: [{name: request-termination, config: {status_code: 204, body: gone, content_type: text/plain}}]
        - id: \(IDs.anonymousService)
          url: http://127.0.0.1:\(port)
          routes:
          - id: \(IDs.anonymousRoute)
            paths: [/anonymous]
        - id: \(IDs.downService)
          name: down
          url: http://127.0.0.1:\(dead)
          routes:
          - id: \(IDs.downRoute)
            name: down-route
            paths: [/down]
        routes:
        - id: \(IDs.servicelessRoute)
          name: lonely
          paths: [/serviceless]
        """
    }

    private static let debug = [("Kong-Debug", "1")]

    private static func debugHeaders(_ r: RawResponse) -> [String] {
        ["Kong-Route-Id", "Kong-Route-Name", "Kong-Service-Id", "Kong-Service-Name"].map { r.header($0) ?? "-" }
    }

    // MARK: allow_debug_header

    @Test("allow_debug_header: every response after a match, only asked for, only the names that exist")
    func debugHeaders() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port, dead: dead), configure: { $0.allowDebugHeader = true }) { proxy in
                // Proxied (Kong's 02-router_spec).
                let named = try await proxy.get("/named", headers: Self.debug)
                #expect(named.status == 200)
                #expect(Self.debugHeaders(named) == [IDs.namedRoute, "named-route", IDs.namedService, "named-service"])
                // Any value asks, even an empty one (Kong tests the header's presence).
                for value in ["", "0", "yes"] {
                    let r = try await proxy.get("/named", headers: [("kong-debug", value)])
                    #expect(r.header("Kong-Route-Id") == IDs.namedRoute, "Kong-Debug: \(value)")
                }
                // Not asked for.
                #expect(Self.debugHeaders(try await proxy.get("/named")) == ["-", "-", "-", "-"])
                // No names: ids only.
                let anonymous = try await proxy.get("/anonymous", headers: Self.debug)
                #expect(Self.debugHeaders(anonymous) == [IDs.anonymousRoute, "-", IDs.anonymousService, "-"])
                // A plugin's exit, Kong's 503 for a route without service, the 426 of an https
                // route, an error page after a failed try: all after routing.
                let terminated = try await proxy.get("/terminated", headers: Self.debug)
                #expect(terminated.status == 403)
                #expect(Self.debugHeaders(terminated) == [IDs.terminatedRoute, "terminated", IDs.namedService, "named-service"])
                let serviceless = try await proxy.get("/serviceless", headers: Self.debug)
                #expect(serviceless.status == 503)
                #expect(Self.debugHeaders(serviceless) == [IDs.servicelessRoute, "lonely", "-", "-"])
                let secure = try await proxy.get("/secure", headers: Self.debug)
                #expect(secure.status == 426)
                #expect(secure.header("Kong-Route-Id") == IDs.secureRoute)
                let down = try await proxy.get("/down", headers: Self.debug)
                #expect(down.status == 502)
                #expect(Self.debugHeaders(down) == [IDs.downRoute, "down-route", IDs.downService, "down"])
                // No match: nothing to tell.
                let missing = try await proxy.get("/missing", headers: Self.debug)
                #expect(missing.status == 404)
                #expect(Self.debugHeaders(missing) == ["-", "-", "-", "-"])
            }
        }
    }

    @Test("allow_debug_header off (the default): Kong-Debug is ignored")
    func debugHeadersOff() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port, dead: dead)) { proxy in
                let r = try await proxy.get("/named", headers: Self.debug)
                #expect(r.status == 200)
                #expect(Self.debugHeaders(r) == ["-", "-", "-", "-"])
                #expect(Self.debugHeaders(try await proxy.get("/terminated", headers: Self.debug)) == ["-", "-", "-", "-"])
            }
        }
    }

    @Test("a response given in rewrite, before routing, has no debug headers")
    func debugHeadersBeforeRouting() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            let proxy = try await ProxyHarness.start(
                yaml(ups[0].port, dead: dead, global: "plugins: [{name: rewrite-stop}]"),
                extraPlugins: [RewriteStopPlugin()], configure: { $0.allowDebugHeader = true })
            defer { Task { await proxy.stop() } }
            let stopped = try await proxy.get("/named", headers: Self.debug + [("X-Stop", "1")])
            #expect(stopped.status == 418)
            #expect(Self.debugHeaders(stopped) == ["-", "-", "-", "-"])
            let routed = try await proxy.get("/named", headers: Self.debug)
            #expect(routed.status == 200)
            #expect(routed.header("Kong-Route-Id") == IDs.namedRoute)
        }
    }

    // MARK: X-Kong-Upstream-Status

    @Test("headers = X-Kong-Upstream-Status: proxied responses and the 502/504 of failed tries; not plugin exits")
    func upstreamStatus() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port, dead: dead), configure: { $0.responseHeaders = [.upstreamStatus] }) { proxy in
                let ok = try await proxy.get("/named")
                #expect(ok.status == 200)
                #expect(ok.header("X-Kong-Upstream-Status") == "200")
                let down = try await proxy.get("/down")
                #expect(down.status == 502)
                #expect(down.header("X-Kong-Upstream-Status") == "502")
                let slow = try await proxy.get("/slow/2000")
                #expect(slow.status == 504)
                #expect(slow.header("X-Kong-Upstream-Status") == "504")
                // Kong's 15-upstream-status-header_spec: short-circuited requests have none.
                let terminated = try await proxy.get("/terminated")
                #expect(terminated.status == 403)
                #expect(terminated.header("X-Kong-Upstream-Status") == nil)
                #expect(try await proxy.get("/missing").header("X-Kong-Upstream-Status") == nil)
            }
        }
    }

    // MARK: port_maps

    @Test("port_maps: X-Forwarded-Port is the mapped port of the listener (Kong's 03-upstream_headers_spec)")
    func portMaps() async throws {
        let port = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            let yaml = ProxyHarness.oneService(port: ups[0].port)
            var settings = NodeSettings()
            settings.portMaps = [PortMap(hostPort: 80, kongPort: port), PortMap(hostPort: 81, kongPort: port + 1)]
            let hostPorts = ProxyConfiguration(settings: settings).hostPorts
            try await withProxy(yaml, configure: {
                $0.listen = [ListenAddress(host: "127.0.0.1", port: port)]
                $0.hostPorts = hostPorts
            }) { proxy in
                #expect(proxy.port == port)
                let mapped = EchoedRequest(try await proxy.get("/echo"))
                #expect(mapped.header("X-Forwarded-Port") == "80")
                // An untrusted client's value is replaced.
                let replaced = EchoedRequest(try await proxy.get("/echo", headers: [("X-Forwarded-Port", "81")]))
                #expect(replaced.header("X-Forwarded-Port") == "80")
            }
            // A trusted client's value still wins; a listener without a mapping sends its own port.
            try await withProxy(yaml, configure: {
                $0.listen = [ListenAddress(host: "127.0.0.1", port: port)]
                $0.hostPorts = hostPorts
                $0.trustedIPs = TrustedIPs(["127.0.0.1"])
            }) { proxy in
                let trusted = EchoedRequest(try await proxy.get("/echo", headers: [("X-Forwarded-Port", "8443")]))
                #expect(trusted.header("X-Forwarded-Port") == "8443")
            }
            try await withProxy(yaml, configure: { $0.hostPorts = [1: 80] }) { proxy in
                let unmapped = EchoedRequest(try await proxy.get("/echo"))
                #expect(unmapped.header("X-Forwarded-Port") == String(proxy.port))
            }
        }
    }

    @Test("port_maps from the settings: the last mapping of a port wins")
    func portMapsFromSettings() throws {
        let settings = try NodeSettings.load(
            kongConf: "port_maps = 80:8000, 443:8443, 8080:8000", environment: [:], flags: [:])
        let configuration = ProxyConfiguration(settings: settings)
        #expect(configuration.hostPort(for: 8000) == 8080)
        #expect(configuration.hostPort(for: 8443) == 443)
        #expect(configuration.hostPort(for: 9000) == 9000)
    }

    // MARK: Response heads

    @Test("an upstream's Proxy-Connection and unknown X-Accel-* headers reach the client; nginx's hidden ones do not")
    func upstreamHeadersPassed() async throws {
        let upstream = try await CannedServer(
            "HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nX-Accel-Buffering: no\r\nX-Accel-Other: kept\r\n"
                + "X-Pad: avoid browser bug\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        defer { Task { await upstream.stop() } }
        try await withProxy(ProxyHarness.oneService(port: upstream.port)) { proxy in
            let r = try await proxy.get("/")
            #expect(r.status == 200)
            #expect(r.text == "ok")
            #expect(r.header("Proxy-Connection") == "close")
            #expect(r.header("X-Accel-Other") == "kept")
            #expect(r.header("X-Accel-Buffering") == nil)
            #expect(r.header("X-Pad") == nil)
            #expect(r.header("Connection") == "keep-alive")
        }
    }

    @Test("an upstream's X-Kong-* headers: replaced by the ones headers enables (header[name] = value), passed otherwise")
    func upstreamKongHeadersReplaced() async throws {
        let upstream = try await CannedServer(
            "HTTP/1.1 200 OK\r\nX-Kong-Request-Id: upstream-id\r\nX-Kong-Upstream-Latency: 77\r\n"
                + "X-Kong-Proxy-Latency: 88\r\nX-Kong-Upstream-Status: 201\r\nX-Kong-Response-Latency: 99\r\n"
                + "Content-Length: 2\r\nConnection: close\r\n\r\nok")
        defer { Task { await upstream.stop() } }
        let yaml = ProxyHarness.oneService(port: upstream.port)
        try await withProxy(yaml, configure: { $0.responseHeaders = ResponseHeaders.kongDefault.union(.upstreamStatus) }) { proxy in
            let r = try await proxy.get("/")
            #expect(r.status == 200)
            #expect(r.headers("X-Kong-Request-Id").count == 1)
            #expect(r.header("X-Kong-Request-Id") != "upstream-id")
            #expect(r.headers("X-Kong-Upstream-Latency").count == 1)
            #expect(r.header("X-Kong-Upstream-Latency") != "77")
            #expect(r.headers("X-Kong-Proxy-Latency").count == 1)
            #expect(r.header("X-Kong-Proxy-Latency") != "88")
            #expect(r.headers("X-Kong-Upstream-Status") == ["200"])
            // Kong sets X-Kong-Response-Latency only on its own responses.
            #expect(r.headers("X-Kong-Response-Latency") == ["99"])
        }
        try await withProxy(yaml, configure: { $0.responseHeaders = [] }) { proxy in
            let r = try await proxy.get("/")
            #expect(r.headers("X-Kong-Request-Id") == ["upstream-id"])
            #expect(r.headers("X-Kong-Upstream-Latency") == ["77"])
            #expect(r.headers("X-Kong-Proxy-Latency") == ["88"])
            #expect(r.headers("X-Kong-Upstream-Status") == ["201"])
        }
    }

    @Test("nginx_http_charset: UTF-8 (Kong's default) completes an upstream's bare text/plain; off passes it (Kong's 03-upstream_headers_spec)")
    func charset() async throws {
        let upstream = try await CannedServer(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        defer { Task { await upstream.stop() } }
        let yaml = ProxyHarness.oneService(port: upstream.port)
        try await withProxy(yaml) { proxy in
            let r = try await proxy.get("/")
            #expect(r.header("Content-Type") == "text/plain; charset=UTF-8")
        }
        try await withProxy(yaml, configure: { $0.charset = nil }) { proxy in
            let r = try await proxy.get("/")
            #expect(r.header("Content-Type") == "text/plain")
        }
    }

    @Test("a 204 from request-termination with a body: no body, no Content-Length, no Content-Type")
    func generatedNoContent() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port, dead: dead)) { proxy in
                let c = try await proxy.client()
                try await c.send(ProxyHarness.request("GET", "/no-content"))
                let r = try await c.readResponse()
                #expect(r.status == 204)
                #expect(r.header("Content-Length") == nil)
                #expect(r.header("Content-Type") == nil)
                #expect(r.body.isEmpty)
                // The connection stays usable: nothing followed the head.
                try await c.send(ProxyHarness.request("GET", "/named"))
                #expect(try await c.readResponse().status == 200)
                await c.close()
            }
        }
    }

    // MARK: error_template_*

    /// Kong's spec fixtures (spec/fixtures/error_templates), written to temporary files and read
    /// through the settings.
    private func withKongTemplates<R>(_ body: (ErrorTemplates) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [
            "html": "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Custom template</title>\n"
                + "  </head>\n  <body>\n    <h1>Not the default</h1>\n    <p>%s.</p>\n    <p>request_id: %s</p>\n"
                + "  </body>\n</html>",
            "plain": "custom plain template: %s\\n\nrequest_id: %s\\n",
            "json": "{\n  \"custom_template_message\":\"%s\",\n  \"request_id\":\"%s\"\n}",
            "xml": "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>custom template</message>\n"
                + "  <message>%s</message>\n  <message>%s</message>\n</error>",
        ]
        var conf = ""
        for (format, text) in files {
            let path = directory.appendingPathComponent("error_template.\(format)").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            conf += "error_template_\(format) = \(path)\n"
        }
        let settings = try NodeSettings.load(kongConf: conf, environment: [:], flags: [:])
        return try await body(ProxyConfiguration(settings: settings).errorTemplates)
    }

    @Test("error_template_*: Kong's and nginx's error bodies from the custom templates (Kong's 12-error_default_type_spec)")
    func errorTemplates() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        try await withKongTemplates { templates in
            try await withUpstreams(["u"]) { ups in
                try await withProxy(yaml(ups[0].port, dead: dead), configure: { $0.errorTemplates = templates }) { proxy in
                    let message = "An invalid response was received from the upstream server"
                    let html = try await proxy.get("/down", headers: [("Accept", "text/html")])
                    #expect(html.status == 502)
                    let id = html.header("X-Kong-Request-Id") ?? "?"
                    #expect(html.text.contains("<h1>Not the default</h1>\n    <p>\(message).</p>\n    <p>request_id: \(id)</p>"))
                    #expect(html.header("Content-Type") == "text/html; charset=utf-8")
                    #expect(html.header("Content-Length") == String(html.body.count))

                    let plain = try await proxy.get("/down", headers: [("Accept", "text/plain")])
                    let plainID = plain.header("X-Kong-Request-Id") ?? "?"
                    #expect(plain.text == "custom plain template: \(message)\\n\nrequest_id: \(plainID)\\n")

                    let json = try await proxy.get("/down", headers: [("Accept", "text/plain;q=0.7,application/json;q=0.8")])
                    #expect(json.json?["custom_template_message"] as? String == message)

                    let xml = try await proxy.get("/down", headers: [("Accept", "application/xml")])
                    let xmlID = xml.header("X-Kong-Request-Id") ?? "?"
                    #expect(xml.text.hasSuffix("<message>\(message)</message>\n  <message>\(xmlID)</message>\n</error>"))

                    // kong.response.error (no route) uses them too.
                    let missing = try await proxy.get("/missing", headers: [("Accept", "application/json")])
                    #expect(missing.status == 404)
                    #expect(missing.json?["custom_template_message"] as? String == "no Route matched with those values")
                    #expect(missing.json?["request_id"] as? String == missing.header("X-Kong-Request-Id"))
                }
            }
        }
    }
}
