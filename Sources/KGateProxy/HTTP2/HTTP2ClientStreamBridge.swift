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
    private var heads = HeadCollector()
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
            guard let (bytes, rest) = heads.add(input) else {
                promise?.succeed(())
                return
            }
            input = rest
            guard HeadParser.parseRequest(bytes, into: &head, dropsInvalidHeaders: false) == nil else {
                promise?.fail(ChannelError.inputClosed)
                return context.close(promise: nil)
            }
            let (headers, framing) = requestHeaders()
            body = BodyTracker(framing)
            frames.append(.headers(.init(headers: headers, endStream: body!.isComplete)))
        }
        if input.readableBytes > 0, var tracker = body, !tracker.isComplete {
            _ = tracker.takeFrames(from: &input, into: &frames)
            if tracker.isComplete { frames.append(HTTP1Framing.endOfStream) }
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
        let facts = RequestFacts(head)
        var headers = HPACKHeaders()
        headers.add(name: ":method", value: head.method.rawValue)
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":path", value: head.target)
        if let host = facts.host { headers.add(name: ":authority", value: host) }
        for field in head.fields {
            let name = head.name(field).lowercased()
            guard name != "host", !HTTP1Framing.connectionSpecific.contains(name) else { continue }
            headers.add(name: name, value: head.value(field))
        }
        // The one TE value HTTP/2 allows (gRPC needs it).
        if facts.wantsTrailers { headers.add(name: "te", value: "trailers") }
        return (headers, facts.framing)
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
                    HTTP1Framing.field(name, value, into: &out)
                }
                if status >= 200 {
                    responseStarted = true
                    out.writeStaticString(frame.endStream ? "Content-Length: 0\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n")
                } else {
                    out.writeStaticString("\r\n")
                }
            } else {
                // Trailers end the chunked body.
                HTTP1Framing.lastChunk(trailers: frame.headers, into: &out)
            }
        case .data(let frame):
            guard responseStarted, case .byteBuffer(let bytes) = frame.data else { return }
            HTTP1Framing.chunk(bytes, into: &out)
            if frame.endStream { HTTP1Framing.lastChunk(into: &out) }
        default:
            return
        }
        if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
    }
}
