import KGatePlugins
import KGateSchema
import Testing

/// A plugin with a `response` phase makes the proxy buffer the upstream response (Kong's
/// buffered proxying): the plugin sees the whole body and may replace it, the status and the
/// headers; the client gets the result with a matching `Content-Length`.
@Suite("Plugins live: the response phase (buffered proxying)")
struct PluginsBufferedTests {
    /// Upper-cases the body, adds `X-Body-Bytes` (the upstream body's length), and turns a 404
    /// into a 200.
    struct ShoutPlugin: Plugin {
        struct Config: Sendable {}
        static let name = "shout"
        static let priority = 5
        static let phases: PluginPhases = [.response]
        static let schema = Schema.record([])

        func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

        func response(_ config: Config, _ ctx: inout PluginContext) throws {
            let body = ctx.response.body ?? []
            ctx.response.setHeader("X-Body-Bytes", String(body.count))
            if ctx.response.status == 404 { ctx.response.setStatus(200) }
            ctx.response.body = Array(String(decoding: body, as: UTF8.self).uppercased().utf8)
        }
    }

    @Test("the whole body reaches the plugin; its changes reach the client, chunked or not")
    func bufferedResponse() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - paths: [/]
                    plugins: [{name: shout}]
                """
            let proxy = try await ProxyHarness.start(yaml, extraPlugins: [ShoutPlugin()])
            defer { Task { await proxy.stop() } }

            let echoed = try await proxy.get("/echo/abc")
            #expect(echoed.status == 200)
            #expect(echoed.text.hasPrefix("GET /ECHO/ABC"))
            #expect(echoed.header("Content-Length") == String(echoed.body.count))
            #expect(echoed.header("X-Body-Bytes") == String(echoed.body.count))

            // A chunked upstream body arrives whole and leaves with a length.
            let chunked = try await proxy.get("/chunked/70000")
            #expect(chunked.status == 200)
            #expect(!chunked.chunked)
            #expect(chunked.body.count == 70000)
            #expect(chunked.header("X-Body-Bytes") == "70000")
            #expect(chunked.header("Transfer-Encoding") == nil)

            let missing = try await proxy.get("/status/404")
            #expect(missing.status == 200)
            #expect(missing.header("Content-Length") == "0")

            // Keep-alive holds across buffered responses.
            let client = try await proxy.client()
            for path in ["/echo/1", "/chunked/10", "/echo/2"] {
                try await client.send(ProxyHarness.request("GET", path))
                #expect(try await client.readResponse().status == 200)
            }
            await client.close()
        }
    }
}
