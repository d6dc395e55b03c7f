#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOPosix

/// Pauses a listener when accepting fails because the process or the system is out of file
/// descriptors (or socket memory), as nginx does: it logs `accept4() failed (24: Too many open
/// files)` and stops accepting for `accept_mutex_delay` (500 ms), so the connections it has keep
/// being served and accepting resumes once some have closed.
///
/// Without it the listening socket stays readable with the connection it could not accept, and
/// the event loop retries at once, forever, at full CPU. (SwiftNIO's `AcceptBackoffHandler`
/// cannot help there: it delays the next `read`, but a channel whose very first accept failed
/// never asks for one.) The pause turns `autoRead` off, which takes the socket out of the
/// selector, and back on when it ends. Confined to the listener's event loop.
final class AcceptBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    /// How long accepting pauses (nginx's `accept_mutex_delay`).
    static let pause = TimeAmount.milliseconds(500)

    private let logger: Logger
    private let listener: String
    private var resume: Scheduled<Void>?

    init(logger: Logger, listener: String) {
        self.logger = logger
        self.listener = listener
    }

    /// Whether `error` calls for a pause: the process or the system is out of descriptors or
    /// memory (a connection that failed on its own, ECONNABORTED say, does not).
    static func callsForPause(_ error: any Error) -> Bool {
        guard let error = error as? IOError else { return false }
        switch error.errnoCode {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: return true
        default: return false
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard Self.callsForPause(error) else { return context.fireErrorCaught(error) }
        guard resume == nil, let options = context.channel.syncOptions else { return }
        logger.critical(
            "accept failed; accepting pauses",
            metadata: ["listener": "\(listener)", "error": "\(error)", "pause_ms": "\(Self.pause.nanoseconds / 1_000_000)"])
        try? options.setOption(.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [self] in
            resume = nil
            try? options.setOption(.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}

extension ServerBootstrap {
    /// Pauses this listener's accepting for 500 ms whenever an accept fails for lack of
    /// descriptors or memory, logging the failure (see ``AcceptBackoff``).
    ///
    /// - Parameter listener: the listener's name in the log (`proxy`, `admin`, `status`).
    public func acceptBackingOff(logger: Logger, listener: String) -> ServerBootstrap {
        serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AcceptBackoff(logger: logger, listener: listener))
            }
        }
    }
}
