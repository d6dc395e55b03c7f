import Dispatch
import KGateConfig
import KGateHTTP
import KGateSchema
import KGateSettings
import KGateTestSupport
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import KGateAdmin

/// The Admin API on a real loopback listener, answered in a task (`HTTPAnswering.task`) as the
/// node runs it, and the synchronous path (`respond(to:)`) inline on the event loop.
@Suite(.serialized) struct LiveTests {
    /// A response crossing from the client's thread.
    struct Received: @unchecked Sendable {
        var response: TestHTTPClient.Response
    }

    /// Calls the blocking client on a thread of its own (a serial queue is overcommitted), so no
    /// cooperative thread waits on a socket.
    static func call(
        _ port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> TestHTTPClient.Response {
        try await exchange { try TestHTTPClient(port: port).request(method, path, headers: headers, body: body) }
    }

    /// Sends a request as raw bytes (a target with bytes 0x80–0xFF, as Lua's HTTP client sends them).
    static func call(_ port: Int, raw: [UInt8]) async throws -> TestHTTPClient.Response {
        try await exchange { try TestHTTPClient(port: port).request(raw: raw) }
    }

    private static func exchange(
        _ send: @escaping @Sendable () throws -> TestHTTPClient.Response
    ) async throws -> TestHTTPClient.Response {
        let received = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Received, Error>) in
            DispatchQueue(label: "admin-test-client").async {
                c.resume(with: Result { Received(response: try send()) })
            }
        }
        return received.response
    }

    static func json(_ text: String) -> Value? {
        guard case .success(let doc) = JSONReader.read(Array(text.utf8)) else { return nil }
        return doc.value
    }

    /// Runs `body` with the API of `harness` listening on an ephemeral loopback port.
    static func withListener(
        _ harness: AdminHarness, inline: Bool = false, _ body: (Int) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let api = harness.api
        let answering: HTTPAnswering =
            inline
            ? .inline { api.respond(to: $0) ?? .json(.serviceUnavailable, #"{"message":"asynchronous"}"#) }
            : .task { await api.handle($0) }
        let listener = HTTPListener(
            name: "admin", addresses: [ListenerAddress(host: "127.0.0.1", port: 0)], group: group,
            maxBodySize: api.maxBodySize, logger: AdminHarness.quiet, answering: answering)
        try await listener.bind()
        let port = try #require(listener.localAddresses.first?.port)
        do {
            try await body(port)
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    @Test func readsWritesAndConfigOverTheWire() async throws {
        let h = try AdminHarness()
        try await Self.withListener(h) { port in
            let root = try await Self.call(port, "GET", "/")
            #expect(root.status == 200)
            #expect(root.header("Server") == "kong/3.10.0")
            #expect(root.header("Content-Type") == "application/json; charset=utf-8")
            let head = try await Self.call(port, "HEAD", "/")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)

            let config =
                #"{"_format_version":"3.0","services":[{"name":"live","url":"http://example.com","routes":[{"name":"r","paths":["/live"]}]}]}"#
            let posted = try await Self.call(
                port, "POST", "/config", headers: [("Content-Type", "application/json")], body: config)
            #expect(posted.status == 201)
            #expect(Self.json(posted.body)?["services"]?.objectValue?.count == 1)

            let service = try await Self.call(port, "GET", "/services/live")
            #expect(service.status == 200)
            #expect(Self.json(service.body)?["host"] == "example.com")
            let routes = try await Self.call(port, "GET", "/services/live/routes")
            #expect(Self.json(routes.body)?["data"]?.arrayValue?.count == 1)

            let refused = try await Self.call(
                port, "POST", "/routes", headers: [("Content-Type", "application/json")], body: #"{"paths":["/x"]}"#)
            #expect(refused.status == 405)
            #expect(Self.json(refused.body)?["code"] == 12)
            #expect(try await Self.call(port, "DELETE", "/services/nope").status == 204)
            #expect(try await Self.call(port, "GET", "/non-existing").status == 404)
            let unknownMethod = try await Self.call(port, "GEEEET", "/")
            #expect(unknownMethod.status == 405)
            #expect(Self.json(unknownMethod.body) == ["message": "Method not allowed"])
            let malformed = try await Self.call(
                port, "POST", "/services", headers: [("Content-Type", "application/json")], body: "{")
            #expect(malformed.status == 400)
            #expect(Self.json(malformed.body) == ["message": "Cannot parse JSON body"])

            let exported = try await Self.call(port, "GET", "/config")
            let yaml = try #require(Self.json(exported.body)?["config"]?.stringValue)
            let reposted = try await Self.call(
                port, "POST", "/config", headers: [("Content-Type", "application/yaml")], body: yaml)
            #expect(reposted.status == 201)
            #expect(h.store.current.hash == ConfigHash.md5Hex(Array(yaml.utf8)))
            let unchanged = try await Self.call(
                port, "POST", "/config?check_hash=1", headers: [("Content-Type", "application/yaml")], body: yaml)
            #expect(unchanged.status == 304)
        }
    }

    @Test func inlineAnswersForEverythingButPostConfig() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        try await Self.withListener(h, inline: true) { port in
            #expect(try await Self.call(port, "GET", "/services/svc-a").status == 200)
            #expect(try await Self.call(port, "GET", "/schemas/services").status == 200)
            let options = try await Self.call(port, "OPTIONS", "/services")
            #expect(options.status == 204)
            #expect(options.header("Allow") == "GET, HEAD, OPTIONS, POST")
            let post = try await Self.call(
                port, "POST", "/config", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(post.status == 503)  // the inline path leaves POST /config to `handle(_:)`
            #expect(AdminAPI.needsAsyncHandling(HTTPRequest(method: .POST, uri: "/config?check_hash=1")))
            #expect(!AdminAPI.needsAsyncHandling(HTTPRequest(method: .GET, uri: "/config")))
        }
    }

    /// 02-kong_routes_spec "returns headers with HEAD method": HEAD answers GET's headers with an
    /// empty body. Both carry nginx's `Date`, which the spec drops (with the latency) to compare.
    @Test func headAnswersGetHeadersWithDate() async throws {
        let h = try AdminHarness()
        try await Self.withListener(h) { port in
            let get = try await Self.call(port, "GET", "/")
            let head = try await Self.call(port, "HEAD", "/")
            #expect(get.status == 200 && head.status == 200)
            #expect(!get.body.isEmpty && head.body.isEmpty)
            for response in [get, head] {
                let date = try #require(response.header("Date"))
                #expect(date.count == 29 && date.hasSuffix(" GMT"), "\(date)")
            }
            func compared(_ response: TestHTTPClient.Response) -> [String] {
                response.headers.filter { !["date", "x-kong-admin-latency"].contains($0.0.lowercased()) }
                    .map { "\($0.0): \($0.1)" }
            }
            #expect(compared(get) == compared(head))
        }
    }

    /// Kong's 14-server_tokens_spec "Admin API": `Server` and `X-Kong-Admin-Latency` only as
    /// `headers` enables them; with `headers = off` neither is sent (no default `Server`).
    @Test(arguments: [([String](), false, false), (["server_tokens"], true, false), (["latency_tokens"], false, true)])
    func serverAndLatencyHeadersFollowTheSetting(headers: [String], server: Bool, latency: Bool) async throws {
        var settings = NodeSettings()
        settings.headers = headers
        let h = try AdminHarness(settings: settings)
        try await Self.withListener(h) { port in
            let root = try await Self.call(port, "GET", "/")
            #expect(root.status == 200)
            #expect((root.header("Server") != nil) == server)
            #expect((root.header("X-Kong-Admin-Latency") != nil) == latency)
        }
    }

    @Test func tokenAndBodyLimit() async throws {
        let h = try AdminHarness(
            settings: NodeSettings(nginxAdminClientMaxBodySize: ByteSize("1k")!, adminToken: "t0ken"))
        try await Self.withListener(h) { port in
            #expect(try await Self.call(port, "GET", "/").status == 401)
            #expect(try await Self.call(port, "GET", "/", headers: [("Authorization", "Bearer t0ken")]).status == 200)
            let big = String(repeating: "x", count: 4096)
            let tooBig = try await Self.call(
                port, "POST", "/config",
                headers: [("Authorization", "Bearer t0ken"), ("Content-Type", "application/json")],
                body: #"{"config":"\#(big)"}"#)
            #expect(tooBig.status == 413)
        }
    }

    /// `spec/02-integration/04-admin_api/14-tags_spec.lua`: tags sent as raw bytes in the target.
    @Test func rawBytesInTagFilters() async throws {
        let h = try AdminHarness()
        await h.load(
            """
            _format_version: "3.0"
            consumers:
            - username: adminapi-filter-by-tag-1
              tags: ["corp_ a", "consumer_ 1", "🦍"]
            - username: adminapi-filter-by-tag-2
              tags: ["corp_ a", "consumer_ 2", "🦍"]
            """)
        try await Self.withListener(h) { port in
            func get(_ target: [UInt8]) async throws -> TestHTTPClient.Response {
                let tail = Array(" HTTP/1.1\r\nConnection: close\r\n\r\n".utf8)
                return try await Self.call(port, raw: Array("GET ".utf8) + target + tail)
            }
            let gorilla = try await get(Array("/consumers?tags=🦍".utf8))
            #expect(gorilla.status == 200)
            #expect(Self.json(gorilla.body)?["data"]?.arrayValue?.count == 2)
            let invalid = try await get(Array("/consumers?tags=".utf8) + [0xFF])
            #expect(invalid.status == 400)
            #expect(Self.json(invalid.body)?["message"] == "invalid option (tags: invalid filter syntax)")
            let tag = try await get(Array("/tags/".utf8) + [0xFF])
            #expect(tag.status == 400)
            #expect(Self.json(tag.body)?["message"]?.stringValue?.contains("invalid utf-8") == true)
        }
    }

    @Test func concurrentPostsOverTheWire() async throws {
        let h = try AdminHarness()
        try await Self.withListener(h) { port in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        var consumers: [String] = []
                        for j in 0..<200 { consumers.append(#"{"username":"u\#(i)-\#(j)"}"#) }
                        let body = #"{"_format_version":"3.0","consumers":[\#(consumers.joined(separator: ","))]}"#
                        return try await Self.call(
                            port, "POST", "/config", headers: [("Content-Type", "application/json")], body: body
                        ).status
                    }
                }
                var all: [Int] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.allSatisfy { $0 == 201 || $0 == 429 })
            #expect(statuses.contains(201))
            #expect(h.store.current.page.count(of: "consumers") == 200)
            let listed = try await Self.call(port, "GET", "/consumers?size=1000")
            #expect(Self.json(listed.body)?["data"]?.arrayValue?.count == 200)
        }
    }
}
