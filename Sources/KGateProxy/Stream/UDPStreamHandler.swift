import KGateRouter
import KGateSchema
import KGateStore
import NIOCore
import NIOPosix

/// A `udp` entry of `stream_listen` (Kong's stream subsystem over UDP, nginx's UDP proxy): the
/// datagrams of one client address are a session, routed once by the stream router (`udp`
/// routes by `sources` and `destinations`) and relayed to a target of the service through a
/// UDP socket of their own; every datagram the target answers goes back to the client. A
/// session ends after the service's `read_timeout`/`write_timeout` without datagrams either
/// way (nginx's `proxy_timeout`); one no route accepts drops its datagrams.
final class UDPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let env: ProxyEnvironment
    private let loop: LoopContext
    private var context: ChannelHandlerContext?
    private var sessions: [SocketAddress: Session] = [:]

    /// One client's datagrams and the upstream socket they go through.
    fileprivate final class Session {
        let client: SocketAddress
        /// Datagrams that arrived before the upstream socket was ready.
        var pending: [ByteBuffer] = []
        var upstream: Channel?
        var lastActivity: NIODeadline
        var idle: TimeAmount = .seconds(60)
        var timer: Scheduled<Void>?
        var closed = false
        /// For the access log and the log plugins.
        var record = StreamSessionRecord()
        var bytesSent = 0
        var bytesReceived = 0
        /// The balancer's state for the session, when its balancer keeps some.
        var lease: BalancerLease?

        init(client: SocketAddress, now: NIODeadline, wall: Double) {
            self.client = client
            self.lastActivity = now
            record.begin(at: now, wall: wall, clientPort: client.port ?? 0)
        }
    }

    init(env: ProxyEnvironment, loop: LoopContext) {
        self.env = env
        self.loop = loop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let session = sessions[envelope.remoteAddress] {
            session.lastActivity = loop.now
            session.bytesReceived += envelope.data.readableBytes
            if let upstream = session.upstream {
                upstream.writeAndFlush(envelope.data, promise: nil)
            } else {
                session.pending.append(envelope.data)
            }
            return
        }
        start(envelope, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for session in Array(sessions.values) { end(session) }
        context.fireChannelInactive()
    }

    /// A new client: routes it and opens its upstream socket.
    private func start(_ envelope: AddressedEnvelope<ByteBuffer>, context: ChannelHandlerContext) {
        let client = envelope.remoteAddress
        let (_, plans) = env.currentPlans()
        let local = context.channel.localAddress
        let request = RouteRequest(
            scheme: .udp, sourceIP: client.ip, sourcePort: client.port, destinationIP: local?.ip,
            destinationPort: local?.port.map { env.configuration.hostPort(for: $0) })
        let text = client.ipAddress ?? ""
        guard let match = plans.stream.router.match(request), let plan = plans.stream.service(for: match) else {
            env.logger.error("no Route found with those values, client: \(text)")
            let refused = Session(client: client, now: loop.now, wall: loop.wallClock())
            refused.record.status = 500
            refused.bytesReceived = envelope.data.readableBytes
            finish(refused)
            return
        }
        let session = Session(client: client, now: loop.now, wall: loop.wallClock())
        session.record.collect(plans.plugins, route: match.route.id, service: match.route.serviceID)
        session.idle = max(plan.readTimeout, plan.writeTimeout)
        session.bytesReceived = envelope.data.readableBytes
        session.pending.append(envelope.data)
        sessions[client] = session
        if case .balancer(let balancer) = plan.destination { session.lease = BalancerLease.stream(balancer, client: text) }
        StreamTarget.pick(plan, lease: session.lease, loop: loop) { [self] result in
            switch result {
            case .success(let target):
                session.record.beginTry(
                    ip: target.ip.text, port: target.port, hostname: target.name, at: loop.now, wall: loop.wallClock())
                open(session, to: target.ip.socketAddress(port: target.port))
            case .failure(let error):
                env.logger.error("\(error.description), client: \(text)")
                session.record.status = 502
                end(session)
            }
        }
        watch(session)
    }

    /// Opens the session's upstream socket, connected to `address`, and sends what waited.
    private func open(_ session: Session, to address: SocketAddress) {
        guard !session.closed else { return }
        DatagramBootstrap(group: loop.eventLoop)
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !session.closed else { return channel.close(promise: nil) }
                    do {
                        try channel.pipeline.syncOperations.addHandler(Reply(session: session, handler: self))
                    } catch {
                        channel.close(promise: nil)
                        return end(session)
                    }
                    session.upstream = channel
                    for datagram in session.pending { channel.write(datagram, promise: nil) }
                    session.pending = []
                    channel.flush()
                case .failure(let error):
                    env.logger.error("\(ProxyError.connect(error).nginxMessage(serverName: nil, headReceived: false))")
                    session.record.lastTryFailed()
                    session.record.status = 502
                    end(session)
                }
            }
    }

    /// Sends an upstream datagram back to the session's client.
    fileprivate func answer(_ session: Session, _ data: ByteBuffer) {
        guard !session.closed, let context else { return }
        session.lastActivity = loop.now
        session.bytesSent += data.readableBytes
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: session.client, data: data)), promise: nil)
    }

    /// Ends the session once it has been idle for its timeout.
    private func watch(_ session: Session) {
        let due = session.lastActivity + session.idle
        session.timer = loop.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            guard !session.closed else { return }
            if loop.now - session.lastActivity >= session.idle { end(session) } else { watch(session) }
        }
    }

    fileprivate func end(_ session: Session) {
        guard !session.closed else { return }
        session.closed = true
        session.timer?.cancel()
        session.lease = nil
        session.upstream?.close(promise: nil)
        if sessions[session.client] === session { sessions[session.client] = nil }
        finish(session)
    }

    /// The session's access-log line and log plugins.
    private func finish(_ session: Session) {
        session.record.finish(
            on: loop, client: session.client.ipAddress ?? "", received: session.bytesReceived, sent: session.bytesSent,
            relayed: session.upstream != nil,
            serverPort: { self.context?.channel.localAddress?.port.map { self.env.configuration.hostPort(for: $0) } },
            udp: true)
    }

    /// The upstream socket's handler: each datagram goes back to the client.
    fileprivate final class Reply: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let session: Session
        unowned let handler: UDPStreamHandler

        init(session: Session, handler: UDPStreamHandler) {
            self.session = session
            self.handler = handler
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            handler.answer(session, unwrapInboundIn(data).data)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A refused datagram (ICMP port unreachable) ends the session, as nginx's does.
            handler.end(session)
        }
    }
}
