import KGateHTTP
import KGatePlugins
import NIOCore
import NIOHTTP2

/// A connection on a `proxy_listen` address marked `http2`: HTTP/1.1 or HTTP/2 is chosen by
/// ``HTTPVersionChoice`` (ALPN on `ssl` addresses, the client's preface on plain ones), which
/// then installs a ``ProxyHandler`` or an ``HTTP2Connection``. Until the choice, the client has
/// `client_header_timeout` to complete its TLS handshake or send its first bytes.
enum HTTPVersionSelector {
    /// What the TLS terminator and the PROXY protocol reader learn before the choice, handed to
    /// the chosen pipeline.
    final class Facts: ClientConnectionFacts {
        var learned = Learned()
        var serverName: String? {
            get { learned.serverName }
            set { learned.serverName = newValue }
        }
        var proxyProtocolAddress: String? {
            get { learned.proxyProtocolAddress }
            set { learned.proxyProtocolAddress = newValue }
        }
        var clientTLS: ClientTLS? {
            get { learned.clientTLS }
            set { learned.clientTLS = newValue }
        }
    }

    /// The facts as values, for the handlers of the connection's HTTP/2 streams.
    struct Learned: Sendable {
        var serverName: String?
        var proxyProtocolAddress: String?
        var clientTLS: ClientTLS?
    }

    /// The choosing handler for a new connection, and where its facts go meanwhile.
    static func make(env: ProxyEnvironment, loop: LoopContext, tls: Bool) -> (any ChannelHandler, any ClientConnectionFacts) {
        let facts = Facts()
        let choice = HTTPVersionChoice(tls: tls, timeout: env.configuration.clientHeaderTimeout) { http2, channel in
            if http2 {
                try HTTP2Connection.install(on: channel, env: env, loop: loop, tls: tls, facts: facts.learned)
            } else {
                let handler = ProxyHandler(env: env, loop: loop, tls: tls)
                handler.take(facts.learned)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        return (choice, facts)
    }
}

extension ProxyHandler {
    /// Takes what was learned of the connection before its HTTP version was chosen.
    func take(_ facts: HTTPVersionSelector.Learned) {
        serverName = facts.serverName
        proxyProtocolAddress = facts.proxyProtocolAddress
        clientTLS = facts.clientTLS
    }
}

/// The pipeline of an HTTP/2 connection: ``HTTP2ServerPipeline`` (an idle connection closes
/// after `keepalive_timeout`) with ``HTTP2StreamBridge`` in front of a ``ProxyHandler`` on
/// each stream, and the connection's place among the loop's connections.
enum HTTP2Connection {
    /// The largest header block taken (NIO's default is 16 KiB; nginx takes what its
    /// `large_client_header_buffers` hold, its request limits then apply as to HTTP/1.1).
    static let maxHeaderListSize = 65536

    static func install(on channel: any Channel, env: ProxyEnvironment, loop: LoopContext, tls: Bool, facts: HTTPVersionSelector.Learned) throws {
        try HTTP2ServerPipeline.configure(
            channel, idleTimeout: env.configuration.keepaliveTimeout,
            settings: [HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize)]
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let handler = ProxyHandler(env: env, loop: loop, tls: tls, http2: true)
                handler.take(facts)
                try stream.pipeline.syncOperations.addHandlers(HTTP2StreamBridge(), handler)
            }
        }
        try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionKeeper(loop: loop))
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
