import NIOCore
import NIOHTTP1

/// Keeps the bytes of the connection's latest read, so that a request the HTTP parser refuses
/// can be looked at: llhttp refuses every method token it does not know (`GEEEET`), where nginx
/// parses any token of capital letters, `_` and `-`, and Kong's Admin API answers 405.
final class LatestReadRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The latest read (a reference to the buffer passed on, not a copy).
    private(set) var latest: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        latest = unwrapInboundIn(data)
        context.fireChannelRead(data)
    }

    /// Whether the latest read holds a well-formed HTTP/1.x request line whose method is a token
    /// nginx accepts (`[A-Z_-]+`), as opposed to bytes that are not HTTP at all.
    var holdsRequestLineWithUnknownMethod: Bool {
        guard let latest else { return false }
        return latest.readableBytesView.split(separator: UInt8(ascii: "\n")).contains(where: Self.isRequestLine)
    }

    /// `METHOD SP target SP HTTP/1.x` (an optional `\r` before the line's end).
    static func isRequestLine(_ line: ByteBufferView.SubSequence) -> Bool {
        var line = line[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let method = parts.first, !method.isEmpty, let target = parts[1].first else {
            return false
        }
        let methodToken = method.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        let targetForm = target == UInt8(ascii: "/") || target == UInt8(ascii: "*") || parts[1].contains(UInt8(ascii: ":"))
        return methodToken && targetForm && parts[2].starts(with: "HTTP/1.".utf8)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// kgate's buffered HTTP/1.1 server pipeline: NIO's HTTP/1.1 codec between a
    /// ``LatestReadRecorder`` and the ``HTTPExchangeHandler`` that answers.
    func configureBufferedHTTPServer(
        answering: HTTPAnswering, maxBodySize: Int, serverName: String, counters: ServerCounters? = nil
    ) throws {
        let recorder = LatestReadRecorder()
        try addHandler(recorder)
        try configureHTTPServerPipeline(withErrorHandling: false)
        try addHandler(
            HTTPExchangeHandler(
                answering: answering, maxBodySize: maxBodySize, serverName: serverName, counters: counters,
                recorder: recorder))
    }
}
