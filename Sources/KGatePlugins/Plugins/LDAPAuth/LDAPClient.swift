import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// The LDAP ldap-auth speaks (RFC 4511, BER): simple binds as `who` with a password, over a
/// plain connection, LDAPS (TLS from the start) or StartTLS (the extended operation, then TLS
/// on the same connection), as Kong's `ldap.lua` does. Connections are kept alive between binds
/// for `keepalive` (Kong's `setkeepalive`), a few per server (StartTLS ones apart, as Kong pools
/// them apart).
final class LDAPClient: Sendable {
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

    /// A connection waiting for the next bind, and the timer that closes it.
    private struct Idle: Sendable {
        var channel: any Channel
        var exchange: LDAPExchange
        var closing: Scheduled<Void>
    }

    /// Idle connections kept per server at most.
    static let idleLimit = 8

    private let group: any EventLoopGroup
    private let idle = Mutex<[Server: [Idle]]>([:])

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    deinit {
        idle.withLock { pools in
            for idle in pools.values.joined() { idle.channel.close(promise: nil) }
        }
    }

    /// Binds as `who`: true when the server accepts the password, false when it refuses it
    /// (`invalidCredentials` and every other result code); throws when the server cannot be
    /// reached or spoken to. The connection is kept `keepalive` for the next bind.
    func bind(
        _ server: Server, who: String, password: String, timeout: TimeAmount, keepalive: TimeAmount
    ) async throws -> Bool {
        let (channel, exchange) = try await connection(server, timeout: timeout)
        let response = try await Self.bounded(channel, timeout) {
            try await exchange.send(on: channel) { BER.bindRequest(messageID: $0, who: who, password: password) }.get()
        }
        keep(channel, exchange, for: server, keepalive: keepalive)
        return response.resultCode == 0
    }

    /// An idle connection to the server that is still open, else a new one (TLS done).
    private func connection(_ server: Server, timeout: TimeAmount) async throws -> (any Channel, LDAPExchange) {
        while let kept = idle.withLock({ $0[server]?.popLast() }) {
            kept.closing.cancel()
            if kept.channel.isActive { return (kept.channel, kept.exchange) }
        }
        let tls = server.security == .none ? nil : try PluginClientTLS.context(verifying: server.verify)
        let serverName = PluginClientTLS.serverName(for: server.host)
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
        guard server.security == .startTLS, let tls else { return (channel, exchange) }
        try await Self.bounded(channel, timeout) {
            let started = try await exchange.send(on: channel) { BER.startTLSRequest(messageID: $0) }.get()
            guard started.resultCode == 0 else {
                throw Failure(description: "failed to start TLS: \(started.diagnostic) (\(started.resultCode))")
            }
            try await exchange.startTLS(on: channel, context: tls, serverName: serverName).get()
        }
        return (channel, exchange)
    }

    /// Runs an exchange on `channel` within `timeout`: the connection closes when the time runs
    /// out (failing what waits on it) or when the exchange fails.
    private static func bounded<T>(
        _ channel: any Channel, _ timeout: TimeAmount, _ exchange: () async throws -> T
    ) async throws -> T {
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            return try await exchange()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Keeps an open connection for the next bind, closing it after `keepalive` unused (or at
    /// once when the server already has enough waiting).
    private func keep(_ channel: any Channel, _ exchange: LDAPExchange, for server: Server, keepalive: TimeAmount) {
        guard channel.isActive, keepalive > .zero else { return channel.close(promise: nil) }
        let closing = channel.eventLoop.scheduleTask(in: keepalive) { [weak self] in
            self?.idle.withLock { pools in pools[server]?.removeAll { $0.channel === channel } }
            channel.close(promise: nil)
        }
        let kept = idle.withLock { pools -> Bool in
            guard pools[server, default: []].count < Self.idleLimit else { return false }
            pools[server, default: []].append(Idle(channel: channel, exchange: exchange, closing: closing))
            return true
        }
        if !kept {
            closing.cancel()
            channel.close(promise: nil)
        }
    }
}

/// Sends LDAP requests on a connection and hands back each response (one at a time).
final class LDAPExchange: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct State {
        var received = ByteBuffer()
        var pending: EventLoopPromise<BER.Response>?
        var handshake: EventLoopPromise<Void>?
        var nextMessageID = 0
    }

    /// Touched on the connection's event loop only; behind a lock so that the handler, made
    /// off the loop and captured by the bootstrap's initializer, is honestly `Sendable`.
    private let state = Mutex(State())

    /// Sends the request `make` builds with the connection's next message id.
    func send(on channel: any Channel, _ make: @escaping @Sendable (Int) -> ByteBuffer) -> EventLoopFuture<BER.Response> {
        channel.eventLoop.flatSubmit { [self] in
            let promise = channel.eventLoop.makePromise(of: BER.Response.self)
            let id = state.withLock { s -> Int in
                s.pending = promise
                s.nextMessageID += 1
                return s.nextMessageID
            }
            channel.writeAndFlush(make(id)).whenFailure { promise.fail($0) }
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

