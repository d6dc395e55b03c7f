import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A connection to a log collector that tcp-log and udp-log write lines to: one per
/// destination, opened on first use and again after it closed, shared by every request (each
/// line is one write, so lines never interleave). A TCP connection idle for `keepalive` is
/// closed, as Kong's pooled sockets are; UDP sockets are connected (`setpeername`).
final class LogSocket: Sendable {
    struct Destination: Sendable, Hashable {
        enum Transport: Sendable, Hashable {
            case tcp(tls: Bool, serverName: String?)
            case udp
        }

        var host: String
        var port: Int
        var transport: Transport
    }

    let destination: Destination
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let keepalive: TimeAmount
    private let state = Mutex(State())

    private struct State {
        var channel: EventLoopFuture<any Channel>?
        var idleTimer: Scheduled<Void>?
    }

    init(
        destination: Destination, connectTimeout: TimeAmount, keepalive: TimeAmount,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.destination = destination
        self.connectTimeout = connectTimeout
        self.keepalive = keepalive
        self.group = group
    }

    deinit {
        state.withLock { $0.channel?.whenSuccess { $0.close(promise: nil) } }
    }

    /// Writes the bytes; a failure is logged (Kong's `failed to connect to ...`).
    func send(_ bytes: [UInt8], logger: Logger, again: Bool = true) {
        let destination = self.destination
        let future = state.withLock { s -> EventLoopFuture<any Channel> in
            if let current = s.channel { return current }
            let made = connect()
            s.channel = made
            return made
        }
        future.whenComplete { [self] result in
            switch result {
            case .success(let channel) where channel.isActive:
                channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenFailure { error in
                    logger.error("failed to send data to \(destination.host):\(destination.port): \(error)")
                }
                armIdleTimer(on: channel)
            case .success:
                // Closed since: open another for this line.
                state.withLock { s in if s.channel === future { s.channel = nil } }
                if again { send(bytes, logger: logger, again: false) }
            case .failure(let error):
                state.withLock { s in if s.channel === future { s.channel = nil } }
                logger.error("failed to connect to \(destination.host):\(destination.port): \(error)")
            }
        }
    }

    /// Closes a TCP connection after `keepalive` without a line.
    private func armIdleTimer(on channel: any Channel) {
        guard case .tcp = destination.transport else { return }
        let timer = channel.eventLoop.scheduleTask(in: keepalive) {
            // The next line sees the channel inactive and connects again.
            channel.close(promise: nil)
        }
        let previous = state.withLock { s -> Scheduled<Void>? in
            defer { s.idleTimer = timer }
            return s.idleTimer
        }
        previous?.cancel()
    }

    private func connect() -> EventLoopFuture<any Channel> {
        let destination = self.destination
        switch destination.transport {
        case .udp:
            return DatagramBootstrap(group: group).connect(host: destination.host, port: destination.port)
        case .tcp(let tls, let serverName):
            let context: NIOSSLContext?
            do { context = tls ? try PluginClientTLS.unverified.get() : nil } catch {
                return group.next().makeFailedFuture(error)
            }
            return ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: context, serverHostname: serverName))
                        }
                    }
                }
                .connect(host: destination.host, port: destination.port)
        }
    }
}
