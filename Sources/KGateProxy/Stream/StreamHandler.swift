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
/// On an `ssl` listener a route of protocol `tls` terminates TLS here (with the certificate
/// the SNI selects) and relays the plain bytes; a `tls_passthrough` route relays the client's
/// TLS bytes as they are. A plain listener serves `tcp` routes. A `tls` service is reached
/// over TLS (with its `tls_verify`, `ca_certificates` and client certificate); a failed
/// connection is tried again on the next target up to the service's `retries`. A connection no
/// route accepts, or that `ip-restriction` refuses, is closed.
final class StreamHandler: ChannelDuplexHandler, LoopConnection {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private enum State {
        case routing, connecting, relaying, closed
    }

    private let env: ProxyEnvironment
    private let loop: LoopContext
    private let tls: Bool
    private var context: ChannelHandlerContext?
    private var state = State.routing
    /// The generation the connection was routed with, kept until it ends.
    private var generation: Generation?
    private var plan: ServicePlan?
    private var tries = 0
    /// What the client sent before the upstream connection was up.
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    /// A read held back while `pending` is full.
    private var heldRead = false
    /// The client address a PROXY protocol header gave.
    var proxyProtocolSource: String?

    /// The most a connection buffers before its upstream connection is up.
    static let pendingLimit = 64 * 1024

    init(env: ProxyEnvironment, loop: LoopContext, tls: Bool) {
        self.env = env
        self.loop = loop
        self.tls = tls
    }

    /// Adds the SNI reader in front of the handler of an `ssl` listener's connection: the route
    /// is chosen by the ClientHello's SNI before TLS is terminated or passed through.
    static func installTLS(on channel: any Channel, for handler: StreamHandler) throws {
        let reader = ByteToMessageHandler(SNIHandler { result in
            guard case .hostname(let name) = result else { return handler.routeTLS(serverName: nil, channel: channel) }
            return handler.routeTLS(serverName: name, channel: channel)
        })
        try channel.pipeline.syncOperations.addHandler(reader, name: readerName)
    }

