import ArgumentParser
import Foundation
import KGateConfig
import KGateServer
import KGateSettings

/// `kgate check [<conf>]`: validates a kong.conf-style file without starting anything (Kong's
/// `kong check`). Each problem is an `[error]` line on standard error, status 1.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the validity of a given kong.conf-style configuration file.")

    @Argument(help: "The configuration file.")
    var conf = "/etc/kong/kong.conf"

    @OptionGroup var verbosity: Verbosity

    func run() throws {
        let console = Console.current
        guard let data = FileManager.default.contents(atPath: conf) else {
            console.err(CLILog.line("error", "no file at: \(conf)"))
            throw ExitCode(1)
        }
        do {
            _ = try NodeSettings.load(
                kongConf: String(decoding: data, as: UTF8.self), path: conf,
                environment: ProcessInfo.processInfo.environment, flags: [:], bundledPlugins: BundledPlugins.names)
        } catch {
            for message in error.messages { console.err(CLILog.line("error", message)) }
            throw ExitCode(1)
        }
        console.out("configuration at \(conf) is valid\n")
    }
}

/// `kgate health [-p prefix]`: whether a node runs with the prefix (Kong's `kong health`),
/// status 1 when none does.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Check if a kgate node is running with the prefix.")

    @OptionGroup var node: NodeOptions

    func run() throws {
        let settings = try node.settings()
        try node.requirePrefix(settings)
        let notRunning = "kgate is not running at \(settings.prefix)"
        guard FileManager.default.fileExists(atPath: NodeProcess.settingsPath(prefix: settings.prefix)) else {
            throw ExitCode(node.reportFailure(notRunning))
        }
        let running = NodeProcess.runningPid(prefix: settings.prefix) != nil
        // Kong's `ljust("nginx", 12, ".") .. "running"`, then an empty line.
        Console.current.out("kgate".padding(toLength: 12, withPad: ".", startingAt: 0) + (running ? "running" : "not running") + "\n\n")
        guard running else { throw ExitCode(node.reportFailure(notRunning)) }
        Console.current.out("kgate is healthy at \(settings.prefix)\n")
    }
}

/// `kgate quit`: Kong's graceful quit. Optionally waits `--wait` seconds, sends SIGQUIT (the
/// node finishes the requests in flight), and kills the node if it is still running after
/// `--timeout` seconds (at least 1).
struct QuitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quit",
        abstract: "Gracefully quit the running node (SIGQUIT), forcefully after a timeout.")

    @OptionGroup var node: NodeOptions

    @Option(name: [.customShort("t"), .customLong("timeout")], help: "Seconds before a forced shutdown.")
    var timeout: Double = 10

    @Option(name: [.customShort("w"), .customLong("wait")], help: "Seconds to wait before starting the shutdown.")
    var wait: Double = 0

    func run() throws {
        let settings = try node.settings()
        try node.requirePrefix(settings)
        let console = Console.current
        if wait > 0 {
            let stopped = NodeExit.wait(prefix: settings.prefix, seconds: wait)
            if stopped {
                console.err(CLILog.line("error", "kgate stopped while waiting (unexpected)"))
                return
            }
        }
        try node.signal(SIGQUIT, to: try node.runningPid(settings))
        if NodeExit.wait(prefix: settings.prefix, seconds: max(timeout, 1)) {
            console.out("kgate stopped (gracefully)\n")
            return
        }
        if let pid = NodeProcess.runningPid(prefix: settings.prefix) { kill(pid, SIGKILL) }
        console.out("Timeout, kgate stopped forcefully\n")
    }
}

/// `kgate restart`: stops the node running with the prefix, if any, then runs a node in the
/// foreground as `kgate start` does (Kong's `kong restart`: `kong stop`, then `kong start`).
struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Stop the node running with the prefix (if any), then start one in the foreground.")

    @OptionGroup var arguments: StartArguments

    func run() async throws {
        let settings = try arguments.settings()
        if let pid = NodeProcess.runningPid(prefix: settings.prefix) {
            kill(pid, SIGTERM)
            // As Kong, give the old node 5 seconds; a node still running makes the start fail.
            _ = NodeExit.wait(prefix: settings.prefix, seconds: 5)
        }
        try await arguments.runNode(settings)
    }
}

/// Waiting for the node of a prefix to exit, polling its pid file as Kong polls nginx's.
enum NodeExit {
    /// Polls every 0.2 s for up to `seconds`; true as soon as no node runs with the prefix.
    static func wait(prefix: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if NodeProcess.runningPid(prefix: prefix) == nil { return true }
            usleep(200_000)
        } while Date() < deadline
        return NodeProcess.runningPid(prefix: prefix) == nil
    }
}
