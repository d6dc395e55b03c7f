#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/11-correlation-id` and `12-request-size-limiting`.
@Suite struct CorrelationIDTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - {name: c1, paths: [/1], plugins: [{name: correlation-id}]}
        - {name: c2, paths: [/2], plugins: [{name: correlation-id, config: {generator: uuid}}]}
        - {name: c3, paths: [/3], plugins: [{name: correlation-id, config: {generator: tracker}}]}
        - {name: c4, paths: [/4], plugins: [{name: correlation-id, config: {generator: uuid, echo_downstream: true}}]}
        - {name: c5, paths: [/5], plugins: [{name: correlation-id, config: {header_name: Foo-Bar-Id, generator: uuid}}]}
        - {name: c6, paths: [/6], plugins: [{name: correlation-id, config: {echo_downstream: true}}, {name: key-auth}]}
        """

    static func isUUID(_ s: String?) -> Bool {
        guard let s else { return false }
        return UUIDFormat.isValid(String(s.prefix(36))) && s.utf8.count >= 36
    }

    @Test func uuidCounterIncrements() throws {
        let runner = try Gate.runner(Self.config, registry: PluginRegistry.bundled())
        let id1 = Exchange(runner, route: "c1").upstream("Kong-Request-ID")
        let id2 = Exchange(runner, route: "c1").upstream("Kong-Request-ID")
        #expect(Self.isUUID(id1))
        #expect(id1?.hasSuffix("#1") == true)
        #expect(id2?.hasSuffix("#2") == true)
        #expect(id1?.prefix(36) == id2?.prefix(36))
    }

    @Test func generators() throws {
        let runner = try Gate.runner(Self.config)
        let a = Exchange(runner, route: "c2").upstream("Kong-Request-ID")
        let b = Exchange(runner, route: "c2").upstream("Kong-Request-ID")
        #expect(Self.isUUID(a) && a?.utf8.count == 36)
        #expect(a != b)
        let tracker = Exchange(runner, route: "c3").upstream("Kong-Request-ID") ?? ""
        // %d+%.%d+%.%d+%.%d+%-%d+%-%d+%-%d+%-%d+%-%d{10}%.%d%d%d
        let parts = tracker.split(separator: "-")
        #expect(parts.count == 6)
        #expect(parts.first?.split(separator: ".").count == 4)
        #expect(parts.last?.split(separator: ".").map(\.count) == [10, 3])
        #expect(Self.isUUID(Exchange(runner, route: "c5").upstream("Foo-Bar-Id")))
    }

    @Test func keepsAnExistingHeaderAndEchoes() throws {
        let runner = try Gate.runner(Self.config)
        let kept = Exchange(runner, route: "c2", headers: ["Kong-Request-ID": "foobar"])
        #expect(kept.upstream("Kong-Request-ID") == "foobar")
        #expect(kept.ctx.serializedValues["correlation_id"] == "foobar")
        for empty in ["", " "] {
            #expect(Exchange(runner, route: "c2", headers: ["Kong-Request-ID": empty]).upstream("Kong-Request-ID") != empty)
        }
        var echo = Exchange(runner, route: "c4")
        let upstream = echo.upstream("Kong-Request-ID")
        #expect(echo.respond()["Kong-Request-ID"] == upstream)
        var quiet = Exchange(runner, route: "c2")
        #expect(quiet.respond()["Kong-Request-ID"] == nil)
        // Another plugin answered first: header_filter still echoes (generated, or the client's).
        var denied = Exchange(runner, route: "c6", headers: ["Kong-Request-ID": "my very personal id"])
        #expect(denied.status == 401)
        #expect(denied.respond()["Kong-Request-ID"] == "my very personal id")
    }

    /// `server_addr-server_port-pid-connection-connection_requests-time`, from the facts the
    /// proxy gives the request.
    @Test func trackerUsesTheConnectionsFacts() throws {
        let runner = try Gate.runner(Self.config)
        var request = PluginRequest(method: "GET", host: "h", port: 8000, rawPath: "/3", forwardedIP: "10.0.0.1")
        request.serverIP = IPAddress("fe80::1:2")!
        request.connectionID = 42
        request.connectionRequests = 7
        var ctx = runner.makeContext(request)
        ctx.setRoute(id: Gate.routeID(runner, "c3"), serviceID: nil)
        runner.access(&ctx)
        let parts = try #require(ctx.request.header("Kong-Request-ID")).split(separator: "-", omittingEmptySubsequences: false)
        #expect(parts.count == 6)
        #expect(parts[0] == "fe80::1:2")
        #expect(parts[1] == "8000")
        #expect(parts[2] == "\(getpid())")
        #expect(parts[3] == "42")
        #expect(parts[4] == "7")
        #expect(parts[5].split(separator: ".").map(\.count) == [10, 3])
    }

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("::1", "::1"), ("::", "::"), ("1::", "1::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"), ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("::1.2.3.4", "::1.2.3.4"),
        ("::2", "::2"), ("::0.0.1.2", "::0.0.1.2"), ("FE80::A:B", "fe80::a:b"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func serverAddressAsNginxPrintsIt(address: String, text: String) throws {
        #expect(try #require(IPAddress(address)).nginxText == text)
    }
}

@Suite struct RequestSizeLimitingTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - {name: mb, paths: [/mb], plugins: [{name: request-size-limiting, config: {allowed_payload_size: 1}}]}
        - {name: b, paths: [/b], plugins: [{name: request-size-limiting, config: {allowed_payload_size: 10, size_unit: bytes}}]}
        - {name: kb, paths: [/kb], plugins: [{name: request-size-limiting, config: {allowed_payload_size: 1, size_unit: kilobytes}}]}
        - {name: req, paths: [/req], plugins: [{name: request-size-limiting, config: {allowed_payload_size: 10, size_unit: bytes, require_content_length: true}}]}
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    @Test(arguments: [
        ("mb", 1_048_576, 0), ("mb", 1_048_577, 413), ("b", 10, 0), ("b", 11, 413), ("kb", 1024, 0), ("kb", 1025, 413),
    ])
    func byContentLength(route: String, length: Int, status: Int) {
        let ex = Exchange(runner, route: route, method: "POST", headers: ["Content-Length": String(length)])
        #expect(ex.status == status)
        if status != 0 { #expect(ex.message == "Request size limit exceeded") }
        #expect(!runner.needsRequestBody(ex.ctx))
    }

    @Test func expectContinue() {
        let ex = Exchange(runner, route: "b", method: "POST", headers: ["Content-Length": "11", "Expect": "100-Continue"])
        #expect(ex.status == 417)
    }

    @Test func chunkedBodies() {
        let small = Exchange(runner, route: "b", method: "POST", headers: ["Transfer-Encoding": "chunked"], body: "0123456789")
        #expect(runner.needsRequestBody(small.ctx))
        #expect(small.status == 0)
        let big = Exchange(runner, route: "b", method: "POST", headers: ["Transfer-Encoding": "chunked"], body: "0123456789A")
        #expect(big.status == 413)
    }

    @Test func requireContentLength() {
        let missing = Exchange(runner, route: "req", method: "POST", body: "x")
        #expect(missing.status == 411)
        #expect(missing.message == "A valid Content-Length header is required")
        #expect(Exchange(runner, route: "req", method: "POST", headers: ["Transfer-Encoding": "chunked"], body: "x").status == 0)
        #expect(Exchange(runner, route: "req", method: "POST", headers: ["Content-Length": "1"]).status == 0)
    }
}
