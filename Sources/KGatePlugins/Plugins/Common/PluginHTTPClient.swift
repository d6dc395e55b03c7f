import KGateSchema
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// HTTP/1.1 requests a plugin sends to one server, as lua-resty-http's `request_uri` sends
/// them (http-log's batches, azure-functions' calls, Lua's resty.http): kept-alive connections
/// reused from one request to the next (up to 30 idle, as lua-resty-http's pool), TLS without
/// certificate verification unless `verify` (Kong's `ssl_verify`), one timeout for connecting,
/// sending and reading.
final class PluginHTTPClient: Sendable {
    struct Endpoint: Sendable, Hashable {
        var tls: Bool
        var host: String
        var port: Int
        /// The path only: Kong's `fmt("%s://%s:%d%s", scheme, host, port, path)` drops the query.
        var path: String
        /// Verify the server's certificate with the system's trust store.
        var verify = false
        /// An HTTP forward proxy: HTTPS goes through a `CONNECT` tunnel, HTTP is sent to the
        /// proxy with the absolute URI (lua-resty-http's `proxy_opts`).
        var proxy: ForwardProxy?
    }

    /// An HTTP forward proxy's address.
    struct ForwardProxy: Sendable, Hashable {
        var host: String
        var port: Int
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
    /// Idle kept-alive connections, the most recently used last (at most ``idleLimit``).
    private let idle = Mutex<[any Channel]>([])
    /// How many idle connections are kept (lua-resty-http's default `pool_size` is 30).
    static let idleLimit = 30

    init(
        endpoint: Endpoint, connectingTo address: (host: String, port: Int)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.endpoint = endpoint
        self.address = address
        self.group = group
    }

    deinit {
        idle.withLock { channels in
            for channel in channels { channel.close(promise: nil) }
        }
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
        let defaultPort = endpoint.port == (endpoint.tls ? 443 : 80)
        let host = defaultPort ? endpoint.host : "\(endpoint.host):\(endpoint.port)"
        var uri = query.map { path + "?" + $0 } ?? path
        if endpoint.proxy != nil, !endpoint.tls { uri = "http://" + host + uri }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
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
            let dropped = idle.withLock { channels -> (any Channel)? in
                channels.append(channel)
                return channels.count > Self.idleLimit ? channels.removeFirst() : nil
            }
            dropped?.close(promise: nil)
        } else {
            channel.close(promise: nil)
        }
        return Response(status: result.status, headers: result.headers, bytes: result.body)
    }

    /// The most recently used idle connection still open, else a new one.
    private func connection(timeout: TimeAmount) async throws -> any Channel {
        while let channel = idle.withLock({ $0.popLast() }) {
            if channel.isActive { return channel }
        }
        let endpoint = self.endpoint
        let tls = endpoint.tls ? try PluginClientTLS.context(verifying: endpoint.verify) : nil
        // Through a proxy, HTTPS waits for the tunnel before its handlers are added.
        let tunnels = endpoint.proxy != nil && tls != nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard !tunnels else { return }
                    try Self.addHandlers(to: channel, tls: tls, serverName: endpoint.host)
                }
            }
            .connect(
                host: endpoint.proxy?.host ?? address?.host ?? endpoint.host,
                port: endpoint.proxy?.port ?? address?.port ?? endpoint.port
            ).get()
        guard tunnels else { return channel }
        do {
            try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                let opened = channel.eventLoop.makePromise(of: Void.self)
                let timer = channel.eventLoop.scheduleTask(in: timeout) { opened.fail(Failure(description: "proxy CONNECT timed out")) }
                opened.futureResult.whenComplete { _ in timer.cancel() }
                do {
                    try channel.pipeline.syncOperations.addHandler(
                        TunnelOpener(target: "\(endpoint.host):\(endpoint.port)", opened: opened))
                } catch {
                    opened.fail(error)
                }
                return opened.futureResult.flatMapThrowing { try Self.addHandlers(to: channel, tls: tls, serverName: endpoint.host) }
            }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return channel
    }

    /// TLS (when `tls`), the HTTP/1.1 codec and the response collector, on the event loop.
    private static func addHandlers(to channel: any Channel, tls: NIOSSLContext?, serverName: String) throws {
        let sync = channel.pipeline.syncOperations
        if let tls {
            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: PluginClientTLS.serverName(for: serverName)))
        }
        try sync.addHTTPClientHandlers()
        try sync.addHandler(ResponseCollector())
    }
}

