import KGatePlugins
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves one HTTP/2 stream with the HTTP/1.1 proxy handler behind it, as nginx's HTTP/2
/// module hands a stream's request to the same HTTP request processing as an HTTP/1.1 one.
///
/// Inbound, the stream's HEADERS and DATA frames become the bytes of an HTTP/1.1 request
/// (``HTTP2RequestWriter``); outbound, the handler's HTTP/1.1 response bytes become HEADERS and
/// DATA frames (``HTTP2ResponseReader``). The proxy handler then applies every rule it applies
/// to HTTP/1.1 (limits, routing, plugins, headers, errors) to the stream's request.
final class HTTP2StreamBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var request = HTTP2RequestWriter()
    private var response = HTTP2ResponseReader()
    /// Written when the frame that ended the response is out.
    private var endWritten: EventLoopFuture<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes: ByteBuffer?
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            bytes = request.headers(headers.headers, endStream: headers.endStream, allocator: context.channel.allocator)
            if let method = request.method { response.requestMethod = method }
        case .data(let data):
            guard case .byteBuffer(let buffer) = data.data else { return }
            bytes = request.data(buffer, endStream: data.endStream, allocator: context.channel.allocator)
        default:
            bytes = nil
        }
        if let bytes, bytes.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(bytes)) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var frames = response.read(unwrapOutboundIn(data))
        guard let last = frames.popLast() else {
            promise?.succeed(())
            return
        }
        for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
        guard response.isComplete else { return context.write(wrapOutboundOut(last), promise: promise) }
        // The frame that ends the stream: a close must wait until it is out (a reset would
        // drop what the HTTP/2 handler still buffers).
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        endWritten = written.futureResult
        context.write(wrapOutboundOut(last), promise: written)
    }

    /// The handler closes its "connection": after a response delimited by the close, its end
    /// is sent first. The stream is reset (the request's rest is not wanted) once what was
    /// written is out; a stream whose request and response both ended closes by itself.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if let end = response.closed() {
            let written = context.eventLoop.makePromise(of: Void.self)
            endWritten = written.futureResult
            context.write(wrapOutboundOut(end), promise: written)
        }
        context.flush()
        guard let endWritten else { return context.close(mode: .all, promise: promise) }
        endWritten.assumeIsolated().whenComplete { _ in context.close(mode: .all, promise: promise) }
    }
}

/// Writes an HTTP/2 request's frames as the HTTP/1.1 request nginx would have read: the
/// request line from `:method` and `:path`, `Host` from `:authority` (unless the request has a
/// `host` field), `cookie` fields joined with `; ` (RFC 9113 §8.2.3), and a body without
/// `content-length` chunked.
struct HTTP2RequestWriter {
    private enum State {
        case head
        case body(chunked: Bool)
        case ended
    }

    private var state = State.head
    /// The request's method, once its head was read.
    private(set) var method: HTTPMethod?

    /// The bytes of a HEADERS frame: the head, or the trailers of a chunked body.
    mutating func headers(_ headers: HPACKHeaders, endStream: Bool, allocator: ByteBufferAllocator) -> ByteBuffer? {
        switch state {
        case .head:
            var out = allocator.buffer(capacity: 256)
            let (method, chunked) = Self.writeHead(headers, endStream: endStream, into: &out)
            self.method = HTTPMethod(rawValue: method)
            state = endStream ? .ended : .body(chunked: chunked)
            return out
        case .body(let chunked):
            state = .ended
            guard chunked else { return nil }
            var out = allocator.buffer(capacity: 64)
            HTTP1Framing.lastChunk(trailers: headers, into: &out)
            return out
        case .ended:
            return nil
        }
    }

    /// The bytes of a DATA frame.
    mutating func data(_ buffer: ByteBuffer, endStream: Bool, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard case .body(let chunked) = state else { return nil }
        if endStream { state = .ended }
        guard chunked else { return buffer }
        var out = allocator.buffer(capacity: buffer.readableBytes + 16)
        HTTP1Framing.chunk(buffer, into: &out)
        if endStream { HTTP1Framing.lastChunk(into: &out) }
        return out
    }

