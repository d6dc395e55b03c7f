import Testing

/// key-auth, basic-auth and acl through the proxy, against Kong's specs
/// (spec/03-plugins/09-key-auth, 10-basic-auth, 18-acl).
@Suite("Plugins live: key-auth, basic-auth, acl", .serialized)
struct PluginsAuthTests {
    private typealias ID = PluginIDs

    private func yaml(_ port: Int) -> String {
        """
        _format_version: "3.0"
        consumers:
        - id: \(ID.bob)
          username: bob
          custom_id: bob-custom
          keyauth_credentials:
          - id: \(ID.bobKey)
            key: kong
          basicauth_credentials:
          - id: \(ID.bobBasic)
            username: user123
            password: password123
          - username: user321
            password: "password:123"
          acls:
          - group: staff
            id: b0000000-0000-4000-8000-000000000001
          - group: admin
            id: a0000000-0000-4000-8000-000000000002
        - id: \(ID.alice)
          username: alice
          keyauth_credentials:
          - key: alice-key
          acls:
          - group: guest
        - id: \(ID.anonymous)
          username: no-body
          acls:
          - group: anonymous
        - username: carol
          keyauth_credentials:
          - key: carol-key
        services:
        - name: s
          url: http://127.0.0.1:\(port)
          routes:
          - hosts: [ka1.test]
            plugins:
            - name: key-auth
          - hosts: [ka2.test]
            plugins:
            - name: key-auth
              config: {hide_credentials: true, realm: test-realm}
          - hosts: [ka-body.test]
            plugins:
            - name: key-auth
              config: {key_in_body: true}
          - hosts: [ka-body-hide.test]
            plugins:
            - name: key-auth
              config: {key_in_body: true, hide_credentials: true}
          - hosts: [ka-anon.test]
            plugins:
            - name: key-auth
              config: {anonymous: \(ID.anonymous)}
          - hosts: [ka-anon-name.test]
            plugins:
            - name: key-auth
              config: {anonymous: no-body}
          - hosts: [ka-anon-missing.test]
            plugins:
            - name: key-auth
              config: {anonymous: \(ID.missing)}
          - hosts: [ka-preflight.test]
            plugins:
            - name: key-auth
              config: {run_on_preflight: false}
          - hosts: [ba1.test]
            plugins:
            - name: basic-auth
              config: {realm: test-realm}
          - hosts: [ba2.test]
            plugins:
            - name: basic-auth
              config: {hide_credentials: true}
          - hosts: [ba-anon.test]
            plugins:
            - name: basic-auth
              config: {anonymous: no-body}
          - hosts: [or.test]
            plugins:
            - name: key-auth
              config: {anonymous: \(ID.anonymous)}
            - name: basic-auth
              config: {anonymous: \(ID.anonymous)}
          - hosts: [acl-allow.test]
            plugins:
            - name: key-auth
            - name: acl
              config: {allow: [admin]}
          - hosts: [acl-deny.test]
            plugins:
            - name: key-auth
            - name: acl
              config: {deny: [admin]}
          - hosts: [acl-hide.test]
            plugins:
            - name: key-auth
            - name: acl
              config: {allow: [admin], hide_groups_header: true}
          - hosts: [acl-anon.test]
            plugins:
            - name: key-auth
              config: {anonymous: \(ID.anonymous)}
            - name: acl
              config: {allow: [anonymous, admin]}
          - hosts: [acl-only.test]
            plugins:
            - name: acl
              config: {allow: [admin]}
        """
    }

