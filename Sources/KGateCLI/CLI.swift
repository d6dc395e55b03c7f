import ArgumentParser
import KGateConfig
import KGateStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `kgate` command line: `kgate config parse|init`, `kgate start|stop|quit|restart|reload|health|drain`,
/// `kgate check`, `kgate route test`, `kgate version`.
///
/// Run it with `KGateCommand.launch()` (the executable does), or in-process with
/// `KGateCommand.run(arguments:console:)`, which returns the exit status instead of exiting.
public struct KGateCommand: AsyncParsableCommand {
    /// The command tree.
    public static let configuration = CommandConfiguration(
        commandName: "kgate",
        abstract: "A Kong-compatible, DB-less API gateway.",
        discussion: """
            kgate reads the declarative configuration Kong's DB-less mode reads (kong.yml, \
            _format_version 3.0, 2.1 or 1.1) and reports errors as Kong does, with the \
            file:line:column of each.
            """,
        version: KGateVersion.versionLine,
        subcommands: [
            ConfigCommand.self, StartCommand.self, StopCommand.self, QuitCommand.self, RestartCommand.self,
            ReloadCommand.self, HealthCommand.self, CheckCommand.self, DrainCommand.self, RouteCommand.self,
            VersionCommand.self, RoarCommand.self,
        ]
    )

    /// Required by `ParsableCommand`.
    public init() {}

    /// Parses `CommandLine.arguments`, runs the command (awaiting the long-running ones such as
    /// `kgate start`) and exits with its status.
    public static func launch() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let status = KongCommandLine.refusal(arguments, console: .standard) { Self.exit(withError: ExitCode(status)) }
        KongCommandLine.announceVerbose(arguments, console: .standard)
        let status: Int32
        do {
            var command = try parseAsRoot(arguments)
            if var long = command as? AsyncParsableCommand {
                try await long.run()
            } else {
                try command.run()
            }
            status = 0
        } catch {
            status = report(error, console: .standard)
        }
        Self.exit(withError: status == 0 ? nil : ExitCode(status))
    }

    /// Parses and runs a command line (without the program name), writing to `console`.
    /// Returns the exit status: 0 on success, 1 for a failure or a usage error (as Kong's
    /// `lapp.quit`).
    public static func run(arguments: [String], console: Console) -> Int32 {
        if let status = KongCommandLine.refusal(arguments, console: console) { return status }
        KongCommandLine.announceVerbose(arguments, console: console)
        return Console.$current.withValue(console) {
            do {
                var command = try parseAsRoot(arguments)
                try command.run()
                return 0
            } catch {
                return report(error, console: console)
            }
        }
    }

    /// Writes a command's error as ArgumentParser would and returns the exit status. As Kong's
    /// CLI (Penlight's `lapp`): help and usage go to stderr, and a usage error exits with 1.
    static func report(_ error: any Error, console: Console) -> Int32 {
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        let isVersion = message.hasPrefix(KGateVersion.versionLine)
        if !message.isEmpty {
            let text = message.hasSuffix("\n") ? message : message + "\n"
            if isVersion { console.out(text) } else { console.err(text) }
        }
        return code == .validationFailure ? 1 : code.rawValue
    }
}

/// Where commands write: stdout and stderr, or a capture in tests.
public struct Console: Sendable {
    /// Writes to standard output.
    public var out: @Sendable (String) -> Void
    /// Writes to standard error.
    public var err: @Sendable (String) -> Void

    /// Makes a console from two writers.
    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.out = out
        self.err = err
    }

    /// The process's standard output and error.
    public static let standard = Console(
        out: { _ = writeAll(to: 1, $0.utf8) },
        err: { _ = writeAll(to: 2, $0.utf8) })

    /// The console of the command being run.
    @TaskLocal public static var current: Console = .standard
}

/// kgate's version and the Kong version whose behaviour it follows.
public enum KGateVersion {
    /// kgate's own version.
    public static let current = "0.1.0"
    /// The Kong release kgate is compatible with (`kong/meta.lua`).
    public static let kongCompatibility = "3.10.0"
    /// `kgate 0.1.0 (Kong 3.10.0 compatible)`.
    public static var versionLine: String { "kgate \(current) (Kong \(kongCompatibility) compatible)" }
}

/// `kgate version`: the Kong version kgate behaves as (what `kong version` prints); with
/// `--all`, kgate's own version too.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the Kong version kgate is compatible with; --all adds kgate's own.")

    @Flag(name: [.customShort("a"), .long], help: "Also print kgate's own version.")
    var all = false

    @OptionGroup var verbosity: Verbosity

    func run() throws {
        if all {
            Console.current.out("Kong: \(KGateVersion.kongCompatibility)\nkgate: \(KGateVersion.current)\n")
        } else {
            Console.current.out("\(KGateVersion.kongCompatibility)\n")
        }
    }
}

/// `kgate roar`, Kong's hidden greeting.
struct RoarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "roar", shouldDisplay: false)

    @OptionGroup var verbosity: Verbosity

    func run() throws {
        Console.current.out("Kong, Monolith destroyer.\n\nkgate answers for it here: DB-less, declarative, in Swift.\n")
    }
}

extension ParsableCommand {
    /// Reports `message` as Kong's CLI does (`Error: ...` + the verbose hint); throw the result
    /// to exit with status 1.
    func fail(_ message: String) -> ExitCode {
        Console.current.err(CLIErrorText.failure(message))
        return ExitCode(1)
    }
}
