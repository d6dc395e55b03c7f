import Foundation
import KGateConfig
import KGateSettings
import Logging
import KGateTestSupport
import Testing

@testable import KGateServer

/// The status listener of a node: Kong's Status API (`kong/status/init.lua`), live on a loopback
/// port (`spec/02-integration/08-status_api/01-core_routes_spec.lua`, `02-targets_routes_spec.lua`).
@Suite(.serialized)
struct StatusListenerTests {
    private func withNode(config: String?, _ body: (TestHTTPClient) throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "kgate-status-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [], adminListen: [],
            statusListen: [ListenAddress(host: "127.0.0.1", port: 0)], declarativeConfigString: config)
        let node = try Node(settings: settings, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await node.start()
        let task = Task { try await node.run() }
        let port = try #require(node.boundPorts("status").first)
        let result = Result { try body(TestHTTPClient(port: port)) }
        await node.shutdown()
        try await task.value
        try result.get()
    }

    /// Without a configuration: the all-zero hash, Kong's counters, not ready.
    @Test func statusWithoutConfiguration() async throws {
        try await withNode(config: nil) { client in
            let r = try client.get("/status")
            #expect(r.status == 200)
            #expect(r.header("content-type") == "application/json; charset=utf-8")
            #expect(r.header("server") == "kong/3.10.0")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
            #expect(json["configuration_hash"] as? String == ConfigHash.empty)
            #expect(json["database"] == nil)
            #expect(json["memory"] is [String: Any])
            let server = try #require(json["server"] as? [String: Any])
            for key in [
                "connections_accepted", "connections_active", "connections_handled", "connections_reading",
                "connections_writing", "connections_waiting", "total_requests",
            ] {
                #expect(server[key] is Int, "\(key)")
            }
            let ready = try client.get("/status/ready")
            #expect(ready.status == 503)
            #expect(ready.body == #"{"message":"no configuration available (empty configuration present)"}"#)
        }
    }

    /// The upstream routes are read-only; the Admin API's routes are not served.
    @Test func upstreamRoutes() async throws {
        let config = """
            _format_version: "3.0"
            upstreams:
            - name: up1
              targets: [{target: "api-1:80", weight: 10}, {target: "api-2:80", weight: 20}]
            """
        try await withNode(config: config) { client in
            #expect(try client.get("/status/ready").status == 200)
            let targets = try client.get("/upstreams/up1/targets/")
            #expect(targets.status == 200)
            #expect(targets.body.contains(#""target":"api-2:80""#))
            // Names that resolve to nothing: Kong's DNS_ERROR.
            #expect(try client.get("/upstreams/up1/health").body.contains(#""health":"DNS_ERROR""#))
            #expect(try client.request("DELETE", "/upstreams/up1/targets/api-1:80").status == 405)
            #expect(try client.get("/services").status == 404)
            #expect(try client.get("/status/dns").status == 501)
        }
    }
}
