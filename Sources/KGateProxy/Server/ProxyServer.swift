#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateHTTP
import KGateSettings
import KGateStore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// kgate's data plane: listens on every `proxy_listen` address and proxies HTTP/1.1 and
/// HTTP/2 (`http2` addresses) traffic to the services of the current config generation.
///
/// One event loop per core (`nginx_worker_processes`); a client connection, the upstream
/// connections it uses, the keep-alive pool and the DNS cache of its loop never leave that loop.
///
/// ```swift
/// let store = try ConfigStore(artifacts: [ProxyPlansBuilder(settings: settings)])
/// let proxy = ProxyServer(settings: settings, store: store, logger: logger)
/// try await proxy.bind()
/// try await proxy.run()   // until cancelled or `shutdown()`; then drains gracefully
/// ```
public final class ProxyServer: Sendable {
    private let environment: ProxyEnvironment
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let loops: [ObjectIdentifier: LoopContext]
    private let state = Mutex(State())
    private let stopped: EventLoopPromise<Void>
    /// The upstreams' active health checks, following the config store.
    private let upkeep: BalancerUpkeep

    private struct State {
        var listeners: [Channel] = []
        var addresses: [SocketAddress] = []
        var streamAddresses: [SocketAddress] = []
        var phase = Phase.created
    }

    private enum Phase {
        case created, bound, shuttingDown, stopped
    }

    /// Makes a server.
    ///
    /// - Parameters:
    ///   - configuration: the proxy settings.
    ///   - store: where each request reads the current generation (register
    ///     ``ProxyPlansBuilder`` on it).
    ///   - group: the event loops to run on; nil creates `configuration.eventLoops` of them
    ///     (shut down with the server).
    ///   - logger: for start-up, shutdown and upstream failures (per-request logs are at debug).
    ///   - accessLog: where each request's line goes (`proxy_access_log`), if anywhere.
    public convenience init(
        configuration: ProxyConfiguration, store: ConfigStore, group: (any EventLoopGroup)? = nil, logger: Logger,
        accessLog: AccessLog? = nil, streamAccessLog: AccessLog? = nil
    ) {
        self.init(
            configuration: configuration, store: store, group: group, logger: logger,
            resolver: Self.resolver(for: configuration), accessLog: accessLog,
            streamAccessLog: streamAccessLog)
    }

    /// The nameservers of `dns_resolver` when it is set, else the system resolver.
    static func resolver(for configuration: ProxyConfiguration) -> any DNSResolving {
        guard !configuration.nameservers.isEmpty else {
            return SystemDNSResolver(threadPool: .singleton, hosts: configuration.hosts)
        }
        return NameserverResolver(nameservers: configuration.nameservers, order: configuration.dnsOrder, hosts: configuration.hosts)
    }

