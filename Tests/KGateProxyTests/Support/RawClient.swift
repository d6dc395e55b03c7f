import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A response as read off the wire.
struct RawResponse: Sendable {
    var version: String
    var status: Int
    /// In order, names as sent.
    var headers: [(String, String)]
    var body: [UInt8]
    /// The body was chunked.
    var chunked: Bool
    /// How many chunks a chunked body came in.
    var chunkCount = 0
    /// The reason phrase of the status line.
    var reason = ""

    /// The first value of a header (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Every value of a header.
    func headers(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A TCP client that sends raw bytes and parses raw HTTP/1.x responses: for bad-input cases,
/// keep-alive checks and anything a well-behaved HTTP client would not send.
final class RawClient: Sendable {
    private let channel: Channel
    private let collector: Collector

    private init(channel: Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects; with `tls`, over TLS (no verification) sending `serverName` as SNI; with
    /// `tlsConfiguration`, over TLS with that client configuration.
    static func connect(
        port: Int, group: any EventLoopGroup, host: String = "127.0.0.1", tls: Bool = false, serverName: String? = nil,
        tlsConfiguration: TLSConfiguration? = nil
    ) async throws -> RawClient {
        let collector = Collector()
        let context: NIOSSLContext? =
            try tlsConfiguration.map { try NIOSSLContext(configuration: $0) } ?? (tls ? try insecureClientContext() : nil)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        return RawClient(channel: channel, collector: collector)
    }

    private static func insecureClientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLContext(configuration: configuration)
    }

    /// The TLS version negotiated (TLS connections, once a response came).
    func tlsVersion() async throws -> TLSVersion? {
        try await channel.nioSSL_tlsVersion().get()
    }

    /// The certificate the server presented (TLS connections), as DER.
    func peerCertificateDER() async throws -> [UInt8]? {
        try await channel.nioSSL_peerCertificate().get()?.toDERBytes()
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func close() async {
        try? await channel.close()
    }

    /// Whether the server closed the connection.
    var isClosed: Bool { collector.state.withLock { $0.closed } }

    /// Waits until the server closes the connection (or the timeout passes).
    func waitForClose(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isClosed { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return isClosed
    }

    /// Reads one response (the bytes are consumed).
    func readResponse(timeout: Duration = .seconds(10), headRequest: Bool = false) async throws -> RawResponse {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Parsed and checked for a close under one lock: a close-delimited body is complete
            // only once the close is seen, and the close may land between two separate looks.
            let parsed = try collector.state.withLock { s -> RawResponse? in
                guard let (response, used) = RawResponseParser.parse(s.bytes, closed: s.closed, headRequest: headRequest) else {
                    if s.closed { throw RawClientError.closed(received: s.bytes.count) }
                    return nil
                }
                s.bytes.removeFirst(used)
                return response
            }
            if let parsed { return parsed }
            if ContinuousClock.now > deadline { throw RawClientError.timeout }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Reads whatever arrives until `count` bytes are there (raw, not parsed).
    func readBytes(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let got = try collector.state.withLock { s -> [UInt8]? in
                guard s.bytes.count >= count else {
                    if s.closed { throw RawClientError.closed(received: s.bytes.count) }
                    return nil
                }
                defer { s.bytes.removeFirst(count) }
                return Array(s.bytes.prefix(count))
            }
            if let got { return got }
            if ContinuousClock.now > deadline { throw RawClientError.timeout }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        struct State {
            var bytes: [UInt8] = []
            var closed = false
        }

        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLock { $0.bytes.append(contentsOf: buffer.readableBytesView) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLock { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

enum RawClientError: Error {
    case timeout
    case closed(received: Int)
}

/// Parses one HTTP/1.x response from the start of a byte array.
enum RawResponseParser {
    static func parse(_ bytes: [UInt8], closed: Bool, headRequest: Bool) -> (RawResponse, Int)? {
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else { return nil }
        let headText = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = headText.splitLines()
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: " "))
        }
        var response = RawResponse(version: String(statusLine[0]), status: status, headers: headers, body: [], chunked: false)
        if statusLine.count == 3 { response.reason = String(statusLine[2]) }
        let start = headEnd + 4
        if headRequest || status < 200 || status == 204 || status == 304 { return (response, start) }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            response.chunked = true
            var i = start
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: i) else { return nil }
                let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16) else { return nil }
                i = lineEnd + 2
                if size == 0 {
                    guard let trailerEnd = find(bytes, [13, 10, 13, 10], from: i - 2) else { return nil }
                    response.body = body
                    return (response, trailerEnd + 4)
                }
                guard bytes.count >= i + size + 2 else { return nil }
                body.append(contentsOf: bytes[i..<(i + size)])
                response.chunkCount += 1
                i += size + 2
            }
        }
        if let length = response.header("content-length").flatMap({ Int($0) }) {
            guard bytes.count >= start + length else { return nil }
            response.body = Array(bytes[start..<(start + length)])
            return (response, start + length)
        }
        guard closed else { return nil }
        response.body = Array(bytes[start...])
        return (response, bytes.count)
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
        guard bytes.count >= needle.count, from <= bytes.count - needle.count else { return nil }
        var i = from
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0], Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}

extension String {
    /// Split on CRLF.
    func splitLines() -> [String] {
        var result: [String] = []
        var current = ""
        var previousCR = false
        for c in self.unicodeScalars {
            if c == "\n", previousCR {
                current.removeLast()
                result.append(current)
                current = ""
                previousCR = false
                continue
            }
            current.unicodeScalars.append(c)
            previousCR = c == "\r"
        }
        result.append(current)
        return result
    }
}
