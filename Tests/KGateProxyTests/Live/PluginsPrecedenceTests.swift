import Testing

/// Which plugin config runs (Kong's `lookup_cfg`, reference §6.2), and global plugins on
/// responses that never reached `access`.
@Suite("Plugins live: precedence and global plugins", .serialized)
struct PluginsPrecedenceTests {
    private typealias ID = PluginIDs

    @Test("a route-scoped config beats a service-scoped one, which beats a global one")
    func routeServiceGlobal() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                plugins:
                - name: request-termination
                  config: {status_code: 403, message: global}
                services:
                - name: scoped
                  url: http://127.0.0.1:\(ups[0].port)
                  plugins:
                  - name: request-termination
                    config: {status_code: 403, message: service}
                  routes:
                  - name: with-own
                    hosts: [route.test]
                    plugins:
                    - name: request-termination
                      config: {status_code: 403, message: route}
                  - name: inherits
                    hosts: [service.test]
                - name: plain
                  url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [global.test]
                routes:
                - name: serviceless
                  hosts: [serviceless.test]
                  plugins:
                  - name: request-termination
                    config: {status_code: 403, message: serviceless route}
                """
            try await withProxy(yaml) { proxy in
                for (host, expected) in [
                    ("route.test", "route"), ("service.test", "service"), ("global.test", "global"),
                    ("serviceless.test", "serviceless route"),
                ] {
                    let r = try await proxy.get("/echo", host: host)
                    #expect(r.status == 403, "\(host)")
                    #expect(r.message == expected, "\(host)")
                }
                #expect(ups[0].requests.isEmpty)
            }
        }
    }

    @Test("consumer-scoped configs apply once key-auth identified the consumer; route+consumer beats consumer")
    func consumerScoped() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                consumers:
                - id: \(ID.bob)
                  username: bob
                  keyauth_credentials:
                  - key: bob-key
                  plugins:
                  - name: rate-limiting
                    config: {hour: 2}
                  - name: correlation-id
                    config: {echo_downstream: true, header_name: X-Bob-Id}
                - id: \(ID.alice)
                  username: alice
                  keyauth_credentials:
                  - key: alice-key
                plugins:
                - name: rate-limiting
                  config: {hour: 5}
                - name: rate-limiting
                  route: special
                  consumer: bob
                  config: {hour: 3}
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  plugins:
                  - name: key-auth
                  routes:
                  - name: normal
                    hosts: [normal.test]
                  - name: special
                    hosts: [special.test]
                """
            try await withProxy(yaml) { proxy in
                try await awaitRoomInWindow(period: 3600, margin: 3)
                let bob = try await proxy.get("/echo", host: "normal.test", headers: [("apikey", "bob-key")])
                #expect(bob.status == 200)
                #expect(bob.header("X-RateLimit-Limit-Hour") == "2")
                // correlation-id (priority 100001) runs before key-auth: a consumer-scoped config
                // of it never applies.
                #expect(bob.header("X-Bob-Id") == nil)
                #expect(EchoedRequest(bob).header("X-Bob-Id") == nil)
                #expect(try await proxy.get("/echo", host: "normal.test", headers: [("apikey", "bob-key")]).status == 200)
                let blocked = try await proxy.get("/echo", host: "normal.test", headers: [("apikey", "bob-key")])
                #expect(blocked.status == 429)
                #expect(blocked.header("X-RateLimit-Limit-Hour") == "2")

                let alice = try await proxy.get("/echo", host: "normal.test", headers: [("apikey", "alice-key")])
                #expect(alice.status == 200)
                #expect(alice.header("X-RateLimit-Limit-Hour") == "5")

                let special = try await proxy.get("/echo", host: "special.test", headers: [("apikey", "bob-key")])
                #expect(special.status == 200)
                #expect(special.header("X-RateLimit-Limit-Hour") == "3")
                #expect(special.header("X-RateLimit-Remaining-Hour") == "2")

                // Unauthenticated: key-auth answers; rate-limiting (lower priority) never runs.
                let anonymous = try await proxy.get("/echo", host: "normal.test")
                #expect(anonymous.status == 401)
                #expect(anonymous.header("X-RateLimit-Limit-Hour") == nil)
            }
        }
    }

    @Test("global plugins run header_filter on a 404 without a route; access-only plugins do not run")
    func globalsOnNoRoute() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                plugins:
                - name: cors
                - name: correlation-id
                  config: {generator: uuid, echo_downstream: true}
                - name: key-auth
                - name: rate-limiting
                  config: {minute: 100}
                - name: request-termination
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [known.test]
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.get("/nowhere", host: "unknown.test", headers: [("Origin", "http://a.test")])
                #expect(r.status == 404)
                #expect(r.message == "no Route matched with those values")
                #expect(r.header("Access-Control-Allow-Origin") == "*")
                #expect(PluginsResponseTests.isUUID(r.header("Kong-Request-ID") ?? ""))
                #expect(r.header("WWW-Authenticate") == nil)
                #expect(r.header("X-RateLimit-Limit-Minute") == nil)

                // The same globals on a routed request: key-auth answers first.
                let routed = try await proxy.get("/echo", host: "known.test", headers: [("Origin", "http://a.test")])
                #expect(routed.status == 401)
                #expect(routed.header("Access-Control-Allow-Origin") == "*")
                #expect(PluginsResponseTests.isUUID(routed.header("Kong-Request-ID") ?? ""))
                #expect(ups[0].requests.isEmpty)
            }
        }
    }
}
