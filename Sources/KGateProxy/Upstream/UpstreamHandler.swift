import NIOCore
import NIOHTTP1
import NIOTLS

/// An upstream connection parked in its pool.
struct IdleParking {
    let pool: UpstreamPool
    let connection: UpstreamConnection
}

/// Receives what an upstream connection reads while it serves an exchange. Called on the
/// connection's event loop, which is also the client connection's.
protocol UpstreamDelegate: AnyObject {
    /// The response head. Returns true to get chunked bodies as data only (for HTTP/1.0
    /// clients) instead of the bytes as received.
    func upstreamResponseHead(_ head: borrowing MessageHead, framing: BodyFraming) -> Bool
    /// Body bytes (as received, or chunk data only).
    func upstreamBody(_ bytes: ByteBuffer)
    /// The response ended.
    func upstreamResponseEnd()
    /// Bytes after a `101 Switching Protocols`.
    func upstreamTunnelBytes(_ bytes: ByteBuffer)
    /// The end of a read burst: a good time to flush downstream.
    func upstreamReadComplete()
    /// The connection became writable or stopped being writable (back-pressure).
    func upstreamWritabilityChanged(_ isWritable: Bool)
    /// The connection failed, closed, or sent something that is not HTTP.
    func upstreamFailed(_ error: ProxyError)
}

