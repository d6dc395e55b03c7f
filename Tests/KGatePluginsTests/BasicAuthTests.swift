import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/10-basic-auth/03-access_spec.lua`, against the plugin directly.
@Suite struct BasicAuthTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
        routes:
        - {name: r1, service: svc, hosts: [basic-auth1.test], plugins: [{name: basic-auth, config: {realm: test-realm}}]}
        - {name: r2, service: svc, hosts: [basic-auth2.test], plugins: [{name: basic-auth, config: {hide_credentials: true}}]}
        - {name: r3, service: svc, hosts: [basic-auth3.test], plugins: [{name: basic-auth, config: {anonymous: 7c7e1b7c-4a3e-4d5f-9a9a-8a2b7d3f1c11}}]}
        - {name: r4, service: svc, hosts: [basic-auth4.test], plugins: [{name: basic-auth, config: {anonymous: 00000000-0000-4000-8000-00000000dead}}]}
        - {name: r5, service: svc, hosts: [basic-auth5.test], plugins: [{name: basic-auth, config: {anonymous: no-body}}]}
        - {name: r6, service: svc, hosts: [basic-auth6.test], plugins: [{name: basic-auth, config: {anonymous: no-body, hide_credentials: true}}]}
        - name: and
          service: svc
          hosts: [logical-and.test]
          plugins: [{name: basic-auth}, {name: key-auth}]
        - name: or
          service: svc
          hosts: [logical-or.test]
          plugins:
          - {name: basic-auth, config: {anonymous: no-body}}
          - {name: key-auth, config: {anonymous: no-body}}
        consumers:
        - username: no-body
          id: 7c7e1b7c-4a3e-4d5f-9a9a-8a2b7d3f1c11
        - username: bob
          id: 11111111-1111-4111-8111-111111111111
          basicauth_credentials:
          - {username: bob, password: kong}
          - {username: user123, password: password123}
          - {username: user321, password: "password:123"}
          - {username: "jos\u{E9}", password: kong}
        - username: Mickey
          keyauth_credentials: [{key: Mouse}]
        - username: Aladdin
          basicauth_credentials: [{username: Aladdin, password: OpenSesame}]
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    @Test func passwordsAreStoredAsKongHashesThem() throws {
        let cred = try #require(runner.database.basicAuthCredential(username: "bob"))
        // sha1("kong" .. "11111111-1111-4111-8111-111111111111"), as Kong's `crypto.hash`.
        #expect(cred.row["password"]?.stringValue == "5520d5aaccb5b0575bd2c2a6adb6a5cfb664f882")
    }

    @Test func unauthorized() {
        let missing = Exchange(runner, route: "r1")
        #expect(missing.status == 401)
        #expect(missing.message == "Unauthorized")
        #expect(missing.ctx.exitResponse?.headers["WWW-Authenticate"] == "Basic realm=\"test-realm\"")
        #expect(Exchange(runner, route: "r2").ctx.exitResponse?.headers["WWW-Authenticate"] == "Basic realm=\"service\"")
        for headers: HTTPFields in [
            ["Authorization": "foobar"], ["Proxy-Authorization": "foobar"], ["Authorization": "Basic a29uZw=="],
            ["Authorization": "Basic Ym9i"], ["Authorization": "Basic adXNlcjEyMzpwYXNzd29yZDEyMw=="],
            ["Authorization": "Basic Ym9iOndyb25n"],
        ] {
            let ex = Exchange(runner, route: "r1", headers: headers)
            #expect(ex.status == 401, "\(headers)")
            #expect(ex.message == "Unauthorized")
        }
    }

    @Test func authenticates() {
        #expect(Exchange(runner, route: "r1", headers: ["Authorization": "Basic Ym9iOmtvbmc="]).status == 0)
        #expect(Exchange(runner, route: "r1", headers: ["Proxy-Authorization": "Basic Ym9iOmtvbmc="]).status == 0)
        let user = Exchange(runner, route: "r1", headers: ["Authorization": "Basic dXNlcjEyMzpwYXNzd29yZDEyMw=="])
        #expect(user.upstream("x-consumer-username") == "bob")
        #expect(user.upstream("x-credential-identifier") == "user123")
        let colon = Exchange(runner, route: "r1", headers: ["Authorization": "Basic dXNlcjMyMTpwYXNzd29yZDoxMjM="])
        #expect(colon.upstream("x-credential-identifier") == "user321")
        let bob = Exchange(runner, route: "r1", headers: ["Authorization": "Basic Ym9iOmtvbmc="])
        #expect(bob.upstream("x-consumer-id") == Gate.consumerID(runner, "bob"))
        #expect(bob.upstream("x-credential-identifier") == "bob")
        #expect(bob.upstream("x-anonymous-consumer") == nil)
    }

    /// `ngx.decode_base64` reads up to the first `=` and no further; `([^:]+):(.*)` is not
    /// anchored, so leading colons are skipped.
    @Test(arguments: [
        ("Ym9iOmtvbmc", 0), ("Ym9iOmtvbmc=", 0), ("Ym9iOmtvbmc===", 0), ("Ym9iOmtvbmc=garbage!", 0),
        ("Ym9iOmtvbmc= =x", 0), ("OmJvYjprb25n", 0), ("Ojpib2I6a29uZw==", 0), ("Ym9iOmtvbmcKeA==", 0),
        ("Omtvbmc=", 401), ("Ym9i=Omtvbmc=", 401), ("Ym9iOmtvbm!=", 401), ("Ym9iOmtvbmcAB", 401), ("=", 401),
        ("Ym9iOg==", 401),
    ])
    func base64AndColons(encoded: String, status: Int) {
        let ex = Exchange(runner, route: "r1", headers: ["Authorization": "Basic " + encoded])
        #expect(ex.status == status)
        if status == 401 { #expect(ex.message == "Unauthorized") }
    }

    /// Kong compares the decoded header as bytes (Lua strings): the password's bytes are hashed
    /// as they are, and the user name must be the stored one byte for byte.
    @Test func credentialsAreComparedAsBytes() throws {
        // A Latin-1 password ("caf\xE9") hashed elsewhere and imported with `_transform: false`:
        // sha1("caf\xE9" .. "11111111-1111-4111-8111-111111111111").
        let imported = try Gate.runner(
            """
            _format_version: "3.0"
            _transform: false
            routes:
            - {name: r, hosts: [raw.test], plugins: [{name: basic-auth}]}
            consumers:
            - id: 11111111-1111-4111-8111-111111111111
              username: andru
              basicauth_credentials: [{username: bond, password: d601f85fabe9f99a7c547fa2b99e2e99a9620c0e}]
            """)
        let latin1 = Exchange(imported, route: "r", headers: ["Authorization": "Basic Ym9uZDpjYWbp"])
        #expect(latin1.status == 0)
        #expect(latin1.upstream("x-credential-identifier") == "bond")
        // "jose" + U+0301 (NFD) is canonically equal to the stored "jos\u{E9}" (NFC) but not the same bytes.
        #expect(Exchange(runner, route: "r1", headers: ["Authorization": "Basic am9zZcyBOmtvbmc="]).status == 401)
        #expect(Exchange(runner, route: "r1", headers: ["Authorization": "Basic am9zw6k6a29uZw=="]).status == 0)
        // "bob\xFF": not UTF-8, so no stored name.
        #expect(Exchange(runner, route: "r1", headers: ["Authorization": "Basic Ym9i/zprb25n"]).status == 401)
    }

    @Test func credentialsOfUnknownFormatAreNotHidden() {
        // Base64 without `user:password`: Kong returns before clearing the header.
        let unknown = Exchange(runner, route: "r6", headers: ["Authorization": "Basic Ym9i"])
        #expect(unknown.upstream("x-anonymous-consumer") == "true")
        #expect(unknown.upstream("authorization") == "Basic Ym9i")
        let notBase64 = Exchange(runner, route: "r6", headers: ["Authorization": "Basic !!!"])
        #expect(notBase64.upstream("x-anonymous-consumer") == "true")
        #expect(notBase64.upstream("authorization") == nil)
    }

    @Test func hideCredentials() {
        #expect(Exchange(runner, route: "r1", headers: ["Authorization": "Basic Ym9iOmtvbmc="]).upstream("authorization") != nil)
        #expect(Exchange(runner, route: "r2", headers: ["Authorization": "Basic Ym9iOmtvbmc="]).upstream("authorization") == nil)
    }

    @Test func anonymous() {
        let right = Exchange(runner, route: "r3", headers: ["Authorization": "Basic dXNlcjEyMzpwYXNzd29yZDEyMw=="])
        #expect(right.upstream("x-consumer-username") == "bob")
        #expect(right.upstream("x-anonymous-consumer") == nil)
        let wrong = Exchange(runner, route: "r3", headers: ["Authorization": "Basic Ym9iOndyb25n"])
        #expect(wrong.status == 0)
        #expect(wrong.upstream("x-anonymous-consumer") == "true")
        #expect(wrong.upstream("x-consumer-username") == "no-body")
        #expect(wrong.upstream("x-credential-identifier") == nil)
        #expect(Exchange(runner, route: "r5").upstream("x-consumer-username") == "no-body")
        let missing = Exchange(runner, route: "r4")
        #expect(missing.status == 500)
        #expect(missing.message == "anonymous consumer 00000000-0000-4000-8000-00000000dead is configured but doesn't exist")
    }

    @Test func multipleAuthLogicalAnd() {
        let both = Exchange(
            runner, route: "and", headers: ["apikey": "Mouse", "Authorization": "Basic QWxhZGRpbjpPcGVuU2VzYW1l"])
        #expect(both.status == 0)
        #expect(both.upstream("x-anonymous-consumer") == nil)
        #expect([Gate.consumerID(runner, "Mickey"), Gate.consumerID(runner, "Aladdin")].contains(both.upstream("x-consumer-id")))
        #expect(Exchange(runner, route: "and", headers: ["apikey": "Mouse"]).status == 401)
        let second = Exchange(runner, route: "and", headers: ["Authorization": "Basic QWxhZGRpbjpPcGVuU2VzYW1l"])
        #expect(second.status == 401)
        #expect(second.ctx.exitResponse?.headers["WWW-Authenticate"] == "Key")
        #expect(Exchange(runner, route: "and").ctx.exitResponse?.headers["WWW-Authenticate"] == "Key")
    }

    @Test func multipleAuthLogicalOr() {
        let both = Exchange(
            runner, route: "or", headers: ["apikey": "Mouse", "Authorization": "Basic QWxhZGRpbjpPcGVuU2VzYW1l"])
        #expect(both.upstream("x-anonymous-consumer") == nil)
        #expect(Exchange(runner, route: "or", headers: ["apikey": "Mouse"]).upstream("x-consumer-id") == Gate.consumerID(runner, "Mickey"))
        let second = Exchange(runner, route: "or", headers: ["Authorization": "Basic QWxhZGRpbjpPcGVuU2VzYW1l"])
        #expect(second.upstream("x-consumer-id") == Gate.consumerID(runner, "Aladdin"))
        #expect(second.upstream("x-anonymous-consumer") == nil)
        let none = Exchange(runner, route: "or")
        #expect(none.status == 0)
        #expect(none.upstream("x-anonymous-consumer") == "true")
        #expect(none.upstream("x-consumer-id") == Gate.consumerID(runner, "no-body"))
    }
}

