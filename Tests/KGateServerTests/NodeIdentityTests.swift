import Foundation
import KGateSettings
import KGateTestSupport
import Logging
import Testing

@testable import KGateServer

/// One node id: the Admin API's `node_id` is what plugins see as `kong.node.get_id()`
/// (request-termination's echo); the `node_id` setting chooses it, else it is random.
@Suite(.serialized)
struct NodeIdentityTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - name: echo
          paths: [/echo]
          plugins: [{name: request-termination, config: {echo: true, status_code: 200}}]
        """

    @Test(arguments: [nil, "0b1d5e4c-4d3b-4b8f-9c1e-2f6a7b8c9d0e"])
    func echoReportsTheAdminNodeID(configured: String?) async throws {
        let dir = NSTemporaryDirectory() + "kgate-node-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let loopback = [ListenAddress(host: "127.0.0.1", port: 0)]
        var settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: loopback, adminListen: loopback, statusListen: [],
            declarativeConfigString: Self.config)
        settings.nodeID = configured
        let node = try Node(settings: settings, logger: Logger(label: "test"))
        try await node.start()
        let task = Task { try await node.run() }

        let admin = try #require(node.boundPorts("admin").first)
        let proxy = try #require(node.boundPorts("proxy").first)
        let root = try JSONSerialization.jsonObject(with: Data(try await Self.body(port: admin, "/").utf8)) as? [String: Any]
        let nodeID = try #require(root?["node_id"] as? String)
        let echo = try JSONSerialization.jsonObject(with: Data(try await Self.body(port: proxy, "/echo").utf8)) as? [String: Any]
        let kong = try #require(echo?["kong"] as? [String: Any])
        #expect(nodeID.count == 36)
        if let configured { #expect(nodeID == configured) }
        #expect(kong["node_id"] as? String == nodeID)

        await node.shutdown()
        try await task.value
    }

    /// A shutdown asked for before `run()` got going (SIGTERM right after the start) is not lost:
    /// `run()` starts the services and stops them at once.
    @Test(.timeLimit(.minutes(1))) func shutdownBeforeRunStopsTheRun() async throws {
        let dir = NSTemporaryDirectory() + "kgate-node-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = NodeSettings(prefix: dir + "/prefix", proxyListen: [], adminListen: [], statusListen: [])
        let node = try Node(settings: settings, logger: Logger(label: "test"))
        try await node.start()
        await node.shutdown()
        try await node.run()
    }

    /// A GET's body, by the blocking client on a thread of its own: the Admin API answers
    /// from a task, which a blocked cooperative thread would hold up.
    static func body(port: Int, _ path: String) async throws -> String {
        try await withCheckedThrowingContinuation { done in
            Thread { done.resume(with: Result { try TestHTTPClient(port: port).get(path).body }) }.start()
        }
    }
}
