#if canImport(Glibc)
import Glibc
#endif

/// `<prefix>/pids/kgate.pid`: how `kgate reload` and `kgate stop` find the running node.
struct PidFile {
    let prefix: String
    var path: String { prefix + "/pids/kgate.pid" }

    func write() throws {
        for dir in [prefix, prefix + "/pids"] where mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw NodeStartError("cannot create \(dir): \(String(cString: strerror(errno)))")
        }
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

/// Finds a running node for the CLI's `reload` and `stop`.
public enum NodeProcess {
    /// The pid of the node running with `prefix`, when its pid file names a live process.
    public static func runningPid(prefix: String) -> Int32? {
        PidFile(prefix: prefix).runningPid()
    }
}
