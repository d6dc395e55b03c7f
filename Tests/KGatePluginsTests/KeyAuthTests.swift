import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/09-key-auth/02-access_spec.lua`, against the plugin directly.
@Suite struct KeyAuthTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
        routes:
        - {name: r1, service: svc, hosts: [key-auth1.test], plugins: [{name: key-auth}]}
        - {name: r2, service: svc, hosts: [key-auth2.test], plugins: [{name: key-auth, config: {hide_credentials: true, realm: test-realm}}]}
        - {name: r3, service: svc, hosts: [key-auth3.test], plugins: [{name: key-auth, config: {anonymous: 7c7e1b7c-4a3e-4d5f-9a9a-8a2b7d3f1c11}}]}
        - {name: r4, service: svc, hosts: [key-auth4.test], plugins: [{name: key-auth, config: {anonymous: 00000000-0000-4000-8000-00000000dead}}]}
        - {name: r5, service: svc, hosts: [key-auth5.test], plugins: [{name: key-auth, config: {key_in_body: true}}]}
        - {name: r6, service: svc, hosts: [key-auth6.test], plugins: [{name: key-auth, config: {key_in_body: true, hide_credentials: true}}]}
        - {name: r7, service: svc, hosts: [key-auth7.test], plugins: [{name: key-auth, config: {run_on_preflight: false}}]}
        - {name: r8, service: svc, hosts: [key-auth8.test], plugins: [{name: key-auth, config: {key_names: [api_key]}}]}
        - {name: r9, service: svc, hosts: [key-auth9.test], plugins: [{name: key-auth, config: {key_names: [api-key]}}]}
        - {name: r10, service: svc, hosts: [key-auth10.test], plugins: [{name: key-auth, config: {anonymous: no-body}}]}
        consumers:
        - username: no-body
          id: 7c7e1b7c-4a3e-4d5f-9a9a-8a2b7d3f1c11
        - username: bob
          custom_id: bob-1
          keyauth_credentials:
          - key: kong
            id: 2a0e2b8b-3c5d-4a43-9b77-4f4f8f9f0d01
          - key: expiring
            ttl: 1700000030
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    @Test func preflightSkipsWhenConfigured() {
        #expect(Exchange(runner, route: "r7", method: "OPTIONS").status == 0)
        let ex = Exchange(runner, route: "r1", method: "OPTIONS")
        #expect(ex.status == 401)
        #expect(ex.message == "No API key found in request")
    }

    @Test func missingOrEmptyKey() {
        for ex in [
            Exchange(runner, route: "r1"), Exchange(runner, route: "r1", headers: ["apikey": ""]),
            Exchange(runner, route: "r1", query: "apikey"),
        ] {
            #expect(ex.status == 401)
            #expect(ex.message == "No API key found in request")
            #expect(ex.ctx.exitResponse?.headers["WWW-Authenticate"] == "Key")
        }
        let realm = Exchange(runner, route: "r2", headers: ["apikey": ""])
        #expect(realm.ctx.exitResponse?.headers["WWW-Authenticate"] == "Key realm=\"test-realm\"")
    }

    @Test func keyInQueryString() {
        #expect(Exchange(runner, route: "r1", query: "apikey=kong").status == 0)
        let bad = Exchange(runner, route: "r1", query: "apikey=123")
        #expect(bad.status == 401)
        #expect(bad.message == "Unauthorized")
        let dup = Exchange(runner, route: "r1", query: "apikey=kong&apikey=kong")
        #expect(dup.status == 401)
        #expect(dup.message == "Duplicate API key found")
    }

    @Test func keyInHeaders() {
        #expect(Exchange(runner, route: "r1", headers: ["apikey": "kong"]).status == 0)
        #expect(Exchange(runner, route: "r1", headers: ["apikey": "123"]).message == "Unauthorized")
        let dup = Exchange(runner, route: "r1", headers: ["apikey": "kong", "APIKEY": "kong"])
        #expect(dup.message == "Duplicate API key found")
    }

    @Test func underscoresOrHyphensInKeyHeaders() {
        #expect(Exchange(runner, route: "r8", headers: ["api_key": "kong"]).status == 0)
        #expect(Exchange(runner, route: "r9", headers: ["api-key": "kong"]).status == 0)
        #expect(Exchange(runner, route: "r8", headers: ["api_key": "123"]).message == "Unauthorized")
    }

    @Test(arguments: [
        ("application/x-www-form-urlencoded", "apikey=kong", "apikey=123"),
        ("application/json", #"{"apikey":"kong"}"#, #"{"apikey":"123"}"#),
        (
            "multipart/form-data; boundary=XX",
            "--XX\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nkong\r\n--XX--\r\n",
            "--XX\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\n123\r\n--XX--\r\n"
        ),
    ])
    func keyInBody(contentType: String, good: String, bad: String) {
        #expect(runner.needsRequestBody(Exchange(runner, route: "r5").ctx))
        #expect(!runner.needsRequestBody(Exchange(runner, route: "r1").ctx))
        let ok = Exchange(runner, route: "r5", method: "POST", headers: ["Content-Type": contentType], body: good)
        #expect(ok.status == 0)
        let wrong = Exchange(runner, route: "r5", method: "POST", headers: ["Content-Type": contentType], body: bad)
        #expect(wrong.message == "Unauthorized")
        let inQuery = Exchange(
            runner, route: "r5", method: "POST", query: "apikey=kong", headers: ["Content-Type": contentType],
            body: "x")
        #expect(inQuery.status == 0)
    }

    @Test func duplicateKeysInBody() {
        let json = Exchange(
            runner, route: "r5", method: "POST", headers: ["Content-Type": "application/json"],
            body: #"{"apikey":["kong","kong"]}"#)
        #expect(json.message == "Duplicate API key found")
        let form = Exchange(
            runner, route: "r5", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: "apikey=kong&apikey=kong")
        #expect(form.message == "Duplicate API key found")
        for body in ["apikey[]=kong&apikey[]=kong", "apikey[1]=kong&apikey[1]=kong"] {
            let ex = Exchange(
                runner, route: "r5", method: "POST",
                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: body)
            #expect(ex.message == "No API key found in request")
        }
        let unsupported = Exchange(runner, route: "r6", method: "POST", headers: ["Content-Type": "text/plain"], body: "foobar")
        #expect(unsupported.message == "No API key found in request")
    }

    @Test func consumerHeadersSentUpstream() {
        let ex = Exchange(runner, route: "r1", query: "apikey=kong")
        #expect(ex.upstream("x-consumer-id") == Gate.consumerID(runner, "bob"))
        #expect(ex.upstream("x-consumer-username") == "bob")
        #expect(ex.upstream("x-consumer-custom-id") == "bob-1")
        #expect(ex.upstream("x-credential-identifier") == "2a0e2b8b-3c5d-4a43-9b77-4f4f8f9f0d01")
        #expect(ex.upstream("x-anonymous-consumer") == nil)
        #expect(ex.ctx.consumer?.username == "bob")
        #expect(ex.ctx.credential?.row["key"] == "kong")
    }

    @Test func hideCredentials() {
        // Query string: kept (r1), removed keeping the others' order (r2), decoded names too.
        let kept = Exchange(runner, route: "r1", query: "c=value1&b=value2&apikey=kong&a=value3")
        #expect(kept.ctx.request.rawQuery == "c=value1&b=value2&apikey=kong&a=value3")
        #expect(!kept.ctx.request.changes.contains(.query))
        let removed = Exchange(runner, route: "r2", query: "c=value1&b=value2&apikey=kong&a=value3")
        #expect(removed.ctx.request.rawQuery == "c=value1&b=value2&a=value3")
        let encoded = Exchange(runner, route: "r2", query: "c=valu%651&b=value2&api%6B%65%79=kong&a=valu%653")
        #expect(encoded.ctx.request.rawQuery == "c=value1&b=value2&a=value3")
        // Headers.
        #expect(Exchange(runner, route: "r1", headers: ["apikey": "kong"]).upstream("apikey") == "kong")
        #expect(Exchange(runner, route: "r2", headers: ["apikey": "kong"]).upstream("apikey") == nil)
        // Body, keeping the MIME type and the other fields.
        let form = Exchange(
            runner, route: "r6", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: "apikey=kong&foo=bar")
        #expect(form.status == 0)
        #expect(form.ctx.request.body.map { String(decoding: $0, as: UTF8.self) } == "foo=bar")
        #expect(form.upstream("content-type") == "application/x-www-form-urlencoded")
        let json = Exchange(
            runner, route: "r6", method: "POST", headers: ["Content-Type": "application/json"],
            body: #"{"apikey":"kong","foo":"bar"}"#)
        #expect(json.ctx.request.body.map { String(decoding: $0, as: UTF8.self) } == #"{"foo":"bar"}"#)
        let multipart = Exchange(
            runner, route: "r6", method: "POST", headers: ["Content-Type": "multipart/form-data; boundary=XX"],
            body: "--XX\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nkong\r\n"
                + "--XX\r\nContent-Disposition: form-data; name=\"foo\"\r\n\r\nbar\r\n--XX--\r\n")
        #expect(
            multipart.ctx.request.body.map { String(decoding: $0, as: UTF8.self) }
                == "--XX\r\nContent-Disposition: form-data; name=\"foo\"\r\n\r\nbar\r\n--XX--\r\n")
        #expect(multipart.upstream("content-type") == "multipart/form-data; boundary=XX")
    }

    @Test func anonymous() {
        let good = Exchange(runner, route: "r3", query: "apikey=kong")
        #expect(good.upstream("x-consumer-username") == "bob")
        #expect(good.upstream("x-anonymous-consumer") == nil)
        let anon = Exchange(runner, route: "r3")
        #expect(anon.status == 0)
        #expect(anon.upstream("x-anonymous-consumer") == "true")
        #expect(anon.upstream("x-credential-identifier") == nil)
        #expect(anon.upstream("x-consumer-username") == "no-body")
        let byName = Exchange(runner, route: "r10")
        #expect(byName.upstream("x-consumer-username") == "no-body")
        let missing = Exchange(runner, route: "r4")
        #expect(missing.status == 500)
        #expect(missing.message == "anonymous consumer 00000000-0000-4000-8000-00000000dead is configured but doesn't exist")
    }

    /// 02-access_spec 'auto-expiring keys': a declarative `ttl` is the time the key expires
    /// (Kong's DB-less `process_ttl_field`); from then on the key is unknown.
    @Test func expiringKey() {
        #expect(Exchange(runner, route: "r1", query: "apikey=expiring", time: 1_700_000_029.9).status == 0)
        for time in [1_700_000_030, 1_700_000_031] as [Double] {
            let expired = Exchange(runner, route: "r1", query: "apikey=expiring", time: time)
            #expect(expired.status == 401)
            #expect(expired.message == "Unauthorized")
        }
        #expect(Exchange(runner, route: "r1", query: "apikey=kong", time: 1_800_000_000).status == 0)
    }
}
