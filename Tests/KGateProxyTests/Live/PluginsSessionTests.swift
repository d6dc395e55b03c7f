import Testing

@testable import KGateProxy

/// session with key-auth through the proxy, as Kong's spec/03-plugins/30-session/01-access_spec
/// sets them up: the anonymous consumer is refused, a key opens a session, the cookie alone
/// then authenticates, and a logout clears it.
@Suite("Plugins live: session", .serialized)
struct PluginsSessionTests {
    @Test("key-auth opens a session; the cookie authenticates; DELETE ?session_logout ends it")
    func sessionFlow() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                consumers:
                - username: coop
                  keyauth_credentials: [{key: kong}]
                - username: anon
                  plugins:
                  - name: request-termination
                    config: {status_code: 403, message: So it goes.}
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [konghq.test]
                    plugins:
                    - name: session
                      config: {cookie_name: da_cookie, cookie_same_site: Lax, cookie_http_only: false, cookie_secure: false}
                    - name: key-auth
                      config: {anonymous: anon}
                """
            try await withProxy(yaml) { proxy in
                let refused = try await proxy.get("/echo", host: "konghq.test")
                #expect(refused.status == 403)
                #expect(refused.message == "So it goes.")

                let login = try await proxy.get("/echo", host: "konghq.test", headers: [("apikey", "kong")])
                #expect(login.status == 200)
                let setCookie = try #require(login.header("Set-Cookie"))
                let parts = setCookie.split(separator: "; ").map(String.init)
                #expect(parts[0].hasPrefix("da_cookie="))
                #expect(Array(parts.dropFirst()) == ["Path=/", "SameSite=Lax"])

                let cookie = parts[0]
                let withCookie = try await proxy.get("/echo", host: "konghq.test", headers: [("Cookie", cookie)])
                #expect(withCookie.status == 200)
                #expect(withCookie.header("Set-Cookie") == nil)
                let upstream = try #require(ups[0].requests.last?.head.headers)
                #expect(upstream.first(name: "X-Consumer-Username") == "coop")
                #expect(upstream.first(name: "X-Credential-Identifier") != nil)
                #expect(upstream.first(name: "X-Anonymous-Consumer") == nil)

                let client = try await proxy.client()
                defer { Task { await client.close() } }
                try await client.send(
                    ProxyHarness.request("DELETE", "/echo?session_logout", host: "konghq.test", headers: [("Cookie", cookie)]))
                let logout = try await client.readResponse()
                #expect(logout.status == 200)
                #expect(logout.body.isEmpty)
                #expect(logout.header("Set-Cookie") == "da_cookie=; Path=/; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0")
            }
        }
    }
}
