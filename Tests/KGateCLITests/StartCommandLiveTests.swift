import Foundation
import KGateConfig
import KGateTestSupport
import Testing

/// `kgate start` as a real process: it serves the status API, follows edits of its config file,
/// refuses bad ones, reloads on `kgate reload`, and exits 0 on SIGTERM.
@Suite(.serialized)
struct StartCommandLiveTests {
    /// The debug `kgate` executable (`swift build --build-tests` builds it with the tests).
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/kgate").path
    }

    private func statusHash(port: Int) -> String? {
        guard let body = try? TestHTTPClient(port: port).get("/status").body,
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        else { return nil }
        return json["configuration_hash"] as? String
    }

    private func waitFor(port: Int, hash: String, seconds: Double = 3) async -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if statusHash(port: port) == hash { return Date().timeIntervalSince(start) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test func startReloadAndStop() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build kgate first: \(Self.binary)")
        let dir = NSTemporaryDirectory() + "kgate-start-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/kong.yml"
        let first = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n"
        try first.write(toFile: config, atomically: false, encoding: .utf8)
        let port = Int.random(in: 20000..<40000)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "start", "--declarative-config", config, "--proxy-listen", "off", "--admin-listen", "off",
            "--status-listen", "127.0.0.1:\(port)", "-p", dir + "/prefix",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(first.utf8))) != nil)

        let second = first + "  tags: [two]\n"
        try second.write(toFile: config, atomically: true, encoding: .utf8)
        let seconds = await waitFor(port: port, hash: ConfigHash.md5Hex(Array(second.utf8)))
        #expect(seconds != nil && seconds! < 1.0)

        // A bad edit keeps the old hash.
        try "_format_version: \"3.0\"\nservices:\n- name: a\n".write(toFile: config, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(600))
        #expect(statusHash(port: port) == ConfigHash.md5Hex(Array(second.utf8)))

        // `kgate reload` finds the node through its pid file.
        let third = first + "  tags: [three]\n"
        try third.write(toFile: config, atomically: false, encoding: .utf8)
        let reload = Process()
        reload.executableURL = URL(fileURLWithPath: Self.binary)
        reload.arguments = ["reload", "-p", dir + "/prefix"]
        reload.standardOutput = FileHandle.nullDevice
        try reload.run()
        reload.waitUntilExit()
        #expect(reload.terminationStatus == 0)
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(third.utf8))) != nil)

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/prefix/pids/kgate.pid"))
    }
}
