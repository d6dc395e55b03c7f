import KGateSettings
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An address to listen on.
public struct ListenerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var backlog: Int
    /// An `ssl` address: its connections start with the listener's ``HTTPListener/SecureChannel``.
    public var tls: Bool
    /// An `http2` address: HTTP/2 is served besides HTTP/1.1 (``HTTPVersionChoice``).
    public var http2: Bool
    public init(host: String, port: Int, backlog: Int = 511, tls: Bool = false, http2: Bool = false) {
        self.host = host
        self.port = port
        self.backlog = backlog
        self.tls = tls
        self.http2 = http2
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// An HTTP listener (status API, admin API) run as a `Service`: binds every address, serves
/// until graceful shutdown, then closes its sockets. Raw bytes 0x80–0xFF in a request target
/// are accepted as nginx accepts them (see ``RequestTargetEscaper``). Connections to `tls`
/// addresses go through ``secureChannel`` first; `http2` addresses serve HTTP/2 as well, each
/// stream answered as an HTTP/1.1 request is (``HTTPVersionChoice``).
public final class HTTPListener: Service, Sendable {
    /// Adds what a connection to a `tls` address needs before HTTP (the TLS handler); its ALPN
    /// offers `h2` when the second argument (the address is `http2`) is true.
    public typealias SecureChannel = @Sendable (any Channel, _ http2: Bool) throws -> Void

    /// The listener's name in logs (`status`, `admin`).
    public let name: String
    /// Sets up the TLS of connections to `tls` addresses (which cannot be bound without it).
    private let secureChannel: SecureChannel?
    private let addresses: [ListenerAddress]
    private let group: any EventLoopGroup
    private let answering: HTTPAnswering
    private let maxBodySize: Int
    private let counters: ServerCounters?
    /// Where each answered request is logged (`admin_access_log`, `status_access_log`).
    private let accessLog: AccessLog?
    /// Headers added to answers (`nginx_http_add_header`).
    private let addedHeaders: [AddHeaderDirective]
    private let logger: Logger
    private let bound = Mutex<[any Channel]>([])

    public convenience init(
        name: String, addresses: [ListenerAddress], group: any EventLoopGroup, maxBodySize: Int = 10 * 1024 * 1024,
        counters: ServerCounters? = nil, secureChannel: SecureChannel? = nil, accessLog: AccessLog? = nil,
        addedHeaders: [AddHeaderDirective] = [], logger: Logger, responder: @escaping HTTPResponder
    ) {
        self.init(
            name: name, addresses: addresses, group: group, maxBodySize: maxBodySize, counters: counters,
            secureChannel: secureChannel, accessLog: accessLog, addedHeaders: addedHeaders, logger: logger,
            answering: .inline(responder))
    }

    /// A listener whose answers may wait (they run in a task, off the event loop).
    public init(
        name: String, addresses: [ListenerAddress], group: any EventLoopGroup, maxBodySize: Int = 10 * 1024 * 1024,
        counters: ServerCounters? = nil, secureChannel: SecureChannel? = nil, accessLog: AccessLog? = nil,
        addedHeaders: [AddHeaderDirective] = [], logger: Logger, answering: HTTPAnswering
    ) {
        self.counters = counters
        self.accessLog = accessLog
        self.addedHeaders = addedHeaders
        self.secureChannel = secureChannel
        self.name = name
        self.addresses = addresses
        self.group = group
        self.answering = answering
        self.maxBodySize = maxBodySize
        self.logger = logger
    }

    /// Binds every address; throws when one cannot be bound. Idempotent.
    public func bind() async throws {
        if !bound.withLock({ $0.isEmpty }) { return }
        var channels: [any Channel] = []
        let server = BufferedHTTPServer(
            answering: answering, maxBodySize: maxBodySize, counters: counters, accessLog: accessLog,
            addedHeaders: addedHeaders)
        let counters = self.counters
        for address in addresses {
            let secureChannel = address.tls ? self.secureChannel : nil
            if address.tls, secureChannel == nil {
                throw BindError(setting: "\(name)_listen", host: address.host, port: address.port, underlying: NoTLSSetup())
            }
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: Int32(address.backlog))
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .acceptBackingOff(logger: logger, listener: name)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let counters { try channel.pipeline.syncOperations.addHandler(ConnectionCounting(counters)) }
                        try secureChannel?(channel, address.http2)
                        try server.configure(channel, http2: address.http2, tls: secureChannel != nil)
                    }
                }
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(host: address.host, port: address.port).get()
            } catch {
                for bound in channels { try? await bound.close() }
                throw BindError(setting: "\(name)_listen", host: address.host, port: address.port, underlying: error)
            }
            channels.append(channel)
            logger.info("listening", metadata: ["listener": "\(name)", "address": "\(channel.localAddress.map { "\($0)" } ?? "\(address)")"])
        }
        bound.withLock { $0 = channels }
    }

    /// The bound local addresses (ports resolved when 0 was asked for).
    public var localAddresses: [SocketAddress] {
        bound.withLock { channels in channels.compactMap { $0.localAddress } }
    }

    /// A `tls` address on a listener given no ``SecureChannel``.
    struct NoTLSSetup: Error, CustomStringConvertible {
        var description: String { "no TLS set up for an ssl address" }
    }

    public func run() async throws {
        try await bind()
        try? await gracefulShutdown()
        for channel in bound.withLock({ $0 }) { try? await channel.close() }
        logger.info("listener closed", metadata: ["listener": "\(name)"])
    }
}
