import NIOCore
import NIOHTTP2
import NIOTLS

/// Chooses HTTP/1.1 or HTTP/2 for a connection on a `proxy_listen` address marked `http2`,
/// as nginx does: by ALPN on `ssl` addresses (`h2` offered before `http/1.1`), by the client's
/// connection preface on plain ones (HTTP/2 with prior knowledge, "h2c"; anything else is
/// HTTP/1.1). Then it installs the chosen pipeline behind itself, hands it what it read, and
/// leaves.
///
/// Until the choice, the client has `client_header_timeout` to complete its TLS handshake or
/// send its first bytes.
final class HTTPVersionSelector: ChannelInboundHandler, RemovableChannelHandler, ClientConnectionFacts {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The HTTP/2 connection preface (RFC 9113 §3.4).
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let env: ProxyEnvironment
    private let loop: LoopContext
    private let tls: Bool
    /// The client's SNI (set by the TLS terminator before the handshake completes).
    var serverName: String?
    /// The PROXY protocol header's client address.
    var proxyProtocolAddress: String?
    private var received = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var chosen = false

    init(env: ProxyEnvironment, loop: LoopContext, tls: Bool) {
        self.env = env
        self.loop = loop
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: env.configuration.clientHeaderTimeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        guard !tls, !chosen else { return }
        let count = min(received.readableBytes, Self.preface.count)
        let matches = received.readableBytesView.prefix(count).elementsEqual(Self.preface.prefix(count))
        if !matches {
            choose(http2: false, context: context)
        } else if count == Self.preface.count {
            choose(http2: true, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if tls, !chosen, let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            context.fireUserInboundEventTriggered(event)
            return choose(http2: negotiated == "h2", context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func choose(http2: Bool, context: ChannelHandlerContext) {
        chosen = true
        timer?.cancel()
        timer = nil
        let operations = context.pipeline.syncOperations
        do {
            if http2 {
                try HTTP2Connection.install(
                    on: context.channel, env: env, loop: loop, tls: tls, serverName: serverName,
                    proxyProtocolAddress: proxyProtocolAddress)
            } else {
                let handler = ProxyHandler(env: env, loop: loop, tls: tls)
                handler.serverName = serverName
                handler.proxyProtocolAddress = proxyProtocolAddress
                try operations.addHandler(handler)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        if received.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(received))
            received = ByteBuffer()
            context.fireChannelReadComplete()
        }
        operations.removeHandler(context: context, promise: nil)
    }
}

/// The pipeline of an HTTP/2 connection: NIO's HTTP/2 handler with a stream channel per
/// request (``HTTP2StreamBridge`` in front of a ``ProxyHandler``), NIO's connection management
/// (an idle connection closes after `keepalive_timeout`, a quiescing one sends GOAWAY and
/// closes once its streams end), and the connection's place among the loop's connections.
enum HTTP2Connection {
    /// nginx's `http2_max_concurrent_streams`.
    static let maxConcurrentStreams = 128
    /// The largest header block taken (NIO's default is 16 KiB; nginx takes what its
    /// `large_client_header_buffers` hold, its request limits then apply as to HTTP/1.1).
    static let maxHeaderListSize = 65536

    static func install(
        on channel: any Channel, env: ProxyEnvironment, loop: LoopContext, tls: Bool, serverName: String?,
        proxyProtocolAddress: String?
    ) throws {
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: env.configuration.keepaliveTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize),
        ]
        let operations = channel.pipeline.syncOperations
        _ = try operations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: .init(),
            streamDelegate: management.http2StreamDelegate
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let handler = ProxyHandler(env: env, loop: loop, tls: tls, http2: true)
                handler.serverName = serverName
                handler.proxyProtocolAddress = proxyProtocolAddress
                try stream.pipeline.syncOperations.addHandlers(HTTP2StreamBridge(), handler)
            }
        }
        try operations.addHandler(management)
        try operations.addHandler(HTTP2ConnectionKeeper(loop: loop))
    }
}

/// An HTTP/2 connection among its loop's connections: graceful shutdown quiesces it (GOAWAY,
/// then it closes once its streams end), the end of the grace period closes it.
final class HTTP2ConnectionKeeper: ChannelInboundHandler, LoopConnection {
    typealias InboundIn = HTTP2Frame

    private let loop: LoopContext
    private var context: ChannelHandlerContext?

    init(loop: LoopContext) {
        self.loop = loop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.register(self)
        if loop.isQuiescing { quiesce() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        loop.unregister(self)
        self.context = nil
        context.fireChannelInactive()
    }

    func quiesce() {
        context?.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    func forceClose() {
        context?.close(promise: nil)
    }
}
