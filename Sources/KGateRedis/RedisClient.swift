#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The node's Redis connections: one per endpoint and event loop, opened on first use,
/// authenticated (`AUTH`) and switched to the endpoint's database (`SELECT`) once, and used by
/// every request of that loop, pipelined. A connection that fails or times out is closed (its
/// waiting commands fail with the error) and the next call opens a new one.
public final class RedisClient: Sendable {
    /// The client every plugin shares.
    public static let shared = RedisClient()

    private struct Key: Hashable {
        var endpoint: RedisEndpoint
        var loop: ObjectIdentifier
    }

    private let connections = Mutex<[Key: EventLoopFuture<Channel>]>([:])

    /// How long a connection may go unused before it is closed.
    let idleTimeout: TimeAmount

    /// Sets the CAs of connections that verify the server (`ssl_verify`); untouched, the
    /// system's trust store.
    public typealias Trust = @Sendable (inout TLSConfiguration) -> Void
    private let trust = Mutex<Trust>({ _ in })

    /// A client with no connections; one unused for `idleTimeout` is closed.
    public init(idleTimeout: TimeAmount = .seconds(60)) {
        self.idleTimeout = idleTimeout
    }

    /// Makes connections opened from now on verify servers with `trust` (Kong's cosockets
    /// verify with `lua_ssl_trusted_certificate`).
    public func verify(with trust: @escaping Trust) {
        self.trust.withLock { $0 = trust }
    }

    /// Sends `commands` together and returns their replies in order (a refused command is an
    /// `.error` reply among them). Fails with a ``RedisError`` when the server cannot be
    /// reached or does not answer within the endpoint's timeout.
    ///
    /// - Parameter loop: the event loop the connection lives on and the future completes on;
    ///   by default the calling thread's own (a proxy request's), else one of NIO's shared loops.
    public func send(
        _ commands: [RedisCommand], to endpoint: RedisEndpoint, on loop: (any EventLoop)? = nil
    ) -> EventLoopFuture<[RESPValue]> {
        let loop = loop ?? MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        return connection(endpoint, loop).flatMap { channel in
            Self.send(commands, on: channel, timeout: endpoint.timeout)
        }
    }

    /// Closes every connection (tests, shutdown).
    public func closeAll() {
        let all = connections.withLock { map in
            defer { map.removeAll() }
            return Array(map.values)
        }
        for future in all { future.whenSuccess { $0.close(promise: nil) } }
    }

    /// Connections open or opening (tests, diagnostics).
    public var connectionCount: Int { connections.withLock { $0.count } }

    // MARK: Connections

    private func connection(_ endpoint: RedisEndpoint, _ loop: any EventLoop) -> EventLoopFuture<Channel> {
        let key = Key(endpoint: endpoint, loop: ObjectIdentifier(loop))
        let (opening, isNew) = connections.withLock { map -> (EventLoopFuture<Channel>, Bool) in
            if let existing = map[key] { return (existing, false) }
            let opening = Self.open(endpoint, on: loop, idleTimeout: idleTimeout, trust: trust.withLock { $0 })
            map[key] = opening
            return (opening, true)
        }
        // Forgotten once it fails or closes: the next call reconnects. Registered outside the
        // lock: on the loop, a future that already failed calls back at once.
        if isNew {
            opening.whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.closeFuture.whenComplete { _ in self.forget(key, opening) }
                case .failure:
                    self.forget(key, opening)
                }
            }
        }
        return opening
    }

    private func forget(_ key: Key, _ future: EventLoopFuture<Channel>) {
        connections.withLock { map in
            if map[key] === future { map[key] = nil }
        }
    }

    private static func open(
        _ endpoint: RedisEndpoint, on loop: any EventLoop, idleTimeout: TimeAmount, trust: Trust
    ) -> EventLoopFuture<Channel> {
        let tls: NIOSSLContext?
        do {
            tls = endpoint.ssl ? try tlsContext(endpoint, trust: trust) : nil
        } catch {
            return loop.makeFailedFuture(RedisError.connect("failed to set up TLS: \(error)"))
        }
        let serverName = endpoint.serverName ?? (isIPAddress(endpoint.host) ? nil : endpoint.host)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(endpoint.timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    // Unused for a minute (its configs are gone, or traffic stopped): closed
                    // and forgotten, as lua-resty-redis's keepalive pool lets idle ones go.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler())
                }
            }
        return bootstrap.connect(host: endpoint.host, port: endpoint.port)
            .flatMapErrorThrowing { error in throw RedisError.connect(connectMessage(error)) }
            .flatMap { channel in
                var setup: [RedisCommand] = []
                if let password = endpoint.password, !password.isEmpty {
                    if let user = endpoint.username, !user.isEmpty {
                        setup.append(RedisCommand("AUTH", user, password))
                    } else {
                        setup.append(RedisCommand("AUTH", password))
                    }
                }
                if endpoint.database != 0 { setup.append(RedisCommand("SELECT", String(endpoint.database))) }
                guard !setup.isEmpty else { return channel.eventLoop.makeSucceededFuture(channel) }
                return send(setup, on: channel, timeout: endpoint.timeout).flatMapThrowing { replies in
                    for case .error(let message) in replies {
                        channel.close(promise: nil)
                        throw RedisError.server(message)
                    }
                    return channel
                }
            }
    }

    /// Writes a batch and fails it (closing the connection) when no reply came in `timeout`.
    static func send(_ commands: [RedisCommand], on channel: Channel, timeout: TimeAmount) -> EventLoopFuture<[RESPValue]> {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(RedisError.timeout)
            // Fails the batches after it too (their replies would come out of order) and closes.
            channel.pipeline.fireErrorCaught(RedisError.timeout)
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        // A connection that closed since it was handed out never sees the batch: the failed
        // write fails it.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in promise.fail(RedisError.closed) }
        channel.writeAndFlush(RedisChannelHandler.Batch(commands: commands, promise: promise), promise: written)
        return promise.futureResult
    }

    private static func tlsContext(_ endpoint: RedisEndpoint, trust: Trust) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if endpoint.sslVerify {
            trust(&configuration)
        } else {
            configuration.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// lua-resty-redis's words for a failed connect (`connection refused`, `timeout`).
    private static func connectMessage(_ error: any Error) -> String {
        if let error = error as? ChannelError, case .connectTimeout = error { return "timeout" }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first?.error { return connectMessage(first) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "\(error.host) could not be resolved (\(dns))" }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "timeout"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
