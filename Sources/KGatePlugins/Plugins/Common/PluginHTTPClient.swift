import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// HTTP/1.1 requests a plugin sends to one server, as lua-resty-http's `request_uri` sends
/// them (http-log's batches, azure-functions' calls): a kept-alive connection reused from one
/// request to the next, TLS without certificate verification unless `verify` (Kong's
/// `ssl_verify`), one timeout for connecting, sending and reading.
final class PluginHTTPClient: Sendable {
    struct Endpoint: Sendable, Hashable {
        var tls: Bool
        var host: String
        var port: Int
        /// The path only: Kong's `fmt("%s://%s:%d%s", scheme, host, port, path)` drops the query.
        var path: String
        /// Verify the server's certificate with the system's trust store.
        var verify = false
    }

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var bytes: [UInt8]
        var body: String { String(decoding: bytes, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: Endpoint
    /// Where connections go when not to `endpoint`'s host and port (tests).
    private let address: (host: String, port: Int)?
    private let group: any EventLoopGroup
    /// The idle kept-alive connection, if any.
    private let idle = Mutex<(any Channel)?>(nil)

    init(
        endpoint: Endpoint, connectingTo address: (host: String, port: Int)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.endpoint = endpoint
        self.address = address
        self.group = group
    }

    deinit {
        idle.withLock { $0?.close(promise: nil) }
    }

    /// Sends one request and reads the response; the connection is kept for the next when
    /// both sides allow it.
    /// - Parameters:
    ///   - path: instead of the endpoint's.
    ///   - query: appended to the path after `?`, when not nil.
    func send(
        method: HTTPMethod, path: String? = nil, headers: HTTPHeaders, body: [UInt8], query: String? = nil,
        timeout: TimeAmount
    ) async throws -> Response {
        let channel = try await connection(timeout: timeout)
        let path = path ?? endpoint.path
        let uri = query.map { path + "?" + $0 } ?? path
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
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
        return Response(status: result.status, headers: result.headers, bytes: result.body)
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
        let tls = endpoint.tls ? try PluginClientTLS.context(verifying: endpoint.verify) : nil
        return try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: PluginClientTLS.serverName(for: endpoint.host)))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseCollector())
                }
            }
            .connect(host: address?.host ?? endpoint.host, port: address?.port ?? endpoint.port).get()
    }
}

/// Gathers one response at a time for ``PluginHTTPClient``.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Result: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
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
                Result(
                    status: Int(head.status.code), headers: head.headers, body: Array(buffer: body),
                    keepAlive: head.isKeepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(PluginHTTPClient.Failure(description: "connection closed"))
        promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }
}
