import NIOCore
import NIOHTTP2

/// The server side of an HTTP/2 connection, as the proxy and the Admin and Status APIs run it:
/// NIO's HTTP/2 handler with a stream channel per request, and NIO's connection management (an
/// idle connection closes after `idleTimeout`; a quiescing one sends GOAWAY and closes once its
/// streams end).
public enum HTTP2ServerPipeline {
    /// nginx's `http2_max_concurrent_streams`.
    public static let maxConcurrentStreams = 128

    /// Adds the handlers to `channel` (on its event loop); `initializeStream` sets up each new
    /// stream's channel.
    public static func configure(
        _ channel: any Channel, idleTimeout: TimeAmount, settings: [HTTP2Setting] = [],
        initializeStream: @escaping NIOChannelInitializer
    ) throws {
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: idleTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams)] + settings
        let operations = channel.pipeline.syncOperations
        _ = try operations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: .init(),
            streamDelegate: management.http2StreamDelegate, inboundStreamInitializer: initializeStream)
        try operations.addHandler(management)
    }
}
