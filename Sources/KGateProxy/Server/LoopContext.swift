import Atomics
import KGateHTTP
import KGateStore
import Logging
import NIOCore

/// Where `real_ip_header` points (decided once at start-up).
enum RealIPSource: Sendable {
    case xRealIP, xForwardedFor
    /// The connection's PROXY protocol header.
    case proxyProtocol
    /// Another header (``ProxyEnvironment/customRealIPHeader``).
    case header
}

/// What every connection of a proxy server shares: immutable after start-up.
final class ProxyEnvironment: Sendable {
    let store: ConfigStore
    let configuration: ProxyConfiguration
    let logger: Logger
    /// `1.1 kong/<version>` (requests and responses say HTTP/1.1 to and from upstreams).
    let viaToken: String
    /// `2 kong/<version>`: HTTP/2 from clients (inbound) and to gRPC services (outbound).
    let http2ViaToken: String
    /// Where `real_ip_header` takes a trusted peer's client address from.
    let realIPSource: RealIPSource
    /// `real_ip_header` lower-cased, when it is not one the request pass already reads.
    let customRealIPHeader: [UInt8]?
    /// Response headers enabled for generated (not proxied) responses.
    let responseHeaders: ResponseHeaders
    /// `nginx_http_charset`, nil for `off`.
    let charset: ResponseCharset?
    /// Connections accepted so far, across loops (nginx's shared `ngx_connection_counter`,
    /// whose value each connection takes as `$connection`).
    let acceptedConnections = ManagedAtomic<Int>(0)

    init(store: ConfigStore, configuration: ProxyConfiguration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.viaToken = "1.1 " + configuration.serverToken
        self.http2ViaToken = "2 " + configuration.serverToken
        let realIP = configuration.realIPHeader.lowercased()
        switch realIP {
        case "x-real-ip": realIPSource = .xRealIP
        case "x-forwarded-for": realIPSource = .xForwardedFor
        case "proxy_protocol": realIPSource = .proxyProtocol
        default: realIPSource = .header
        }
        self.customRealIPHeader = realIPSource == .header ? Array(realIP.utf8) : nil
        self.responseHeaders = configuration.responseHeaders
        self.charset = ResponseCharset(configuration.charset)
    }

    /// The plans of the current generation, and the generation (kept for the whole request).
    @inline(__always)
    func currentPlans() -> (Generation, ProxyPlans) {
        let generation = store.current
        return (generation, generation.artifact(for: ProxyPlansBuilder.self) ?? ProxyPlans.empty)
    }
}

/// One event loop's mutable state: its upstream pool, DNS cache, request-id stream, `Date`
/// cache and open client connections.
///
/// `@unchecked Sendable` because it is handed to its event loop's channels from the server
/// object; every member but `stats` is only touched on `eventLoop` (the server looks it up per
/// accepted channel, on that channel's loop), so no two threads ever use it. `stats` is
/// `Sendable` itself (atomics), read by the server from any thread.
final class LoopContext: @unchecked Sendable {
    let eventLoop: EventLoop
    let pool: UpstreamPool
    let dns: DNSCache
    /// Asks balancer targets' names (the DNS cache serves services' hosts).
    let resolver: any DNSResolving
    let flushes: FlushBatcher
    /// The connections' and the pool's timers.
    let timers: LoopTimers
    var requestIDs = RequestIDGenerator()
    var dates = HTTPDateCache()
    /// This loop's access-log lines, written at the end of each tick (`proxy_access_log`).
    let accessLog: LoopAccessLog?
    /// This loop's stream-session lines (`proxy_stream_access_log`).
    let streamAccessLog: LoopAccessLog?
    /// Open client connections, for graceful shutdown.
    private(set) var connections: [ObjectIdentifier: any LoopConnection] = [:]
    /// Set by a graceful shutdown: idle connections close, busy ones close after their response.
    private(set) var isQuiescing = false
    /// Connections and requests, read by `/status` from any thread.
    let stats = LoopStats()

    init(
        eventLoop: EventLoop, configuration: ProxyConfiguration, resolver: any DNSResolving, accessLog: AccessLog? = nil,
        streamAccessLog: AccessLog? = nil
    ) {
        self.eventLoop = eventLoop
        self.accessLog = accessLog.map(LoopAccessLog.init)
        self.streamAccessLog = streamAccessLog.map(LoopAccessLog.init)
        let flushes = FlushBatcher(eventLoop: eventLoop)
        self.flushes = flushes
        let timers = LoopTimers(eventLoop: eventLoop, clock: flushes.clock)
        self.timers = timers
        self.pool = UpstreamPool(
            eventLoop: eventLoop, timers: timers,
            limits: .init(
                maxIdlePerKey: configuration.upstreamKeepalivePoolSize,
                maxRequests: configuration.upstreamKeepaliveMaxRequests,
                idleTimeout: configuration.upstreamKeepaliveIdleTimeout),
            responseHeadLimit: configuration.upstreamResponseHeadLimit)
        self.dns = DNSCache(eventLoop: eventLoop, resolver: resolver)
        dns.ttls = configuration.dnsTTLs
        self.resolver = resolver
    }

    /// Writes a stream session's line to `proxy_stream_access_log` (Kong's `basic` format) at
    /// the end of the tick, if it is on.
    func logStreamSession(
        client: String, status: Int, bytesSent: Int, bytesReceived: Int, since started: NIODeadline, udp: Bool = false
    ) {
        guard let log = streamAccessLog else { return }
        log.appendStream(
            remoteAddress: client, status: status, bytesSent: bytesSent, bytesReceived: bytesReceived,
            milliseconds: now.milliseconds(since: started), epochSeconds: Int(wallClock()), udp: udp)
        flushes.flushSoon(log)
    }

    /// The time of this event-loop tick (read once per tick).
    @inline(__always)
    var now: NIODeadline { flushes.clock.now() }

    /// The wall-clock time of this tick, seconds since 1970.
    func wallClock() -> Double { flushes.clock.wall() }

    func register(_ connection: any LoopConnection) {
        connections[ObjectIdentifier(connection)] = connection
        stats.connections(1)
    }

    func unregister(_ connection: any LoopConnection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        stats.connections(-1)
    }

    /// Starts a graceful shutdown of this loop's connections.
    func quiesce() {
        isQuiescing = true
        for handler in Array(connections.values) { handler.quiesce() }
    }

    /// Closes every client connection and the pool (the grace period is over).
    func forceClose() {
        for handler in Array(connections.values) { handler.forceClose() }
        pool.shutdown()
    }

    /// Number of open client connections.
    var connectionCount: Int { connections.count }
}

/// A client connection as graceful shutdown sees it.
protocol LoopConnection: AnyObject {
    /// Stop taking requests: close when idle, or after the response in flight.
    func quiesce()
    /// Close now.
    func forceClose()
}
