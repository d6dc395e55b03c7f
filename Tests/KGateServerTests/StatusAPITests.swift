import KGateConfig
import KGateSchema
import Logging
import NIOCore
import NIOPosix
import Synchronization
import KGateTestSupport
import Testing

import KGateHTTP
@testable import KGateServer

/// The status endpoints, live on a loopback listener.
struct StatusAPITests {
    final class FakeSource: NodeStatusSource {
        let hash = Mutex<String?>(nil)
        var configurationHash: String { hash.withLock { $0 } ?? ConfigHash.empty }
        var hasGeneration: Bool { hash.withLock { $0 != nil } }
        func reloadReport() -> Value { ["generation": .integer(hasGeneration ? 1 : 0)] }
    }

    private func withListener(_ body: (TestHTTPClient, FakeSource) throws -> Void) async throws {
        let source = FakeSource()
        let api = StatusAPI(source: source, counters: ServerCounters())
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = HTTPListener(
            name: "status", addresses: [ListenerAddress(host: "127.0.0.1", port: 0)], group: group,
            logger: Logger(label: "test")
        ) { request in
            api.respond(to: request) ?? .json(.notFound, #"{"message":"Not found"}"#)
        }
        try await listener.bind()
        let port = try #require(listener.localAddresses.first?.port)
        let result = Result { try body(TestHTTPClient(port: port), source) }
        try await group.shutdownGracefully()
        try result.get()
    }

    @Test func statusBeforeAndAfterAConfig() async throws {
        try await withListener { client, source in
            var r = try client.get("/status")
            #expect(r.status == 200)
            #expect(r.body.contains(#""configuration_hash":"00000000000000000000000000000000""#))
            #expect(r.header("content-type") == "application/json; charset=utf-8")
            r = try client.get("/status/ready")
            #expect(r.status == 503)
            #expect(r.body == #"{"message":"no configuration available (configuration hash is not initialized)"}"#)

            source.hash.withLock { $0 = "0123456789abcdef0123456789abcdef" }
            r = try client.get("/status")
            #expect(r.body.contains(#""configuration_hash":"0123456789abcdef0123456789abcdef""#))
            #expect(r.body.contains(#""total_requests":"#))
            r = try client.get("/status/ready")
            #expect(r.status == 200)
            #expect(r.body == #"{"message":"ready"}"#)
        }
    }

    @Test func emptyConfigIsNotReady() async throws {
        try await withListener { client, source in
            source.hash.withLock { $0 = ConfigHash.empty }
            let r = try client.get("/status/ready")
            #expect(r.status == 503)
            #expect(r.body == #"{"message":"no configuration available (empty configuration present)"}"#)
        }
    }

    @Test func drainingAsKong() async throws {
        try await withListener { client, source in
            source.hash.withLock { $0 = "0123456789abcdef0123456789abcdef" }
            try #expect(client.request("POST", "/status/ready", body: "status=nope").status == 400)
            try #expect(client.request("POST", "/status/ready", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "status=draining").status == 204)
            let r = try client.get("/status/ready")
            #expect(r.status == 503)
            #expect(r.body == #"{"message":"draining"}"#)
        }
    }

    @Test func unknownPathsAndMalformedRequests() async throws {
        try await withListener { client, _ in
            try #expect(client.get("/nope").status == 404)
            try #expect(client.request("DELETE", "/status").status == 405)
        }
    }
}