/// The last (usually only) handler of an upstream connection: parses responses as bytes
/// arrive, hands head and body slices to the exchange that holds the connection, writes what
/// the exchange sends, and withholds reads while the exchange asks for it.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler, DeferredFlush {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum ReadState {
        case head, body, tunnel, done
    }

    /// The exchange served now; nil while the connection is idle in the pool.
    private(set) var delegate: UpstreamDelegate?
    /// The pool and the connection while it is idle there (the pool is told when it closes).
    /// Held only while parked, so there is no weak reference: one would give every connection
    /// a side table, and every retain and release of it the slow path.
    var parking: IdleParking?
    private(set) var context: ChannelHandlerContext?
    /// The handler is the channel's only one (no TLS): writes go straight to the channel.
    private let writesDirectly: Bool
    private var output = ChannelOutput()
    /// Reading is paused (`autoRead` off).
    private var readsPaused = false
    /// Bytes were read since the last `beginExchange`.
    private(set) var receivedResponseBytes = false
    /// The response allows reusing the connection (keep-alive, well framed, nothing extra).
    private(set) var responseAllowsReuse = false
    /// The channel's writability, tracked from events (cheaper than asking the channel).
    private(set) var isWritable = true
    /// The channel is still open.
    private(set) var isOpen = true
    /// Waiting in the loop's flush batch.
    var flushQueued = false

    private var state = ReadState.head
    private var inbound = ByteBuffer()
    private var headStorage = ByteBuffer()
    private var head = MessageHead()
    private var scanner: HeadScanner
    private var body = BodyTracker(.none)
    private var dataOnly = false
    private var requestMethod = HTTPMethod.GET
    private let empty = ByteBuffer()

    // TLS handshake wait (while connecting).
    private var handshakeCallback: ((Error?) -> Void)?
    private var handshakeTimeout: Scheduled<Void>?

    /// - Parameters:
    ///   - alone: the handler is and stays the only handler of its channel (a plain TCP
    ///     connection, no TLS handler in front).
    ///   - headLimit: the largest response head (nginx's `proxy_buffer_size`: a larger one is
    ///     "upstream sent too big header", an invalid response).
    init(alone: Bool, headLimit: Int) {
        writesDirectly = alone
        scanner = HeadScanner(headLimit: headLimit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if writesDirectly { output = ChannelOutput(direct: context) }
        isWritable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        output.detach()
    }

    // MARK: Exchange

    /// Starts serving an exchange: the response to a `method` request flows to `delegate`.
    func beginExchange(_ delegate: UpstreamDelegate, method: HTTPMethod) {
        self.delegate = delegate
        requestMethod = method
        receivedResponseBytes = false
        responseAllowsReuse = false
        state = .head
        scanner.reset()
        inbound = empty
        resumeReads()
    }

    /// Ends the exchange (the connection goes back to the pool or is closed).
    func endExchange() {
        delegate = nil
        resumeReads()
    }

    /// Writes bytes (not flushed).
    @inline(__always)
    func write(_ buffer: ByteBuffer) {
        if let context { output.write(buffer, context) }
    }

    /// Flushes the written bytes.
    @inline(__always)
    func flushNow() {
        if let context { output.flush(context) }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        receivedResponseBytes = true
        guard delegate != nil else {
            // Bytes on an idle connection break HTTP framing: never reuse it.
            context.close(promise: nil)
            return
        }
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound.writeBuffer(&buffer)
        }
        process()
        if inbound.readableBytes == 0 { inbound = empty }
    }

    private func process() {
        while let delegate, inbound.readableBytes > 0 {
            switch state {
            case .head:
                guard readHead(delegate) else { return }
            case .body:
                guard readBody(delegate) else { return }
            case .tunnel:
                let bytes = inbound
                inbound = empty
                delegate.upstreamTunnelBytes(bytes)
            case .done:
                // More than the response: the connection cannot be trusted for another one.
                responseAllowsReuse = false
                inbound = empty
                context?.close(promise: nil)
                return
            }
        }
    }

    /// Reads a head; false when more bytes are needed or the exchange failed.
    private func readHead(_ delegate: UpstreamDelegate) -> Bool {
        switch scanner.scan(inbound) {
        case .incomplete:
            return false
        case .error:
            fail(ProxyError(kind: .badResponse, underlying: HeadError.badResponse))
            return false
        case .complete(let start, let length):
            // The previous head lets go of the storage first, so it is rewritten in place.
            head.buffer = empty
            headStorage.clear()
            headStorage.writeImmutableBuffer(inbound.getSlice(at: inbound.readerIndex + start, length: length)!)
            inbound.moveReaderIndex(forwardBy: start + length)
            // The head is moved into a local for the checks and the delegate call (passing the
            // stored property would copy it each time), then moved back to keep its storage.
            var local = MessageHead.placeholder
            swap(&local, &head)
            defer { swap(&local, &head) }
            return handleHead(&local, delegate)
        }
    }

    private func handleHead(_ head: inout MessageHead, _ delegate: UpstreamDelegate) -> Bool {
        if let error = HeadParser.parseResponse(headStorage, into: &head) {
            fail(ProxyError(kind: .badResponse, underlying: error))
            return false
        }
        if head.status >= 100, head.status < 200, head.status != 101 { return true }
        guard let framing = DownstreamResponseHead.framing(of: head, requestMethod: requestMethod) else {
            fail(ProxyError(kind: .badResponse, underlying: HeadError.badResponse))
            return false
        }
        responseAllowsReuse = framing != .untilClose && Self.keepAlive(head)
        if head.status == 101 {
            state = .tunnel
            responseAllowsReuse = false
            _ = delegate.upstreamResponseHead(head, framing: .none)
            return true
        }
        dataOnly = delegate.upstreamResponseHead(head, framing: framing)
        // The exchange reads the data of a chunked body: its trailers are kept for it.
        body = BodyTracker(framing, collectsTrailers: dataOnly)
        state = .body
        if body.isComplete { finish() }
        return true
    }

    /// Reads body bytes; false when more are needed or the exchange failed.
    private func readBody(_ delegate: UpstreamDelegate) -> Bool {
        if dataOnly, body.framing == .chunked { return readChunkData(delegate) }
        guard let taken = body.take(inbound) else {
            fail(ProxyError(kind: .badResponse, underlying: HeadError.badResponse))
            return false
        }
        if taken > 0 { delegate.upstreamBody(inbound.readSlice(length: taken)!) }
        if body.isComplete {
            finish()
            return true
        }
        return false
    }

    /// A chunked body for a client that cannot take chunks: data only.
    private func readChunkData(_ delegate: UpstreamDelegate) -> Bool {
        let base = inbound.readerIndex
        var ranges: [Range<Int>] = []
        guard let taken = body.take(inbound, onData: { ranges.append($0) }) else {
            fail(ProxyError(kind: .badResponse, underlying: HeadError.badResponse))
            return false
        }
        for range in ranges { delegate.upstreamBody(inbound.getSlice(at: base + range.lowerBound, length: range.count)!) }
        inbound.moveReaderIndex(forwardBy: taken)
        if body.isComplete {
            finish()
            return true
        }
        return false
    }

    /// The trailer lines (`name: value` CRLF each) of the chunked body just read as data only.
    var trailers: [UInt8] { body.trailers }

    private func finish() {
        state = .done
        if inbound.readableBytes > 0 { responseAllowsReuse = false }
        delegate?.upstreamResponseEnd()
    }

    private func fail(_ error: ProxyError) {
        responseAllowsReuse = false
        state = .done
        inbound = empty
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(error)
        context?.close(promise: nil)
    }

    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    private static func keepAlive(_ head: borrowing MessageHead) -> Bool {
        for field in head.fields where head.nameEquals(field, "connection") {
            if head.valueContainsToken(field, "close") { return false }
            if head.valueContainsToken(field, "keep-alive") { return true }
        }
        return head.version.minor >= 1
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        delegate?.upstreamWritabilityChanged(isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        finishHandshake(UpstreamConnectionClosed())
        if let delegate {
            if state == .body, body.closed() {
                responseAllowsReuse = false
                finish()
            } else {
                // Before the response's end, or a tunnel: the exchange fails.
                self.delegate = nil
                delegate.upstreamFailed(ProxyError(kind: .badResponse, underlying: UpstreamConnectionClosed()))
            }
        } else if let parking {
            // The pool forgets the connection and clears `parking`.
            parking.pool.idleConnectionClosed(parking.connection)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finishHandshake(error)
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(ProxyError(kind: .badResponse, underlying: error))
        }
        context.close(promise: nil)
    }

    /// Stops reading the upstream (the client is not keeping up): `autoRead` off, toggled
    /// only under pressure so that no outbound `read` hop is taken on every read.
    func pauseReads() {
        guard !readsPaused else { return }
        readsPaused = true
        try? context?.channel.syncOptions?.setOption(.autoRead, value: false)
    }

    /// Reads again.
    func resumeReads() {
        guard readsPaused else { return }
        readsPaused = false
        try? context?.channel.syncOptions?.setOption(.autoRead, value: true)
    }

    // MARK: TLS handshake

    /// Calls `callback` once the TLS handshake completed (nil) or failed or timed out (an error).
    func awaitHandshake(timeout: TimeAmount, _ callback: @escaping (Error?) -> Void) {
        guard let context else { return callback(UpstreamConnectionClosed()) }
        handshakeCallback = callback
        handshakeTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            finishHandshake(UpstreamConnectTimeout())
        }
    }

    private func finishHandshake(_ error: Error?) {
        guard let callback = handshakeCallback else { return }
        handshakeCallback = nil
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
        callback(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            finishHandshake(nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// The upstream closed the connection while it served an exchange.
struct UpstreamConnectionClosed: Error, CustomStringConvertible {
    var description: String { "upstream prematurely closed connection" }
}
