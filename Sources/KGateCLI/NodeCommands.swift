import ArgumentParser
import Foundation
import KGateConfig
import KGateServer
import KGateSettings
import Logging

/// Options shared by the commands that configure or find a node (Kong's `-c` and `-p`).
struct NodeOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("conf")], help: "A kong.conf-style configuration file.")
    var conf: String?

    @Option(name: [.customShort("p"), .customLong("prefix")], help: "The prefix directory (pid file).")
    var prefix: String?

    @OptionGroup var verbosity: Verbosity

    /// Settings from defaults < kong.conf < KONG_* environment < flags; a `-c` file that does
    /// not exist is Kong's `no file at: <path>`.
    func settings(flags extra: [String: String] = [:]) throws -> NodeSettings {
        var text: String?
        if let conf {
            guard let data = FileManager.default.contents(atPath: conf) else {
                throw ExitCode(reportFailure("no file at: \(conf)"))
            }
            text = String(decoding: data, as: UTF8.self)
        }
        return try settings(kongConf: text, path: conf ?? "kong.conf", flags: extra)
    }

    /// The settings of the node running with this prefix: what it wrote to `.kong_env` when it
    /// started, else these options' (Kong's `drain`).
    func runningSettings() throws -> NodeSettings {
        let settings = try self.settings()
        let path = NodeProcess.settingsPath(prefix: settings.prefix)
        guard let data = FileManager.default.contents(atPath: path) else { return settings }
        return try self.settings(kongConf: String(decoding: data, as: UTF8.self), path: path, flags: [:])
    }

    private func settings(kongConf text: String?, path: String, flags extra: [String: String]) throws -> NodeSettings {
        var flags = extra
        if let prefix { flags["--prefix"] = prefix }
        do {
            var settings = try NodeSettings.load(
                kongConf: text, path: path, environment: ProcessInfo.processInfo.environment,
                flags: flags, bundledPlugins: BundledPlugins.names)
            // Kong's conf_loader makes the prefix absolute, so messages and `.kong_env` name it
            // wherever the command was run from.
            settings.prefix = FilePath.absolute(settings.prefix)
            return settings
        } catch {
            // Kong's `assert(conf_loader(...))`: `Error: <the problems>`, status 1, no usage text.
            throw ExitCode(reportFailure(error.messages.joined(separator: "\n")))
        }
    }
}

extension NodeOptions {
    /// Sends `signal` to the node running with this prefix (found through its pid file), after
    /// `prepare` (what the node reads when the signal comes), and says `done` on standard output.
    func signalRunningNode(
        _ signal: Int32, done: String, prepare: (NodeSettings) throws -> Void = { _ in }
    ) throws {
        let settings = try self.settings()
        try requirePrefix(settings)
        let pid = try runningPid(settings)
        try prepare(settings)
        try self.signal(signal, to: pid)
        Console.current.out(done + "\n")
    }

    /// Kong's `no such prefix: <absolute path>` when the prefix directory does not exist.
    func requirePrefix(_ settings: NodeSettings) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: settings.prefix, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            let absolute = URL(fileURLWithPath: settings.prefix).standardizedFileURL.path
            throw ExitCode(reportFailure("no such prefix: \(absolute)"))
        }
    }

    /// The pid of the node running with the prefix, or the failure `kgate is not running in ...`.
    func runningPid(_ settings: NodeSettings) throws -> Int32 {
        guard let pid = NodeProcess.runningPid(prefix: settings.prefix) else {
            throw ExitCode(reportFailure("kgate is not running in \(settings.prefix)"))
        }
        return pid
    }

    func signal(_ signal: Int32, to pid: Int32) throws {
        guard kill(pid, signal) == 0 else { throw ExitCode(reportFailure("could not signal process \(pid)")) }
    }

    func reportFailure(_ message: String) -> Int32 {
        Console.current.err(CLIErrorText.failure(message))
        return 1
    }
}

/// What `kgate start` and `kgate restart` take: Kong's `-c`/`-p` and kgate's listener flags.
struct StartArguments: ParsableArguments {
    @OptionGroup var node: NodeOptions

    @Option(name: .customLong("declarative-config"), help: "The declarative config file to load and watch.")
    var declarativeConfig: String?
    @Option(name: .customLong("proxy-listen"), help: "Proxy listen addresses (Kong's proxy_listen syntax).")
    var proxyListen: String?
    @Option(name: .customLong("admin-listen"), help: "Admin API listen addresses.")
    var adminListen: String?
    @Option(name: .customLong("status-listen"), help: "Status API listen addresses.")
    var statusListen: String?

