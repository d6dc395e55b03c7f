import NIOCore
import NIOTLS

/// Chooses HTTP/1.1 or HTTP/2 for a connection to an address marked `http2`, as nginx does
/// (`listen ... http2`): by ALPN on `ssl` addresses (the TLS handler's context offers `h2`
/// before `http/1.1`), by the client's connection preface on plain ones (HTTP/2 with prior
/// knowledge, "h2c"; anything else is HTTP/1.1). It then has `install` add the chosen pipeline
/// behind it, hands that pipeline what it has read, and leaves.
///
/// Used by the proxy's listeners and by the Admin and Status APIs' listeners.
public final class HTTPVersionChoice: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// Adds the chosen protocol's handlers to the channel (on its event loop).
    public typealias Install = (_ http2: Bool, _ channel: any Channel) throws -> Void

    private let tls: Bool
    private let timeout: TimeAmount?
    /// Called once; released when the choice is made.
    private var install: Install?
    private var received = ByteBuffer()
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - tls: the connection starts with a TLS handler ahead of this one (ALPN decides).
    ///   - timeout: the connection closes when no choice is made within it (the client's TLS
    ///     handshake or first bytes did not come).
    public init(tls: Bool, timeout: TimeAmount?, install: @escaping Install) {
        self.tls = tls
        self.timeout = timeout
        self.install = install
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let timeout else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        guard !tls, install != nil else { return }
        switch HTTP2Preface.verdict(received) {
        case .http1: choose(http2: false, context: context)
        case .http2: choose(http2: true, context: context)
        case .undecided: break
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if tls, install != nil, let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            choose(http2: negotiated == "h2", context: context)
        }
    }

    private func choose(http2: Bool, context: ChannelHandlerContext) {
        guard let install else { return }
        self.install = nil
        timer?.cancel()
        timer = nil
        do {
            try install(http2, context.channel)
        } catch {
            context.close(promise: nil)
            return
        }
        if received.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(received))
            received = ByteBuffer()
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// The HTTP/2 connection preface (RFC 9113 §3.4), and what the first bytes of a plain
/// connection say about the protocol it speaks.
public enum HTTP2Preface {
    /// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
    public static let bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// What the bytes received so far say.
    public enum Verdict: Sendable, Equatable {
        /// They differ from the preface: HTTP/1.x.
        case http1
        /// The whole preface arrived.
        case http2
        /// A prefix of the preface: wait for more.
        case undecided
    }

    /// The verdict on the first bytes of a connection.
    public static func verdict(_ received: ByteBuffer) -> Verdict {
        let count = min(received.readableBytes, bytes.count)
        guard received.readableBytesView.prefix(count).elementsEqual(bytes.prefix(count)) else { return .http1 }
        return count == bytes.count ? .http2 : .undecided
    }
}
