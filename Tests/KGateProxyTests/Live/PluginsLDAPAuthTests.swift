import Foundation
import Testing

@testable import KGatePlugins

/// Kong's ldap-auth (20-ldap-auth/01-access_spec) against an LDAP server speaking the protocol
/// on a real socket: binds as `<attribute>=<user>,<base_dn>`, outcomes cached, Kong's headers
/// and answers.
@Suite(.serialized)
struct PluginsLDAPAuthTests {
    static func yaml(upstream: Int, ldap: Int, extra: String = "", anonymous: Bool = false) -> String {
        """
        _format_version: "3.0"
        consumers:
        - username: guest
          id: \(PluginIDs.anonymous)
        services:
        - url: http://127.0.0.1:\(upstream)
          routes:
          - paths: [/ldap]
            plugins:
            - name: ldap-auth
              config:
                ldap_host: 127.0.0.1
                ldap_port: \(ldap)
                base_dn: ou=scientists,dc=ldap,dc=mashape,dc=com
                attribute: uid
                \(anonymous ? "anonymous: guest" : "")
                \(extra)
        """
    }

    static func basic(_ user: String, _ password: String, type: String = "ldap") -> (String, String) {
        ("Authorization", "\(type) " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    static let accounts = [
        "uid=einstein,ou=scientists,dc=ldap,dc=mashape,dc=com": "password",
        "uid=curie,ou=scientists,dc=ldap,dc=mashape,dc=com": "radium",
    ]

    @Test("a bind authenticates; refused or missing credentials get 401 LDAP; outcomes are cached")
    func binds() async throws {
        let ldap = try await TestLDAPServer(accounts: Self.accounts)
        defer { Task { await ldap.stop() } }
        let plugin = LDAPAuthPlugin()
        try await withUpstreams(["u"]) { ups in
            try await withProxy(
                Self.yaml(upstream: ups[0].port, ldap: ldap.port, extra: "hide_credentials: true"), extraPlugins: [plugin]
            ) { proxy in
                let ok = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password")])
                #expect(ok.status == 200)
                let echoed = EchoedRequest(ok)
                #expect(echoed.header("X-Credential-Identifier") == "einstein")
                #expect(echoed.header("X-Anonymous-Consumer") == nil)
                #expect(echoed.header("Authorization") == nil)
                #expect(ldap.bindCount == 1)
                // The outcome is cached: no second bind.
                #expect(try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password")]).status == 200)
                #expect(ldap.bindCount == 1)
                // What `GET /cache/{key}` probes, under Kong's key.
                let config = try plugin.makeConfig(
                    ["ldap_host": "127.0.0.1", "ldap_port": .integer(ldap.port), "base_dn": "ou=scientists,dc=ldap,dc=mashape,dc=com",
                     "attribute": "uid", "cache_ttl": 60],
                    scope: PluginScope(id: "p", name: LDAPAuthPlugin.name))
                let key = LDAPAuthPlugin.cacheKey(config, user: "einstein", password: "password")
                #expect(plugin.cachedValue(forKey: key, now: Date().timeIntervalSince1970)?["username"] == "einstein")

                let refused = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "wrong")])
                #expect(refused.status == 401)
                #expect(refused.header("WWW-Authenticate") == "LDAP")
                #expect(refused.message == "Unauthorized")
                #expect(try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "wrong")]).status == 401)
                #expect(ldap.bindCount == 2)

                #expect(try await proxy.send("GET", "/ldap/echo").status == 401)
                // Every bind so far went over one kept-alive connection.
                #expect(try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("curie", "radium")]).status == 200)
                #expect(ldap.bindCount == 3)
                #expect(ldap.connectionCount == 1)
                // Another scheme than header_type is not read.
                #expect(try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password", type: "Basic")]).status == 401)
            }
        }
    }

    @Test("anonymous, StartTLS and LDAPS; an unreachable server fails the request (500)")
    func variants() async throws {
        let plain = try await TestLDAPServer(accounts: Self.accounts)
        let secure = try await TestLDAPServer(accounts: Self.accounts, ldaps: true)
        defer { Task { await plain.stop(); await secure.stop() } }
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(upstream: ups[0].port, ldap: plain.port, anonymous: true)) { proxy in
                let guest = EchoedRequest(try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "nope")]))
                #expect(guest.header("X-Consumer-Username") == "guest")
                #expect(guest.header("X-Anonymous-Consumer") == "true")
            }
            try await withProxy(Self.yaml(upstream: ups[0].port, ldap: plain.port, extra: "start_tls: true")) { proxy in
                let connections = plain.connectionCount
                let response = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password")])
                #expect(response.status == 200)
                // The TLS connection is reused: StartTLS is not sent again on it.
                let again = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("curie", "radium")])
                #expect(again.status == 200)
                #expect(plain.connectionCount == connections + 1)
            }
            try await withProxy(Self.yaml(upstream: ups[0].port, ldap: secure.port, extra: "ldaps: true")) { proxy in
                let response = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password")])
                #expect(response.status == 200)
                #expect(secure.bindCount == 1)
            }
            let dead = try await UpstreamFailureTests.deadPort()
            try await withProxy(Self.yaml(upstream: ups[0].port, ldap: dead)) { proxy in
                let response = try await proxy.send("GET", "/ldap/echo", headers: [Self.basic("einstein", "password")])
                #expect(response.status == 500)
            }
        }
    }
}
