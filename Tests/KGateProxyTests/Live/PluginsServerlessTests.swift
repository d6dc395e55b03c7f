import Testing

/// pre-function and post-function through the proxy, after Kong's
/// spec/03-plugins/33-serverless-functions/02-access_spec.lua.
@Suite("Plugins live: pre-function and post-function", .serialized)
struct PluginsServerlessTests {
    private func yaml(_ port: Int, other: Int) -> String {
        #"""
        _format_version: "3.0"
        upstreams:
        - name: other-upstream
          targets: [{target: "127.0.0.1:\#(other)"}]
        services:
        - url: http://127.0.0.1:\#(port)
          routes:
          - hosts: [one.test]
            plugins:
            - name: pre-function
              config:
                access: ["ngx.status = 503\nngx.exit(ngx.status)"]
          - hosts: [two.test]
            plugins:
            - name: post-function
              config:
                access: ["ngx.status = 404\nngx.say('Not Found')\nngx.exit(ngx.status)"]
          - hosts: [nine.test]
            plugins:
            - name: pre-function
              config:
                access: ["error('this should stop the request with a 500')"]
          - hosts: [ten.test]
            plugins:
            - name: pre-function
              config:
                access: ["ngx.var.args = nil"]
          - hosts: [edit.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local body = kong.request.get_raw_body()
                  kong.service.request.set_header("X-Body-Length", #body)
                  kong.service.request.set_header("X-Route", kong.router.get_route().hosts[1])
                  kong.service.request.set_path("/echo")
                  kong.ctx.shared.started = kong.request.get_method()
            - name: post-function
              config:
                header_filter:
                - |
                  kong.response.set_header("X-Started", kong.ctx.shared.started)
                  kong.response.clear_header("Content-Length")
                body_filter:
                - "ngx.arg[1] = string.upper(ngx.arg[1] or '')"
          - hosts: [post-function-access]
            plugins:
            - name: post-function
              config:
                access: ["ngx.req.set_header('X-Kong-Request-Id', 'overwritten')"]
          - hosts: [post-function-header-filter]
            plugins:
            - name: post-function
              config:
                header_filter: ["ngx.header['X-Kong-Request-Id'] = 'overwritten'"]
          - hosts: [target.test]
            preserve_host: true
            plugins:
            - name: pre-function
              config:
                access: ["kong.service.set_target('127.0.0.1', \#(other))\nkong.service.set_timeouts(1000, 1000, 1000)\nkong.service.set_retries(1)"]
          - hosts: [upstream.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local ok, err = kong.service.set_upstream(kong.request.get_header("x-upstream-name"))
                  if not ok then return kong.response.exit(404, { message = err }) end
          - hosts: [setbody.test]
            plugins:
            - name: pre-function
              config:
                access: ["kong.service.request.set_raw_body('replaced')"]
          - hosts: [buffered.test]
            plugins:
            - name: pre-function
              config:
                access: ["kong.service.request.enable_buffering()"]
            - name: post-function
              config:
                header_filter:
                - "kong.response.set_header('X-Upstream-Body-Length', #(kong.service.response.get_raw_body() or ''))"
        """#
    }

    private func run(_ body: (ProxyHarness) async throws -> Void) async throws {
        try await withUpstreams(["u", "other"]) { ups in
            try await withProxy(yaml(ups[0].port, other: ups[1].port)) { proxy in try await body(proxy) }
        }
    }

    @Test("ngx.exit, ngx.say and kong.response.exit answer; a Lua error is Kong's 500")
    func exits() async throws {
        try await run { proxy in
            let one = try await proxy.get("/status/200", host: "one.test")
            #expect(one.status == 503)
            #expect(one.json?["message"] as? String == "The upstream server is currently unavailable")
            let two = try await proxy.get("/status/200", host: "two.test")
            #expect(two.status == 404)
            #expect(two.text == "Not Found\n")
            let nine = try await proxy.get("/status/200", host: "nine.test")
            #expect(nine.status == 500)
            #expect(nine.json?["message"] as? String == "An unexpected error occurred")
        }
    }

    @Test("clearing ngx.var.args does not crash (#9246): the upstream gets no query")
    func clearedQuery() async throws {
        try await run { proxy in
            let r = try await proxy.get("/echo?a=1&b=2", host: "ten.test")
            #expect(r.status == 200)
            #expect(EchoedRequest(r).requestLine == "GET /echo")
        }
    }

    @Test("phases share kong.ctx; the body read in access, the path set, headers and body changed on the way back")
    func phasesAndPDK() async throws {
        try await run { proxy in
            let r = try await proxy.send("POST", "/anything", host: "edit.test", headers: [], body: "12345")
            #expect(r.status == 200)
            #expect(r.header("X-Started") == "POST")
            #expect(r.header("Content-Length") == nil)
            // The echoed request, upper-cased by body_filter.
            let echoed = EchoedRequest(r)
            #expect(echoed.requestLine == "POST /ECHO", "\(r.text)")
            #expect(echoed.header("X-BODY-LENGTH") == "5")
            #expect(echoed.header("X-ROUTE") == "EDIT.TEST")
        }
    }

    @Test("kong.service.request.enable_buffering buffers the response: header_filter reads the upstream body")
    func buffering() async throws {
        try await run { proxy in
            let r = try await proxy.get("/echo", host: "buffered.test")
            #expect(r.status == 200)
            #expect(r.header("X-Upstream-Body-Length") == String(r.body.count))
            #expect(!r.body.isEmpty)
        }
    }

    @Test("Kong's X-Kong-Request-Id overwrites what a post-function set, both ways (33-request-id-header_spec)")
    func requestIDOverwritesPlugins() async throws {
        try await run { proxy in
            let up = try await proxy.get("/echo", host: "post-function-access")
            let upstream = EchoedRequest(up).header("X-Kong-Request-Id")
            #expect(upstream != nil && upstream != "overwritten")
            let down = try await proxy.get("/echo", host: "post-function-header-filter")
            #expect(down.header("X-Kong-Request-Id") != nil && down.header("X-Kong-Request-Id") != "overwritten")
        }
    }

    @Test("kong.service.set_target and set_upstream send the request elsewhere; an unknown upstream is an error to the code")
    func serviceTarget() async throws {
        try await run { proxy in
            let target = try await proxy.get("/echo", host: "target.test")
            #expect(target.status == 200)
            #expect(target.header("X-Upstream") == "other")
            // set_target sets the upstream Host to its host, over preserve_host.
            #expect(EchoedRequest(target).header("Host") == "127.0.0.1")
            let named = try await proxy.get("/echo", host: "upstream.test", headers: [("X-Upstream-Name", "other-upstream")])
            #expect(named.header("X-Upstream") == "other")
            let unknown = try await proxy.get("/echo", host: "upstream.test", headers: [("X-Upstream-Name", "nope")])
            #expect(unknown.status == 404)
            #expect(unknown.json?["message"] as? String == "could not find an Upstream named 'nope'")
            let plain = try await proxy.get("/echo", host: "buffered.test")
            #expect(plain.header("X-Upstream") == "u")
        }
    }

    @Test("kong.service.request.set_scheme('https') reaches an HTTPS upstream from an http service")
    func schemeToHTTPS() async throws {
        let upstream = TestUpstream(name: "tls", group: TestLoops.group, tls: try TestCertificates.serverContext())
        try await upstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: http://127.0.0.1:\(upstream.port)
              routes:
              - hosts: [plain.test]
              - hosts: [tls.test]
                plugins:
                - name: pre-function
                  config:
                    access: ["kong.service.request.set_scheme('https')"]
            """
        try await withProxy(yaml) { proxy in
            let switched = try await proxy.get("/echo", host: "tls.test")
            #expect(switched.status == 200)
            #expect(switched.header("X-Upstream") == "tls")
            // Without it, plain HTTP to a TLS port is a bad answer.
            let plain = try await proxy.get("/echo", host: "plain.test")
            #expect(plain.status == 502)
        }
    }

    @Test("kong.service.request.set_raw_body replaces a streamed client body (the body is read before access)")
    func replacedBody() async throws {
        try await run { proxy in
            let r = try await proxy.send("POST", "/echo-body", host: "setbody.test", headers: [], body: "original body")
            #expect(r.status == 200)
            #expect(r.text == "replaced")
            #expect(r.header("X-Echo-Content-Length") == "8")
        }
    }
}
