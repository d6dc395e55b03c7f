import NIOCore

/// One event loop's keep-alive pool: the thin I/O shell around `UpstreamPoolStateMachine`.
/// Every connection it hands out lives on its event loop, as do the client connections that
/// use them, so leasing and releasing take no lock. Confined to its event loop.
final class UpstreamPool {
    typealias StateMachine = UpstreamPoolStateMachine<PeerKey, UpstreamConnection>

    let eventLoop: EventLoop
    private let clock: TickClock
    private var state: StateMachine
    private let expiryTimer: LazyTimer
    /// Connections opened since start (tests count reuse with it).
    private(set) var connectionsOpened = 0

    /// The largest response head a connection takes (`nginx_proxy_proxy_buffer_size`).
    let responseHeadLimit: Int
    /// The HTTP/2 connections to `grpc`/`grpcs` peers (their exchanges are streams, not pooled).
    private lazy var http2 = HTTP2UpstreamSessions(eventLoop: eventLoop)

    init(eventLoop: EventLoop, timers: LoopTimers, limits: StateMachine.Limits, responseHeadLimit: Int) {
        self.eventLoop = eventLoop
        self.responseHeadLimit = responseHeadLimit
        self.clock = timers.clock
        self.state = StateMachine(limits: limits)
        self.expiryTimer = LazyTimer(timers: timers)
        expiryTimer.onFire = { [unowned self] in self.expire() }
    }

    /// Idle connections (diagnostics).
    var idleCount: Int { state.idleCount }

    /// An idle connection for `key` that is still open, if any.
    func leaseIdle(_ key: PeerKey) -> UpstreamConnection? {
        while case .reuse(let connection) = state.lease(key) {
            connection.handler.parking = nil
            if connection.isUsable { return connection }
        }
        return nil
    }

    /// Opens a new connection for `key` (counted in `connectionsOpened`).
    func connect(
        to address: SocketAddress, key: PeerKey, tls: TLSProfile?, connectTimeout: TimeAmount,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        if key.http2 {
            return http2.openStream(
                to: address, key: key, tls: tls, connectTimeout: connectTimeout, responseHeadLimit: responseHeadLimit,
                completion: completion)
        }
        connectionsOpened += 1
        UpstreamConnection.connect(
            to: address, key: key, tls: tls, connectTimeout: connectTimeout, responseHeadLimit: responseHeadLimit,
            on: eventLoop, completion: completion)
    }

    /// Takes a connection back after an exchange: parks it when `reusable`, else closes it.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.handler.endExchange()
        // An HTTP/2 stream serves one exchange.
        if connection.key.http2 { return connection.channel.close(promise: nil) }
        let action = state.release(
            connection, key: connection.key, reusable: reusable && connection.isUsable,
            requestsServed: connection.requestsServed, now: clock.now())
        switch action {
        case .close(let closing):
            closing.channel.close(promise: nil)
        case .parked(let armExpiry):
            watchIdle(connection)
            if let armExpiry { expiryTimer.arm(at: armExpiry) }
        }
    }

    /// Closes every idle connection; later releases close their connection.
    func shutdown() {
        expiryTimer.cancel()
        http2.shutdown()
        for connection in state.shutdown() {
            connection.handler.parking = nil
            connection.channel.close(promise: nil)
        }
    }

    /// A parked connection closed (the upstream's keep-alive timeout, a reset): forget it.
    func idleConnectionClosed(_ connection: UpstreamConnection) {
        connection.handler.parking = nil
        state.idleConnectionClosed(connection, key: connection.key)
    }

    private func watchIdle(_ connection: UpstreamConnection) {
        connection.handler.parking = IdleParking(pool: self, connection: connection)
    }

    private func expire() {
        let (expired, next) = state.expire(now: clock.now())
        for connection in expired {
            connection.handler.parking = nil
            connection.channel.close(promise: nil)
        }
        if let next { expiryTimer.arm(at: next) }
    }
}
