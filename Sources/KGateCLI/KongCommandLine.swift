import ArgumentParser

/// What Kong's `bin/kong` does before a command runs: usage on stderr and status 1 without a
/// command, `No such command: <name>` for an unknown one (and `No such command for config:
/// <name>` for an unknown subcommand), and the `[verbose] Kong: <version>` line of `--v`/`--vv`.
enum KongCommandLine {
    /// The commands that take a subcommand.
    private static let groups: [String: any ParsableCommand.Type] = ["config": ConfigCommand.self, "route": RouteCommand.self]

    /// The command names `kgate` runs (or only those its usage lists), sorted.
    static func commandNames(displayedOnly: Bool = false) -> [String] {
        KGateCommand.configuration.subcommands.compactMap { command in
            displayedOnly && !command.configuration.shouldDisplay ? nil : command.configuration.commandName
        }.sorted()
    }

    /// `Usage: kgate COMMAND [OPTIONS]` with the commands, as Kong prints it.
    static var usage: String {
        let names = commandNames(displayedOnly: true)
        return """
            Usage: kgate COMMAND [OPTIONS]

            The available commands are:
             \(names.joined(separator: "\n "))

            Options:
             --v              verbose
             --vv             debug

            """
    }

    /// The exit status when the command line is refused before parsing (the text written to
    /// `console`), nil when it goes on to the parser.
    static func refusal(_ arguments: [String], console: Console) -> Int32? {
        guard let name = arguments.first else {
            console.err(usage)
            return 1
        }
        if name.hasPrefix("-") || name == "help" { return nil }
        guard commandNames().contains(name) else {
            console.err("No such command: \(name)\n\n" + usage)
            return 1
        }
        guard let group = groups[name] else { return nil }
        let subcommands = group.configuration.subcommands.compactMap { $0.configuration.commandName }
        guard let sub = arguments.dropFirst().first else {
            console.err(group.helpMessage(columns: 100) + "\n")
            return 1
        }
        if sub.hasPrefix("-") || subcommands.contains(sub) { return nil }
        console.err("No such command for \(name): \(sub)\n\n" + group.helpMessage(columns: 100) + "\n")
        return 1
    }

    /// Kong's first verbose line (`log.verbose("Kong: %s")`), and kgate's version at `--vv`.
    static func announceVerbose(_ arguments: [String], console: Console) {
        let debug = arguments.contains("--vv")
        guard debug || arguments.contains("--v") else { return }
        console.out(CLILog.line("verbose", "Kong: \(KGateVersion.kongCompatibility)"))
        if debug { console.out(CLILog.line("debug", "kgate: \(KGateVersion.current)")) }
    }
}
