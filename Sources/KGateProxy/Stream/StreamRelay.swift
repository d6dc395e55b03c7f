import NIOCore

/// One side of a stream connection's relay: what its channel reads is written to the other
/// side's, with back-pressure (a side reads only while its partner's channel is writable).
///
/// Both relays of a pair live on one event loop: the upstream connection is made on the client
/// connection's loop. A side whose input ends ends the session: what it sent is written out,
/// then both close (nginx's stream proxy without `proxy_half_close`, as Kong runs it); either
/// side closing or failing closes both.
final class StreamRelay: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: StreamRelay?
    private var context: ChannelHandlerContext?
    /// Bytes this side's channel read (for the access log's `$bytes_sent` / `$bytes_received`).
    private(set) var bytesRead = 0
    /// A read asked for while the partner could not take more.
    private var pendingRead = false
    /// What arrived before the partner was linked (an upstream's first bytes, or the reads of
    /// a TLS handshake's end); at most one read burst.
    private var early: [ByteBuffer] = []

    /// Links the relay of a client channel with the relay of its upstream channel.
    static func link(_ client: StreamRelay, _ upstream: StreamRelay) {
        client.partner = upstream
        upstream.partner = client
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesRead += buffer.readableBytes
        if let partner {
            partner.write(buffer)
        } else {
            early.append(buffer)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.close()
        partner = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            let partner = self.partner
            self.partner = nil
            partner?.partner = nil
            partner?.finish()
            close()
        } else if event is IdleStateHandler.IdleStateEvent {
            // nginx's `proxy_timeout`: nothing went either way for the service's timeout.
            close()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Unlinked, reads go on until something arrives (a TLS handshake needs them).
        if partner?.isWritable ?? early.isEmpty {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: What the partner asks

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func flush() {
        context?.flush()
    }

    /// Once both relays are linked: what arrived early goes to the partner, and a read that
    /// waited is made.
    func resumeReading() {
        if !early.isEmpty, let partner {
            for buffer in early { partner.write(buffer) }
            early = []
            partner.flush()
        }
        partnerBecameWritable()
    }

    private func partnerBecameWritable() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    /// Writes out what this side holds, then closes it.
    func finish() {
        guard let context else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Closes this side (and, through `channelInactive`, the other).
    func close() {
        context?.close(promise: nil)
    }
}
