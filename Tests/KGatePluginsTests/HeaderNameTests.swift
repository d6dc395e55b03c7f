import KGatePlugins
import KGateSchema
import Testing

/// Header names with `-` and `_` as Kong finds them (Kong's nginx has
/// `underscores_in_headers on`, so clients may send either): `get_headers()[name]` retries
/// `name` lower-cased with `_` as `-`, `get_header` reads `$http_*` (`-` and `_` alike),
/// `set_header` / `clear_header` match the exact name ignoring case, and response header
/// names set from Lua get `-` for `_`.
@Suite struct HeaderNameTests {
    static func request(_ headers: HTTPFields) -> PluginRequest {
        PluginRequest(method: "GET", host: "example.test", rawPath: "/", headers: headers, forwardedIP: "127.0.0.1")
    }

    @Test func theHeadersTableRetriesWithDashesOnly() {
        let sentWithDashes: HTTPFields = ["X-Api-Key": "a"]
        for name in ["x_api_key", "X_API_KEY", "x-api-key", "X-Api-Key"] {
            #expect(sentWithDashes.tableValue(name)?.value == "a", "\(name)")
        }
        let sentWithUnderscores: HTTPFields = ["x_api_key": "b"]
        #expect(sentWithUnderscores.tableValue("x_api_key")?.value == "b")
        for name in ["x-api-key", "X_API_KEY", "X-Api-Key"] {
            #expect(sentWithUnderscores.tableValue(name) == nil, "\(name)")
        }
        // The key itself wins over the `__index` key.
        let both: HTTPFields = ["X-Api-Key": "a", "x_api_key": "b", "X_Api_Key": "c"]
        #expect(both.tableValue("x_api_key")?.value == "b")
        #expect(both.tableValue("x_api_key")?.count == 2)
        #expect(both.tableValues("x_api_key") == ["b", "c"])
        #expect(both.tableValues("X_API_KEY") == ["a"])
        #expect(Self.request(both).headerValues("x-api-key") == ["a"])
    }

    @Test func getHeaderReadsTheNginxVariable() {
        #expect(Self.request(["x_custom": "v"]).header("x-custom") == "v")
        #expect(Self.request(["x_custom": "v"]).header("X_CUSTOM") == "v")
        #expect(Self.request(["X-Custom": "v"]).header("x_custom") == "v")
        // With `, ` in the variable, Kong reads the `get_headers()` table instead.
        #expect(Self.request(["x_custom": "a, b"]).header("x-custom") == nil)
        #expect(Self.request(["x_custom": "a, b"]).header("x_custom") == "a, b")
        #expect(Self.request(["X-Foo": "1", "x_foo": "2"]).header("x_foo") == "2")
        #expect(Self.request(["X-Foo": "1", "x_foo": "2"]).header("x-foo") == "1")
        #expect(Self.request(["X-Foo": "1", "x-foo": "2"]).header("X_FOO") == "1")
        #expect(Self.request(["X-Foo": "1,2"]).header("x-foo") == "1,2")
        // Headers nginx parses itself are found by their own name only; cookies join with `; `.
        #expect(Self.request(["user_agent": "curl"]).header("user-agent") == nil)
        #expect(Self.request(["User-Agent": "curl"]).header("user_agent") == "curl")
        #expect(Self.request(["Cookie": "a=1", "cookie": "b=2"]).header("cookie") == "a=1; b=2")
    }

