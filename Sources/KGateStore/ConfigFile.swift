#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole config file with POSIX calls (no Foundation on the load path); the proxy
/// reads `dns_hostsfile` with it too.
package enum ConfigFile {
    /// Whether two paths name the same file now (same device and inode, whatever the
    /// spelling: relative, absolute, through links); when either cannot be read, whether the
    /// paths are equal.
    package static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat()
        var sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return a == b }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// The file's bytes, or a message `could not read file '<path>': <reason>`.
    package static func contents(of path: String) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadError(path: path, errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return .success(out)
            } else if errno != EINTR {
                return .failure(ReadError(path: path, errno: errno))
            }
        }
    }

    /// A file that could not be read.
    package struct ReadError: Error {
        var path: String
        var errno: Int32

        var message: String {
            "could not read file '\(path)': " + String(cString: strerror(errno))
        }
    }
}

/// Creates the directory `path` and its missing parents with `mode` (existing ones are left
/// alone), as Kong creates its prefix with penlight's `makepath`; returns the directory that
/// could not be made and the system error, nil when all exist. The one `mkdir -p` of the prefix and
/// `client_body_temp`.
public func makeDirectories(_ path: String, mode: mode_t) -> (path: String, errno: Int32)? {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, mode) != 0 && errno != EEXIST { return (current, errno) }
    }
    return nil
}

/// Writes all of `bytes` to the open descriptor `fd`, continuing after short writes and
/// interrupted calls; returns the system error of a failed write (`EIO` for a write of
/// nothing), nil when everything was written. The one write loop of the config file, the
/// persisted config, the node's `.kong_env` and the CLI's output.
public func writeAll(to fd: Int32, _ bytes: some Collection<UInt8>) -> Int32? {
    var rest = Array(bytes)[...]
    while !rest.isEmpty {
        let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            rest = rest.dropFirst(n)
        } else if n == 0 || errno != EINTR {
            return n == 0 ? EIO : errno
        }
    }
    return nil
}
