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

    /// A node run by `kgate start` in a directory of its own: `kong.yml`, the status listener on
    /// a random loopback port, no proxy or admin listener.
    private struct StartedNode {
        let dir: String
        let process: Process
        let port: Int
        var config: String { dir + "/kong.yml" }
        var prefix: String { dir + "/prefix" }

        init(config text: String) throws {
            try #require(FileManager.default.isExecutableFile(atPath: binary), "build kgate first: \(binary)")
            dir = NSTemporaryDirectory() + "kgate-start-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
            port = Int.random(in: 20000..<40000)
            process = try kgate(
                discardingOutput: true, "start", "--declarative-config", dir + "/kong.yml", "--proxy-listen", "off", "--admin-listen", "off",
                "--status-listen", "127.0.0.1:\(port)", "-p", dir + "/prefix")
        }

        /// Stops the node if it still runs and removes the directory.
        func cleanUp() {
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test func startReloadAndStop() async throws {
        let first = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n"
        let node = try StartedNode(config: first)
        defer { node.cleanUp() }
        let (config, port, process, dir) = (node.config, node.port, node.process, node.dir)

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

    /// `02-cmd/17-drain_spec.lua` (DB-less): `kgate drain` finds the status listener in the
    /// `.kong_env` the node wrote, though it was only given on the node's command line; then
    /// `/status/ready` is 503. `02-start_stop_spec.lua`: a second start in the same prefix is
    /// refused and leaves `.kong_env` alone.
    @Test func drainFindsTheStatusListenerOfTheRunningNode() async throws {
        let config = "_format_version: \"3.0\"\nservices:\n- name: example\n  url: http://127.0.0.1:9\n"
        let started = try StartedNode(config: config)
        defer { started.cleanUp() }
        let (prefix, port, node) = (started.prefix, started.port, started.process)
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(config.utf8))) != nil)
        #expect(try TestHTTPClient(port: port).get("/status/ready").status == 200)
        let settingsBefore = try String(contentsOfFile: prefix + "/.kong_env", encoding: .utf8)

        let again = try Self.kgate("start", "--proxy-listen", "off", "--admin-listen", "off", "-p", prefix)
        let refusal = String(decoding: try again.standardErrorPipe.readToEnd() ?? Data(), as: UTF8.self)
        again.waitUntilExit()
        #expect(again.terminationStatus == 1)
        #expect(refusal.hasPrefix("Error: kgate is already running in \(prefix)\n"))
        #expect(try String(contentsOfFile: prefix + "/.kong_env", encoding: .utf8) == settingsBefore)

        let drain = try Self.kgate("drain", "-p", prefix)
        let said = String(decoding: try drain.standardOutputPipe.readToEnd() ?? Data(), as: UTF8.self)
        drain.waitUntilExit()
        #expect(drain.terminationStatus == 0)
        #expect(said == "kgate's status successfully changed to 'draining'\n")
        let ready = try TestHTTPClient(port: port).get("/status/ready")
        #expect(ready.status == 503)
        #expect(ready.body == #"{"message":"draining"}"#)

        node.terminate()
        node.waitUntilExit()
    }

    /// Runs `kgate` with these arguments and no `KONG_*` variables, its output in pipes, or
    /// discarded (a node's log would fill a pipe no one reads).
    private static func kgate(discardingOutput: Bool = false, _ arguments: String...) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KONG_") }
        process.standardOutput = discardingOutput ? FileHandle.nullDevice : Pipe()
        process.standardError = discardingOutput ? FileHandle.nullDevice : Pipe()
        try process.run()
        return process
    }
}

private extension Process {
    var standardOutputPipe: FileHandle { (standardOutput as! Pipe).fileHandleForReading }
    var standardErrorPipe: FileHandle { (standardError as! Pipe).fileHandleForReading }
}