    @Test func requestSettersMatchTheExactName() {
        var r = Self.request(["X-Foo": "a", "x_bar": "b"])
        r.setHeader("x_foo", "n")
        r.clearHeader("x-bar")
        #expect(r.headers.fields.map { "\($0.name): \($0.value)" } == ["X-Foo: a", "x_bar: b", "x_foo: n"])
        r.clearHeader("X_BAR")
        r.setHeader("x-foo", "m")
        #expect(r.headers.fields.map { "\($0.name): \($0.value)" } == ["X-Foo: m", "x_foo: n"])
        // `add_header`: what `get_headers()[name]` holds, then the value, set under the name.
        var added = Self.request(["X-Foo": "a", "Y": "1"])
        added.addHeader("x_foo", "b")
        #expect(added.headers.fields.map { "\($0.name): \($0.value)" } == ["X-Foo: a", "Y: 1", "x_foo: a", "x_foo: b"])
        added.addHeader("y", "2")
        #expect(added.headers.fields.suffix(2).map { "\($0.name): \($0.value)" } == ["x_foo: b", "y: 2"])
        #expect(added.headers.values("y") == ["1", "2"])
    }

    @Test func responseNamesGetDashes() throws {
        var ex = Exchange(try Gate.runner("_format_version: \"3.0\"\n"), route: nil)
        ex.ctx.response.setHeader("X_Pending", "1")
        #expect(ex.ctx.response.header("x_pending") == "1")
        #expect(ex.ctx.response.pendingEdits == [.set("X-Pending", "1")])
        let headers = ex.respond(headers: ["x_up": "u", "X-Up": "v"])
        #expect(headers.fields.map(\.name) == ["x_up", "X-Up", "X-Pending"])
        #expect(ex.ctx.response.header("x_up") == "u")
        #expect(ex.ctx.response.header("X_UP") == "v")
        ex.ctx.response.clearHeader("x_up")
        #expect(ex.ctx.response.headers.fields.map(\.name) == ["x_up", "X-Pending"])
        ex.ctx.response.addHeader("x_added", "1")
        #expect(ex.ctx.response.headers.fields.last?.name == "x-added")
        #expect(PluginExit(status: 401, headers: ["WWW_Authenticate": "Key"]).headers.fields[0].name == "WWW-Authenticate")
    }

