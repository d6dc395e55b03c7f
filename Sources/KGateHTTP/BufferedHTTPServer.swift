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

    /// nginx's `http2_max_concurrent_streams`.
    static let maxConcurrentStreams = 128
    /// nginx's `keepalive_timeout` (an idle HTTP/2 connection closes after it).
    static let idleTimeout = TimeAmount.seconds(75)

    /// HTTP/1.1: a ``RequestTargetEscapingHandler``, NIO's HTTP/1.1 codec, and the
    /// ``HTTPExchangeHandler`` that answers.
    func configureHTTP1(_ channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        let requestLines = RequestTargetEscapingHandler()
        try operations.addHandler(requestLines)
        try operations.configureHTTPServerPipeline(withErrorHandling: false)
        try operations.addHandler(exchangeHandler(requestLines: requestLines))
    }

    /// HTTP/2: NIO's HTTP/2 handler with a stream channel per request, each turned into
    /// HTTP/1.1 parts by NIO's codec and answered by an ``HTTPExchangeHandler``; an idle
    /// connection closes after ``idleTimeout``.
    func configureHTTP2(_ channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: Self.idleTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [HTTP2Setting(parameter: .maxConcurrentStreams, value: Self.maxConcurrentStreams)]
        _ = try operations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: .init(),
            streamDelegate: management.http2StreamDelegate
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandlers(
                    HTTP2FramePayloadToHTTP1ServerCodec(), exchangeHandler(requestLines: nil))
            }
        }
        try operations.addHandler(management)
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
