import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// The LDAP ldap-auth speaks (RFC 4511, BER): a simple bind as `who` with a password, over a
/// plain connection, LDAPS (TLS from the start) or StartTLS (the extended operation, then TLS
/// on the same connection), as Kong's `ldap.lua` does.
enum LDAPClient {
    enum Security: Sendable, Hashable {
        case none
        case ldaps
        case startTLS
    }

    struct Server: Sendable, Hashable {
        var host: String
        var port: Int
        var security: Security
        /// Verify the server's certificate (and its name) with the system's trust store.
        var verify: Bool
    }

    /// An LDAP operation the server refused, or an answer that is not LDAP.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Binds as `who`: true when the server accepts the password, false when it refuses it
    /// (`invalidCredentials` and every other result code); throws when the server cannot be
    /// reached or spoken to.
    static func bind(
        _ server: Server, who: String, password: String, timeout: TimeAmount,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Bool {
        let tls = server.security == .none ? nil : try (server.verify ? PluginClientTLS.verified : PluginClientTLS.unverified).get()
        let serverName = server.host.first?.isNumber == true || server.host.contains(":") ? nil : server.host
        let exchange = LDAPExchange()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if server.security == .ldaps, let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(exchange)
                }
            }
            .connect(host: server.host, port: server.port).get()
        defer { channel.close(promise: nil) }
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        if server.security == .startTLS, let tls {
            let started = try await exchange.send(BER.startTLSRequest(messageID: 1), on: channel).get()
            guard started.resultCode == 0 else {
                throw Failure(description: "failed to start TLS: \(started.diagnostic) (\(started.resultCode))")
            }
            try await exchange.startTLS(on: channel, context: tls, serverName: serverName).get()
        }
        let response = try await exchange.send(BER.bindRequest(messageID: 2, who: who, password: password), on: channel).get()
        return response.resultCode == 0
    }
}

/// Sends LDAP requests on a connection and hands back each response (one at a time).
private final class LDAPExchange: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct State {
        var received = ByteBuffer()
        var pending: EventLoopPromise<BER.Response>?
        var handshake: EventLoopPromise<Void>?
    }

    /// Touched on the connection's event loop only; behind a lock so that the handler, made
    /// off the loop and captured by the bootstrap's initializer, is honestly `Sendable`.
    private let state = Mutex(State())

    func send(_ request: ByteBuffer, on channel: any Channel) -> EventLoopFuture<BER.Response> {
        channel.eventLoop.flatSubmit { [self] in
            let promise = channel.eventLoop.makePromise(of: BER.Response.self)
            state.withLock { $0.pending = promise }
            channel.writeAndFlush(request).whenFailure { promise.fail($0) }
            return promise.futureResult
        }
    }

    /// Adds TLS in front of the exchange and completes once its handshake did.
    func startTLS(on channel: any Channel, context: NIOSSLContext, serverName: String?) -> EventLoopFuture<Void> {
        channel.eventLoop.flatSubmit { [self] in
            let promise = channel.eventLoop.makePromise(of: Void.self)
            state.withLock { $0.handshake = promise }
            do {
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
            } catch {
                promise.fail(error)
            }
            return promise.futureResult
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        state.withLock { s in
            s.received.writeBuffer(&bytes)
            switch BER.parseResponse(&s.received) {
            case nil: return
            case .some(.failure(let failure)):
                s.pending?.fail(failure)
            case .some(.success(let response)):
                s.pending?.succeed(response)
            }
            s.pending = nil
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            state.withLock { s in
                s.handshake?.succeed(())
                s.handshake = nil
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(LDAPClient.Failure(description: "connection closed"))
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error) {
        state.withLock { s in
            s.pending?.fail(error)
            s.handshake?.fail(error)
            s.pending = nil
            s.handshake = nil
        }
    }
}

