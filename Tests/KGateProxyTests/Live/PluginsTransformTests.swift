import Testing

/// request-transformer through the proxy, against Kong's spec
/// (spec/03-plugins/36-request-transformer/02-access_spec.lua).
@Suite("Plugins live: request-transformer", .serialized)
struct PluginsTransformTests {
    private func yaml(_ port: Int) -> String {
        #"""
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\#(port)
          routes:
          - hosts: [all.test]
            plugins:
            - name: request-transformer
              config:
                remove: {headers: [x-to-remove], querystring: [toremovequery]}
                rename: {headers: ["x-old:x-new"], querystring: ["oldq:newq"]}
                replace: {headers: ["x-to-replace:false", "x-absent:never"], querystring: ["toreplacequery:no", "absentq:never"]}
                add:
                  headers: ["x-added:a1", "h2:value:2", "x-present:nochange"]
                  querystring: ["query-added:newvalue", "p1:anything:1", "q1:nochange"]
                append: {headers: ["x-added:a2", "x-added:a3"], querystring: ["p1:a2", "p2:b1"]}
          - hosts: [host.test]
            preserve_host: true
            plugins:
            - name: request-transformer
              config: {add: {headers: ["host:mark"]}}
          - hosts: [host-replace.test]
            plugins:
            - name: request-transformer
              config: {replace: {headers: ["host:replaced.example"]}}
          - hosts: [body.test]
            plugins:
            - name: request-transformer
              config:
                remove: {body: [toremoveform]}
                rename: {body: ["oldp:newp"]}
                replace: {body: ["torep:new", "absent:never"]}
                add: {body: ["p1:v1", "existing:nochange"]}
                append: {body: ["p2:a", "p2:b"]}
          - hosts: [method.test]
            plugins:
            - name: request-transformer
              config: {http_method: POST, add: {body: ["added:1"]}}
          - hosts: [tpl.test]
            paths: ["~/requests/user1/(?<user1>\\w+)/user2/(?<user2>\\S+)"]
            plugins:
            - name: request-transformer
              config:
                remove: {headers: [x-remove-header]}
                replace: {uri: "/echo/$(uri_captures.user2)/$(uri_captures['user1'])"}
                add:
                  querystring: ["uri_param1:$(uri_captures.user1)", "uri_param2:$(headers.host)", "q2:$(headers['x-remove-header'])"]
                  headers: ["x-test-header:$(query_params.q1)", "x-copied:$(headers['x-remove-header'])"]
          - hosts: [tpl-escaped.test]
            paths: ["~/requests/user1/(?<user1>\\w+)/user2/(?<user2>\\S+)"]
            plugins:
            - name: request-transformer
              config: {add: {querystring: ["q1:$('$(uri_captures.user1)')"]}}
          - hosts: [tpl-bad.test]
            plugins:
            - name: request-transformer
              config: {add: {querystring: ["q1:$(ERROR())"]}}
        """#
    }

    private func run(_ body: (ProxyHarness) async throws -> Void) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in try await body(proxy) }
        }
    }

    @Test("headers and query: remove, rename, replace, add, append reach the upstream")
    func headersAndQuery() async throws {
        try await run { proxy in
            let r = try await proxy.get(
                "/echo?toremovequery=yes&toreplacequery=yes&oldq=1&q1=20", host: "all.test",
                headers: [("X-To-Remove", "true"), ("X-To-Replace", "true"), ("X-Old", "o"), ("X-Present", "kept")])
            #expect(r.status == 200)
            let e = EchoedRequest(r)
            #expect(e.path == "/echo")
            #expect(e.header("X-To-Remove") == nil)
            #expect(e.header("X-Old") == nil)
            #expect(e.header("X-New") == "o")
            #expect(e.header("X-To-Replace") == "false")
            #expect(e.header("X-Absent") == nil)
            #expect(e.all("X-Added") == ["a1", "a2", "a3"])
            #expect(e.header("h2") == "value:2")
            #expect(e.all("X-Present") == ["kept"])
            let q = e.query
            #expect(q["toremovequery"] == nil)
            #expect(q["toreplacequery"] == ["no"])
            #expect(q["absentq"] == nil)
            #expect(q["oldq"] == nil)
            #expect(q["newq"] == ["1"])
            #expect(q["q1"] == ["20"])
            #expect(q["query-added"] == ["newvalue"])
            #expect(q["p1"] == ["anything:1", "a2"])
            #expect(q["p2"] == ["b1"])

            // Appending to a header the client sent.
            let appended = EchoedRequest(try await proxy.get("/echo", host: "all.test", headers: [("X-Added", "a0")]))
            #expect(appended.all("X-Added") == ["a0", "a2", "a3"])
        }
    }

    @Test("adding a Host header does not change the host; replacing it does")
    func hostHeader() async throws {
        try await run { proxy in
            let r = try await proxy.get("/echo", host: "host.test")
            #expect(r.status == 200)
            #expect(EchoedRequest(r).all("Host") == ["host.test"])
            let replaced = try await proxy.get("/echo", host: "host-replace.test")
            #expect(replaced.status == 200)
            #expect(EchoedRequest(replaced).all("Host") == ["replaced.example"])
        }
    }

    @Test("JSON body: changes reach the upstream with the right Content-Length; empty arrays stay arrays")
    func jsonBody() async throws {
        try await run { proxy in
            let r = try await proxy.send(
                "POST", "/echo-body", host: "body.test", headers: [("Content-Type", "application/json")],
                body: #"{"toremoveform":"x","oldp":"o","torep":"old","existing":"kept","arr":[]}"#)
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            #expect(r.header("X-Echo-Transfer-Encoding") == nil)
            #expect(r.header("X-Echo-Content-Type") == "application/json")
            let json = try #require(r.json)
            #expect(json["toremoveform"] == nil)
            #expect(json["oldp"] == nil)
            #expect(json["newp"] as? String == "o")
            #expect(json["torep"] as? String == "new")
            #expect(json["absent"] == nil)
            #expect(json["p1"] as? String == "v1")
            #expect(json["existing"] as? String == "kept")
            #expect(json["p2"] as? [String] == ["a", "b"])
            #expect(r.text.contains(#""arr":[]"#))

            // A malformed JSON body goes up unchanged.
            let bad = try await proxy.send(
                "POST", "/echo-body", host: "body.test", headers: [("Content-Type", "application/json")], body: "{\"a\":")
            #expect(bad.status == 200)
            #expect(bad.text == "{\"a\":")
        }
    }

    @Test("form body: changes reach the upstream with the right Content-Length")
    func formBody() async throws {
        try await run { proxy in
            let r = try await proxy.send(
                "POST", "/echo-body", host: "body.test", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "toremoveform=x&oldp=o&torep=old&existing=kept&p2=v0&hello=wor%20ld")
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
            let form = formArguments(r.text)
            #expect(form["toremoveform"] == nil)
            #expect(form["oldp"] == nil)
            #expect(form["newp"] == ["o"])
            #expect(form["torep"] == ["new"])
            #expect(form["absent"] == nil)
            #expect(form["p1"] == ["v1"])
            #expect(form["existing"] == ["kept"])
            #expect(form["p2"] == ["v0", "a", "b"])
            #expect(form["hello"] == ["wor ld"])

            // No body at all: add and append still apply.
            let empty = try await proxy.send(
                "POST", "/echo-body", host: "body.test", headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(empty.status == 200)
            #expect(empty.header("X-Echo-Content-Length") == String(empty.body.count))
            let added = formArguments(empty.text)
            #expect(added["p1"] == ["v1"])
            #expect(added["p2"] == ["a", "b"])
        }
    }

    @Test("http_method changes the method; a JSON body is added")
    func method() async throws {
        try await run { proxy in
            let r = try await proxy.send(
                "GET", "/echo-body", host: "method.test", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(r.status == 200)
            #expect(r.header("X-Echo-Request") == "POST /echo-body")
            #expect(r.json?["added"] as? String == "1")
            #expect(r.header("X-Echo-Content-Length") == String(r.body.count))
        }
    }

    @Test("templates: $(headers...), $(query_params...), $(uri_captures...), a removed header's old value, escaping")
    func templates() async throws {
        try await run { proxy in
            let r = try await proxy.get(
                "/requests/user1/foo/user2/bar?q1=20", host: "tpl.test", headers: [("X-Remove-Header", "its a test")])
            #expect(r.status == 200)
            let e = EchoedRequest(r)
            #expect(e.path == "/echo/bar/foo")
            #expect(e.query["q1"] == ["20"])
            #expect(e.query["uri_param1"] == ["foo"])
            #expect(e.query["uri_param2"] == ["tpl.test"])
            #expect(e.query["q2"] == ["its a test"])
            #expect(e.header("X-Test-Header") == "20")
            #expect(e.header("X-Copied") == "its a test")
            #expect(e.header("X-Remove-Header") == nil)

            // Kong's set_path escapes the new path: a decoded capture never breaks the request line.
            let spaced = try await proxy.get("/requests/user1/foo/user2/a%22b%C3%A9", host: "tpl.test")
            #expect(spaced.status == 200)
            #expect(spaced.text.hasPrefix("GET /echo/a%22b%C3%A9/foo"))

            let escaped = EchoedRequest(try await proxy.get("/requests/user1/foo/user2/bar", host: "tpl-escaped.test"))
            #expect(escaped.query["q1"] == ["$(uri_captures.user1)"])

            let bad = try await proxy.get("/echo", host: "tpl-bad.test")
            #expect(bad.status == 500)
        }
    }

    // MARK: response-transformer

    /// Headers in header_filter and a JSON body in body_filter, sent chunked since its length
    /// changed (spec/03-plugins/15-response-transformer/04-filter_spec.lua).
    @Test("response-transformer: headers, and a JSON body rewritten whole")
    func responseTransformer() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [rt.test]
                    plugins:
                    - name: response-transformer
                      config:
                        remove: {headers: [x-upstream], json: [secret]}
                        rename: {json: ["old:new"]}
                        replace: {json: ["count:7"], json_types: [number]}
                        add: {headers: ["x-added:yes", "content-type:never"], json: ["extra:v/1"]}
                        append: {headers: ["x-added:again"], json: ["list:b"]}
                """
            try await withProxy(yaml) { proxy in
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                let body = #"{"secret":"s","old":1,"count":3,"list":["a"],"keep":true}"#
                try await c.send(ProxyHarness.request("POST", "/json", host: "rt.test", body: body))
                let r = try await c.readResponse()
                #expect(r.status == 200)
                #expect(r.header("X-Upstream") == nil)
                #expect(r.headers.filter { $0.0.lowercased() == "x-added" }.map(\.1) == ["yes", "again"])
                #expect(r.header("Content-Type") == "application/json")
                #expect(r.header("Content-Length") == nil)
                #expect(r.header("Transfer-Encoding") == "chunked")
                #expect(r.text == #"{"count":7,"list":["a","b"],"keep":true,"new":1,"extra":"v\/1"}"#)

                // Not JSON: the body passes as it came, with its length.
                let plain = try await proxy.get("/echo", host: "rt.test")
                #expect(plain.header("Content-Length") == String(plain.body.count))
                #expect(plain.text.hasPrefix("GET /echo"))

                // HEAD: Kong's header_filter removes Content-Length from a JSON response too,
                // and nginx sends the head without one.
                let h = try await proxy.client()
                defer { Task { await h.close() } }
                try await h.send(ProxyHarness.request("HEAD", "/json", host: "rt.test"))
                let head = try await h.readResponse(headRequest: true)
                #expect(head.status == 200)
                #expect(head.header("Content-Length") == nil)
                #expect(head.header("Transfer-Encoding") == nil)
            }
        }
    }

    /// Kong adds Via, X-Kong-*-Latency, X-Kong-Request-Id, Server and Date after the plugins'
    /// header_filter: a plugin cannot see, rename or remove them (kong/init.lua's
    /// header_filter.after; nginx writes Date).
    @Test("response-transformer does not see the headers Kong adds after the plugins")
    func kongHeadersAfterPlugins() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [rt.test]
                    plugins:
                    - name: response-transformer
                      config:
                        remove: {headers: [Date, Via]}
                        rename: {headers: ["X-Kong-Upstream-Latency:X-Lat"]}
                        add: {headers: ["X-Kong-Proxy-Latency:plugin", "X-Via-Seen:yes"]}
                """
            try await withProxy(yaml) { proxy in
                let r = try await proxy.get("/echo", host: "rt.test")
                #expect(r.status == 200)
                #expect(r.header("X-Lat") == nil)
                #expect(r.headers("X-Kong-Upstream-Latency").count == 1)
                #expect(r.headers("X-Kong-Proxy-Latency").count == 1)
                #expect(r.header("X-Kong-Proxy-Latency") != "plugin")
                #expect(r.header("Via") == "1.1 kong/3.10.0")
                #expect(r.header("Date") != nil)
            }
        }
    }

    /// body_filter also runs on a response Kong makes itself (here request-termination's),
    /// whose Content-Length follows the new body.
    @Test("response-transformer on request-termination's answer")
    func transformsGeneratedResponses() async throws {
        let yaml = """
            _format_version: "3.0"
            routes:
            - hosts: [gen.test]
              plugins:
              - name: request-termination
                config: {status_code: 200, content_type: application/json, body: '{"a":1,"secret":"s"}'}
              - name: response-transformer
                config: {remove: {json: [secret]}, add: {json: ["b:2"]}}
            """
        try await withProxy(yaml) { proxy in
            let r = try await proxy.get("/", host: "gen.test")
            #expect(r.status == 200)
            #expect(r.text == #"{"a":1,"b":"2"}"#)
            #expect(r.header("Content-Length") == String(r.body.count))
        }
    }
}