    static let readerName = "kgate.stream.sni"

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.register(self)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        // A TLS connection is routed by its SNI, a PROXY protocol one once its header is read.
        if !tls, !expectsProxyProtocol { route(protocol: "tcp", serverName: nil) }
    }

    /// Set when the listener reads a PROXY protocol header first.
    var expectsProxyProtocol = false

    /// The PROXY protocol header was read: a plain connection can be routed now.
    func proxyProtocolRead(source: String?) {
        proxyProtocolSource = source
        if !tls, state == .routing { route(protocol: "tcp", serverName: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .relaying:
            context.fireChannelRead(data)
        case .routing, .connecting:
            let buffer = unwrapInboundIn(data)
            pendingBytes += buffer.readableBytes
            pending.append(buffer)
        case .closed:
            break
        }
    }

    func read(context: ChannelHandlerContext) {
        if state != .relaying, pendingBytes >= Self.pendingLimit {
            heldRead = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        pending = []
        loop.unregister(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state != .relaying { close() }
        context.fireErrorCaught(error)
    }

    // MARK: Routing

    /// Routes a TLS connection by its SNI: a `tls_passthrough` route keeps the TLS bytes, a
    /// `tls` one gets the TLS handler (after the SNI reader, which then hands it the
    /// ClientHello). Fails (closing the connection) when no route accepts it.
    private func routeTLS(serverName: String?, channel: any Channel) -> EventLoopFuture<Void> {
        guard let route = route(protocol: nil, serverName: serverName) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        guard route.protocols.contains("tls") else { return channel.eventLoop.makeSucceededVoidFuture() }
        guard let certificates = generation?.artifact(for: ProxyPlansBuilder.self)?.certificates,
            let context = certificates.context(serverName: serverName)
        else {
            close()
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        return channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            let reader = try operations.context(name: Self.readerName).handler
            try operations.addHandler(NIOSSLServerHandler(context: context), position: .after(reader))
        }
    }

    /// Matches the connection on the stream router and starts connecting to its service;
    /// `protocol` is the one the route must accept (nil on a TLS listener: `tls` or
    /// `tls_passthrough`). Closes the connection and returns nil when nothing accepts it.
    @discardableResult
    private func route(protocol required: String?, serverName: String?) -> RouteDefinition? {
        guard state == .routing, let channel = context?.channel else { return nil }
        let (generation, plans) = env.currentPlans()
        self.generation = generation
        let source = proxyProtocolSource.flatMap(IPAddress.init) ?? channel.remoteAddress?.ip
        let request = RouteRequest(
            scheme: tls ? .tls : .tcp, sni: serverName, sourceIP: source,
            sourcePort: proxyProtocolSource == nil ? channel.remoteAddress?.port : nil,
            destinationIP: channel.localAddress?.ip, destinationPort: channel.localAddress?.port)
        let stream = plans.stream
        guard let match = stream.router.match(request),
            match.route.protocols.contains(where: { required.map([$0].contains) ?? ["tls", "tls_passthrough"].contains($0) })
        else {
            env.logger.info("stream.no_route", metadata: ["client": "\(channel.remoteAddress.map { "\($0)" } ?? "")"])
            close()
            return nil
        }
        guard stream.allows(source, on: match) else {
            env.logger.warning("IP address not allowed: \(source.map { "\($0)" } ?? "unknown")")
            close()
            return nil
        }
        guard let plan = stream.service(for: match) else {
            env.logger.error("stream.no_service", metadata: ["route": "\(match.route.id)"])
            close()
            return nil
        }
        self.plan = plan
        state = .connecting
        connect()
        return match.route
    }

    // MARK: Upstream

    /// Picks a target (balancer, DNS or the service's address) and connects to it.
    private func connect() {
        guard state == .connecting, let plan else { return }
        tries += 1
        switch plan.destination {
        case .address(let ip):
            open(ip: ip, port: plan.port, plan: plan)
        case .balancer(let balancer):
            switch balancer.pick(now: loop.now, resolver: loop.resolver, on: loop.eventLoop) {
            case .address(let pick):
                open(ip: pick.address.ip, port: pick.address.port, plan: plan)
            case .noPeer:
                fail(ProxyError(kind: .noPeer))
            case .waiting(let answered):
                answered.hop(to: loop.eventLoop).assumeIsolated().whenComplete { [self] _ in
                    tries -= 1
                    connect()
                }
            }
        case .hostname:
            loop.dns.resolve(plan.host) { [self] result in
                guard state == .connecting else { return }
                switch result {
                case .success(let ip): open(ip: ip, port: plan.port, plan: plan)
                case .failure(.nameNotFound): fail(ProxyError(kind: .nameResolution))
                case .failure(.other(let message)): fail(ProxyError(kind: .resolveFailed(host: plan.host, message: message)))
                }
            }
        }
    }

    private func open(ip: IPBytes, port: Int, plan: ServicePlan) {
        let idle = max(plan.readTimeout, plan.writeTimeout)
        let serverName = TLSProfile.serverName(forHostHeader: plan.host)
        ClientBootstrap(group: loop.eventLoop)
            .connectTimeout(plan.connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let tls = plan.tls {
                        try operations.addHandler(
                            tls.clientHandler(serverHostname: serverName, recorder: CertificateVerifyRecorder()))
                    }
                    try operations.addHandler(IdleStateHandler(allTimeout: idle))
                    try operations.addHandler(StreamRelay())
                }
            }
            .connect(to: ip.socketAddress(port: port))
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
                    let failure = ProxyError.connect(error)
                    env.logger.error(
                        "\(failure.nginxMessage(serverName: serverName, headReceived: false)), upstream: \"\(ip.text):\(port)\"")
                    if tries <= plan.retries { return connect() }
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
        for buffer in pending { upstream.write(buffer, promise: nil) }
        upstream.flush()
        pending = []
        pendingBytes = 0
        client.resumeReading()
        upstreamRelay.resumeReading()
        if heldRead {
            heldRead = false
            context.read()
        }
    }

    /// No target could be reached: the connection closes (logged unless it was already).
    private func fail(_ error: ProxyError, logged: Bool = false) {
        if !logged { env.logger.error("\(error.description)") }
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
