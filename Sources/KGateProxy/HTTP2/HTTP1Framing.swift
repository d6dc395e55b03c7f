import NIOCore
import NIOHPACK
import NIOHTTP2

/// The HTTP/1.1 pieces the HTTP/2 bridges (``HTTP2StreamBridge``, ``HTTP2ClientStreamBridge``)
/// write from frames and read into frames.
enum HTTP1Framing {
    /// The fields HTTP/2 forbids (RFC 9113 §8.2.2).
    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
    ]

    /// An empty DATA frame that ends its stream.
    static let endOfStream = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))

    /// A `name: value` line.
    static func field(_ name: String, _ value: String, into out: inout ByteBuffer) {
        out.writeString(name)
        out.writeStaticString(": ")
        out.writeString(value)
        out.writeStaticString("\r\n")
    }

    /// `bytes` as one chunk; nothing for no bytes (a zero size ends a body).
    static func chunk(_ bytes: ByteBuffer, into out: inout ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        out.writeString(String(bytes.readableBytes, radix: 16))
        out.writeStaticString("\r\n")
        out.writeImmutableBuffer(bytes)
        out.writeStaticString("\r\n")
    }

    /// The last chunk, with the regular fields of `trailers` as its trailer section.
    static func lastChunk(trailers: HPACKHeaders = [:], into out: inout ByteBuffer) {
        out.writeStaticString("0\r\n")
        for (name, value, _) in trailers where !name.hasPrefix(":") { field(name, value, into: &out) }
        out.writeStaticString("\r\n")
    }
}

/// Gathers the bytes a handler writes until a whole HTTP/1.1 head is there.
struct HeadCollector {
    private var pending = ByteBuffer()
    private var scanner = HeadScanner(headLimit: 1 << 20)

    /// Adds bytes; once the head is complete, its bytes and the bytes after it.
    mutating func add(_ bytes: ByteBuffer) -> (head: ByteBuffer, rest: ByteBuffer)? {
        if pending.readableBytes == 0 { pending = bytes } else { pending.writeImmutableBuffer(bytes) }
        guard case .complete(let start, let length) = scanner.scan(pending) else { return nil }
        let head = pending.getSlice(at: pending.readerIndex + start, length: length)!
        pending.moveReaderIndex(forwardBy: start + length)
        defer { pending = ByteBuffer() }
        return (head, pending)
    }
}

extension BodyTracker {
    /// Takes the body bytes at the front of `input` as DATA frames (chunk framing removed) and
    /// moves past them; false on a framing error.
    mutating func takeFrames(from input: inout ByteBuffer, into frames: inout [HTTP2Frame.FramePayload]) -> Bool {
        let start = input.readerIndex
        let bytes = input
        func slice(_ offset: Int, _ length: Int) -> HTTP2Frame.FramePayload {
            .data(.init(data: .byteBuffer(bytes.getSlice(at: start + offset, length: length)!)))
        }
        let chunked = framing == .chunked
        guard let taken = take(bytes, onData: { frames.append(slice($0.lowerBound, $0.count)) }) else { return false }
        if !chunked, taken > 0 { frames.append(slice(0, taken)) }
        input.moveReaderIndex(forwardBy: taken)
        return true
    }
}
