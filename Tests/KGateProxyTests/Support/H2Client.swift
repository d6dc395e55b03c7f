import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// An HTTP/2 client for live tests: one connection (TLS with ALPN `h2`, or cleartext with
/// prior knowledge), a stream per request.
final class H2Client: Sendable {
    let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    /// What ALPN chose (TLS connections).
    let negotiated: String?

    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var trailers: [(String, String)]
        /// The statuses of interim (1xx) responses before the final one.
        var interim: [Int] = []

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    }

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer, negotiated: String?) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.negotiated = negotiated
    }

    /// Connects; `tls` offers `protocols` by ALPN and fails unless the server picks `h2`.
    static func connect(
        port: Int, tls: Bool, protocols: [String] = ["h2", "http/1.1"], serverName: String? = nil
    ) async throws -> H2Client {
        let context: NIOSSLContext? =
            if tls {
                try {
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    configuration.certificateVerification = .none
                    configuration.applicationProtocols = protocols
                    return try NIOSSLContext(configuration: configuration)
                }()
            } else { nil }
        let handshake = TestLoops.group.next().makePromise(of: String?.self)
        let multiplexer = TestLoops.group.next().makePromise(of: NIOHTTP2Handler.StreamMultiplexer.self)
        // The HTTP/2 handler is there from the start: the server's SETTINGS may follow its
        // handshake at once.
        let channel = try await ClientBootstrap(group: TestLoops.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let context {
                        try operations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try operations.addHandler(HandshakeWaiter(promise: handshake))
                    }
                    multiplexer.succeed(
                        try operations.configureHTTP2Pipeline(
                            mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                        ) { $0.eventLoop.makeSucceededVoidFuture() })
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var negotiated: String?
        if tls {
            negotiated = try await handshake.futureResult.get()
        } else {
            handshake.succeed(nil)
        }
        return H2Client(channel: channel, multiplexer: try await multiplexer.futureResult.get(), negotiated: negotiated)
    }

    /// Sends a request on a new stream and collects its response. `headers` are sent as given
    /// after the pseudo-headers; a `body` goes in DATA frames of `chunkSize` bytes.
    func request(
        _ path: String, method: String = "GET", authority: String = "example.test", scheme: String = "https",
        headers: [(String, String)] = [], body: [UInt8]? = nil, chunkSize: Int = 16384, trailers: [(String, String)] = []
    ) async throws -> Response {
        let done = channel.eventLoop.makePromise(of: Response.self)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) { done.fail(H2ClientTimeout(path: path)) }
        defer { timeout.cancel() }
        let stream = try await multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(ResponseCollector(promise: done)) }
        }.get()
        var fields = HPACKHeaders([(":method", method), (":path", path), (":scheme", scheme), (":authority", authority)])
        for (name, value) in headers { fields.add(name: name, value: value) }
        let hasBody = body != nil || !trailers.isEmpty
        let sent = stream.eventLoop.makePromise(of: Void.self)
        stream.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: fields, endStream: !hasBody)), promise: sent)
        if let body {
            var offset = 0
            repeat {
                let end = min(body.count, offset + chunkSize)
                let last = end == body.count && trailers.isEmpty
                let frame = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(bytes: body[offset..<end])), endStream: last))
                try await stream.writeAndFlush(frame).get()
                offset = end
            } while offset < body.count
        }
        if !trailers.isEmpty {
            stream.write(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders(trailers), endStream: true)), promise: nil)
        }
        stream.flush()
        try await sent.futureResult.get()
        return try await done.futureResult.get()
    }

    struct H2ClientTimeout: Error {
        var path: String
    }

    func close() async {
        try? await channel.close()
    }

    private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<String?>

        init(promise: EventLoopPromise<String?>) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
                promise.succeed(negotiated)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.ioOnClosedChannel)
            context.fireChannelInactive()
        }
    }

    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        let promise: EventLoopPromise<Response>
        private var response = Response(status: 0, headers: [], body: [], trailers: [])
        private var sawHead = false

        init(promise: EventLoopPromise<Response>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let frame):
                let pairs = frame.headers.map { ($0.name, $0.value) }
                if !sawHead {
                    let status = Int(frame.headers.first(name: ":status") ?? "") ?? 0
                    if status < 200 {
                        response.interim.append(status)
                    } else {
                        sawHead = true
                        response.status = status
                        response.headers = pairs.filter { !$0.0.hasPrefix(":") }
                    }
                } else {
                    response.trailers = pairs
                }
                if frame.endStream { promise.succeed(response) }
            case .data(let frame):
                if case .byteBuffer(let buffer) = frame.data { response.body += buffer.readableBytesView }
                if frame.endStream { promise.succeed(response) }
            case .rstStream(let code):
                promise.fail(NIOHTTP2Errors.streamClosed(streamID: .rootStream, errorCode: code))
            default:
                break
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.ioOnClosedChannel)
            context.fireChannelInactive()
        }
    }
}
