import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Carries one exchange with a `grpc`/`grpcs` service over a stream of an HTTP/2 connection to
/// it (nginx's `grpc_pass`), with the upstream handler behind it as on an HTTP/1.1 connection.
///
/// Outbound, the HTTP/1.1 request the proxy handler writes becomes HEADERS (`:method`,
/// `:scheme`, `:path`, `:authority` from `Host`, the other fields less the connection-specific
/// ones) and DATA frames; inbound, the response's HEADERS, DATA and trailers become an HTTP/1.1
/// response with a chunked body whose trailers carry the HTTP/2 ones (`grpc-status`, ...).
final class HTTP2ClientStreamBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let scheme: String
    private var pending = ByteBuffer()
    private var scanner = HeadScanner(headLimit: 1 << 20)
    private var head = MessageHead()
    private var body: BodyTracker?
    private var responseStarted = false

    /// - Parameter scheme: `http` or `https` (`:scheme`).
    init(scheme: String) {
        self.scheme = scheme
    }

    // MARK: Request

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var input = unwrapOutboundIn(data)
        var frames: [HTTP2Frame.FramePayload] = []
        if body == nil {
            if pending.readableBytes == 0 { pending = input } else { pending.writeBuffer(&input) }
            input = ByteBuffer()
            guard case .complete(let start, let length) = scanner.scan(pending) else {
                promise?.succeed(())
                return
            }
            let bytes = pending.getSlice(at: pending.readerIndex + start, length: length)!
            pending.moveReaderIndex(forwardBy: start + length)
            input = pending
            pending = ByteBuffer()
            guard HeadParser.parseRequest(bytes, into: &head, dropsInvalidHeaders: false) == nil else {
                promise?.fail(ChannelError.inputClosed)
                return context.close(promise: nil)
            }
            let (headers, framing) = requestHeaders()
            body = BodyTracker(framing)
            frames.append(.headers(.init(headers: headers, endStream: body!.isComplete)))
        }
        if input.readableBytes > 0, var tracker = body, !tracker.isComplete {
            let taken = tracker.take(input) { range in
                frames.append(.data(.init(data: .byteBuffer(input.getSlice(at: input.readerIndex + range.lowerBound, length: range.count)!))))
            }
            if let taken, tracker.framing != .chunked {
                frames.append(.data(.init(data: .byteBuffer(input.getSlice(at: input.readerIndex, length: taken)!))))
            }
            if tracker.isComplete { frames.append(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))) }
            body = tracker
        }
        guard let last = frames.popLast() else {
            promise?.succeed(())
            return
        }
        for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
        context.write(wrapOutboundOut(last), promise: promise)
    }

    /// The request's HEADERS and how its body is delimited.
    private func requestHeaders() -> (HPACKHeaders, BodyFraming) {
        var headers = HPACKHeaders()
        headers.add(name: ":method", value: head.method.rawValue)
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":path", value: head.target)
        var framing = BodyFraming.none
        for field in head.fields {
            let name = head.name(field).lowercased()
            switch name {
            case "host":
                headers.add(name: ":authority", value: head.value(field))
                continue
            case "content-length":
                framing = .length(Int(head.value(field)) ?? 0)
            case "transfer-encoding":
                if head.valueContainsToken(field, "chunked") { framing = .chunked }
                continue
            case "te":
                guard head.valueContainsToken(field, "trailers") else { continue }
                headers.add(name: "te", value: "trailers")
                continue
            case "connection", "keep-alive", "proxy-connection", "upgrade":
                continue
            default:
                break
            }
            headers.add(name: name, value: head.value(field))
        }
        return (headers, framing)
    }

    // MARK: Response

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var out = context.channel.allocator.buffer(capacity: 256)
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if !responseStarted {
                let status = Int(frame.headers.first(name: ":status") ?? "") ?? 502
                out.writeString("HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n")
                for (name, value, _) in frame.headers
                where !name.hasPrefix(":") && name != "content-length" && name != "transfer-encoding" {
                    Self.field(name, value, into: &out)
                }
                if status >= 200 {
                    responseStarted = true
                    out.writeStaticString(frame.endStream ? "Content-Length: 0\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n")
                } else {
                    out.writeStaticString("\r\n")
                }
            } else {
                // Trailers end the chunked body.
                out.writeStaticString("0\r\n")
                for (name, value, _) in frame.headers where !name.hasPrefix(":") { Self.field(name, value, into: &out) }
                out.writeStaticString("\r\n")
            }
        case .data(let frame):
            guard responseStarted, case .byteBuffer(let bytes) = frame.data else { return }
            if bytes.readableBytes > 0 {
                out.writeString(String(bytes.readableBytes, radix: 16))
                out.writeStaticString("\r\n")
                out.writeImmutableBuffer(bytes)
                out.writeStaticString("\r\n")
            }
            if frame.endStream { out.writeStaticString("0\r\n\r\n") }
        default:
            return
        }
        if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
    }

    private static func field(_ name: String, _ value: String, into out: inout ByteBuffer) {
        out.writeString(name)
        out.writeStaticString(": ")
        out.writeString(value)
        out.writeStaticString("\r\n")
    }
}