    private func run(_ body: (ProxyHarness) async throws -> Void) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in try await body(proxy) }
        }
    }

    // MARK: key-auth

    @Test("key-auth: a key in a header or the query authenticates, with the consumer headers upstream")
    func keyAuthValid() async throws {
        try await run { proxy in
            let r = try await proxy.get("/echo", host: "ka1.test", headers: [("apikey", "kong")])
            #expect(r.status == 200)
            let e = EchoedRequest(r)
            #expect(e.header("apikey") == "kong")
            #expect(e.header("X-Consumer-ID") == ID.bob)
            #expect(e.header("X-Consumer-Custom-ID") == "bob-custom")
            #expect(e.header("X-Consumer-Username") == "bob")
            #expect(e.header("X-Credential-Identifier") == ID.bobKey)
            #expect(e.header("X-Anonymous-Consumer") == nil)

            let q = try await proxy.get("/echo?c=value1&apikey=kong&a=value3", host: "ka1.test")
            #expect(q.status == 200)
            #expect(EchoedRequest(q).requestLine == "GET /echo?c=value1&apikey=kong&a=value3")
            #expect(EchoedRequest(q).header("X-Consumer-Username") == "bob")

            // A consumer without custom_id: the client's spoofed header is cleared.
            let c = EchoedRequest(
                try await proxy.get(
                    "/echo", host: "ka1.test", headers: [("apikey", "carol-key"), ("X-Consumer-Custom-ID", "spoofed")]))
            #expect(c.header("X-Consumer-Username") == "carol")
            #expect(c.header("X-Consumer-Custom-ID") == nil)
        }
    }

    @Test("key-auth: 401 texts and WWW-Authenticate")
    func keyAuthRejections() async throws {
        try await run { proxy in
            let none = try await proxy.get("/echo", host: "ka1.test")
            #expect(none.status == 401)
            #expect(none.message == "No API key found in request")
            #expect(none.header("WWW-Authenticate") == "Key")
            #expect(none.header("Content-Type") == "application/json; charset=utf-8")

            let empty = try await proxy.get("/echo", host: "ka1.test", headers: [("apikey", "")])
            #expect(empty.status == 401)
            #expect(empty.message == "No API key found in request")

            let flag = try await proxy.get("/echo?apikey", host: "ka1.test")
            #expect(flag.status == 401)
            #expect(flag.message == "No API key found in request")

            let bad = try await proxy.get("/echo?apikey=123", host: "ka1.test")
            #expect(bad.status == 401)
            #expect(bad.message == "Unauthorized")
            #expect(bad.header("WWW-Authenticate") == "Key")

            let dup = try await proxy.get("/echo?apikey=kong&apikey=kong", host: "ka1.test")
            #expect(dup.status == 401)
            #expect(dup.message == "Duplicate API key found")

            let realm = try await proxy.get("/echo", host: "ka2.test")
            #expect(realm.status == 401)
            #expect(realm.header("WWW-Authenticate") == "Key realm=\"test-realm\"")
        }
    }

    @Test("key-auth: hide_credentials removes the key from headers and query, keeping the query order")
    func keyAuthHideCredentials() async throws {
        try await run { proxy in
            let h = try await proxy.get("/echo", host: "ka2.test", headers: [("apikey", "kong")])
            #expect(h.status == 200)
            #expect(EchoedRequest(h).header("apikey") == nil)
            #expect(EchoedRequest(h).header("X-Consumer-Username") == "bob")

            let q = try await proxy.get("/echo?c=value1&b=value2&apikey=kong&a=value3", host: "ka2.test")
            #expect(q.status == 200)
            #expect(EchoedRequest(q).requestLine == "GET /echo?c=value1&b=value2&a=value3")

            let encoded = try await proxy.get("/echo?c=valu%651&b=value2&api%6B%65%79=kong&a=valu%653", host: "ka2.test")
            #expect(encoded.status == 200)
            #expect(EchoedRequest(encoded).requestLine == "GET /echo?c=value1&b=value2&a=value3")

            // The key was the whole query: no `?` is left (nginx's `$is_args` is empty), unless
            // the client's target ended with one.
            let only = try await proxy.get("/echo?apikey=kong", host: "ka2.test")
            #expect(EchoedRequest(only).requestLine == "GET /echo")
            let trailing = try await proxy.get("/echo?", host: "ka2.test", headers: [("apikey", "kong")])
            #expect(EchoedRequest(trailing).requestLine == "GET /echo?")
        }
    }

    @Test("key-auth: key_in_body with form and JSON bodies; hide_credentials rewrites the body")
    func keyAuthBody() async throws {
        try await run { proxy in
            let form = try await proxy.send(
                "POST", "/echo-body", host: "ka-body.test",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "apikey=kong&foo=bar")
            #expect(form.status == 200)
            #expect(form.text == "apikey=kong&foo=bar")

            let json = try await proxy.send(
                "POST", "/echo-body", host: "ka-body.test", headers: [("Content-Type", "application/json")],
                body: #"{"apikey":"kong"}"#)
            #expect(json.status == 200)

            let bad = try await proxy.send(
                "POST", "/echo-body", host: "ka-body.test", headers: [("Content-Type", "application/json")],
                body: #"{"apikey":"nope"}"#)
            #expect(bad.status == 401)
            #expect(bad.message == "Unauthorized")

            let dup = try await proxy.send(
                "POST", "/echo-body", host: "ka-body.test",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "apikey=kong&apikey=kong")
            #expect(dup.status == 401)
            #expect(dup.message == "Duplicate API key found")

            let text = try await proxy.send(
                "POST", "/echo-body", host: "ka-body.test", headers: [("Content-Type", "text/plain")], body: "foobar")
            #expect(text.status == 401)
            #expect(text.message == "No API key found in request")
            #expect(text.header("WWW-Authenticate") == "Key")

            let hiddenForm = try await proxy.send(
                "POST", "/echo-body", host: "ka-body-hide.test",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "apikey=kong&foo=bar")
            #expect(hiddenForm.status == 200)
            #expect(hiddenForm.text == "foo=bar")
            #expect(hiddenForm.header("X-Echo-Content-Length") == "7")
            #expect(hiddenForm.header("X-Echo-Content-Type") == "application/x-www-form-urlencoded")
            // Kong's set_body re-encodes the form as make_ordered_args does: each name's
            // arguments together, those pieces sorted.
            let sortedForm = try await proxy.send(
                "POST", "/echo-body", host: "ka-body-hide.test",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "z=1&apikey=kong&a=2&a-b=4&a=3&sp=a+b&pct=%2F&flag")
            #expect(sortedForm.text == "a-b=4&a=2&a=3&flag&pct=%2F&sp=a%20b&z=1")

            let hiddenJSON = try await proxy.send(
                "POST", "/echo-body", host: "ka-body-hide.test", headers: [("Content-Type", "application/json")],
                body: #"{"apikey":"kong","foo":"bar"}"#)
            #expect(hiddenJSON.status == 200)
            #expect(hiddenJSON.json?["apikey"] == nil)
            #expect(hiddenJSON.json?["foo"] as? String == "bar")
            #expect(hiddenJSON.header("X-Echo-Content-Length") == String(hiddenJSON.body.count))
        }
    }

    @Test("key-auth: anonymous consumer by id or username, and a missing one")
    func keyAuthAnonymous() async throws {
        try await run { proxy in
            let ok = EchoedRequest(try await proxy.get("/echo", host: "ka-anon.test", headers: [("apikey", "kong")]))
            #expect(ok.header("X-Consumer-Username") == "bob")
            #expect(ok.header("X-Credential-Identifier") == ID.bobKey)
            #expect(ok.header("X-Anonymous-Consumer") == nil)

            let wrong = try await proxy.get(
                "/echo", host: "ka-anon.test",
                headers: [("apikey", "wrong"), ("X-Credential-Identifier", "spoofed"), ("X-Anonymous-Consumer", "no")])
            #expect(wrong.status == 200)
            let w = EchoedRequest(wrong)
            #expect(w.header("X-Anonymous-Consumer") == "true")
            #expect(w.header("X-Consumer-Username") == "no-body")
            #expect(w.header("X-Consumer-ID") == ID.anonymous)
            #expect(w.header("X-Credential-Identifier") == nil)

            let byName = EchoedRequest(try await proxy.get("/echo", host: "ka-anon-name.test"))
            #expect(byName.header("X-Anonymous-Consumer") == "true")
            #expect(byName.header("X-Consumer-Username") == "no-body")

            let missing = try await proxy.get("/echo", host: "ka-anon-missing.test", headers: [("apikey", "wrong")])
            #expect(missing.status == 500)
            #expect(missing.message == "anonymous consumer \(ID.missing) is configured but doesn't exist")
        }
    }

    @Test("key-auth: run_on_preflight")
    func keyAuthPreflight() async throws {
        try await run { proxy in
            let skipped = try await proxy.send("OPTIONS", "/echo", host: "ka-preflight.test")
            #expect(skipped.status == 200)
            #expect(EchoedRequest(skipped).requestLine == "OPTIONS /echo")
            let checked = try await proxy.send("OPTIONS", "/echo", host: "ka1.test")
            #expect(checked.status == 401)
            #expect(checked.message == "No API key found in request")
        }
    }

    // MARK: basic-auth

    @Test("basic-auth: valid credentials, consumer headers, hide_credentials")
    func basicAuthValid() async throws {
        try await run { proxy in
            let r = try await proxy.get(
                "/echo", host: "ba1.test", headers: [("Authorization", "Basic dXNlcjEyMzpwYXNzd29yZDEyMw==")])
            #expect(r.status == 200)
            let e = EchoedRequest(r)
            #expect(e.header("X-Consumer-Username") == "bob")
            #expect(e.header("X-Consumer-ID") == ID.bob)
            #expect(e.header("X-Consumer-Custom-ID") == "bob-custom")
            #expect(e.header("X-Credential-Identifier") == "user123")
            #expect(e.header("Authorization") == "Basic dXNlcjEyMzpwYXNzd29yZDEyMw==")

            // A password containing ':'.
            let colon = EchoedRequest(
                try await proxy.get("/echo", host: "ba1.test", headers: [("Authorization", "Basic dXNlcjMyMTpwYXNzd29yZDoxMjM=")]))
            #expect(colon.header("X-Credential-Identifier") == "user321")

            let proxyAuth = try await proxy.get(
                "/echo", host: "ba1.test", headers: [("Proxy-Authorization", "Basic dXNlcjEyMzpwYXNzd29yZDEyMw==")])
            #expect(proxyAuth.status == 200)

            let hidden = try await proxy.get(
                "/echo", host: "ba2.test", headers: [("Authorization", "Basic dXNlcjEyMzpwYXNzd29yZDEyMw==")])
            #expect(hidden.status == 200)
            #expect(EchoedRequest(hidden).header("Authorization") == nil)
            #expect(EchoedRequest(hidden).header("X-Consumer-Username") == "bob")
        }
    }

    @Test("basic-auth: 401 Unauthorized with the realm")
    func basicAuthRejections() async throws {
        try await run { proxy in
            let none = try await proxy.get("/echo", host: "ba1.test")
            #expect(none.status == 401)
            #expect(none.message == "Unauthorized")
            #expect(none.header("WWW-Authenticate") == "Basic realm=\"test-realm\"")

            let defaultRealm = try await proxy.get("/echo", host: "ba2.test")
            #expect(defaultRealm.status == 401)
            #expect(defaultRealm.header("WWW-Authenticate") == "Basic realm=\"service\"")

            for value in ["foobar", "Basic a29uZw==", "Basic Ym9i", "Basic adXNlcjEyMzpwYXNzd29yZDEyMw==", "Basic dXNlcjEyMzp3cm9uZw=="] {
                let r = try await proxy.get("/echo", host: "ba1.test", headers: [("Authorization", value)])
                #expect(r.status == 401, "\(value)")
                #expect(r.message == "Unauthorized", "\(value)")
                #expect(r.header("WWW-Authenticate") == "Basic realm=\"test-realm\"", "\(value)")
            }
            let badProxy = try await proxy.get("/echo", host: "ba1.test", headers: [("Proxy-Authorization", "foobar")])
            #expect(badProxy.status == 401)
        }
    }

    @Test("basic-auth: anonymous, and key-auth OR basic-auth with anonymous")
    func basicAuthAnonymous() async throws {
        try await run { proxy in
            let anon = EchoedRequest(try await proxy.get("/echo", host: "ba-anon.test", headers: [("Authorization", "Basic Ym9i")]))
            #expect(anon.header("X-Anonymous-Consumer") == "true")
            #expect(anon.header("X-Consumer-Username") == "no-body")
            #expect(anon.header("X-Credential-Identifier") == nil)

            let first = EchoedRequest(try await proxy.get("/echo", host: "or.test", headers: [("apikey", "alice-key")]))
            #expect(first.header("X-Consumer-ID") == ID.alice)
            #expect(first.header("X-Anonymous-Consumer") == nil)
            let second = EchoedRequest(
                try await proxy.get("/echo", host: "or.test", headers: [("Authorization", "Basic dXNlcjEyMzpwYXNzd29yZDEyMw==")]))
            #expect(second.header("X-Consumer-ID") == ID.bob)
            #expect(second.header("X-Credential-Identifier") == "user123")
            #expect(second.header("X-Anonymous-Consumer") == nil)
            let neither = EchoedRequest(try await proxy.get("/echo", host: "or.test"))
            #expect(neither.header("X-Consumer-ID") == ID.anonymous)
            #expect(neither.header("X-Anonymous-Consumer") == "true")
        }
    }

    // MARK: acl

    @Test("acl: allow and deny with the consumer's groups after key-auth")
    func aclAllowDeny() async throws {
        try await run { proxy in
            let allowed = try await proxy.get("/echo", host: "acl-allow.test", headers: [("apikey", "kong")])
            #expect(allowed.status == 200)
            // Listed by acl id (Kong's LMDB order), not as declared.
            #expect(EchoedRequest(allowed).header("X-Consumer-Groups") == "admin, staff")
            #expect(EchoedRequest(allowed).header("X-Authenticated-Groups") == nil)

            let notAllowed = try await proxy.get("/echo", host: "acl-allow.test", headers: [("apikey", "alice-key")])
            #expect(notAllowed.status == 403)
            #expect(notAllowed.message == "You cannot consume this service")

            // A consumer with no acls at all, authenticated with a credential.
            let noGroups = try await proxy.get("/echo", host: "acl-allow.test", headers: [("apikey", "carol-key")])
            #expect(noGroups.status == 403)
            #expect(noGroups.message == "You cannot consume this service")

            let denied = try await proxy.get("/echo", host: "acl-deny.test", headers: [("apikey", "kong")])
            #expect(denied.status == 403)
            #expect(denied.message == "You cannot consume this service")

            let notDenied = try await proxy.get("/echo", host: "acl-deny.test", headers: [("apikey", "alice-key")])
            #expect(notDenied.status == 200)
            #expect(EchoedRequest(notDenied).header("X-Consumer-Groups") == "guest")

            // key-auth answers first when there is no key.
            let noKey = try await proxy.get("/echo", host: "acl-allow.test")
            #expect(noKey.status == 401)
            #expect(noKey.message == "No API key found in request")
        }
    }

    @Test("acl: hide_groups_header, anonymous consumer's groups, no authentication plugin")
    func aclMore() async throws {
        try await run { proxy in
            let hidden = try await proxy.get(
                "/echo", host: "acl-hide.test", headers: [("apikey", "kong"), ("X-Consumer-Groups", "spoofed")])
            #expect(hidden.status == 200)
            #expect(EchoedRequest(hidden).header("X-Consumer-Groups") == "spoofed")

            let anon = try await proxy.get("/echo", host: "acl-anon.test")
            #expect(anon.status == 200)
            #expect(EchoedRequest(anon).header("X-Consumer-Groups") == "anonymous")

            let unauthenticated = try await proxy.get("/echo", host: "acl-only.test")
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.message == "Unauthorized")
        }
    }
}
