@testable import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/33-serverless-functions`: pre-function and post-function run Lua.
@Suite struct ServerlessFunctionTests {
    /// A config with one route per code list, for a plugin.
    static func config(_ plugin: String, _ routes: [(name: String, phase: String, code: [String])]) -> String {
        var yaml = "_format_version: \"3.0\"\nservices:\n- {name: svc, url: \"http://upstream\"}\nroutes:\n"
        for route in routes {
            let code = route.code.map { "\n          - " + quoted($0) }.joined()
            yaml += """
                - name: \(route.name)
                  service: svc
                  paths: [/\(route.name)]
                  plugins:
                  - name: \(plugin)
                    config:
                      \(route.phase):\(code)

                """
        }
        return yaml
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static let plugins = ["pre-function", "post-function"]

    @Test func priorities() {
        #expect(PreFunction.priority > PostFunction.priority)
        #expect(PreFunction.priority == 1_000_000 && PostFunction.priority == -1000)
    }

    @Test func schemaRefusesSyntaxErrorsWithLuasMessage() {
        for plugin in Self.plugins {
            let error = Gate.loadError(Self.config(plugin, [("bad", "access", ["print("])]))
            #expect(error?.contains("error parsing \(plugin): [string \"print(\"]:1: unexpected symbol near '<eof>'") == true, "\(error ?? "nil")")
            // Code is compiled, never run, by validation.
            #expect(Gate.loadError(Self.config(plugin, [("ok", "access", ["error(\"should never happen\")"])])) == nil)
        }
        let empty = Gate.loadError("""
            _format_version: "3.0"
            plugins:
            - name: pre-function
              config: {}
            """)
        #expect(empty?.contains("at least one of these fields must be non-empty") == true, "\(empty ?? "nil")")
    }

    @Test func exitsEndTheRequest() throws {
        for plugin in Self.plugins {
            let runner = try Gate.runner(Self.config(plugin, [
                ("one", "access", ["ngx.status = 503\nngx.exit(ngx.status)"]),
                ("two", "access", ["ngx.status = 404\nngx.say(\"Not Found\")\nngx.exit(ngx.status)"]),
                ("three", "access", ["return kong.response.exit(406, { message = \"Invalid\" })"]),
                ("four", "access", ["ngx.status = 400", "ngx.exit(ngx.status)"]),
                ("nine", "access", ["error(\"this should stop the request with a 500\")"]),
            ]))
            #expect(Exchange(runner, route: "one").status == 503)
            let two = Exchange(runner, route: "two")
            #expect(two.status == 404)
            #expect(two.ctx.exitResponse?.encodedBody == Array("Not Found\n".utf8))
            let three = Exchange(runner, route: "three")
            #expect(three.status == 406 && three.message == "Invalid")
            let four = Exchange(runner, route: "four")
            #expect(four.status == 400 && four.message == "Bad request")
            let nine = Exchange(runner, route: "nine")
            #expect(nine.status == 500 && nine.message == "An unexpected error occurred")
        }
    }

    @Test func chunksRunWholeUnlessTheyReturnAFunction() throws {
        let counter = """
            ngx.req.read_body()
            local count = tonumber(ngx.req.get_body_data())
            count = count + 1
            ngx.status = 200
            ngx.say(count)
            ngx.exit(ngx.status)
            """
        let runner = try Gate.runner(Self.config("pre-function", [
            ("seven", "access", [counter]),
            ("eight", "access", ["return function()\n" + counter + "\nend"]),
            ("six", "access", ["local count = 0\nreturn function()\ncount = count + 1\nngx.say(count)\nngx.exit(200)\nend"]),
        ]))
        for route in ["seven", "eight"] {
            var count = 0
            for _ in 1...10 {
                let ex = Exchange(runner, route: route, method: "POST", headers: ["Content-Length": "\(String(count).count)"], body: String(count))
                #expect(ex.status == 200)
                count = Int(String(decoding: ex.ctx.exitResponse?.encodedBody ?? [], as: UTF8.self).trimmingCharacters(in: .newlines)) ?? -1
            }
            #expect(count == 10, "\(route)")
        }
        // The upvalue persists across requests.
        let bodies = (1...5).map { _ in String(decoding: Exchange(runner, route: "six").ctx.exitResponse?.encodedBody ?? [], as: UTF8.self) }
        #expect(bodies == ["1\n", "2\n", "3\n", "4\n", "5\n"])
    }

    @Test func requestAndServiceRequestPDK() throws {
        let runner = try Gate.runner(Self.config("pre-function", [
            ("edit", "access", ["""
                local h = kong.request.get_header("X-In")
                kong.service.request.set_header("X-Out", h .. "!")
                kong.service.request.add_header("X-Multi", 1)
                kong.service.request.clear_header("X-Gone")
                kong.service.request.set_path("/new")
                kong.service.request.set_query({ b = "2", a = true })
                kong.response.set_header("X-Resp", kong.request.get_method() .. " " .. kong.request.get_path())
                kong.ctx.shared.seen = kong.request.get_query_arg("q")
                """]),
            ("bad", "access", ["kong.service.request.set_header(\"X\", nil)"]),
        ]))
        var ex = Exchange(runner, route: "edit", path: "/edit", query: "q=v", headers: ["X-In": "hi", "X-Gone": "1"])
        #expect(ex.status == 0)
        #expect(ex.upstream("X-Out") == "hi!")
        #expect(ex.upstream("X-Multi") == "1")
        #expect(ex.upstream("X-Gone") == nil)
        #expect(ex.ctx.request.upstreamPath == "/new")
        #expect(ex.ctx.request.rawQuery == "a&b=2")
        #expect(ex.respond()["X-Resp"] == "GET /edit")
        let bad = Exchange(runner, route: "bad")
        #expect(bad.status == 500)
    }

    @Test func ctxTablesLiveForTheRequestAcrossPhasesAndPlugins() throws {
        let yaml = """
            _format_version: "3.0"
            services:
            - {name: svc, url: "http://upstream"}
            routes:
            - name: r
              service: svc
              paths: [/r]
              plugins:
              - name: pre-function
                config:
                  access:
                  - "kong.ctx.shared.n = (kong.ctx.shared.n or 0) + 1; ngx.ctx.who = 'pre'"
              - name: post-function
                config:
                  access:
                  - "kong.ctx.shared.n = kong.ctx.shared.n + 10"
                  header_filter:
                  - "kong.response.set_header('X-N', kong.ctx.shared.n .. ngx.ctx.who)"
            """
        let runner = try Gate.runner(yaml)
        for _ in 1...2 {
            var ex = Exchange(runner, route: "r")
            #expect(ex.respond()["X-N"] == "11pre")
        }
    }

    @Test func bodyFilterSeesAndReplacesChunks() throws {
        let runner = try Gate.runner(Self.config("post-function", [
            ("upper", "body_filter", ["ngx.arg[1] = string.upper(ngx.arg[1] or '')"]),
            ("whole", "body_filter", ["local body = kong.response.get_raw_body()\nif body then kong.response.set_raw_body('[' .. body .. ']') end"]),
        ]))
        var upper = Exchange(runner, route: "upper")
        _ = upper.respond()
        var chunk = Array("hello".utf8)
        runner.bodyFilter(&upper.ctx, chunk: &chunk, last: false)
        #expect(String(decoding: chunk, as: UTF8.self) == "HELLO")

        var whole = Exchange(runner, route: "whole")
        _ = whole.respond()
        var out: [UInt8] = []
        for (text, last) in [("ab", false), ("cd", false), ("", true)] {
            var c = Array(text.utf8)
            runner.bodyFilter(&whole.ctx, chunk: &c, last: last)
            out += c
        }
        #expect(String(decoding: out, as: UTF8.self) == "[abcd]")
    }

    @Test func sandboxRefusesWhatKongsRefuses() throws {
        let runner = try Gate.runner(Self.config("pre-function", [
            ("io", "access", ["io.open('/etc/passwd')"]),
            ("require", "access", ["require('os')"]),
            ("cache", "access", ["local ok = kong.cache:get('foo', nil, function() return 'val' end)\nlocal v = kong.cache:get('foo')\nngx.say(v)\nngx.exit(200)"]),
        ]))
        #expect(Exchange(runner, route: "io").status == 500)
        #expect(Exchange(runner, route: "require").status == 500)
        let cache = Exchange(runner, route: "cache")
        #expect(cache.status == 200 && cache.ctx.exitResponse?.encodedBody == Array("val\n".utf8))
    }

    @Test func untrustedLuaOffFailsEachRequest() throws {
        let registry = PluginRegistry.bundled(luaEnabled: false)
        let runner = try Gate.runner(Self.config("pre-function", [("r", "access", ["ngx.exit(200)"])]), registry: registry)
        let ex = Exchange(runner, route: "r")
        #expect(ex.status == 500)
    }

    @Test func onlyPhasesWithCodeRun() throws {
        let runner = try Gate.runner(Self.config("pre-function", [("r", "access", ["ngx.ctx.x = 1"])]))
        let ex = Exchange(runner, route: "r")
        #expect(ex.ctx.collectedPluginNames.isEmpty)
        #expect(!runner.needsBodyFilter(ex.ctx))
    }
}

extension ServerlessFunctionTests {
    @Test func configurationIsTheNodes() throws {
        let registry = PluginRegistry.bundled(configuration: ["plugins": .array(["bundled"]), "log_level": "notice"])
        let runner = try Gate.runner(
            Self.config("pre-function", [("conf", "access", ["ngx.say(kong.configuration.plugins[1], ' ', kong.configuration.log_level, ' ', tostring(kong.configuration.pg_password))\nngx.exit(200)"])]),
            registry: registry)
        let ex = Exchange(runner, route: "conf")
        #expect(String(decoding: ex.ctx.exitResponse?.encodedBody ?? [], as: UTF8.self) == "bundled notice nil\n")
    }
}

extension ServerlessFunctionTests {
    /// `kong.request.get_forwarded_*`: the `X-Forwarded-*` headers of a trusted peer, else the
    /// request's own values.
    @Test(arguments: [true, false])
    func forwardedValuesFollowTrust(trusted: Bool) throws {
        let code = """
            local r = kong.request
            ngx.say(r.get_forwarded_scheme(), " ", r.get_forwarded_host(), " ", r.get_forwarded_port(), " ", r.get_forwarded_path(), " ", tostring(r.get_forwarded_prefix()))
            ngx.exit(200)
            """
        let runner = try Gate.runner(Self.config("pre-function", [("fwd", "access", [code])]))
        var ctx = runner.makeContext(PluginRequest(
            method: "GET", host: "example.test", port: 8000, rawPath: "/fwd",
            headers: ["X-Forwarded-Proto": "HTTPS", "X-Forwarded-Host": "user@Example.COM:8443", "X-Forwarded-Path": "/orig",
                      "X-Forwarded-Prefix": "/pre"],
            forwardedIP: "10.0.0.1"))
        ctx.peerTrusted = trusted
        let id = Gate.routeID(runner, "fwd")
        ctx.setRoute(id: id, serviceID: runner.database.page.entity("routes", id: id)?["service"]?.objectValue?["id"]?.stringValue)
        runner.access(&ctx)
        let said = String(decoding: ctx.exitResponse?.encodedBody ?? [], as: UTF8.self)
        #expect(said == (trusted ? "https example.com 8443 /orig /pre\n" : "http example.test 8000 /fwd nil\n"))
    }
}

extension ServerlessFunctionTests {
    /// `get_headers` and `get_query` give at most 100 entries unless told (1 to 1000).
    @Test func headersAndArgumentsAreLimited() throws {
        let code = """
            local n = 0
            for _ in pairs(kong.request.get_headers()) do n = n + 1 end
            local m = 0
            for _ in pairs(kong.request.get_headers(3)) do m = m + 1 end
            local q = 0
            for _ in pairs(ngx.req.get_uri_args(2)) do q = q + 1 end
            local ok = pcall(kong.request.get_headers, 1001)
            ngx.say(n, " ", m, " ", q, " ", tostring(ok))
            ngx.exit(200)
            """
        let runner = try Gate.runner(Self.config("pre-function", [("lim", "access", [code])]))
        var headers = HTTPFields()
        for i in 0..<120 { headers.add("X-H\(i)", "v") }
        let ex = Exchange(runner, route: "lim", query: "a=1&b=2&c=3", headers: headers)
        #expect(String(decoding: ex.ctx.exitResponse?.encodedBody ?? [], as: UTF8.self) == "100 3 2 false\n")
    }
}

extension ServerlessFunctionTests {
    @Test func ipTrustAndTableHelpers() throws {
        let registry = PluginRegistry.bundled(configuration: ["trusted_ips": .array(["10.0.0.0/8", "::1"])])
        let code = """
            local m = kong.table.merge({ a = 1 }, { b = 2 })
            ngx.say(tostring(kong.ip.is_trusted("10.1.2.3")), " ", tostring(kong.ip.is_trusted("192.0.2.1")), " ",
              tostring(kong.ip.is_trusted("::1")), " ", m.a + m.b)
            ngx.exit(200)
            """
        let runner = try Gate.runner(Self.config("pre-function", [("ip", "access", [code])]), registry: registry)
        let ex = Exchange(runner, route: "ip")
        #expect(String(decoding: ex.ctx.exitResponse?.encodedBody ?? [], as: UTF8.self) == "true false true 3\n")
    }
}
