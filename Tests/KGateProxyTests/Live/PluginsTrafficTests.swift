import Testing

@testable import KGateProxy

/// ip-restriction, rate-limiting (local policy) and request-size-limiting through the proxy,
/// against Kong's specs (spec/03-plugins/17-ip-restriction, 23-rate-limiting,
/// 12-request-size-limiting).
@Suite("Plugins live: ip-restriction, rate-limiting, request-size-limiting", .serialized)
struct PluginsTrafficTests {
    private typealias ID = PluginIDs

    // MARK: ip-restriction

    @Test("ip-restriction: allow and deny CIDRs against 127.0.0.1, custom status and message")
    func ipRestriction() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [deny.test]
                    plugins:
                    - name: ip-restriction
                      config: {deny: [127.0.0.0/8]}
                  - hosts: [deny-custom.test]
                    plugins:
                    - name: ip-restriction
                      config: {deny: [127.0.0.1], status: 401, message: Forbidden}
                  - hosts: [allow.test]
                    plugins:
                    - name: ip-restriction
                      config: {allow: [10.0.0.0/8, 127.0.0.1/32]}
                  - hosts: [allow-other.test]
                    plugins:
                    - name: ip-restriction
                      config: {allow: [10.0.0.0/8]}
                  - hosts: [both.test]
                    plugins:
                    - name: ip-restriction
                      config: {allow: [127.0.0.0/8], deny: [127.0.0.1]}
                  - hosts: [deny-other.test]
                    plugins:
                    - name: ip-restriction
                      config: {deny: [192.168.0.0/16, "::1"]}
                """
            try await withProxy(yaml) { proxy in
                let denied = try await proxy.get("/echo", host: "deny.test")
                #expect(denied.status == 403)
                #expect(denied.message == "IP address not allowed: 127.0.0.1")
                #expect(ups[0].requests.isEmpty)

                let custom = try await proxy.get("/echo", host: "deny-custom.test")
                #expect(custom.status == 401)
                #expect(custom.message == "Forbidden")

                let allowed = try await proxy.get("/echo", host: "allow.test")
                #expect(allowed.status == 200)
                #expect(EchoedRequest(allowed).requestLine == "GET /echo")

                let notAllowed = try await proxy.get("/echo", host: "allow-other.test")
                #expect(notAllowed.status == 403)
                #expect(notAllowed.message == "IP address not allowed: 127.0.0.1")

                // deny is checked first.
                #expect(try await proxy.get("/echo", host: "both.test").status == 403)
                #expect(try await proxy.get("/echo", host: "deny-other.test").status == 200)
            }
        }
    }

    @Test("ip-restriction and rate-limiting by ip use the real client address from a trusted proxy")
    func realClientAddress() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [deny.test]
                    plugins:
                    - name: ip-restriction
                      config: {deny: [10.0.0.0/8]}
                  - hosts: [limit.test]
                    plugins:
                    - name: rate-limiting
                      config: {hour: 1, limit_by: ip}
                """
            try await withProxy(yaml, configure: { $0.trustedIPs = TrustedIPs(["127.0.0.1"]) }) { proxy in
                let denied = try await proxy.get("/echo", host: "deny.test", headers: [("X-Real-IP", "10.0.0.5")])
                #expect(denied.status == 403)
                #expect(denied.message == "IP address not allowed: 10.0.0.5")
                #expect(try await proxy.get("/echo", host: "deny.test", headers: [("X-Real-IP", "192.0.2.1")]).status == 200)

                try await awaitRoomInWindow(period: 3600, margin: 3)
                #expect(try await proxy.get("/echo", host: "limit.test", headers: [("X-Real-IP", "192.0.2.1")]).status == 200)
                #expect(try await proxy.get("/echo", host: "limit.test", headers: [("X-Real-IP", "192.0.2.2")]).status == 200)
                #expect(try await proxy.get("/echo", host: "limit.test", headers: [("X-Real-IP", "192.0.2.1")]).status == 429)
            }
            // From an untrusted client the header is ignored.
            try await withProxy(yaml) { proxy in
                let r = try await proxy.get("/echo", host: "deny.test", headers: [("X-Real-IP", "10.0.0.5")])
                #expect(r.status == 200)
            }
        }
    }

    // MARK: rate-limiting

    private func rateLimitYAML(_ port: Int, minuteLimit: Int = 6, pluginID: String = "9b000000-0000-4000-8000-000000000001") -> String {
        """
        _format_version: "3.0"
        consumers:
        - id: \(ID.bob)
          username: bob
          keyauth_credentials:
          - key: bob-key
        - id: \(ID.alice)
          username: alice
          keyauth_credentials:
          - key: alice-key
        services:
        - url: http://127.0.0.1:\(port)
          routes:
          - name: minute
            hosts: [minute.test]
            plugins:
            - name: rate-limiting
              id: \(pluginID)
              config: {minute: \(minuteLimit), hour: 99999, policy: local}
          - hosts: [second.test]
            plugins:
            - name: rate-limiting
              config: {second: 1, policy: local}
          - hosts: [custom.test]
            plugins:
            - name: rate-limiting
              config: {minute: 1, error_code: 404, error_message: Fake Not Found}
          - hosts: [hidden.test]
            plugins:
            - name: rate-limiting
              config: {minute: 1, hide_client_headers: true}
          - hosts: [by-consumer.test]
            plugins:
            - name: key-auth
            - name: rate-limiting
              config: {minute: 2, limit_by: consumer}
          - hosts: [by-ip.test]
            plugins:
            - name: key-auth
            - name: rate-limiting
              config: {minute: 2, limit_by: ip}
          - hosts: [by-header.test]
            plugins:
            - name: rate-limiting
              config: {minute: 1, limit_by: header, header_name: x-tenant}
          - hosts: [concurrent.test]
            plugins:
            - name: rate-limiting
              config: {hour: 20}
        """
    }

    @Test("rate-limiting: X-RateLimit-* and RateLimit-* headers, then 429 with Retry-After")
    func rateLimitHeaders() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(rateLimitYAML(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 60, margin: 3)
                for i in 1...6 {
                    let r = try await proxy.get("/echo", host: "minute.test")
                    #expect(r.status == 200)
                    #expect(r.header("X-RateLimit-Limit-Minute") == "6")
                    #expect(r.header("X-RateLimit-Remaining-Minute") == String(6 - i))
                    #expect(r.header("X-RateLimit-Limit-Hour") == "99999")
                    #expect(r.header("X-RateLimit-Remaining-Hour") == String(99999 - i))
                    #expect(r.header("RateLimit-Limit") == "6")
                    #expect(r.header("RateLimit-Remaining") == String(6 - i))
                    let reset = Int(r.header("RateLimit-Reset") ?? "") ?? -1
                    #expect(reset >= 1 && reset <= 60)
                    #expect(r.header("Retry-After") == nil)
                }
                #expect(ups[0].requests.count == 6)
                let blocked = try await proxy.get("/echo", host: "minute.test")
                #expect(blocked.status == 429)
                #expect(blocked.message == "API rate limit exceeded")
                #expect(blocked.header("X-RateLimit-Limit-Minute") == "6")
                #expect(blocked.header("X-RateLimit-Remaining-Minute") == "0")
                #expect(blocked.header("RateLimit-Limit") == "6")
                #expect(blocked.header("RateLimit-Remaining") == "0")
                let retry = Int(blocked.header("Retry-After") ?? "") ?? -1
                #expect(retry >= 1 && retry <= 60)
                #expect(blocked.header("RateLimit-Reset") == blocked.header("Retry-After"))
                #expect(ups[0].requests.count == 6)
            }
        }
    }

    @Test("rate-limiting: a per-second limit, a custom error, hide_client_headers")
    func rateLimitSecondAndOptions() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(rateLimitYAML(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 1, margin: 0.8)
                let first = try await proxy.get("/echo", host: "second.test")
                #expect(first.status == 200)
                #expect(first.header("X-RateLimit-Limit-Second") == "1")
                #expect(first.header("X-RateLimit-Remaining-Second") == "0")
                #expect(first.header("RateLimit-Limit") == "1")
                #expect(first.header("RateLimit-Remaining") == "0")
                #expect(first.header("RateLimit-Reset") == "1")
                let second = try await proxy.get("/echo", host: "second.test")
                #expect(second.status == 429)
                #expect(second.header("Retry-After") == "1")

                try await awaitRoomInWindow(period: 60, margin: 2)
                #expect(try await proxy.get("/echo", host: "custom.test").status == 200)
                let custom = try await proxy.get("/echo", host: "custom.test")
                #expect(custom.status == 404)
                #expect(custom.message == "Fake Not Found")

                let hidden = try await proxy.get("/echo", host: "hidden.test")
                #expect(hidden.status == 200)
                let hiddenBlocked = try await proxy.get("/echo", host: "hidden.test")
                #expect(hiddenBlocked.status == 429)
                for r in [hidden, hiddenBlocked] {
                    for name in ["X-RateLimit-Limit-Minute", "X-RateLimit-Remaining-Minute", "RateLimit-Limit",
                                 "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"] {
                        #expect(r.header(name) == nil, "\(name)")
                    }
                }
            }
        }
    }

    @Test("rate-limiting: limit_by consumer counts each consumer, limit_by ip counts them together")
    func rateLimitBy() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(rateLimitYAML(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 60, margin: 3)
                func status(_ host: String, _ key: String) async throws -> Int {
                    try await proxy.get("/echo", host: host, headers: [("apikey", key)]).status
                }
                #expect(try await status("by-consumer.test", "bob-key") == 200)
                #expect(try await status("by-consumer.test", "bob-key") == 200)
                #expect(try await status("by-consumer.test", "bob-key") == 429)
                #expect(try await status("by-consumer.test", "alice-key") == 200)
                #expect(try await status("by-consumer.test", "alice-key") == 200)
                #expect(try await status("by-consumer.test", "alice-key") == 429)

                #expect(try await status("by-ip.test", "bob-key") == 200)
                #expect(try await status("by-ip.test", "alice-key") == 200)
                #expect(try await status("by-ip.test", "bob-key") == 429)
                #expect(try await status("by-ip.test", "alice-key") == 429)

                let h = { (tenant: String) in try await proxy.get("/echo", host: "by-header.test", headers: [("X-Tenant", tenant)]).status }
                #expect(try await h("a") == 200)
                #expect(try await h("b") == 200)
                #expect(try await h("a") == 429)
            }
        }
    }

    @Test("rate-limiting: 50 concurrent requests against a limit of 20, exactly 20 pass")
    func rateLimitConcurrent() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(rateLimitYAML(ups[0].port)) { proxy in
                try await awaitRoomInWindow(period: 3600, margin: 3)
                let responses = try await concurrently(50) { _ in try await proxy.get("/echo", host: "concurrent.test") }
                #expect(responses.filter { $0.status == 200 }.count == 20)
                #expect(responses.filter { $0.status == 429 }.count == 30)
                #expect(ups[0].requests.count == 20)
                let remaining = responses.filter { $0.status == 200 }.compactMap { $0.header("X-RateLimit-Remaining-Hour") }
                #expect(Set(remaining) == Set((0..<20).map(String.init)))
            }
        }
    }

    @Test("rate-limiting: counters survive reloads, a new plugin id and a removal, keyed by scope as Kong")
    func rateLimitReload() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(rateLimitYAML(ups[0].port, minuteLimit: 3)) { proxy in
                try await awaitRoomInWindow(period: 60, margin: 3)
                #expect(try await proxy.get("/echo", host: "minute.test").status == 200)
                #expect(try await proxy.get("/echo", host: "minute.test").status == 200)
                // Same id, new limit: the two requests still count.
                try ProxyHarness.install(rateLimitYAML(ups[0].port, minuteLimit: 4), in: proxy.store)
                let third = try await proxy.get("/echo", host: "minute.test")
                #expect(third.status == 200)
                #expect(third.header("X-RateLimit-Limit-Minute") == "4")
                #expect(third.header("X-RateLimit-Remaining-Minute") == "1")
                #expect(try await proxy.get("/echo", host: "minute.test").status == 200)
                #expect(try await proxy.get("/echo", host: "minute.test").status == 429)
                // Removed, then added again with another id: counting goes on, as in Kong,
                // whose local counters are keyed by the config's route id, service id and the
                // identifier (policies/init.lua `get_local_key`) in a shm a reload does not purge.
                try ProxyHarness.install(
                    """
                    _format_version: "3.0"
                    services:
                    - url: http://127.0.0.1:\(ups[0].port)
                      routes:
                      - name: minute
                        hosts: [minute.test]
                    """, in: proxy.store)
                #expect(try await proxy.get("/echo", host: "minute.test").header("X-RateLimit-Limit-Minute") == nil)
                try ProxyHarness.install(
                    rateLimitYAML(ups[0].port, minuteLimit: 4, pluginID: "9b000000-0000-4000-8000-000000000002"), in: proxy.store)
                let again = try await proxy.get("/echo", host: "minute.test")
                #expect(again.status == 429)
                #expect(again.header("X-RateLimit-Remaining-Minute") == "0")
            }
        }
    }

    // MARK: request-size-limiting

    @Test("request-size-limiting: 413 over the limit, 417 with Expect, size_unit")
    func requestSizeLimiting() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [bytes.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 10, size_unit: bytes}
                  - hosts: [kb.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 1, size_unit: kilobytes}
                  - hosts: [mb.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 1}
                  - hosts: [required.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 10, size_unit: bytes, require_content_length: true}
                  - hosts: [limit_kilobytes.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 20, size_unit: kilobytes}
                """
            try await withProxy(yaml) { proxy in
                // '[request body size > nginx_http_client_body_buffer_size]': Kong reads the size
                // of nginx's body file when get_raw_body() has nothing.
                func chunked(_ size: Int, expect: Bool) async throws -> RawResponse {
                    let c = try await proxy.client()
                    defer { Task { await c.close() } }
                    let head = "GET /echo HTTP/1.1\r\nHost: limit_kilobytes.test\r\nTransfer-Encoding: chunked\r\n"
                        + (expect ? "Expect: 100-continue\r\n" : "") + "\r\n"
                    try await c.send(head + String(size, radix: 16) + "\r\n" + String(repeating: "a", count: size) + "\r\n0\r\n\r\n")
                    let response = try await c.readResponse()
                    return response.status == 100 ? try await c.readResponse() : response
                }
                #expect(try await chunked(20 * 1024, expect: false).status == 200)
                let beyond = try await chunked(20 * 1024 + 1, expect: false)
                #expect(beyond.status == 413)
                #expect(beyond.message == "Request size limit exceeded")
                #expect(try await chunked(20 * 1024 + 1, expect: true).status == 417)
                #expect(try await chunked(20 * 1024, expect: true).status == 200)

                let ok = try await proxy.send("POST", "/echo-body", host: "bytes.test", body: "0123456789")
                #expect(ok.status == 200)
                #expect(ok.text == "0123456789")

                let over = try await proxy.send("POST", "/echo-body", host: "bytes.test", body: "0123456789A")
                #expect(over.status == 413)
                #expect(over.message == "Request size limit exceeded")

                let expect = try await proxy.send(
                    "POST", "/echo-body", host: "bytes.test", headers: [("Expect", "100-continue")], body: "0123456789A")
                #expect(expect.status == 417)
                #expect(expect.message == "Request size limit exceeded")

                #expect(try await proxy.send("POST", "/echo-body", host: "kb.test", body: String(repeating: "x", count: 1024)).status == 200)
                #expect(try await proxy.send("POST", "/echo-body", host: "kb.test", body: String(repeating: "x", count: 1025)).status == 413)
                #expect(try await proxy.send("POST", "/echo-body", host: "mb.test", body: String(repeating: "x", count: 5000)).status == 200)

                // A chunked body is measured once read.
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                try await c.send("POST /echo-body HTTP/1.1\r\nHost: bytes.test\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n")
                let chunked = try await c.readResponse()
                #expect(chunked.status == 413)
                #expect(chunked.message == "Request size limit exceeded")

                let c2 = try await proxy.client()
                defer { Task { await c2.close() } }
                try await c2.send("POST /echo-body HTTP/1.1\r\nHost: bytes.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                let small = try await c2.readResponse()
                #expect(small.status == 200)
                #expect(small.text == "hello")
            }
        }
    }

    @Test("request-size-limiting: require_content_length")
    func requireContentLength() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes:
                  - hosts: [required.test]
                    plugins:
                    - name: request-size-limiting
                      config: {allowed_payload_size: 10, size_unit: bytes, require_content_length: true}
                """
            try await withProxy(yaml) { proxy in
                let missing = try await proxy.get("/echo", host: "required.test")
                #expect(missing.status == 411)
                #expect(missing.message == "A valid Content-Length header is required")
                let present = try await proxy.send("POST", "/echo-body", host: "required.test", body: "ok")
                #expect(present.status == 200)
                let c = try await proxy.client()
                defer { Task { await c.close() } }
                try await c.send("POST /echo-body HTTP/1.1\r\nHost: required.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
                let chunked = try await c.readResponse()
                #expect(chunked.status == 200)
                #expect(chunked.text == "ok")
            }
        }
    }
}
