import ArgumentParser
import Foundation
import KGateSettings

/// Kong's `--v` (verbose) and `--vv` (debug), accepted by every command as `kong` accepts them.
///
/// `kgate start` and `kgate restart` then print what Kong's CLI prints at those levels: the
/// prefix in use, and with `--vv` the `KONG_*` variables found and every setting (secrets
/// redacted), in alphabetical order.
struct Verbosity: ParsableArguments {
    @Flag(name: .customLong("v"), help: "Verbose output.")
    var verbose = false

    @Flag(name: .customLong("vv"), help: "Debug output.")
    var debug = false

    /// Prints the settings of a node about to start at the chosen level.
    func announce(_ settings: NodeSettings, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard verbose || debug else { return }
        let console = Console.current
        console.out(CLILog.line("verbose", "prefix in use: \(settings.prefix)"))
        guard debug else { return }
        let sensitive = Set(NodeSettings.sensitiveProperties)
        let entries = settings.redactedConfiguration.sorted { $0.name < $1.name }
        for entry in entries {
            guard let found = environment["KONG_" + entry.name.uppercased()] else { continue }
            let shown = sensitive.contains(entry.name) ? NodeSettings.redactedPlaceholder : found
            console.out(CLILog.line("debug", "KONG_\(entry.name.uppercased()) ENV found with \"\(shown)\""))
        }
        for entry in entries where entry.value != .none {
            console.out(CLILog.line("debug", "\(entry.name) = \(CLILog.pretty(entry.value))"))
        }
    }
}

/// Lines in the shape of Kong's CLI log (`kong/cmd/utils/log.lua`).
enum CLILog {
    /// `2024/05/01 12:00:00 [<level>] <message>` and a line break: Kong's CLI prefixes warnings,
    /// errors and (in verbose mode) every line with the local time and the level.
    static func line(_ level: String, _ message: String, at time: time_t = time(nil)) -> String {
        var seconds = time
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y/%m/%d %H:%M:%S", &parts)
        let stamp = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(stamp) [\(level)] \(message)\n"
    }

    /// A setting as Penlight's `pretty.write` shows it in Kong's `--vv` listing: strings quoted,
    /// lists as `{"a","b"}`, booleans `true`/`false`.
    static func pretty(_ value: SettingValue) -> String {
        switch value {
        case .string(let s): "\"\(s)\""
        case .integer(let n): String(n)
        case .boolean(let b): b ? "true" : "false"
        case .list(let items): "{" + items.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        case .none: "nil"
        }
    }
}
