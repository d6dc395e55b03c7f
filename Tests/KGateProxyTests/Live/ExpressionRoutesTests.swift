import KGateSettings
import Testing

@testable import KGateProxy

/// `router_flavor = expressions` through the proxy: expression routes before the others,
/// strip_path with the matched prefix, regex captures, header and address fields.
@Suite("Live: expression routes", .serialized)
struct ExpressionRoutesTests {
    @Test func routesByExpressions() async throws {
        var settings = NodeSettings()
        settings.routerFlavor = .expressions
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: svc
                  url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - name: v2
                    expression: 'http.path ^= "/api" && http.headers.x_version == "2"'
                    priority: 10
                    strip_path: true
                  - name: users
                    expression: 'http.path ~ r#"^/users/(?P<id>\\d+)$"# && net.src.ip in 127.0.0.0/8'
                    priority: 5
                  - name: plain
                    paths: [/api]
                """
            try await withProxy(yaml, settings: settings) { proxy in
                let v2 = try await proxy.get("/api/items?x=1", headers: [("X-Version", "2")])
                #expect(v2.status == 200)
                #expect(ups[0].requests.last?.head.uri == "/items?x=1")
                // Another version: the plain route (strip_path is on by default).
                let plain = try await proxy.get("/api/items", headers: [("X-Version", "1")])
                #expect(plain.status == 200)
                #expect(ups[0].requests.last?.head.uri == "/items")
                let user = try await proxy.get("/users/42")
                #expect(user.status == 200)
                // strip_path (on by default) strips what the regex matched: the whole path.
                #expect(ups[0].requests.last?.head.uri == "/")
                let none = try await proxy.get("/users/x")
                #expect(none.status == 404)
                #expect(none.text.contains("no Route matched with those values"))
            }
        }
    }
}
