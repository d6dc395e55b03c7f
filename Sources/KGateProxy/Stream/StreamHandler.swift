import KGatePlugins
import KGateRouter
import KGateSchema
import KGateStore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// One connection on a `stream_listen` address (Kong's stream subsystem): routed once, by its
/// addresses and, on an `ssl` listener, the SNI of its TLS ClientHello; then relayed byte for
/// byte to a target of the route's service (``StreamRelay``) until either side closes or nothing
/// moves for the service's timeout.
///
/// On an `ssl` listener a `tls_passthrough` route relays the client's TLS bytes as they are; a
/// `tls` route terminates TLS here (with the certificate the SNI selects) and relays the plain
/// bytes; a route of another protocol is refused, as Kong's preread refuses it. A `tls` service is reached over TLS (with its `tls_verify`, `ca_certificates`
/// and client certificate, named as Kong's `$upstream_host`); a failed connection or handshake
/// is tried again on the next target up to the service's `retries`. `ip-restriction` closes a
/// refused client (after the TLS handshake on a terminated route, as in Kong's terminator).
/// A connection no route accepts, or that sends no ClientHello (or PROXY header) within 30 s,
/// is closed.
final class StreamHandler: ChannelInboundHandler, LoopConnection {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        /// Waiting for what routing needs (the ClientHello, the PROXY header).
        case routing
        /// Routed to a terminated TLS route: waiting for the client's handshake.
        case handshaking
        case connecting
        case relaying
        case closed
    }

    private let env: ProxyEnvironment
    private let loop: LoopContext
    private let tls: Bool
    private var context: ChannelHandlerContext?
    private var state = State.routing
    /// The generation the connection was routed with, kept until it ends.
    private var generation: Generation?
    private var match: RouteMatch?
    private var plan: ServicePlan?
    private var serverName: String?
    /// The balancer's state for this connection, when its balancer keeps some.
    private var lease: BalancerLease?
    private var tries = 0
    /// What the client sent before the upstream connection was up.
    private var pending: [ByteBuffer] = []
    /// The client's input ended before the relay was up.
    private var inputEnded = false
    private var prereadTimer: Scheduled<Void>?
    /// The client address: the PROXY protocol header's when the peer is in `trusted_ips`.
    private var clientIP: IPAddress?
    private var clientText = ""
    /// The client address came from a PROXY protocol header (its port is not known then).
    private var clientFromHeader = false
    /// Set when the listener reads a PROXY protocol header first.
    var expectsProxyProtocol = false
    /// For the access log and the log plugins: the session's times, status, tries and TLS, the
    /// relays (their byte counts), and the bytes read before they were linked.
    private var record = StreamSessionRecord()
    private var relays: (client: StreamRelay, upstream: StreamRelay)?
    private var pendingBytes = 0

    /// nginx's `preread_timeout` and `proxy_protocol_timeout`.
    static let prereadTimeout = TimeAmount.seconds(30)

    init(env: ProxyEnvironment, loop: LoopContext, tls: Bool) {
        self.env = env
        self.loop = loop
        self.tls = tls
    }

    /// Adds the SNI reader in front of the handler of an `ssl` listener's connection: the route
    /// is chosen by the ClientHello's SNI before TLS is terminated or passed through.
    static func installTLS(on channel: any Channel, for handler: StreamHandler) throws {
        let peek = ClientHelloPeek()
        let reader = ByteToMessageHandler(SNIHandler { result in
            guard case .hostname(let name) = result else {
                return handler.routeTLS(serverName: nil, clientAcceptsECDSA: peek.acceptsECDSA, channel: channel)
            }
            return handler.routeTLS(serverName: name, clientAcceptsECDSA: peek.acceptsECDSA, channel: channel)
        })
        try channel.pipeline.syncOperations.addHandler(peek)
        try channel.pipeline.syncOperations.addHandler(reader, name: readerName)
    }

    static let readerName = "kgate.stream.sni"

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.register(self)
    }

    func channelActive(context: ChannelHandlerContext) {
        let remote = context.channel.remoteAddress
        record.begin(at: loop.now, wall: loop.wallClock(), clientPort: remote?.port ?? 0)
        clientIP = remote?.ip
        clientText = remote?.ipAddress ?? ""
        context.fireChannelActive()
        if tls || expectsProxyProtocol {
            prereadTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.prereadTimeout) { [self] in
                if state == .routing { close() }
            }
        } else {
            routePlain()
        }
    }

    /// The PROXY protocol header was read (`source` nil for `LOCAL` / `UNKNOWN`): its address
    /// is the client's when the peer is trusted (nginx's `set_real_ip_from`, `trusted_ips`).
    func proxyProtocolRead(source: String?) {
        if let source, let ip = IPAddress(source), env.configuration.trustedIPs.contains(context?.channel.remoteAddress) {
            clientIP = ip
            clientText = source
            clientFromHeader = true
        }
        if !tls { routePlain() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .relaying: context.fireChannelRead(data)
        case .routing, .handshaking, .connecting:
            let buffer = unwrapInboundIn(data)
            pendingBytes += buffer.readableBytes
            pending.append(buffer)
        case .closed: break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, state != .relaying {
            // nginx ends a stream session when the client's input ends (no `proxy_half_close`):
            // before routing there is nothing to relay; while connecting, what was read goes first.
            if state == .connecting { inputEnded = true } else { close() }
        } else if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, state == .handshaking {
            state = .connecting
            if admits() { connect() }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        pending = []
        prereadTimer?.cancel()
        lease = nil
        loop.unregister(self)
        record.finish(
            on: loop, client: clientText, received: pendingBytes + (relays?.client.bytesRead ?? 0),
            sent: relays?.upstream.bytesRead ?? 0, relayed: relays != nil,
            serverPort: { context.channel.localAddress?.port.map { self.env.configuration.hostPort(for: $0) } })
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state == .handshaking {
            // nginx ends a session whose TLS handshake failed with 500, logged at info.
            env.logger.info("SSL_do_handshake() failed (\(error)) while SSL handshaking, client: \(clientText)")
            record.status = 500
        }
        if state != .relaying { close() }
        context.fireErrorCaught(error)
    }

    /// The PROXY protocol header was not one: nginx logs it and ends the session with 400.
    func brokenProxyProtocolHeader() {
        env.logger.error("broken header while reading PROXY protocol, client: \(clientText)")
        record.status = 400
    }

    // MARK: Routing

    /// A plain listener's connection: any stream route that matches it serves it as TCP (only
    /// Kong's TLS preread branches on the route's protocol).
    private func routePlain() {
        guard state == .routing, routed(scheme: .tcp, serverName: nil) != nil else { return }
        state = .connecting
        if admits() { connect() }
    }

    /// Routes a TLS connection by its SNI (nginx's `$ssl_preread_server_name`, empty when the
    /// ClientHello has none, so only routes without `snis` match it): a `tls_passthrough` route
    /// keeps the TLS bytes, a `tls` one gets the TLS handler (after the SNI reader, which then
    /// hands it the ClientHello), with the ECDSA certificate of a `cert_alt` pair when the
    /// client accepts it. Fails (closing the connection) when no route accepts it.
    private func routeTLS(serverName: String?, clientAcceptsECDSA: Bool, channel: any Channel) -> EventLoopFuture<Void> {
        guard state == .routing, let plans = routed(scheme: .tls, serverName: serverName ?? ""),
            let route = match?.route
        else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        guard route.protocols.contains("tls") || route.protocols.contains("tls_passthrough") else {
            env.logger.error("unexpected protocols in matched Route, client: \(clientText)")
            record.status = 500
            close()
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        if route.protocols.contains("tls_passthrough"), !route.protocols.contains("tls") {
            state = .connecting
            if admits() { connect() }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        guard let context = plans.certificates.context(serverName: serverName, clientAcceptsECDSA: clientAcceptsECDSA) else {
            close()
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        state = .handshaking
        return channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            let reader = try operations.context(name: Self.readerName).handler
            try operations.addHandler(NIOSSLServerHandler(context: context), position: .after(reader))
            try operations.addHandler(ServerHelloReader { [weak self] in self?.record.clientTLS = $0 }, position: .first)
        }
    }

    /// Matches the connection on the stream router and keeps the route and its service plan;
    /// closes the connection and returns nil when no route (or service) serves it.
    private func routed(scheme: RouteRequest.Scheme, serverName: String?) -> ProxyPlans? {
        guard let channel = context?.channel else { return nil }
        prereadTimer?.cancel()
        let (generation, plans) = env.currentPlans()
        self.generation = generation
        self.serverName = serverName
        let local = channel.localAddress
        // `port_maps`: routing sees the port the client reached (Kong's `ctx.host_port`).
        let request = RouteRequest(
            scheme: scheme, sni: serverName, sourceIP: clientIP,
            sourcePort: clientFromHeader ? nil : channel.remoteAddress?.port,
            destinationIP: local?.ip, destinationPort: local?.port.map { env.configuration.hostPort(for: $0) })
        guard let match = plans.stream.router.match(request) else {
            env.logger.error("no Route found with those values, client: \(clientText)")
            record.status = 500
            close()
            return nil
        }
        guard let plan = plans.stream.service(for: match) else {
            env.logger.error("no Service found with those values, client: \(clientText)")
            record.status = 500
            close()
            return nil
        }
        self.match = match
        self.plan = plan
        return plans
    }

    /// `ip-restriction` lets the client through (the route's plugins are then collected); else
    /// logs and closes (Kong's `ngx.exit`).
    private func admits() -> Bool {
        guard let match else { return true }
        let plans = generation?.artifact(for: ProxyPlansBuilder.self)
        if let config = plans?.stream.restriction(for: match), !(clientIP.map(config.allows) ?? false) {
            env.logger.warning("\(config.rejection(of: clientText)), client: \(clientText)")
            record.status = config.exitStatus
            close()
            return false
        }
        record.collect(plans?.plugins, route: match.route.id, service: match.route.serviceID)
        return true
    }

    // MARK: Upstream

    /// Picks a target (balancer, DNS or the service's address) and connects to it; `failure`
    /// is what the previous try met, reported to the balancer.
    private func connect(after failure: ProxyError? = nil) {
        guard state == .connecting, let plan else { return }
        tries += 1
        if lease == nil, case .balancer(let balancer) = plan.destination {
            lease = BalancerLease.stream(balancer, client: clientText)
        }
        lease?.retry(after: failure.map(ProxyHandler.healthReport))
        StreamTarget.pick(plan, lease: lease, loop: loop) { [self] result in
            guard state == .connecting else { return }
            switch result {
            case .success(let target): open(ip: target.ip, port: target.port, name: target.name)
            // No target left after a failed try: that failure stands (it was logged).
            case .failure(let error): fail(error.kind == .noPeer ? failure ?? error : error, logged: error.kind == .noPeer && failure != nil)
            }
        }
    }

    /// Connects to `ip:port`; for a `tls` service, the handshake names `name` (the target's host,
    /// or the client's SNI with `preserve_host`: Kong's `$upstream_host`; none for an IP).
    private func open(ip: IPBytes, port: Int, name: String) {
        guard let plan else { return }
        let idle = max(plan.readTimeout, plan.writeTimeout)
        // `preserve_host` keeps the client's SNI when it sent one (Kong's `upstream_host`).
        let preserved = match?.route.preserveHost == true ? self.serverName.flatMap { $0.isEmpty ? nil : $0 } : nil
        let serverName = preserved ?? TLSProfile.serverName(forHostHeader: name)
        let handshake = plan.tls == nil ? nil : loop.eventLoop.makePromise(of: Void.self)
        let verify = NIOLoopBound(CertificateVerifyRecorder(), eventLoop: loop.eventLoop)
        record.beginTry(ip: ip.text, port: port, hostname: name, at: loop.now, wall: loop.wallClock())
        ClientBootstrap(group: loop.eventLoop)
            .connectTimeout(plan.connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let tls = plan.tls, let handshake {
                        try operations.addHandler(
                            tls.clientHandler(serverHostname: serverName, recorder: verify.value))
                        try operations.addHandler(HandshakeWatcher(handshake))
                    }
                    try operations.addHandler(IdleStateHandler(allTimeout: idle))
                    try operations.addHandler(StreamRelay())
                }
            }
            .connect(to: ip.socketAddress(port: port))
            .flatMap { channel in (handshake?.futureResult ?? channel.eventLoop.makeSucceededVoidFuture()).map { channel } }
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let upstream):
                    guard state == .connecting, let context else {
                        upstream.close(promise: nil)
                        return
                    }
                    relay(context, to: upstream, idle: idle)
                case .failure(let error):
                    guard state == .connecting else { return }
                    // BoringSSL says only that verification failed; the callback saw why.
                    let failure = ProxyError.connect((error is NIOSSLError ? verify.value.failure : nil) ?? error)
                    let message = failure.nginxMessage(serverName: serverName ?? ip.text, headReceived: false)
                    env.logger.error("\(message), client: \(clientText), upstream: \"\(ip.text):\(port)\"")
                    record.lastTryFailed()
                    if tries <= plan.retries { return connect(after: failure) }
                    lease?.retry(after: ProxyHandler.healthReport(failure))
                    fail(failure, logged: true)
                }
            }
    }

    /// Links the client and upstream channels: what the client sent so far goes first.
    private func relay(_ context: ChannelHandlerContext, to upstream: any Channel, idle: TimeAmount) {
        let client = StreamRelay()
        let upstreamRelay: StreamRelay
        do {
            upstreamRelay = try upstream.pipeline.syncOperations.handler(type: StreamRelay.self)
            StreamRelay.link(client, upstreamRelay)
            try context.pipeline.syncOperations.addHandlers([IdleStateHandler(allTimeout: idle), client], position: .after(self))
        } catch {
            upstream.close(promise: nil)
            return close()
        }
        state = .relaying
        relays = (client, upstreamRelay)
        for buffer in pending { upstream.write(buffer, promise: nil) }
        pending = []
        if inputEnded {
            // The client's input ended while connecting: what it sent goes, then the session ends.
            upstreamRelay.finish()
            client.close()
            return
        }
        upstream.flush()
        client.resumeReading()
        upstreamRelay.resumeReading()
    }

    /// No target could be reached: the connection closes (logged unless it was already).
    private func fail(_ error: ProxyError, logged: Bool = false) {
        if !logged { env.logger.error("\(error.description), client: \(clientText)") }
        record.status = 502
        close()
    }

    private func close() {
        guard state != .closed else { return }
        state = .closed
        context?.close(promise: nil)
    }

    // MARK: LoopConnection

    /// A relayed connection runs on until the grace period ends (nginx's stream connections
    /// are not cut by a graceful shutdown either).
    func quiesce() {}

    func forceClose() {
        context?.close(promise: nil)
    }
}