    static let config = #"""
        _format_version: "3.0"
        consumers:
        - username: bob
          keyauth_credentials: [{key: kong}]
        routes:
        - {name: key_underscore, paths: [/k1], plugins: [{name: key-auth, config: {key_names: [x_api_key], hide_credentials: true}}]}
        - {name: key_dash, paths: [/k2], plugins: [{name: key-auth, config: {key_names: [x-api-key], hide_credentials: true}}]}
        - {name: trigger_dash, paths: [/t1], plugins: [{name: request-termination, config: {trigger: x-trigger}}]}
        - {name: trigger_underscore, paths: [/t2], plugins: [{name: request-termination, config: {trigger: x_trigger}}]}
        - {name: size, paths: [/s], plugins: [{name: request-size-limiting, config: {allowed_payload_size: 1, require_content_length: true}}]}
        - {name: rt_remove, paths: [/r1], plugins: [{name: request-transformer, config: {remove: {headers: [x_foo, x-bar]}}}]}
        - {name: rt_replace, paths: [/r2], plugins: [{name: request-transformer, config: {replace: {headers: ["x_foo:new"]}}}]}
        - {name: rt_add, paths: [/r3], plugins: [{name: request-transformer, config: {add: {headers: ["x_foo:new", "x-bar:new"]}}}]}
        - {name: rt_append, paths: [/r4], plugins: [{name: request-transformer, config: {append: {headers: ["x_foo:new"]}}}]}
        - {name: rt_rename, paths: [/r5], plugins: [{name: request-transformer, config: {rename: {headers: ["x_foo:x-renamed"]}}}]}
        - name: rt_template
          paths: [/r6]
          plugins: [{name: request-transformer, config: {add: {headers: ["x-one:$(headers.x_foo)", "x-two:$(headers['x-bar'] or 'none')"]}}}]
        """#

    @Test func keyAuthKeyNames() throws {
        let runner = try Gate.runner(Self.config)
        let found = Exchange(runner, route: "key_underscore", headers: ["X-Api-Key": "kong"])
        #expect(found.status == 0)
        // `clear_header("x_api_key")` does not clear `X-Api-Key`.
        #expect(found.ctx.request.headers["X-Api-Key"] == "kong")
        let exact = Exchange(runner, route: "key_underscore", headers: ["x_api_key": "kong"])
        #expect(exact.status == 0)
        #expect(exact.ctx.request.headers["x_api_key"] == nil)
        let missed = Exchange(runner, route: "key_dash", headers: ["x_api_key": "kong"])
        #expect(missed.status == 401)
        #expect(missed.message == "No API key found in request")
        let duplicate = Exchange(runner, route: "key_underscore", headers: ["X-Api-Key": "kong", "x-api-key": "kong"])
        #expect(duplicate.message == "Duplicate API key found")
    }

    @Test func requestTerminationTrigger() throws {
        let runner = try Gate.runner(Self.config)
        #expect(Exchange(runner, route: "trigger_dash", headers: ["x_trigger": "1"]).status == 0)
        #expect(Exchange(runner, route: "trigger_dash", headers: ["X-Trigger": "1"]).status == 503)
        #expect(Exchange(runner, route: "trigger_underscore", headers: ["X-Trigger": "1"]).status == 503)
        #expect(Exchange(runner, route: "trigger_underscore", headers: ["x_trigger": "1"]).status == 503)
    }

    @Test func requestSizeLimitingReadsContentLengthByItsName() throws {
        let runner = try Gate.runner(Self.config)
        #expect(Exchange(runner, route: "size", headers: ["Content-Length": "5"]).status == 0)
        let underscored = Exchange(runner, route: "size", headers: ["content_length": "5"])
        #expect(underscored.status == 411)
        #expect(underscored.message == "A valid Content-Length header is required")
        #expect(Exchange(runner, route: "size", headers: ["transfer_encoding": "chunked"]).status == 411)
    }

    @Test func requestTransformerHeaderRules() throws {
        let runner = try Gate.runner(Self.config)
        func upstream(_ route: String, _ headers: HTTPFields) -> [String] {
            Exchange(runner, route: route, headers: headers).ctx.request.headers.fields.map { "\($0.name): \($0.value)" }
        }
        // `headers[name] = nil` clears the exact key; `x_foo` was found through `__index`.
        #expect(upstream("rt_remove", ["X-Foo": "a", "x_bar": "b"]) == ["X-Foo: a", "x_bar: b"])
        #expect(upstream("rt_remove", ["x_foo": "a", "x-bar": "b"]) == [])
        #expect(upstream("rt_replace", ["X-Foo": "a"]) == ["X-Foo: a", "x_foo: new"])
        #expect(upstream("rt_replace", ["x-foo": "a"]) == ["x-foo: a", "x_foo: new"])
        #expect(upstream("rt_replace", ["x_foo": "a"]) == ["x_foo: new"])
        #expect(upstream("rt_add", ["X-Foo": "a", "x_bar": "b"]) == ["X-Foo: a", "x_bar: b", "x-bar: new"])
        #expect(upstream("rt_append", ["X-Foo": "a"]) == ["X-Foo: a", "x_foo: a", "x_foo: new"])
        // Two fields make a Lua table: appending through `__index` appends to it for both keys.
        #expect(upstream("rt_append", ["X-Foo": "a", "x-foo": "b"]) == ["X-Foo: a", "x-foo: b", "x-foo: new", "x_foo: a", "x_foo: b", "x_foo: new"])
        #expect(upstream("rt_rename", ["X-Foo": "a"]) == ["X-Foo: a", "x-renamed: a"])
        #expect(upstream("rt_rename", ["x_foo": "a"]) == ["x-renamed: a"])
        #expect(upstream("rt_template", ["X-Foo": "a", "x_bar": "b"]) == ["X-Foo: a", "x_bar: b", "x-one: a", "x-two: none"])
    }
}
