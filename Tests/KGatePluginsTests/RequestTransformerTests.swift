import KGatePlugins
import KGateRouter
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/36-request-transformer`.
@Suite struct RequestTransformerTests {
    static let config = #"""
        _format_version: "3.0"
        routes:
        - name: add
          paths: [/add]
          plugins: [{name: request-transformer, config: {add: {headers: ["h1:v1", "h2:value:2"], querystring: ["q1:v1"], body: ["p1:v1"]}}}]
        - {name: host, paths: [/host], plugins: [{name: request-transformer, config: {add: {headers: ["host:mark"]}}}]}
        - name: mixed
          paths: [/mixed]
          plugins:
          - name: request-transformer
            config:
              add: {headers: ["x-added:a1", "x-added2:b1", "x-added3:c2"], querystring: ["query-added:newvalue", "p1:anything:1"], body: ["newformparam:newvalue"]}
              remove: {headers: [x-to-remove], querystring: [toremovequery]}
              append: {headers: ["x-added:a2", "x-added:a3"], querystring: ["p1:a2", "p2:b1"]}
              replace: {headers: ["x-to-replace:false"], querystring: ["toreplacequery:no"]}
        - name: remove
          paths: [/remove]
          plugins: [{name: request-transformer, config: {remove: {headers: [x-to-remove], querystring: [q1], body: [toremoveform]}}}]
        - name: replace
          paths: [/replace]
          plugins: [{name: request-transformer, config: {replace: {headers: ["h1:v1"], querystring: ["q1:v1"], body: ["p1:v1"]}}}]
        - name: append
          paths: [/append]
          plugins: [{name: request-transformer, config: {append: {headers: ["h1:v1", "h1:v2", "h2:v1"], querystring: ["q1:v1", "q1:v2", "q2:v1"], body: ["p1:v1", "p1:v2", "p2:value:1"]}}}]
        - {name: post, paths: [/post], plugins: [{name: request-transformer, config: {http_method: POST}}]}
        - {name: get, paths: [/get], plugins: [{name: request-transformer, config: {http_method: GET}}]}
        - name: rename
          paths: [/rename]
          plugins: [{name: request-transformer, config: {rename: {headers: ["x-to-rename:x-is-renamed"], querystring: ["originalparam:renamedparam"], body: ["originalparam:renamedparam"]}}}]
        - name: t10
          paths: [/t10]
          plugins: [{name: request-transformer, config: {add: {querystring: ["uri_param1:$(uri_captures.user1)", "uri_param2[some_index][1]:$(uri_captures.user2)"]}}}]
        - name: t11
          paths: [/t11]
          plugins: [{name: request-transformer, config: {replace: {uri: "/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)"}}}]
        - name: t12
          paths: [/t12]
          plugins: [{name: request-transformer, config: {add: {querystring: ["uri_param1:$(uri_captures.user1 or 'default1')", "uri_param2:$(uri_captures.user2 or 'default2')"]}}}]
        - {name: t13, paths: [/t13], plugins: [{name: request-transformer, config: {replace: {uri: "/requests/user2/$(10 * uri_captures.user1)"}}}]}
        - {name: t14, paths: [/t14], plugins: [{name: request-transformer, config: {replace: {uri: "/requests$(uri_captures[0])"}}}]}
        - name: t15
          paths: [/t15]
          plugins: [{name: request-transformer, config: {add: {querystring: ["uri_param1:$(uri_captures.user1)", "uri_param2:$(headers.host)"], headers: ["x-test-header:$(query_params.q1)"]}, remove: {querystring: [q1]}}}]
        - name: t16
          paths: [/t16]
          plugins: [{name: request-transformer, config: {replace: {querystring: ["q2:$(headers['x-remove-header'])"]}, add: {querystring: ["q1:$(uri_captures.user1)"], headers: ["x-test-header:$(headers['x-remove-header'])"]}, remove: {headers: [x-remove-header]}}}]
        - name: t17
          paths: [/t17]
          plugins: [{name: request-transformer, config: {replace: {querystring: ["q2:$(headers['x-replace-header'])"], headers: ["x-replace-header:the new value"]}, add: {querystring: ["q1:$(uri_captures.user1)"], headers: ["x-test-header:$(headers['x-replace-header'])"]}}}]
        - {name: t18, paths: [/t18], plugins: [{name: request-transformer, config: {add: {querystring: ["q1:$('$(uri_captures.user1)')"]}}}]}
        - {name: t19, paths: [/t19], plugins: [{name: request-transformer, config: {add: {querystring: ["q1:$(ERROR())"]}}}]}
        - name: t20
          paths: [/t20]
          plugins: [{name: request-transformer, config: {http_method: POST, add: {headers: ["Content-Type:application/json"], body: ["body:somecontent"]}}}]
        - {name: t21, paths: [/t21], plugins: [{name: request-transformer, config: {add: {querystring: ["shared_param1:$(shared.my_version)"]}}}]}
        - name: t22
          paths: [/t22]
          plugins: [{name: request-transformer, config: {http_method: POST, remove: {headers: [Authorization]}, add: {headers: ["Authorization:Basic test"]}}}]
        - name: t25
          paths: [/t25]
          plugins: [{name: request-transformer, config: {add: {headers: ['X-Foo-Transformed:$(type(headers["X-Foo"]) == "table" and headers["X-Foo"][1] .. "-first" or headers["X-Foo"])']}}}]
        - name: t26
          paths: [/t26]
          plugins: [{name: request-transformer, config: {add: {headers: ["X-aDDed:a1", "x-aDDed2:b1", "x-Added3:c2"]}, remove: {headers: [X-To-Remove]}, append: {headers: ["X-aDDed:a2", "X-aDDed:a3"]}, replace: {headers: ["x-to-Replace:false"]}}}]
        - {name: t28, paths: [/t28], plugins: [{name: request-transformer, config: {add: {headers: ["X-Write-Attempt:$(shared.written = true)"]}}}]}
        - name: values
          paths: [/values]
          plugins: [{name: request-transformer, config: {add: {querystring: ["price:$(query_params.n * 1.1)", "sum:$(0.1 + 0.2)", "big:$(100000000000000)", "yes:$(3 == 3.0)", "f:$(query_params.flag)", "no:$(3 == 4)"]}}}]
        - {name: noslash, paths: [/noslash], plugins: [{name: request-transformer, config: {replace: {uri: "noslash"}}}]}
        """#

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    static func text(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }

    static let form: HTTPFields = ["Content-Type": "application/x-www-form-urlencoded"]
    static let captures = RouteCaptures(
        numbered: ["/requests/user1/foo/user2/bar", "foo", "bar"], named: ["user1": "foo", "user2": "bar"])

    @Test func add() {
        let ex = Exchange(runner, route: "add", method: "POST", headers: Self.form, body: "hello=world")
        #expect(ex.upstream("h1") == "v1")
        #expect(ex.upstream("h2") == "value:2")
        #expect(ex.ctx.request.rawQuery == "q1=v1")
        #expect(Self.text(ex.ctx.request.body) == "hello=world&p1=v1")
        #expect(ex.upstream("content-length") == "17")
        let json = Exchange(runner, route: "add", method: "POST", headers: ["Content-Type": "application/json"], body: #"{"hello":"world"}"#)
        #expect(Self.text(json.ctx.request.body) == #"{"hello":"world","p1":"v1"}"#)
        let existing = Exchange(runner, route: "add", headers: ["h1": "v3"])
        #expect(existing.upstream("h1") == "v3")
        // `host` is never added.
        #expect(Exchange(runner, route: "host").ctx.request.headers["host"] == nil)
    }

    @Test func mixed() {
        let ex = Exchange(
            runner, route: "mixed", method: "POST",
            query: "toremovequery=yes&toreplacequery=yes&p1=a1",
            headers: ["x-to-remove": "true", "x-to-replace": "true", "Content-Type": "application/x-www-form-urlencoded"],
            body: "hello=world")
        #expect(ex.upstream("x-to-remove") == nil)
        #expect(ex.upstream("x-to-replace") == "false")
        #expect(ex.ctx.request.headerValues("x-added") == ["a1", "a2", "a3"])
        #expect(ex.upstream("x-added2") == "b1")
        #expect(ex.ctx.request.rawQuery == "p1=a1&p1=a2&p2=b1&query-added=newvalue&toreplacequery=no")
        #expect(Self.text(ex.ctx.request.body) == "hello=world&newformparam=newvalue")
    }

    @Test func removeReplaceAppendRename() {
        let removed = Exchange(
            runner, route: "remove", method: "POST", query: "q1=v1&q2=v2",
            headers: ["x-to-remove": "true", "Content-Type": "application/x-www-form-urlencoded"],
            body: "toremoveform=yes&nottoremove=yes")
        #expect(removed.upstream("x-to-remove") == nil)
        #expect(removed.ctx.request.rawQuery == "q2=v2")
        #expect(Self.text(removed.ctx.request.body) == "nottoremove=yes")

        let replaced = Exchange(
            runner, route: "replace", method: "POST", query: "q1=v2", headers: ["h1": "v2", "Content-Type": "application/json"],
            body: #"{"p1":"v2","p2":"x"}"#)
        #expect(replaced.upstream("h1") == "v1")
        #expect(replaced.ctx.request.rawQuery == "q1=v1")
        #expect(Self.text(replaced.ctx.request.body) == #"{"p1":"v1","p2":"x"}"#)
        let notThere = Exchange(runner, route: "replace", query: "q2=v2")
        #expect(notThere.upstream("h1") == nil)
        #expect(notThere.ctx.request.rawQuery == "q2=v2")

        let appended = Exchange(
            runner, route: "append", method: "POST", query: "q1=v0", headers: ["h1": "v0", "Content-Type": "application/json"],
            body: #"{"p1":"v0"}"#)
        #expect(appended.ctx.request.headerValues("h1") == ["v0", "v1", "v2"])
        #expect(appended.upstream("h2") == "v1")
        #expect(appended.ctx.request.rawQuery == "q1=v0&q1=v1&q1=v2&q2=v1")
        #expect(Self.text(appended.ctx.request.body) == #"{"p1":["v0","v1","v2"],"p2":["value:1"]}"#)

        let renamed = Exchange(
            runner, route: "rename", method: "POST", query: "originalparam=yes",
            headers: ["x-to-rename": "true", "Content-Type": "application/x-www-form-urlencoded"], body: "originalparam=yes")
        #expect(renamed.upstream("x-to-rename") == nil)
        #expect(renamed.upstream("x-is-renamed") == "true")
        #expect(renamed.ctx.request.rawQuery == "renamedparam=yes")
        #expect(Self.text(renamed.ctx.request.body) == "renamedparam=yes")
    }

    @Test func methods() {
        #expect(Exchange(runner, route: "post").ctx.request.method == "POST")
        let get = Exchange(runner, route: "get", method: "POST", query: "a=1", headers: Self.form, body: "hello=world&a=2")
        #expect(get.ctx.request.method == "GET")
        #expect(get.ctx.request.rawQuery == "a=1&a=2&hello=world")
        let t22 = Exchange(runner, route: "t22", headers: ["Authorization": "Basic dGVzdA=="])
        #expect(t22.upstream("authorization") == "Basic test")
        let t20 = Exchange(runner, route: "t20")
        #expect(t20.ctx.request.method == "POST")
        #expect(t20.upstream("content-type") == "application/json")
    }

    @Test func templates() {
        let t10 = Exchange(runner, route: "t10", query: "q1=20", captures: Self.captures)
        #expect(t10.ctx.request.rawQuery == "q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar")
        let t11 = Exchange(runner, route: "t11", captures: Self.captures)
        #expect(t11.ctx.request.upstreamPath == "/requests/user2/bar/user1/foo")
        let t12 = Exchange(runner, route: "t12", query: "q1=20")
        #expect(t12.ctx.request.rawQuery == "q1=20&uri_param1=default1&uri_param2=default2")
        let t13 = Exchange(runner, route: "t13", captures: Self.captures)
        #expect(t13.status == 500)
        let t14 = Exchange(runner, route: "t14", captures: RouteCaptures(numbered: ["/user1/foo/user2/bar", "foo", "bar"], named: [:]))
        #expect(t14.ctx.request.upstreamPath == "/requests/user1/foo/user2/bar")
        let t15 = Exchange(runner, route: "t15", query: "q1=20", headers: ["host": "test15.test"], captures: Self.captures)
        #expect(t15.ctx.request.rawQuery == "uri_param1=foo&uri_param2=test15.test")
        #expect(t15.upstream("x-test-header") == "20")
        let t16 = Exchange(runner, route: "t16", query: "q2=20", headers: ["x-remove-header": "its a test"], captures: Self.captures)
        #expect(t16.upstream("x-remove-header") == nil)
        #expect(t16.ctx.request.rawQuery == "q1=foo&q2=its%20a%20test")
        #expect(t16.upstream("x-test-header") == "its a test")
        let t17 = Exchange(runner, route: "t17", query: "q2=20", headers: ["x-replace-header": "the old value"], captures: Self.captures)
        #expect(t17.ctx.request.rawQuery == "q1=foo&q2=the%20old%20value")
        #expect(t17.upstream("x-test-header") == "the old value")
        #expect(t17.upstream("x-replace-header") == "the new value")
        let t18 = Exchange(runner, route: "t18", query: "q2=20", captures: Self.captures)
        #expect(t18.ctx.request.query["q1"] == .string("$(uri_captures.user1)"))
        #expect(Exchange(runner, route: "t19").status == 500)
        let t21 = Exchange(runner, route: "t21", shared: ["my_version": "1.2.3"])
        #expect(t21.ctx.request.rawQuery == "shared_param1=1.2.3")
        let t25 = Exchange(runner, route: "t25", headers: ["X-Foo": "1", "X-Foo": "2"])
        #expect(t25.upstream("X-Foo-Transformed") == "1-first")
        #expect(Exchange(runner, route: "t25", headers: ["X-Foo": "one"]).upstream("X-Foo-Transformed") == "one")
        #expect(Exchange(runner, route: "t28").status == 500)
        // Penlight renders `tostring(expr or '')`, numbers as LuaJIT's %.14g.
        let values = Exchange(runner, route: "values", query: "n=3&flag")
        #expect(values.ctx.request.rawQuery == "big=1e%2B14&f=true&flag&n=3&no=&price=3.3&sum=0.3&yes=true")
        // Kong's set_path refuses a path without its leading slash: the plugin fails.
        #expect(Exchange(runner, route: "noslash").status == 500)
    }

    /// cjson decodes a scalar body, which Kong's transform then indexes: the plugin fails.
    @Test func scalarJSONBody() {
        for body in [#""abc""#, "5", "null", "true"] {
            let ex = Exchange(runner, route: "add", method: "POST", headers: ["Content-Type": "application/json"], body: body)
            #expect(ex.status == 500, "\(body)")
        }
    }

    /// Kong's 02-access_spec "untrusted_lua=off": plain values pass, a value with an
    /// expression answers 500 (not rendered).
    @Test func untrustedLuaOff() throws {
        let off = try Gate.runner(Self.config, registry: PluginRegistry.bundled(luaEnabled: false))
        let plain = Exchange(off, route: "add", method: "POST", headers: Self.form, body: "hello=world")
        #expect(plain.upstream("h1") == "v1")
        #expect(Exchange(off, route: "t12", query: "q1=20").status == 500)
        // Any `$(...)` is refused, even one that would render to a literal.
        #expect(Exchange(off, route: "t18", query: "q2=20", captures: Self.captures).status == 500)
    }

    @Test func headerCase() {
        let ex = Exchange(runner, route: "t26", headers: ["X-To-Remove": "1", "X-To-Replace": "true"])
        #expect(ex.ctx.request.headers.fields.filter { $0.name == "X-aDDed" }.map(\.value) == ["a1", "a2", "a3"])
        #expect(ex.ctx.request.headers.fields.contains { $0.name == "x-aDDed2" && $0.value == "b1" })
        #expect(ex.upstream("x-to-remove") == nil)
        #expect(ex.upstream("x-to-replace") == "false")
    }

    @Test func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: request-transformer\n  config: \(config)\n")
        }
        #expect(load("{}") == nil)
        #expect(load("{add: {querystring: ['q1']}}")?.contains("key 'q1' has no value") == true)
        #expect(load("{add: {headers: ['x-foo']}}")?.contains("invalid value: x-foo") == true)
        #expect(load("{add: {headers: ['x foo:bar']}}")?.contains("'x foo' is not a valid header") == true)
        #expect(load("{rename: {headers: ['a:b c']}}")?.contains("'b c' is not a valid header") == true)
        #expect(load("{http_method: get}")?.contains("invalid value: get") == true)
    }

    /// 01-schema_spec 'error for malformed regex pattern in value': a body or query value must
    /// compile as a Penlight template (headers and `replace.uri` are not compiled).
    @Test func templateValuesMustCompile() {
        func load(_ rule: String, section: String = "querystring") -> String? {
            let quoted = rule.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''")
            return Gate.loadError(
                "_format_version: \"3.0\"\nplugins:\n- name: request-transformer\n  config: {add: {\(section): ['\(quoted)']}}\n")
        }
        let error = load("uri_param2:$(uri_captures user2)")
        #expect(
            error?.contains(
                #"value '$(uri_captures user2)' is not in supported format, error:[string "TMP"]:1: ')' expected near 'user2'"#)
                == true, "\(error ?? "accepted")")
        for invalid in ["b:$(a +)", "b:$(...)", "b:$(a // 2)", "b:$(shared.written = true)", "b:$(a -- c)", "b:$('x)"] {
            #expect(load(invalid) != nil, "\(invalid)")
        }
        #expect(load("b:$(a +)", section: "body") != nil)
        #expect(load("b:$(uri_captures user2)", section: "headers") == nil)
        for valid in [
            "q:$(uri_captures.user1)", "q:$(uri_captures.user1 or 'default1')", "q:$(10 * uri_captures.user1)",
            "q:$('$(uri_captures.user1)')", "q:$(ERROR())", "q:$(require('inspect')({query_params.a, query_params.b}))",
            "q:$(string.format('u1:%s', query_params.a))", #"q:$(headers["X-Foo"])"#, "q:$(x:upper())",
            "q:$(f{1, [2] = 3; k = 'v'})", "q:$(f'x' .. f[[y]])", "q:$(0x1F + 1e3 - .5 ^ #t + 0x1e+3 - 2e-1)", "q:$(not a == -b)",
            "q:$(function() return 1 end)", "q:plain $(a) text", "q:$(a", "q:$(a --[[ c ]] )",
        ] {
            #expect(load(valid) == nil, "\(valid): \(load(valid) ?? "")")
        }
    }
}