/// Completes a promise when the upstream TLS handshake is done, or fails it with what stopped it.
private final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var promise: EventLoopPromise<Void>?

    init(_ promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            promise?.succeed(())
            promise = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let promise {
            self.promise = nil
            promise.fail(error)
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.ioOnClosedChannel)
        promise = nil
        context.fireChannelInactive()
    }
}

extension BalancerLease {
    /// A stream session's lease on a balancer that keeps state (nil for one that keeps none):
    /// consistent hashing hashes what a session has, its client address (`hash_on: ip`; other
    /// sources have nothing, as in Kong's stream subsystem).
    static func stream(_ balancer: Balancer, client: String) -> BalancerLease? {
        guard balancer.needsLease else { return nil }
        let lease = BalancerLease(balancer: balancer, captures: nil)
        if balancer.algorithm == .consistentHashing {
            lease.hashValue = balancer.hashing.value(from: StreamHashedRequest(remoteAddress: client)) { _ in }
        }
        return lease
    }
}

/// What consistent hashing reads of a stream session: only its address.
private struct StreamHashedRequest: HashableRequest {
    var remoteAddress: String
    var consumerID: String? { nil }
    var uri: String { "" }
    func header(_ name: String) -> String? { nil }
    func cookie(_ name: String) -> String? { nil }
    func queryArgument(_ name: String) -> String? { nil }
    func uriCapture(_ group: String) -> String? { nil }
}
