import NIOCore

/// One side of a stream connection's relay: what its channel reads is written to the other
/// side's, with back-pressure (a side reads only while its partner's channel is writable).
///
/// Both relays of a pair live on one event loop: the upstream connection is made on the client
/// connection's loop. A side whose input ends half-closes its partner's output (nginx's stream
/// proxy passes the FIN on); either side closing or failing closes both.
final class StreamRelay: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: StreamRelay?
    private var context: ChannelHandlerContext?
    /// A read asked for while the partner could not take more.
    private var pendingRead = false
    /// This side's input ended, and its output was shut: both gone, the channel closes.
    private var inputEnded = false
    private var outputEnded = false

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
        partner?.write(unwrapInboundIn(data))
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
            inputEnded = true
            partner?.closeOutput()
            if outputEnded { close() }
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
        if partner?.isWritable ?? false {
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

    /// Reads again if a read waited for the partner (once both relays are linked).
    func resumeReading() {
        partnerBecameWritable()
    }

    private func partnerBecameWritable() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    private func closeOutput() {
        guard let context else { return }
        outputEnded = true
        context.flush()
        if inputEnded {
            context.close(promise: nil)
        } else {
            context.close(mode: .output, promise: nil)
        }
    }

    /// Closes this side (and, through `channelInactive`, the other).
    func close() {
        context?.close(promise: nil)
    }
}
