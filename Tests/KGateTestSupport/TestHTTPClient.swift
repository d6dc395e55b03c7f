#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking HTTP/1.1 client for loopback tests: one request per connection (shared by the
/// server and CLI test targets).
public struct TestHTTPClient {
    public struct Response {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public enum Failure: Error { case connect(Int32), io }

    public let port: Int
    public var host = "127.0.0.1"

    public init(port: Int, host: String = "127.0.0.1") {
        self.port = port
        self.host = host
    }

    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: String = "") throws -> Response {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + body
        return try request(raw: Array(text.utf8))
    }

    /// Sends `bytes` as they are (a request the `String` API cannot write, such as a lone byte
    /// 0xFF in its target) and reads the response until the server closes the connection.
    public func request(raw bytes: [UInt8]) throws -> Response {
        let fd: Int32
        do { fd = try LoopbackSocket.connect(port: port, host: host) } catch { throw Failure.connect(error.errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure.io }
            sent += n
        }
        var raw: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            raw += buffer[0..<n]
        }
        return try Self.parse(String(decoding: raw, as: UTF8.self))
    }

    public func get(_ path: String) throws -> Response { try request("GET", path) }

    static func parse(_ text: String) throws -> Response {
        let bytes = Array(text.utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 })
        else { throw Failure.io }
        let headText = String(decoding: bytes[..<end], as: UTF8.self)
        let bodyText = String(decoding: bytes[(end + 4)...], as: UTF8.self)
        let head = headText.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { throw Failure.io }
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: " "))
        }
        return Response(status: status, headers: headers, body: bodyText)
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