    /// The node's settings, with the flags given.
    func settings() throws -> NodeSettings {
        var flags: [String: String] = [:]
        flags["--declarative-config"] = declarativeConfig
        flags["--proxy-listen"] = proxyListen
        flags["--admin-listen"] = adminListen
        flags["--status-listen"] = statusListen
        return try node.settings(flags: flags)
    }

    /// Runs a node with `settings` in the foreground until SIGTERM/SIGINT/SIGQUIT.
    func runNode(_ settings: NodeSettings) async throws {
        node.verbosity.announce(settings)
        let logger: Logger
        let errorLog: ErrorLogFile?
        do {
            (logger, errorLog) = try NodeLogging.logger(settings)
        } catch {
            throw ExitCode(node.reportFailure(error.description))
        }
        do {
            let running = try Node(settings: settings, logger: logger, errorLog: errorLog)
            try await running.start()
            try await running.run()
        } catch let error as NodeStartError {
            throw ExitCode(node.reportFailure(error.description))
        }
    }
}

/// `kgate start`: runs a node in the foreground until SIGTERM/SIGINT/SIGQUIT.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a kgate node in the foreground (stops on SIGTERM/SIGINT/SIGQUIT).")

    @OptionGroup var arguments: StartArguments

    func run() async throws {
        try await arguments.runNode(try arguments.settings())
    }
}

/// `kgate reload`: asks the running node (found through its pid file) to reload its config.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Reload the declarative config of the running node (SIGHUP).")

    @OptionGroup var node: NodeOptions

    /// As Kong's `kong reload`: the declarative_config of this command's own settings (its
    /// `-c` file and `KONG_*` environment) is loaded; without one the node keeps its config.
    func run() throws {
        try node.signalRunningNode(SIGHUP, done: "kgate reloaded") { settings in
            let request = ReloadRequest(declarativeConfig: settings.declarativeConfig.map(FilePath.absolute))
            do throws(NodeStartError) {
                try request.write(prefix: settings.prefix)
            } catch {
                throw ExitCode(node.reportFailure(error.description))
            }
        }
    }
}

/// `kgate stop`: asks the running node to shut down gracefully (SIGTERM).
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop the running node gracefully (SIGTERM).")

    @OptionGroup var node: NodeOptions

    func run() throws {
        try node.signalRunningNode(SIGTERM, done: "kgate stopped")
    }
}

/// `kgate drain`: makes the running node's `/status/ready` answer 503 from now on, so that a
/// load balancer stops sending it traffic (Kong's `kong drain`). Like Kong, it reports on
/// standard output and exits 0 whatever the node answered.
struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Make the status listener's /status/ready answer 503 Service Unavailable.")

    @OptionGroup var node: NodeOptions

    func run() throws {
        guard let listener = try node.runningSettings().statusListen.first else {
            Console.current.out("No status listeners found in configuration.\n")
            return
        }
        let url = DrainRequest.url(listener)
        switch DrainRequest.send(to: listener) {
        case .drained: Console.current.out("kgate's status successfully changed to 'draining'\n")
        case .unexpectedStatus(let status): Console.current.out("Unexpected response status from \(url): \(status)\n")
        case .failed(let reason): Console.current.out("Failed to send request to \(url): \(reason)\n")
        }
    }
}

/// swift-log at the node's `log_level`: to stderr, and appended to the error log
/// (`proxy_error_log`) in nginx's format.
enum NodeLogging {
    static func logger(_ settings: NodeSettings) throws(ErrorLogFileError) -> (Logger, ErrorLogFile?) {
        let level = Self.level(settings.logLevel)
        let path = settings.errorLogPath
        // Standard error gets every line already.
        let file = try path.flatMap { path throws(ErrorLogFileError) in
            path == "/dev/stderr" ? nil : try ErrorLogFile(path: path)
        }
        LoggingSystem.bootstrap { label in
            var stderr = StreamLogHandler.standardError(label: label)
            stderr.logLevel = level
            guard let file else { return stderr }
            return MultiplexLogHandler([stderr, ErrorLogHandler(file: file, level: level)])
        }
        return (Logger(label: "kgate"), file)
    }

    static func level(_ level: KGateSettings.LogLevel) -> Logger.Level {
        switch level {
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warn: return .warning
        case .error: return .error
        case .crit, .alert, .emerg: return .critical
        }
    }
}
