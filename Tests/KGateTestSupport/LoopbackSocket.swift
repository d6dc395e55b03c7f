#if canImport(Glibc)
import Glibc
#endif

/// Blocking TCP sockets for tests that need what an event-loop client hides (raw bytes, a
/// reset, descriptors held open).
public enum LoopbackSocket {
    /// Why a socket could not be connected: the call and its `errno`.
    public struct Failure: Error {
        public var call: String
        public var errno: Int32
    }

    /// A blocking socket connected to `host`:`port` (IPv4); the caller closes it.
    public static func connect(port: Int, host: String = "127.0.0.1") throws(Failure) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw Failure(call: "connect", errno: error)
        }
        return fd
    }
}