    /// Makes a server that asks `resolver` for names (tests answer names with addresses of
    /// their choosing).
    init(
        configuration: ProxyConfiguration, store: ConfigStore, group: (any EventLoopGroup)?, logger: Logger,
        resolver: any DNSResolving, accessLog: AccessLog? = nil, streamAccessLog: AccessLog? = nil
    ) {
        self.environment = ProxyEnvironment(store: store, configuration: configuration, logger: logger)
        if let group {
            self.group = group
            self.ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoops))
            self.ownsGroup = true
        }
        var loops: [ObjectIdentifier: LoopContext] = [:]
        for loop in self.group.makeIterator() {
            loops[ObjectIdentifier(loop)] = LoopContext(
                eventLoop: loop, configuration: configuration, resolver: resolver, accessLog: accessLog,
                streamAccessLog: streamAccessLog)
        }
        self.loops = loops
        self.stopped = self.group.next().makePromise(of: Void.self)
        self.upkeep = BalancerUpkeep(store: store, eventLoop: self.group.next(), resolver: resolver)
    }

    deinit {
        // A server that never ran (its listeners could not be bound, say) still completes the
        // promise. One that shut down completed it already (and its loops may be gone, so
        // completing it again would schedule on a closed loop).
        guard state.withLock({ $0.phase != .stopped }) else { return }
        stopped.fail(ChannelError.ioOnClosedChannel)
    }

    /// Makes a server from the node settings (`proxy_listen`, `nginx_worker_processes`,
    /// `headers`, `trusted_ips`, `upstream_keepalive_*`, ...).
    public convenience init(
        settings: NodeSettings, store: ConfigStore, group: (any EventLoopGroup)? = nil, logger: Logger,
        accessLog: AccessLog? = nil, streamAccessLog: AccessLog? = nil
    ) {
        self.init(
            configuration: ProxyConfiguration(settings: settings), store: store, group: group, logger: logger,
            accessLog: accessLog, streamAccessLog: streamAccessLog)
    }

    /// The addresses listened on (with the actual ports when 0 was asked for).
    public var localAddresses: [SocketAddress] { state.withLock { $0.addresses } }

    /// The `stream_listen` addresses among them.
    public var streamAddresses: [SocketAddress] { state.withLock { $0.streamAddresses } }

    /// Binds every `proxy_listen` address. `ssl` listeners are skipped (logged) until TLS
    /// listeners land.
    ///
    /// - Throws: when an address cannot be bound; listeners already bound are closed.
    public func bind() async throws {
        var listeners: [Channel] = []
        var streamAddresses: [SocketAddress] = []
        do {
            for address in environment.configuration.listen {
                if address.ssl, !DefaultCertificate.isAvailable {
                    environment.logger.warning(
                        "proxy.listen_skipped", metadata: ["listen": "\(address)", "reason": "no default TLS certificate"])
                    continue
                }
                do {
                    listeners += try await bind(address, stream: false)
                } catch {
                    throw BindError(setting: "proxy_listen", host: address.host, port: address.port, underlying: error)
                }
            }
            for address in environment.configuration.streamListen {
                if address.ssl, !address.udp, !DefaultCertificate.isAvailable {
                    environment.logger.warning(
                        "stream.listen_skipped", metadata: ["listen": "\(address)", "reason": "no default TLS certificate"])
                    continue
                }
                do {
                    let bound = address.udp ? try await bindUDP(address) : try await bind(address, stream: true)
                    listeners += bound
                    streamAddresses += bound.compactMap(\.localAddress)
                } catch {
                    throw BindError(setting: "stream_listen", host: address.host, port: address.port, underlying: error)
                }
            }
        } catch {
            for channel in listeners { try? await channel.close() }
            throw error
        }
        let addresses = listeners.compactMap(\.localAddress)
        state.withLock {
            $0.listeners = listeners
            $0.addresses = addresses
            $0.streamAddresses = streamAddresses
            $0.phase = .bound
        }
        upkeep.start()
        environment.logger.info("proxy.listening", metadata: ["addresses": "\(addresses.map { "\($0)" })"])
    }

    private func bind(_ address: ListenAddress, stream: Bool) async throws -> [Channel] {
        let backlog = Int32(address.backlog ?? 511)
        return try await bindEach(address) { group, target in
            try await makeBootstrap(group: group, address: address, backlog: backlog, stream: stream).bind(to: target).get()
        }
    }

    /// Binds a `udp` entry of `stream_listen` (with `reuseport`, the kernel keeps a client's
    /// datagrams on one of the sockets).
    private func bindUDP(_ address: ListenAddress) async throws -> [Channel] {
        let loops = self.loops
        let environment = self.environment
        return try await bindEach(address) { group, target in
            var bootstrap = DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    guard let context = loops[ObjectIdentifier(channel.eventLoop)] else {
                        return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPStreamHandler(env: environment, loop: context))
                    }
                }
            if address.reuseport {
                bootstrap = bootstrap.channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
            }
            return try await bootstrap.bind(to: target).get()
        }
    }

    /// Binds `address` with `bind`: once, or once per event loop with `reuseport` (a port 0
    /// becomes the first socket's port for the others).
    private func bindEach(
        _ address: ListenAddress, _ bind: (any EventLoopGroup, SocketAddress) async throws -> Channel
    ) async throws -> [Channel] {
        let host = address.host == "*" ? "0.0.0.0" : address.host
        var target = try SocketAddress.makeAddressResolvingHost(host, port: address.port)
        guard address.reuseport, loops.count > 1 else { return [try await bind(group, target)] }
        var channels: [Channel] = []
        for loop in group.makeIterator() {
            let channel = try await bind(loop, target)
            if target.port == 0, let bound = channel.localAddress { target = bound }
            channels.append(channel)
        }
        return channels
    }

    private func makeBootstrap(group: any EventLoopGroup, address: ListenAddress, backlog: Int32, stream: Bool) -> ServerBootstrap {
        let environment = self.environment
        let loops = self.loops
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accepted connections inherit TCP_NODELAY from the listener on Linux. Child
            // channel options are not used: the bootstrap applies them through a chain of
            // futures per accepted connection; the initializer sets what is needed in place.
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .acceptBackingOff(logger: environment.logger, listener: "proxy")
            .childChannelInitializer { channel in
                guard let loop = loops[ObjectIdentifier(channel.eventLoop)] else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                }
                if stream { return channel.eventLoop.makeCompletedFuture { try Self.acceptStream(channel, address, environment, loop) } }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureAccepted(channel)
                    // On an `http2` address, HTTP/1.1 or HTTP/2 is chosen once the client's TLS
                    // handshake or first bytes tell.
                    let (handler, facts): (any ChannelHandler, any ClientConnectionFacts)
                    if address.http2 {
                        (handler, facts) = HTTPVersionSelector.make(env: environment, loop: loop, tls: address.ssl)
                    } else {
                        let proxy = ProxyHandler(env: environment, loop: loop, tls: address.ssl)
                        (handler, facts) = (proxy, proxy)
                    }
                    if address.proxyProtocol {
                        let reader = ProxyProtocolReader { source in facts.proxyProtocolAddress = source }
                        try channel.pipeline.syncOperations.addHandler(reader)
                    }
                    if address.ssl {
                        try TLSTermination.install(on: channel, http2: address.http2, environment: environment, facts: facts)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        if address.reuseport {
            bootstrap = bootstrap.serverChannelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
        }
        if let ipv6only = address.ipv6only, address.isIPv6 {
            bootstrap = bootstrap.serverChannelOption(
                .socket(SocketOptionLevel(IPPROTO_IPV6), SocketOptionName(IPV6_V6ONLY)), value: ipv6only ? 1 : 0)
        }
        return bootstrap
    }

    /// Reads start at 1 KiB, nginx's `client_header_buffer_size`, and grow with what the
    /// client sends: each connection keeps its read buffer while idle, and a request head
    /// rarely needs NIO's default 2 KiB.
    static let clientReadAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536)

    /// The pipeline of a `stream_listen` connection (on its event loop).
    private static func acceptStream(
        _ channel: any Channel, _ address: ListenAddress, _ environment: ProxyEnvironment, _ loop: LoopContext
    ) throws {
        try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
        let handler = StreamHandler(env: environment, loop: loop, tls: address.ssl)
        if address.proxyProtocol {
            handler.expectsProxyProtocol = true
            let reader = ProxyProtocolReader(
                onHeader: { [unowned handler] source in handler.proxyProtocolRead(source: source) },
                onBrokenHeader: { [unowned handler] in handler.brokenProxyProtocolHeader() })
            try channel.pipeline.syncOperations.addHandler(reader)
        }
        if address.ssl { try StreamHandler.installTLS(on: channel, for: handler) }
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Socket options of an accepted connection, set synchronously on its event loop.
    private static func configureAccepted(_ channel: any Channel) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(.maxMessagesPerRead, value: 8)
        try options.setOption(.recvAllocator, value: clientReadAllocator)
        #if !os(Linux)
        try options.setOption(.tcpOption(.tcp_nodelay), value: 1)
        #endif
    }

    /// Serves until ``shutdown(gracePeriod:)`` or until the calling task is cancelled, which
    /// starts a graceful shutdown. Binds first when ``bind()`` was not called.
    public func run() async throws {
        if state.withLock({ $0.phase == .created }) { try await bind() }
        try await withTaskCancellationHandler {
            try await stopped.futureResult.get()
        } onCancel: {
            Task { await self.shutdown() }
        }
    }

    /// Graceful shutdown: stops accepting, lets in-flight requests finish for up to
    /// `gracePeriod` (`shutdownGracePeriod` by default) while idle connections close, then
    /// closes what is left and the upstream pools. Returns when done; later calls wait too.
    public func shutdown(gracePeriod: TimeAmount? = nil) async {
        let listeners: [Channel]? = state.withLock { s in
            guard s.phase == .created || s.phase == .bound else { return nil }
            s.phase = .shuttingDown
            defer { s.listeners = [] }
            return s.listeners
        }
        guard let listeners else {
            try? await stopped.futureResult.get()
            return
        }
        environment.logger.info("proxy.shutdown_started")
        upkeep.stop()
        for channel in listeners { try? await channel.close() }
        let contexts = Array(loops.values)
        for context in contexts { context.eventLoop.execute { context.quiesce() } }
        let deadline = NIODeadline.now() + (gracePeriod ?? environment.configuration.shutdownGracePeriod)
        while NIODeadline.now() < deadline, await sum(contexts, { $0.connectionCount }) > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for context in contexts {
            try? await context.eventLoop.submit { context.forceClose() }.get()
        }
        state.withLock { $0.phase = .stopped }
        environment.logger.info("proxy.shutdown_finished")
        stopped.succeed(())
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// The sum of `count` over `contexts`, each read on its own loop.
    private func sum(_ contexts: [LoopContext], _ count: @escaping @Sendable (LoopContext) -> Int) async -> Int {
        var total = 0
        for context in contexts {
            total += (try? await context.eventLoop.submit { count(context) }.get()) ?? 0
        }
        return total
    }

    /// nginx's `stub_status` counters of the proxy listeners, read without locks (`/status`,
    /// `kong_nginx_connections_total`).
    public func connectionCounts() -> ProxyConnectionCounts {
        var counts = ProxyConnectionCounts()
        counts.accepted = environment.acceptedConnections.load(ordering: .relaxed)
        for context in loops.values {
            let values = context.stats.values
            counts.active += values.active
            counts.requests += values.requests
            counts.writing += values.inProgress
        }
        return counts
    }

    /// The address `dns_hostsfile` gives a name (`127.0.0.1`, `::1`), without a lookup; nil
    /// when the file does not name it.
    public func hostsFileAddress(of name: String) -> String? {
        environment.configuration.hosts.addresses(of: name)?.first?.text
    }

    /// Upstream connections opened so far, all loops together (tests and diagnostics).
    public func upstreamConnectionsOpened() async -> Int {
        await sum(Array(loops.values)) { $0.pool.connectionsOpened }
    }

    /// Upstream connections parked idle now, all loops together (tests and diagnostics).
    public func upstreamIdleConnections() async -> Int {
        await sum(Array(loops.values)) { $0.pool.idleCount }
    }

    /// Client connections open now, all loops together (tests and diagnostics).
    public func openClientConnections() async -> Int {
        await sum(Array(loops.values)) { $0.connectionCount }
    }
}
