#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// A log file opened for appending, as nginx opens its logs: `O_APPEND`, so each write lands at
/// the file's current end (a file emptied by an operator, `:> logs/access.log`, is written from
/// its new end), and ``reopen()`` (SIGUSR1) opens the path again after log rotation moved it.
///
/// Writes and reopens take one lock, so a reopen never closes a descriptor a write is using.
/// The proxy writes each event-loop tick's access-log lines at once, so the lock is taken once
/// per tick, not per request.
public final class LogFile: Sendable {
    /// The path it writes to.
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Opens (creating it) the file at `path` for appending; with `makingDirectory`, its
    /// directory too (one that cannot be made shows as the file's open error).
    public init(path: String, makingDirectory: Bool = false) throws(LogFileError) {
        if makingDirectory, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            _ = makeDirectories(String(path[..<slash]), mode: 0o755)
        }
        self.path = path
        descriptor = Mutex(try Self.openForAppending(path))
    }

    deinit {
        descriptor.withLock { fd in _ = close(fd) }
    }

    private static func openForAppending(_ path: String) throws(LogFileError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Opens the path again (creating the file), then closes the old descriptor; on failure
    /// the old one stays in use.
    public func reopen() throws(LogFileError) {
        let fd = try Self.openForAppending(path)
        let old = descriptor.withLock { current in
            defer { current = fd }
            return current
        }
        close(old)
    }

    /// Appends the bytes (all of them, unless the file refuses: a full disk loses the rest, as
    /// nginx's log writes do).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        descriptor.withLock { fd in
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(fd, base + offset, bytes.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    /// Appends a string's bytes.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
}

/// A log file could not be opened.
public struct LogFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "could not open \(path): \(reason)" }
}
