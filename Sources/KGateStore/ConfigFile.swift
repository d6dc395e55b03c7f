#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole config file with POSIX calls (no Foundation on the load path).
enum ConfigFile {
    /// The file's bytes, or a message `could not read file '<path>': <reason>`.
    static func contents(of path: String) -> Result<[UInt8], ReadError> {
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
    struct ReadError: Error {
        var path: String
        var errno: Int32

        var message: String {
            "could not read file '\(path)': " + String(cString: strerror(errno))
        }
    }
}