/// Opens a `CONNECT` tunnel through a forward proxy, then passes the bytes on.
private final class TunnelOpener: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let target: String
    private var opened: EventLoopPromise<Void>?
    private var received = ByteBuffer()

    init(target: String, opened: EventLoopPromise<Void>) {
        self.target = target
        self.opened = opened
    }

    func handlerAdded(context: ChannelHandlerContext) {
        var request = context.channel.allocator.buffer(capacity: 64 + 2 * target.utf8.count)
        request.writeString("CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n\r\n")
        context.writeAndFlush(NIOAny(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let promise = opened else { return context.fireChannelRead(data) }
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        let bytes = Array(received.readableBytesView)
        guard let end = bytes.firstRange(of: [13, 10, 13, 10])?.lowerBound else {
            if bytes.count > 16384 { fail(PluginHTTPClient.Failure(description: "proxy CONNECT answer too long")) }
            return
        }
        opened = nil
        let statusLine = String(decoding: bytes.prefix { $0 != 13 }, as: UTF8.self)
        let status = statusLine.split(separator: " ").dropFirst().first
        guard status == "200" else {
            return promise.fail(PluginHTTPClient.Failure(description: "proxy refused CONNECT: \(statusLine)"))
        }
        promise.succeed(())
        if end + 4 < bytes.count {
            context.fireChannelRead(NIOAny(context.channel.allocator.buffer(bytes: bytes[(end + 4)...])))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(PluginHTTPClient.Failure(description: "proxy closed the connection during CONNECT"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard opened != nil else { return context.fireErrorCaught(error) }
        fail(error)
    }

    private func fail(_ error: any Error) {
        opened?.fail(error)
        opened = nil
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

/// A plugin's kept-alive clients by endpoint, each made on its first call.
final class PluginHTTPClients: Sendable {
    private let clients = Mutex<[PluginHTTPClient.Endpoint: PluginHTTPClient]>([:])
    /// Where connections go instead of the endpoints' addresses (tests).
    private let address: (host: String, port: Int)?

    init(connectingTo address: (host: String, port: Int)? = nil) { self.address = address }

    /// The client of `endpoint`.
    func client(for endpoint: PluginHTTPClient.Endpoint) -> PluginHTTPClient {
        clients.withLock { clients in
            if let client = clients[endpoint] { return client }
            let client = PluginHTTPClient(endpoint: endpoint, connectingTo: address)
            clients[endpoint] = client
            return client
        }
    }
}

extension PluginHTTPClient {
    /// POSTs `body` with its `Content-Length`; a request that fails to complete throws a
    /// ``Failure`` described by `failure` (the plugin's own wording).
    func post(
        _ body: [UInt8], headers: HTTPHeaders, timeout: TimeAmount, failure: (any Error) -> String
    ) async throws -> Response {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        do {
            return try await send(method: .POST, headers: headers, body: body, timeout: timeout)
        } catch {
            throw Failure(description: failure(error))
        }
    }
}

extension PluginHTTPClient.Endpoint {
    /// `scheme://host:port`, as azure-functions hands it to `request_uri` (the path and
    /// query go as parameters).
    var origin: String { (tls ? "https://" : "http://") + host + ":" + String(port) }

    /// A configured endpoint URL (http-log's and zipkin's `http_endpoint`): TLS for `https`,
    /// the scheme's port unless one is given, the path without its query. Nil without a
    /// scheme or host.
    init?(url: ParsedURL) {
        guard let scheme = url.scheme?.lowercased(), let host = url.host else { return nil }
        let tls = scheme == "https"
        self.init(
            tls: tls, host: host, port: url.port.flatMap { Int($0) } ?? (tls ? 443 : 80),
            path: url.path.flatMap { $0.isEmpty ? nil : $0 } ?? "/")
    }
}
