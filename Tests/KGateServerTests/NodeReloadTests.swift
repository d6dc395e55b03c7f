import Foundation
import KGateConfig
import KGateSettings
import Logging
import KGateTestSupport
import Testing

@testable import KGateServer

/// A node started in-process follows edits of its config file and refuses bad ones, as seen
/// through the status API on a loopback port.
@Suite(.serialized)
struct NodeReloadTests {
    static let valid = """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://127.0.0.1:9
          routes:
          - name: r
            paths: [/]
        """

    private func makeNode(config: String, in dir: String) async throws -> (Node, Task<Void, Error>, TestHTTPClient) {
        let path = dir + "/kong.yml"
        try config.write(toFile: path, atomically: false, encoding: .utf8)
        let settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [], adminListen: [],
            statusListen: [ListenAddress(host: "127.0.0.1", port: 0)], declarativeConfig: path,
            declarativeConfigDebounce: 50)
        let node = try Node(settings: settings, logger: Logger(label: "test"))
        try await node.start()
        let port = try #require(node.boundPorts("status").first)
        let task = Task { try await node.run() }
        return (node, task, TestHTTPClient(port: port))
    }

    private func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "kgate-node-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private func status(_ client: TestHTTPClient) throws -> [String: Any] {
        let body = try client.get("/status").body
        return try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
    }

    /// Polls `/status` until `condition` holds or `seconds` pass; returns the last status.
    private func waitFor(
        _ client: TestHTTPClient, seconds: Double = 2, _ condition: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try status(client)
        while !condition(last) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            last = try status(client)
        }
        return last
    }

    @Test func followsEditsAndRefusesBadOnes() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (node, task, client) = try await makeNode(config: Self.valid, in: dir)

        let first = try status(client)
        #expect(first["configuration_hash"] as? String == ConfigHash.md5Hex(Array(Self.valid.utf8)))
        #expect(try client.get("/status/ready").status == 200)

        // A valid edit goes live (how fast is `make bench-reload`'s figure, not a test's: a
        // loaded CI machine may take longer than the usual few tens of milliseconds).
        let edited = Self.valid + "\n  tags: [edited]\n"
        try edited.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
        let after = try await waitFor(client, seconds: 10) { $0["configuration_hash"] as? String == ConfigHash.md5Hex(Array(edited.utf8)) }
        #expect(after["configuration_hash"] as? String == ConfigHash.md5Hex(Array(edited.utf8)))

        // A bad edit (editor-style: temp file then rename) is refused; the old hash stays.
        let bad = "_format_version: \"3.0\"\nservices:\n- name: svc\n  port: 99999\n"
        try bad.write(toFile: dir + "/kong.yml", atomically: true, encoding: .utf8)
        let refused = try await waitFor(client) { (($0["reload"] as? [String: Any])?["last_error"] as? [String: Any]) != nil }
        let lastError = try #require((refused["reload"] as? [String: Any])?["last_error"] as? [String: Any])
        #expect(refused["configuration_hash"] as? String == ConfigHash.md5Hex(Array(edited.utf8)))
        #expect(lastError["message"] as? String == "services[1].port: value should be between 0 and 65535")
        let source = try #require(lastError["source"] as? [String: Any])
        #expect(source["line"] as? Int == 4)
        #expect(source["column"] as? Int == 9)

        // Deleting the file keeps the running config; recreating it loads it.
        try FileManager.default.removeItem(atPath: dir + "/kong.yml")
        try await Task.sleep(for: .milliseconds(200))
        #expect(try status(client)["configuration_hash"] as? String == ConfigHash.md5Hex(Array(edited.utf8)))
        try Self.valid.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
        let back = try await waitFor(client) { $0["configuration_hash"] as? String == ConfigHash.md5Hex(Array(Self.valid.utf8)) }
        #expect(back["configuration_hash"] as? String == ConfigHash.md5Hex(Array(Self.valid.utf8)))

        await node.shutdown()
        try await task.value
    }

    /// `spec/02-integration/11-dbless/03-config_persistence_spec.lua`: a restart without a
    /// declarative config serves the config posted before it; with one, the file wins.
    @Test func aRestartServesThePersistedConfigUnlessAFileIsSet() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(declarativeConfig: String?, _ body: (Node) async throws -> Void) async throws {
            let settings = NodeSettings(
                prefix: dir + "/prefix", proxyListen: [], adminListen: [], statusListen: [],
                declarativeConfig: declarativeConfig, declarativeConfigWatch: false)
            let node = try Node(settings: settings, logger: Logger(label: "test"))
            try await node.start()
            let task = Task { try await node.run() }
            try await body(node)
            await node.shutdown()
            try await task.value
        }
        let posted = Self.valid.replacingOccurrences(of: "name: r", with: "name: posted")
        try await run(declarativeConfig: nil) { node in
            #expect(node.store.current.number == 0)
            #expect(await node.coordinator.reload(.bytes(Array(posted.utf8), source: .admin)).generation == 1)
        }
        try await run(declarativeConfig: nil) { node in
            #expect(node.store.current.hash == ConfigHash.md5Hex(Array(posted.utf8)))
            #expect(node.store.current.source == .persisted(path: dir + "/prefix/dbless.config"))
        }
        try Self.valid.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
        try await run(declarativeConfig: dir + "/kong.yml") { node in
            #expect(node.store.current.hash == ConfigHash.md5Hex(Array(Self.valid.utf8)))
        }
    }

    @Test func aBadInitialConfigAbortsTheStartWithKongsText() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try await makeNode(config: "_format_version: \"3.0\"\nservices:\n- name: x\n", in: dir)
            Issue.record("the node started")
        } catch let error as NodeStartError {
            #expect(error.description.hasPrefix("error parsing declarative config file \(dir)/kong.yml:\n"))
            #expect(error.description.contains("in 'host': required field missing"))
        }
    }
}