    /// Writes the request head; returns its method and whether the body is chunked.
    private static func writeHead(
        _ headers: HPACKHeaders, endStream: Bool, into out: inout ByteBuffer
    ) -> (method: String, chunked: Bool) {
        var method = ""
        var path = ""
        var authority: String?
        var hasHost = false
        var hasLength = false
        for (name, value, _) in headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case "host": hasHost = true
            case "content-length": hasLength = true
            default: break
            }
        }
        // A request without `:method` or `:path` gets a request line the parser refuses (400).
        out.writeString(method)
        out.writeStaticString(" ")
        out.writeString(path)
        out.writeStaticString(" HTTP/1.1\r\n")
        if let authority, !hasHost { HTTP1Framing.field("Host", authority, into: &out) }
        var cookies: [String] = []
        for (name, value, _) in headers where !name.hasPrefix(":") {
            if name == "cookie" {
                cookies.append(value)
            } else {
                HTTP1Framing.field(name, value, into: &out)
            }
        }
        if !cookies.isEmpty { HTTP1Framing.field("cookie", cookies.joined(separator: "; "), into: &out) }
        let chunked = !endStream && !hasLength
        if chunked { out.writeStaticString("Transfer-Encoding: chunked\r\n") }
        out.writeStaticString("\r\n")
        return (method, chunked)
    }
}

/// Reads the HTTP/1.1 response the proxy handler writes for a stream and gives its HTTP/2
/// frames: interim (1xx) and final HEADERS with `:status` and the fields HTTP/2 allows
/// (connection-specific ones dropped, names lower-cased), then DATA frames of the body with
/// its chunked framing removed, the last one ending the stream.
struct HTTP2ResponseReader {
    private enum State {
        case head
        case body
        case done
    }

    /// The request's method (`HEAD` responses have no body).
    var requestMethod = HTTPMethod.GET
    private var state = State.head
    /// The response ended (its last frame was given).
    var isComplete: Bool { state == .done }
    private var heads = HeadCollector()
    private var head = MessageHead()
    private var body = BodyTracker(.none)

    /// The frames of the next bytes the handler wrote.
    mutating func read(_ bytes: ByteBuffer) -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        var input = bytes
        while input.readableBytes > 0 {
            switch state {
            case .head:
                guard let (headBytes, rest) = heads.add(input) else { return frames }
                input = rest
                guard HeadParser.parseResponse(headBytes, into: &head) == nil else {
                    state = .done
                    return frames
                }
                frames.append(headFrame())
            case .body:
                guard body.takeFrames(from: &input, into: &frames) else {
                    state = .done
                    return frames
                }
                if body.isComplete {
                    state = .done
                    frames.append(Self.end(trailers: body.trailers))
                }
            case .done:
                return frames
            }
        }
        return frames
    }

    /// The frame that ends the stream: the trailers of a chunked body (`grpc-status`, ...) when
    /// it had some, else an empty DATA frame.
    private static func end(trailers: [UInt8]) -> HTTP2Frame.FramePayload {
        var fields = HPACKHeaders()
        for field in HTTPFields(trailerLines: trailers).fields {
            let name = field.name.lowercased()
            guard !name.isEmpty, !HTTP1Framing.connectionSpecific.contains(name) else { continue }
            fields.add(name: name, value: field.value)
        }
        if fields.isEmpty { return HTTP1Framing.endOfStream }
        return .headers(.init(headers: fields, endStream: true))
    }

    /// The frame that ends a body delimited by the connection's close, if one is open.
    mutating func closed() -> HTTP2Frame.FramePayload? {
        guard state == .body, body.framing == .untilClose else { return nil }
        state = .done
        return HTTP1Framing.endOfStream
    }

    /// The HEADERS frame of a parsed head; decides how the body is delimited.
    private mutating func headFrame() -> HTTP2Frame.FramePayload {
        var fields = HPACKHeaders()
        fields.reserveCapacity(head.fields.count + 1)
        fields.add(name: ":status", value: String(head.status))
        for field in head.fields {
            let name = head.name(field).lowercased()
            guard !HTTP1Framing.connectionSpecific.contains(name) else { continue }
            fields.add(name: name, value: head.value(field))
        }
        // An interim head: the final one follows.
        if head.status < 200 { return .headers(.init(headers: fields)) }
        // The handler wrote the head itself: its framing is well-formed.
        let framing = DownstreamResponseHead.framing(of: head, requestMethod: requestMethod) ?? .untilClose
        body = BodyTracker(framing, collectsTrailers: true)
        state = body.isComplete ? .done : .body
        return .headers(.init(headers: fields, endStream: body.isComplete))
    }
}
