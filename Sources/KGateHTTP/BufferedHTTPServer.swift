import KGateSettings
import NIOCore
import NIOHTTP1
import NIOHTTP2

/// kgate's buffered HTTP server for the status and admin APIs: what answers and how, and the
/// pipelines that serve it over HTTP/1.1 and HTTP/2.
struct BufferedHTTPServer: Sendable {
    var answering: HTTPAnswering
    var maxBodySize: Int
    var counters: ServerCounters?
    var accessLog: AccessLog?
    var addedHeaders: [AddHeaderDirective] = []

    /// nginx's `keepalive_timeout` (an idle HTTP/2 connection closes after it).
    static let idleTimeout = TimeAmount.seconds(75)
    /// nginx's `client_header_timeout`: an `http2` address's connection closes when its TLS
    /// handshake or first bytes do not come within it.
    static let clientHeaderTimeout = TimeAmount.seconds(60)

    /// HTTP/1.1: a ``RequestTargetEscapingHandler``, NIO's HTTP/1.1 codec, and the
    /// ``HTTPExchangeHandler`` that answers.
    func configureHTTP1(_ channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        let requestLines = RequestTargetEscapingHandler()
        try operations.addHandler(requestLines)
        try operations.configureHTTPServerPipeline(withErrorHandling: false)
        try operations.addHandler(exchangeHandler(requestLines: requestLines))
    }

    /// HTTP/2 (``HTTP2ServerPipeline``): each stream is turned into HTTP/1.1 parts by NIO's
    /// codec and answered by an ``HTTPExchangeHandler``; an idle connection closes after
    /// ``idleTimeout``.
    func configureHTTP2(_ channel: any Channel) throws {
        try HTTP2ServerPipeline.configure(channel, idleTimeout: Self.idleTimeout) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandlers(
                    HTTP2FramePayloadToHTTP1ServerCodec(), exchangeHandler(requestLines: nil))
            }
        }
    }

    /// An address's pipeline: HTTP/1.1, or on an `http2` one the version the client chooses
    /// (``HTTPVersionChoice``); `tls`: the connection starts with TLS.
    func configure(_ channel: any Channel, http2: Bool, tls: Bool) throws {
        guard http2 else { return try configureHTTP1(channel) }
        try channel.pipeline.syncOperations.addHandler(
            HTTPVersionChoice(tls: tls, timeout: Self.clientHeaderTimeout) { http2, channel in
                if http2 { try configureHTTP2(channel) } else { try configureHTTP1(channel) }
            })
    }

    private func exchangeHandler(requestLines: RequestTargetEscapingHandler?) -> HTTPExchangeHandler {
        HTTPExchangeHandler(
            answering: answering, maxBodySize: maxBodySize, counters: counters, requestLines: requestLines,
            accessLog: accessLog, addedHeaders: addedHeaders)
    }
}

/// Counts a listener's connections (Kong's `connections_accepted` and `connections_active`).
final class ConnectionCounting: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    private let counters: ServerCounters

    init(_ counters: ServerCounters) {
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        counters.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        counters.connectionClosed()
        context.fireChannelInactive()
    }
}
