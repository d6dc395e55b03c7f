#if canImport(Glibc)
import Glibc
#endif
import KGateSettings
import KGateStore

/// `<prefix>/pids/nginx.pid`: how `kgate reload` and `kgate stop` find the running node. Kong's
/// name (its `nginx_pid`): Kong's tooling and test helpers signal and wait for the process it
/// names (`kill -TERM $(cat servroot/pids/nginx.pid)`).
struct PidFile {
    let prefix: String
    var path: String { prefix + "/pids/nginx.pid" }

    func write() throws {
        try PrefixDirectory.create(prefix + "/pids")
        guard let f = fopen(path, "w") else { throw NodeStartError("cannot write \(path): \(String(cString: strerror(errno)))") }
        fputs("\(getpid())\n", f)
        fclose(f)
    }

    func remove() { unlink(path) }

    /// The pid of the node running with this prefix, if its pid file names a live process.
    func runningPid() -> pid_t? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var pid: Int32 = 0
        guard fscanf_pid(f, &pid), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }
}

private func fscanf_pid(_ f: UnsafeMutablePointer<FILE>, _ pid: inout Int32) -> Bool {
    var buffer = [CChar](repeating: 0, count: 32)
    guard fgets(&buffer, 32, f) != nil else { return false }
    let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingNewline
    guard let value = Int32(text) else { return false }
    pid = value
    return true
}

private extension StringProtocol {
    var trimmingNewline: String {
        var s = String(self)
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}

/// `<prefix>/.kong_env`: the settings the node runs with, in kong.conf syntax, written when it
/// starts as Kong writes it, so that commands run later (`kgate drain`) find its listeners.
struct KongEnvFile {
    let prefix: String
    var path: String { prefix + "/.kong_env" }

    /// Writes the settings, readable by the owner and group only (they hold secrets, as Kong's).
    func write(_ settings: NodeSettings) throws {
        try PrefixDirectory.create(prefix)
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        guard fd >= 0 else { throw NodeStartError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if let failure = writeAll(to: fd, settings.kongEnvText.utf8) {
            throw NodeStartError("cannot write \(path): \(String(cString: strerror(failure)))")
        }
    }
}

/// Creates the prefix (or a directory in it) and its missing parents.
enum PrefixDirectory {
    static func create(_ path: String) throws {
        if let failure = makeDirectories(path, mode: 0o755) {
            throw NodeStartError("cannot create \(failure.path): \(String(cString: strerror(failure.errno)))")
        }
    }
}

/// Finds a running node for the CLI's `reload`, `stop` and `drain`.
public enum NodeProcess {
    /// The pid of the node running with `prefix`, when its pid file names a live process.
    public static func runningPid(prefix: String) -> Int32? {
        PidFile(prefix: prefix).runningPid()
    }

    /// Where the node running with `prefix` wrote its settings (`.kong_env`).
    public static func settingsPath(prefix: String) -> String {
        KongEnvFile(prefix: prefix).path
    }
}

/// `<prefix>/.kgate_reload`: what `kgate reload` asks the running node to load with the SIGHUP
/// it sends.
///
/// Kong's `kong reload` reads its own settings (its `-c` file and `KONG_*` environment), drops
/// `declarative_config` when they have none, and rewrites `.kong_env`; the reloaded node then
/// loads that file, or keeps the config it has (LMDB's), such as one sent with `POST /config`.
/// kgate's reload command writes the same decision here; a SIGHUP without one (`kill -HUP`)
/// reloads the file the node started with, as Kong's unchanged `.kong_env` would.
public struct ReloadRequest: Sendable, Equatable {
    /// The file to load (absolute); nil: keep the running config.
    public var declarativeConfig: String?

    /// A request to load `declarativeConfig`, or to keep the running config.
    public init(declarativeConfig: String?) {
        self.declarativeConfig = declarativeConfig
    }

    static func path(prefix: String) -> String { prefix + "/.kgate_reload" }

    /// Writes the request for the node running with `prefix`.
    public func write(prefix: String) throws(NodeStartError) {
        let path = Self.path(prefix: prefix)
        guard let f = fopen(path, "w") else { throw NodeStartError("cannot write \(path): \(String(cString: strerror(errno)))") }
        fputs("declarative_config = \(declarativeConfig ?? "")\n", f)
        fclose(f)
    }

    /// The request left for the node running with `prefix`, removed as it is read; nil when
    /// there is none.
    static func take(prefix: String) -> ReloadRequest? {
        let path = Self.path(prefix: prefix)
        guard let f = fopen(path, "r") else { return nil }
        var line = [CChar](repeating: 0, count: 4097)
        let read = fgets(&line, Int32(line.count), f) != nil
        fclose(f)
        unlink(path)
        guard read else { return nil }
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return ReloadRequest(text: text)
    }

    /// Parses `declarative_config = <path>` (an empty value: none).
    init?(text: String) {
        let key = "declarative_config ="
        guard text.hasPrefix(key) else { return nil }
        let value = text.dropFirst(key.count).trimmingNewline.drop(while: { $0 == " " })
        declarativeConfig = value.isEmpty ? nil : String(value)
    }
}
