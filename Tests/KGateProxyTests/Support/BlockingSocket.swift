import Glibc
import KGateTestSupport

/// A plain blocking TCP client, for what an event-loop client cannot show: one that writes
/// everything before it reads, and so sees what a connection reset does to unread bytes.
enum BlockingSocket {
    struct Failure: Error { var call: String }

    /// Connects to 127.0.0.1:`port`, writes `bytes` (stopping at the first failed write, as
    /// an HTTP client whose upload fails), waits `pause`, then reads until the peer closes,
    /// resets or goes quiet for 2 s. Returns how many bytes went out, what came back, and
    /// whether the peer ended with a close (not a reset or silence).
    static func exchange(port: Int, send bytes: [UInt8], pause: Duration) throws -> (sent: Int, received: [UInt8], closed: Bool) {
        let fd = try connected(port: port)
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        let (seconds, attoseconds) = pause.components
        usleep(useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (sent, received, true) }
            if n < 0 { return (sent, received, false) }
            received += buffer[0..<n]
        }
    }

    /// Sends `text` on a new connection, then closes it with a reset (`SO_LINGER` 0).
    static func sendThenReset(_ text: String, port: Int) throws {
        let fd = try connected(port: port)
        defer { Glibc.close(fd) }
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    private static func connected(port: Int) throws -> Int32 { try LoopbackSocket.connect(port: port) }
}
