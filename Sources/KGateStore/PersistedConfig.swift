#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of the last config a node loaded, kept in its prefix (`<prefix>/dbless.config`).
///
/// Kong's DB-less node keeps every loaded config in LMDB under its prefix; a restart with neither
/// `declarative_config` nor `declarative_config_string` serves that config again
/// (`found persisted lmdb config`), so a config sent with `POST /config` survives a restart.
/// kgate keeps the text itself: loading it again gives the same entities and the same
/// `configuration_hash`.
public struct PersistedConfig: Sendable {
    /// The file the text is kept in.
    public let path: String

    /// The persisted config of the node with this prefix.
    public init(prefix: String) {
        path = prefix + "/dbless.config"
    }

    /// The persisted text; nil when there is none (or it cannot be read).
    public func load() -> [UInt8]? {
        guard case .success(let bytes) = ConfigFile.contents(of: path), !bytes.isEmpty else { return nil }
        return bytes
    }

    /// Replaces the persisted text: written to a temporary file that is then renamed over the
    /// old one, so a crash never leaves half a config. Creates the prefix directory if needed.
    public func save(_ bytes: [UInt8]) throws(SaveError) {
        let directory = String(path[..<path.lastIndex(of: "/")!])
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw SaveError(path: directory, errno: errno) }
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SaveError(path: temporary, errno: errno) }
        var failure = writeAll(to: fd, bytes)
        if failure == nil, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw SaveError(path: path, errno: failure)
        }
    }

    /// A config that could not be persisted.
    public struct SaveError: Error, CustomStringConvertible {
        /// The file or directory concerned.
        public var path: String
        /// The system error.
        public var errno: Int32

        /// `cannot write '<path>': <reason>`.
        public var description: String { "cannot write '\(path)': " + String(cString: strerror(errno)) }
    }
}
