import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// HTTP/1.1 requests to one log server, as http-log sends them (lua-resty-http's
/// `request_uri`): a kept-alive connection reused from one batch to the next, TLS without
/// certificate verification (`ssl_verify = false`), one timeout for connecting, sending and
/// reading.
final class LogServerClient: Sendable {
    struct Endpoint: Sendable, Hashable {
        var tls: Bool
        var host: String
        var port: Int
        /// The path only: Kong's `fmt("%s://%s:%d%s", scheme, host, port, path)` drops the query.
        var path: String
    }

    struct Response: Sendable {
        var status: Int
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: Endpoint
    private let group: any EventLoopGroup
    /// The idle kept-alive connection, if any.
    private let idle = Mutex<(any Channel)?>(nil)

    init(endpoint: Endpoint, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.endpoint = endpoint
        self.group = group
    }

    deinit {
        idle.withLock { $0?.close(promise: nil) }
    }

    /// Sends one request and reads the response; the connection is kept for the next when
    /// both sides allow it.
    func send(
        method: HTTPMethod, headers: HTTPHeaders, body: [UInt8], timeout: TimeAmount
    ) async throws -> Response {
        let channel = try await connection(timeout: timeout)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.path, headers: headers)
        let defaultPort = endpoint.port == (endpoint.tls ? 443 : 80)
        let host = defaultPort ? endpoint.host : "\(endpoint.host):\(endpoint.port)"
        head.headers.replaceOrAdd(name: "Host", value: host)
        let request = head
        let payload = ByteBuffer(bytes: body)
        let result: ResponseCollector.Result
        do {
            result = try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<ResponseCollector.Result> in
                let promise = channel.eventLoop.makePromise(of: ResponseCollector.Result.self)
                do {
                    try channel.pipeline.syncOperations.handler(type: ResponseCollector.self).expect(promise)
                } catch {
                    promise.fail(error)
                    return promise.futureResult
                }
                let timer = channel.eventLoop.scheduleTask(in: timeout) {
                    promise.fail(Failure(description: "timeout"))
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
                channel.write(HTTPClientRequestPart.head(request), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(payload)), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
                return promise.futureResult
            }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        if result.keepAlive, channel.isActive {
            let replaced = idle.withLock { current -> (any Channel)? in
                defer { current = channel }
                return current
            }
            replaced?.close(promise: nil)
        } else {
            channel.close(promise: nil)
        }
        return Response(status: result.status, body: result.body)
    }

    /// The idle connection if it is still open, else a new one.
    private func connection(timeout: TimeAmount) async throws -> any Channel {
        if let channel = idle.withLock({ current -> (any Channel)? in
            defer { current = nil }
            return current
        }), channel.isActive {
            return channel
        }
        let endpoint = self.endpoint
        let tls = try endpoint.tls ? LogCollectorTLS.context.get() : nil
        return try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        let isAddress = endpoint.host.first?.isNumber == true || endpoint.host.contains(":")
                        let sni = isAddress ? nil : endpoint.host
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseCollector())
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
    }
}

/// Gathers one response at a time for ``LogServerClient``.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Result: Sendable {
        var status: Int
        var body: String
        var keepAlive: Bool
    }

    private var promise: EventLoopPromise<Result>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func expect(_ promise: EventLoopPromise<Result>) {
        self.promise = promise
        head = nil
        body.clear()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body(var chunk): body.writeBuffer(&chunk)
        case .end:
            guard let head, let promise else { return }
            self.promise = nil
            promise.succeed(
                Result(status: Int(head.status.code), body: String(buffer: body), keepAlive: head.isKeepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(LogServerClient.Failure(description: "connection closed"))
        promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }
}
