#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateStore
import Logging

/// Kong's error log (`proxy_error_log`, `<prefix>/logs/error.log` by default): the node's log
/// lines appended in nginx's error-log format, where Kong's users and tools (and Kong's own
/// specs, through `logs/error.log`) look for them:
///
/// ```
/// 2026/11/22 01:07:23 [error] 4242#0: message, key: value, key: value
/// ```
///
/// Each line is one append to a ``LogFile`` (so `:> logs/error.log` and SIGUSR1 after rotation
/// work as with nginx). Logging is off the proxy's hot path.
public final class ErrorLogFile: Sendable {
    private let file: LogFile
    private let pid = getpid()

    /// The path it writes to.
    public var path: String { file.path }

    /// Opens (creating it and its directory if needed) the file at `path` for appending.
    public init(path: String) throws(ErrorLogFileError) {
        do { file = try LogFile(path: path, makingDirectory: true) } catch {
            throw ErrorLogFileError(path: path, reason: error.reason)
        }
    }

    /// Opens the path again (creating the file), then closes the old descriptor; on failure
    /// the old one stays in use.
    public func reopen() throws(ErrorLogFileError) {
        do { try file.reopen() } catch { throw ErrorLogFileError(path: path, reason: error.reason) }
    }

    /// Appends one line in nginx's format.
    public func write(level: Logger.Level, message: String, metadata: Logger.Metadata) {
        var line = Self.timestamp(time(nil))
        line += " [\(Self.nginxLevel(level))] \(pid)#0: \(message)"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += ", \(key): \(value)"
        }
        line += "\n"
        file.write(line)
    }

    /// nginx's level names (`warn`, `crit`) for swift-log's levels.
    static func nginxLevel(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warn"
        case .error: return "error"
        case .critical: return "crit"
        }
    }

    /// nginx's `YYYY/MM/DD HH:MM:SS`, in local time as nginx writes it.
    static func timestamp(_ t: time_t) -> String {
        var t = t
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)/\(two(parts.tm_mon + 1))/\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

/// The error log could not be opened.
public struct ErrorLogFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "could not open the error log \(path): \(reason)" }
}

/// A swift-log handler writing to an ``ErrorLogFile``.
public struct ErrorLogHandler: LogHandler {
    private let file: ErrorLogFile
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(file: ErrorLogFile, level: Logger.Level) {
        self.file = file
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        file.write(level: event.level, message: event.message.description, metadata: merged)
    }
}
