import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

        /// - Parameter fileLimit: the node's `ulimit -n`, when it should be lower than the tests'.
        init(config text: String, fileLimit: Int? = nil, environment: [String: String] = [:]) throws {
            try #require(FileManager.default.isExecutableFile(atPath: binary), "build kgate first: \(binary)")
            dir = NSTemporaryDirectory() + "kgate-start-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
            port = StartCommandLiveTests.unusedPort()
            process = try kgate(
                discardingOutput: true, logFile: dir + "/kgate.log", fileLimit: fileLimit, environment: environment, "start", "--declarative-config", dir + "/kong.yml", "--proxy-listen", "off", "--admin-listen", "off",
                "--status-listen", "127.0.0.1:\(port)", "-p", dir + "/prefix")
        }

        /// What the node logged (its standard error).
        var log: String { (try? String(contentsOfFile: dir + "/kgate.log", encoding: .utf8)) ?? "" }

        /// Stops the node if it still runs and removes the directory.
        func cleanUp() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            if process.terminationStatus != 0 || process.terminationReason != .exit { print("kgate log:\n" + log) }
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
        // Live without a signal (the reload latency itself is `make bench-reload`'s figure).
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(second.utf8)), seconds: 10) != nil)

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

        // Kong's pid file, where Kong's tooling looks for the process to signal.
        let pid = try String(contentsOfFile: dir + "/prefix/pids/nginx.pid", encoding: .utf8)
        #expect(pid == "\(process.processIdentifier)\n")

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/prefix/pids/nginx.pid"))
    }

    /// `kgate reload` as Kong's `kong reload` (`11-dbless/03-config_persistence_spec.lua`): the
    /// declarative_config of the command's own settings is loaded (environment, `-c` file);
    /// without one the node keeps the config it runs, and a plain SIGHUP reloads its own file.
    @Test func reloadLoadsWhatItsOwnSettingsName() async throws {
        let first = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n"
        // No file watching: only the reloads load anything.
        let node = try StartedNode(config: first, environment: ["KONG_DECLARATIVE_CONFIG_WATCH": "off"])
        defer { node.cleanUp() }
        #expect(await waitFor(port: node.port, hash: ConfigHash.md5Hex(Array(first.utf8))) != nil)
        func reload(environment: [String: String] = [:], _ arguments: String...) throws -> Int32 {
            try Self.reload(prefix: node.prefix, environment: environment, arguments)
        }

        let second = first + "  tags: [two]\n"
        try second.write(toFile: node.config, atomically: true, encoding: .utf8)
        // No declarative_config in the command's settings: the running config stays.
        #expect(try reload() == 0)
        try await Task.sleep(for: .milliseconds(500))
        #expect(statusHash(port: node.port) == ConfigHash.md5Hex(Array(first.utf8)))
        #expect(node.log.contains("keeping the running config"))

        // From the environment.
        #expect(try reload(environment: ["KONG_DECLARATIVE_CONFIG": node.config]) == 0)
        #expect(await waitFor(port: node.port, hash: ConfigHash.md5Hex(Array(second.utf8))) != nil)

        // Another file, named by a `-c` kong.conf.
        let third = first + "  tags: [three]\n"
        try third.write(toFile: node.dir + "/other.yml", atomically: true, encoding: .utf8)
        try "declarative_config = \(node.dir)/other.yml\n".write(toFile: node.dir + "/r.conf", atomically: true, encoding: .utf8)
        #expect(try reload("-c", node.dir + "/r.conf") == 0)
        #expect(await waitFor(port: node.port, hash: ConfigHash.md5Hex(Array(third.utf8))) != nil)

        // A plain SIGHUP reloads the file the node started with.
        kill(node.process.processIdentifier, SIGHUP)
        #expect(await waitFor(port: node.port, hash: ConfigHash.md5Hex(Array(second.utf8))) != nil)
    }

    /// Runs `kgate reload -p prefix` with `arguments` and `environment` (no other `KONG_*`).
    private static func reload(prefix: String, environment: [String: String] = [:], _ arguments: [String]) throws -> Int32 {
        let r = Process()
        r.executableURL = URL(fileURLWithPath: binary)
        r.arguments = ["reload", "-p", prefix] + arguments
        r.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KONG_") }
            .merging(environment) { $1 }
        r.standardOutput = FileHandle.nullDevice
        r.standardError = FileHandle.nullDevice
        try r.run()
        r.waitUntilExit()
        return r.terminationStatus
    }

    /// After `kgate reload` loaded another file, edits of the start file do not replace it (the
    /// watcher would otherwise bring the start file back); once the start file is loaded again
    /// (a plain SIGHUP), its edits are followed again.
    @Test func watcherFollowsTheStartFileOnlyWhileItRuns() async throws {
        let first = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n"
        let node = try StartedNode(config: first)
        defer { node.cleanUp() }
        func hash(_ text: String) -> String { ConfigHash.md5Hex(Array(text.utf8)) }
        #expect(await waitFor(port: node.port, hash: hash(first)) != nil)

        let other = first + "  tags: [other]\n"
        try other.write(toFile: node.dir + "/other.yml", atomically: true, encoding: .utf8)
        #expect(try Self.reload(prefix: node.prefix, environment: ["KONG_DECLARATIVE_CONFIG": node.dir + "/other.yml"], []) == 0)
        #expect(await waitFor(port: node.port, hash: hash(other)) != nil)

        let edited = first + "  tags: [edited]\n"
        try edited.write(toFile: node.config, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(1000))
        #expect(statusHash(port: node.port) == hash(other))
        #expect(node.log.contains("not reloaded"))

        kill(node.process.processIdentifier, SIGHUP)
        #expect(await waitFor(port: node.port, hash: hash(edited)) != nil)
        let again = first + "  tags: [again]\n"
        try again.write(toFile: node.config, atomically: true, encoding: .utf8)
        #expect(await waitFor(port: node.port, hash: hash(again), seconds: 10) != nil)
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

    /// `07-health_spec.lua`, `08-quit_spec.lua`, `13-signals_spec.lua` (USR1): `kgate health`
    /// reports the running node; SIGUSR1 (log rotation) reopens the error log and does not end
    /// it; `kgate quit` stops it
    /// gracefully (SIGQUIT) and the node exits 0.
    @Test func healthSignalsAndQuit() async throws {
        let config = "_format_version: \"3.0\"\nservices:\n- name: example\n  url: http://127.0.0.1:9\n"
        let started = try StartedNode(config: config)
        defer { started.cleanUp() }
        let (prefix, port, node) = (started.prefix, started.port, started.process)
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(config.utf8))) != nil)

        let health = try Self.kgate("health", "-p", prefix)
        let said = String(decoding: try health.standardOutputPipe.readToEnd() ?? Data(), as: UTF8.self)
        health.waitUntilExit()
        #expect(health.terminationStatus == 0)
        #expect(said == "kgate.......running\n\nkgate is healthy at \(prefix)\n")

        // Log rotation: the file is moved away, then SIGUSR1 makes the node open the path again.
        let log = prefix + "/logs/error.log"
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        kill(node.processIdentifier, SIGUSR1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(node.isRunning)
        #expect(try TestHTTPClient(port: port).get("/status").status == 200)
        #expect(try String(contentsOfFile: log + ".1", encoding: .utf8).contains("kgate started"))
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("SIGUSR1: reopened the error log"))

        let quit = try Self.kgate("quit", "--timeout", "5", "-p", prefix)
        let quitSaid = String(decoding: try quit.standardOutputPipe.readToEnd() ?? Data(), as: UTF8.self)
        quit.waitUntilExit()
        #expect(quit.terminationStatus == 0)
        #expect(quitSaid == "kgate stopped (gracefully)\n")
        node.waitUntilExit()
        #expect(node.terminationStatus == 0)
    }

    /// `02-cmd/06-restart` and `11-dbless/03-config_persistence_spec.lua`: `kgate restart` stops
    /// the node of the prefix and runs a new one, which loads the declarative config again.
    @Test func restartReplacesTheRunningNode() async throws {
        let config = "_format_version: \"3.0\"\nservices:\n- name: example\n  url: http://127.0.0.1:9\n"
        let started = try StartedNode(config: config)
        defer { started.cleanUp() }
        let (prefix, port, old) = (started.prefix, started.port, started.process)
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(config.utf8))) != nil)

        let restarted = try Self.kgate(
            discardingOutput: true, "restart", "--declarative-config", started.config, "--proxy-listen", "off",
            "--admin-listen", "off", "--status-listen", "127.0.0.1:\(port)", "-p", prefix)
        defer { if restarted.isRunning { restarted.terminate() } }
        old.waitUntilExit()
        #expect(old.terminationStatus == 0)
        #expect(await waitFor(port: port, hash: ConfigHash.md5Hex(Array(config.utf8)), seconds: 8) != nil)
        #expect(restarted.isRunning)
        restarted.terminate()
        restarted.waitUntilExit()
        #expect(restarted.terminationStatus == 0)
    }

    /// A supervisor's SIGTERM while the node is still starting (writing its prefix, loading a
    /// large config, binding) stops it gracefully, exit 0, instead of killing it: the signals
    /// are trapped before anything is written.
    @Test func sigtermWhileStartingStopsGracefully() async throws {
        let services = (0..<2000).map { "- name: s\($0)\n  url: http://127.0.0.1:9\n  routes:\n  - paths: [/s\($0)]\n" }
        let node = try StartedNode(config: "_format_version: \"3.0\"\nservices:\n" + services.joined())
        defer { node.cleanUp() }
        let written = Date()
        while !FileManager.default.fileExists(atPath: node.prefix + "/.kong_env"), Date().timeIntervalSince(written) < 10 {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(statusHash(port: node.port) == nil, "still loading when the signal is sent")
        node.process.terminate()
        node.process.waitUntilExit()
        #expect(node.process.terminationReason == .exit)
        #expect(node.process.terminationStatus == 0)
    }

    /// nginx's answer to running out of descriptors (`accept4() failed (24: Too many open
    /// files)`, then a pause): the listener stops accepting for a moment instead of retrying the
    /// failing accept at full CPU, and serves again once connections close.
    @Test func outOfDescriptorsPausesAccepting() async throws {
        let config = "_format_version: \"3.0\"\nservices:\n- name: example\n  url: http://127.0.0.1:9\n"
        let node = try StartedNode(config: config, fileLimit: 96)
        defer { node.cleanUp() }
        #expect(await waitFor(port: node.port, hash: ConfigHash.md5Hex(Array(config.utf8))) != nil)
        // More connections than the node has descriptors left: the kernel queues the rest.
        var sockets = (0..<160).compactMap { _ in Self.connectedSocket(port: node.port) }
        defer { for s in sockets { close(s) } }
        #expect(sockets.count == 160)
        try await Task.sleep(for: .milliseconds(300))
        let pid = node.process.processIdentifier
        let before = try #require(Self.cpuTicks(pid))
        try await Task.sleep(for: .seconds(1))
        let used = try #require(Self.cpuTicks(pid)) - before
        #expect(used < 30, "a node retrying accept uses a whole core (100 ticks a second); this one used \(used)")
        for s in sockets { close(s) }
        sockets = []
        var status: Int?
        let deadline = Date().addingTimeInterval(5)
        while status != 200, Date() < deadline {
            status = try? TestHTTPClient(port: node.port).get("/status").status
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
    }

    /// Kong's error log (`proxy_error_log`, `<prefix>/logs/error.log`): the node's lines in
    /// nginx's format, among them nginx's line for a failed try, which Kong's specs look for
    /// (`assert.logfile().has.line(...)`); truncating the file (`helpers.clean_logfile`) keeps
    /// it written.
    @Test func errorLogInThePrefix() async throws {
        let dir = NSTemporaryDirectory() + "kgate-errlog-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n  retries: 0\n"
            + "  routes:\n  - paths: [/dead]\n"
        try config.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
        let (proxyPort, statusPort) = (Self.unusedPort(), Self.unusedPort())
        let node = try Self.kgate(
            discardingOutput: true, "start", "--declarative-config", dir + "/kong.yml", "--proxy-listen",
            "127.0.0.1:\(proxyPort)", "--admin-listen", "off", "--status-listen", "127.0.0.1:\(statusPort)", "-p",
            dir + "/prefix")
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        #expect(await waitFor(port: statusPort, hash: ConfigHash.md5Hex(Array(config.utf8))) != nil)
        let log = dir + "/prefix/logs/error.log"
        func lines() -> [String] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        // The status API answers as soon as it is bound; the node logs "started" just after.
        _ = await waitUntil { lines().contains { $0.contains("kgate started") } }
        let startedLine = try #require(lines().first { $0.contains("kgate started") })
        #expect(startedLine.wholeMatch(of: #/\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: kgate started, .*/#) != nil)

        // Emptied as Kong's test helpers do (`:> logs/error.log`): later lines start at its top.
        try "".write(toFile: log, atomically: false, encoding: .utf8)
        let response = try TestHTTPClient(port: proxyPort).get("/dead?x=1")
        #expect(response.status == 502)
        let failed = try #require(lines().first)
        #expect(failed.contains("[error]"))
        #expect(
            failed.contains(
                "connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, "
                    + "server: kong, request: \"GET /dead?x=1 HTTP/1.1\", upstream: \"http://127.0.0.1:9/?x=1\", "
                    + "host: \"127.0.0.1:\(proxyPort)\", request_id: \"\(response.header("X-Kong-Request-Id") ?? "")\""))
    }

    /// Kong's access logs: `logs/access.log` (Kong's `kong_log_format`, with the request id
    /// the client got) and `logs/admin_access.log` (nginx's `combined`) in the prefix; the status
    /// server's is off by default, and `KONG_STATUS_ACCESS_LOG` turns it on.
    @Test func accessLogsInThePrefix() async throws {
        let dir = NSTemporaryDirectory() + "kgate-acclog-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://127.0.0.1:9\n  retries: 0\n"
            + "  routes:\n  - paths: [/dead]\n"
        try config.write(toFile: dir + "/kong.yml", atomically: false, encoding: .utf8)
        let (proxyPort, adminPort, statusPort) = (Self.unusedPort(), Self.unusedPort(), Self.unusedPort())
        let node = try Self.kgate(
            discardingOutput: true, environment: ["KONG_STATUS_ACCESS_LOG": "logs/status_access.log"], "start",
            "--declarative-config", dir + "/kong.yml", "--proxy-listen", "127.0.0.1:\(proxyPort)", "--admin-listen",
            "127.0.0.1:\(adminPort)", "--status-listen", "127.0.0.1:\(statusPort)", "-p", dir + "/prefix")
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        // A busy machine once took over 3 s to start this node (three listeners, three logs).
        try #require(await waitFor(port: statusPort, hash: ConfigHash.md5Hex(Array(config.utf8)), seconds: 10) != nil)
        func lines(_ name: String, atLeast count: Int) async -> [String] {
            func read() -> [String] {
                ((try? String(contentsOfFile: dir + "/prefix/logs/" + name, encoding: .utf8)) ?? "")
                    .split(separator: "\n").map(String.init)
            }
            _ = await waitUntil { read().count >= count }
            return read()
        }
        let response = try TestHTTPClient(port: proxyPort).get("/dead?x=1")
        #expect(response.status == 502)
        let proxied = try #require(await lines("access.log", atLeast: 1).first)
        let id = try #require(response.header("X-Kong-Request-Id"))
        #expect(
            proxied.wholeMatch(of: #/127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/dead\?x=1 HTTP\/1\.1" 502 \d+ "-" "[^"]*" kong_request_id: "(\w+)"/#)?.1
                == Substring(id))

        #expect(try TestHTTPClient(port: adminPort).get("/status").status == 200)
        let admin = try #require(await lines("admin_access.log", atLeast: 1).first)
        #expect(admin.wholeMatch(of: #/127\.0\.0\.1 - - \[[^\]]+\] "GET \/status HTTP\/1\.1" 200 \d+ "-" "[^"]*"/#) != nil)
        // The status server's own requests (the readiness polls above) are in its log.
        let status = await lines("status_access.log", atLeast: 1)
        #expect(status.first?.contains("\"GET /status HTTP/1.1\" 200 ") == true)
    }

    /// A loopback port nothing is bound to, below the kernel's ephemeral range (32768 and up),
    /// where the tests' own client connections and port-0 servers would take ports: a child
    /// node binding a port one of them holds fails to start.
    static func unusedPort() -> Int {
        while true {
            let port = Int.random(in: 20000..<32000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return port }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
    }

    /// A blocking TCP socket connected to 127.0.0.1:`port`, or nil.
    private static func connectedSocket(port: Int) -> Int32? {
        try? LoopbackSocket.connect(port: port)
    }

    /// User + system CPU time of a process so far, in clock ticks (`/proc/<pid>/stat`).
    private static func cpuTicks(_ pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Runs `kgate` with these arguments and no `KONG_*` variables, its output in pipes, or
    /// discarded (a node's log would fill a pipe no one reads).
    private static func kgate(
        discardingOutput: Bool = false, logFile: String? = nil, fileLimit: Int? = nil,
        environment: [String: String] = [:], _ arguments: String...
    ) throws -> Process {
        let process = Process()
        if let fileLimit {
            // The shell lowers the limit, then becomes kgate (same pid).
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" \"$@\"", binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KONG_") }
            .merging(environment) { $1 }
        process.standardOutput = discardingOutput ? FileHandle.nullDevice : Pipe()
        process.standardError = discardingOutput ? FileHandle.nullDevice : Pipe()
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: logFile)
        }
        try process.run()
        return process
    }
}

private extension Process {
    var standardOutputPipe: FileHandle { (standardOutput as! Pipe).fileHandleForReading }
    var standardErrorPipe: FileHandle { (standardError as! Pipe).fileHandleForReading }
}
