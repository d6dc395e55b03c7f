import Foundation
import KGateSettings
import Testing

/// Lua code that waits for I/O through the proxy: `ngx.sleep`, lua-resty-http, `ngx.timer`,
/// and `ngx.shared` shared by the event loops.
@Suite("Plugins live: Lua waiting for I/O", .serialized)
struct PluginsLuaWaitsTests {
    private func yaml(_ port: Int) -> String {
        #"""
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\#(port)
          routes:
          - hosts: [sleep.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local started = ngx.now()
                  ngx.sleep(0.3)
                  kong.service.request.set_header("X-Slept", string.format("%.1f", ngx.now() - started))
                  kong.service.request.set_header("X-Still", kong.request.get_header("x-mine"))
          - hosts: [fast.test]
          - hosts: [http.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local http = require "resty.http"
                  local httpc = http.new()
                  httpc:set_timeout(2000)
                  local res, err = httpc:request_uri(kong.request.get_header("x-call"), {
                    method = "POST", body = "ping", headers = { ["X-From-Lua"] = "yes" },
                  })
                  if not res then return kong.response.exit(502, { message = err }) end
                  return kong.response.exit(200, {
                    status = res.status, body = res.body, upstream = res.headers["x-upstream"],
                    echoed = res.headers.X_Echo_Request,
                  })
          - hosts: [connect.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local httpc = require("resty.http").new()
                  assert(httpc:connect("127.0.0.1", \#(port)))
                  local res = assert(httpc:request({ path = "/echo-body", query = { a = 1 }, method = "PUT", body = "x" }))
                  local body = res:read_body()
                  httpc:set_keepalive()
                  kong.service.request.set_header("X-Side-Call", res.status .. " " .. res.headers["X-Echo-Request"] .. " " .. body)
          - hosts: [timer.test]
            plugins:
            - name: post-function
              config:
                log:
                - |
                  local marker = kong.request.get_header("x-marker")
                  local ok, err = ngx.timer.at(0.05, function(premature, m)
                    local httpc = require("resty.http").new()
                    local res = httpc:request_uri("http://127.0.0.1:\#(port)/echo-body", { method = "POST", body = m })
                    ngx.shared.kong:set("timer:" .. m, res and res.status or -1)
                  end, marker)
                  if not ok then kong.log.err(err) end
          - hosts: [shared.test]
            plugins:
            - name: pre-function
              config:
                access:
                - |
                  local dict = ngx.shared.kong
                  local hits = dict:incr("hits", 1, 0)
                  local marker = kong.request.get_header("x-marker")
                  return kong.response.exit(200, {
                    hits = hits, timer = marker and dict:get("timer:" .. marker) or nil,
                    missing = ngx.shared.no_such_dict == nil,
                  })
          - hosts: [filter.test]
            plugins:
            - name: post-function
              config:
                header_filter:
                - |
                  local ok, err = pcall(ngx.sleep, 0.01)
                  kong.response.set_header("X-Sleep-Error", err)
        """#
    }

    private func run(_ body: (ProxyHarness, TestUpstream) async throws -> Void) async throws {
        var settings = NodeSettings()
        settings.untrustedLua = .on
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port), settings: settings) { proxy in try await body(proxy, ups[0]) }
        }
    }

    @Test("ngx.sleep waits without holding the event loop: other requests go on meanwhile")
    func sleepDoesNotBlock() async throws {
        try await run { proxy, _ in
            let started = Date()
            async let slept = proxy.get("/echo", host: "sleep.test", headers: [("X-Mine", "kept")])
            try await Task.sleep(for: .milliseconds(50))
            var fastTimes: [TimeInterval] = []
            for _ in 0..<5 {
                let t = Date()
                let fast = try await proxy.get("/echo", host: "fast.test")
                #expect(fast.status == 200)
                fastTimes.append(Date().timeIntervalSince(t))
            }
            let r = try await slept
            #expect(r.status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.3)
            let echoed = EchoedRequest(r)
            #expect(echoed.header("X-Slept") == "0.3")
            // The request's own context is back after the wait.
            #expect(echoed.header("X-Still") == "kept")
            #expect(fastTimes.allSatisfy { $0 < 0.25 }, "\(fastTimes)")
        }
    }

    @Test("resty.http's request_uri from access: the request sent, the response read; errors are lua-resty-http's")
    func requestURI() async throws {
        try await run { proxy, upstream in
            let r = try await proxy.get("/", host: "http.test", headers: [("X-Call", "http://127.0.0.1:\(upstream.port)/echo-body?q=1")])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json?["status"] as? Int == 200)
            #expect(r.json?["body"] as? String == "ping")
            #expect(r.json?["upstream"] as? String == "u")
            #expect(r.json?["echoed"] as? String == "POST /echo-body?q=1")
            let sent = upstream.requests.last { $0.head.uri == "/echo-body?q=1" }
            #expect(sent?.head.headers.first(name: "X-From-Lua") == "yes")
            #expect(sent?.head.headers.first(name: "User-Agent")?.hasPrefix("lua-resty-http/") == true)
            #expect(sent?.head.headers.first(name: "Content-Length") == "4")
            // Nothing listens on a closed port.
            let closed = try await proxy.get("/", host: "http.test", headers: [("X-Call", "http://127.0.0.1:1/")])
            #expect(closed.status == 502)
            #expect(closed.json?["message"] as? String == "connection refused")
            let bad = try await proxy.get("/", host: "http.test", headers: [("X-Call", "ftp://x/")])
            #expect(bad.json?["message"] as? String == "bad uri: ftp://x/")
        }
    }

    @Test("resty.http's connect and request, and the body read with read_body")
    func connectAndRequest() async throws {
        try await run { proxy, _ in
            let r = try await proxy.get("/echo", host: "connect.test")
            #expect(r.status == 200, "\(r.text)")
            #expect(EchoedRequest(r).header("X-Side-Call") == "200 PUT /echo-body?a=1 x")
        }
    }

    @Test("ngx.timer.at from the log phase runs after the request and can call out; ngx.shared is shared")
    func timersAndSharedDicts() async throws {
        try await run { proxy, upstream in
            let marker = UUID().uuidString
            let r = try await proxy.get("/echo", host: "timer.test", headers: [("X-Marker", marker)])
            #expect(r.status == 200)
            // The timer's callback records the status of its own call in ngx.shared.kong.
            var timerStatus: Int?
            let deadline = Date().addingTimeInterval(5)
            while timerStatus == nil, Date() < deadline {
                let check = try await proxy.get("/", host: "shared.test", headers: [("X-Marker", marker)])
                timerStatus = check.json?["timer"] as? Int
                if timerStatus == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(timerStatus == 200)
            #expect(upstream.requests.contains { $0.head.uri == "/echo-body" && $0.body == Array(marker.utf8) })
            // incr counts every request, whichever event loop served it.
            let first = try await proxy.get("/", host: "shared.test").json?["hits"] as? Int ?? 0
            for _ in 0..<4 { _ = try await proxy.get("/", host: "shared.test") }
            let last = try await proxy.get("/", host: "shared.test")
            #expect(last.json?["hits"] as? Int == first + 5)
            #expect(last.json?["missing"] as? Bool == true)
        }
    }

    @Test("code of header_filter cannot wait: OpenResty's error")
    func filtersCannotWait() async throws {
        try await run { proxy, _ in
            let r = try await proxy.get("/echo", host: "filter.test")
            #expect(r.status == 200)
            #expect(r.header("X-Sleep-Error")?.hasSuffix("API disabled in the context of header_filter_by_lua*") == true, "\(r.header("X-Sleep-Error") ?? "nil")")
        }
    }
}
