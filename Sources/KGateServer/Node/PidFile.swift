#if canImport(Glibc)
import Glibc
#endif
import KGateSettings
import KGateStore

/// `<prefix>/pids/kgate.pid`: how `kgate reload` and `kgate stop` find the running node.
struct PidFile {
    let prefix: String
    var path: String { prefix + "/pids/kgate.pid" }

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

private extension String {
    var trimmingNewline: String {
        var s = self
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
