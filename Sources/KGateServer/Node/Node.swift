import KGateAdmin
import KGateConfig
import KGateHTTP
import KGatePlugins
import KGateProxy
import KGateRedis
import KGateSettings
import KGateStore
import KGateWatch
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A running kgate node: the config store and its reload triggers, the status and admin
/// listeners, all run as services of one `ServiceGroup`, stopped on SIGTERM/SIGINT/SIGQUIT.
///
/// `start()` loads the initial config and binds every listener (so errors surface before the
/// node reports itself started); `run()` then serves until shutdown.
public final class Node: Sendable {
    public let settings: NodeSettings
    public let store: ConfigStore
    public let coordinator: ReloadCoordinator
    public let statusReport: StatusReport
    let group: MultiThreadedEventLoopGroup
    let listeners: [HTTPListener]
    /// The data plane on `proxy_listen` and `stream_listen` (nil when both are `off`).
    let proxy: ProxyServer?
    let logger: Logger
    /// The coordinator's load loop, started by `start()` (the initial load runs on it).
    let loadLoop = Mutex<Task<Void, Never>?>(nil)
    /// The config file watcher, started before the initial load so no edit is missed.
    let watch = Mutex<(watcher: ConfigFileWatcher, events: AsyncStream<WatchEvent>)?>(nil)
    /// Whether the running config is the start file's, so that its edits are followed: false
    /// once `kgate reload` loaded another file, true again when a reload loads the start file.
    let followsStartFile = Atomic<Bool>(true)
    /// The running service group, for `shutdown()`.
    let serviceGroup = Mutex<RunState>(.notRunning)
    /// The node's signals, trapped from `start()` until `run()` returns (``trapSignals()``).
    let signalTrap = Mutex<Task<Void, Never>?>(nil)
    /// Runs the plugins' `configure` after each flip (kept for the node's lifetime).
    let pluginsConfigured: EventSubscription
    /// The last loaded config, kept in the prefix for the next start.
    let persistedConfig: PersistedConfig
    /// The file the node's logger appends to (`proxy_error_log`), if any.
    let errorLog: ErrorLogFile?
    /// The proxy's, Admin API's and Status API's access logs.
    let accessLogs: NodeAccessLogs

    /// Builds the node; nothing is loaded or bound yet.
    /// - Parameters:
    ///   - artifacts: extra per-generation builders; the proxy's (router, balancers) are
    ///     always registered.
    ///   - errorLog: the file `logger` appends to, if any (reopened on SIGUSR1).
    public init(
        settings: NodeSettings, artifacts: [any GenerationArtifactBuilder] = [], logger: Logger,
        errorLog: ErrorLogFile? = nil
    ) throws {
        self.settings = settings
        self.logger = logger
        self.errorLog = errorLog
        let accessLogs = try NodeAccessLogs(settings: settings)
        self.accessLogs = accessLogs
        // One id for the node: the Admin API's `node_id` and plugins' `kong.node.get_id()`.
        let nodeID = settings.nodeID ?? EntityID.random()
        let plugins = NodePlugins(settings: settings, nodeID: nodeID, logger: logger)
        // The rate-limiting plugins' `redis.ssl_verify` trusts `lua_ssl_trusted_certificate`.
        let trust = settings.luaSSLTrustedCertificate
        RedisClient.shared.verify { trust.apply(to: &$0) }
        let catalog = plugins.catalog
        store = try ConfigStore(
            catalog: catalog, artifacts: [ProxyPlansBuilder(settings: settings, plugins: plugins.builder)] + artifacts)
        proxy = settings.proxyListen.isEmpty && settings.streamListen.isEmpty ? nil : ProxyServer(
            settings: settings, store: store, logger: logger, accessLog: accessLogs.proxy, streamAccessLog: accessLogs.stream)
        persistedConfig = PersistedConfig(prefix: settings.prefix)
        coordinator = ReloadCoordinator(
            store: store, loader: DeclarativeLoader(catalog: catalog), logger: logger, persistence: persistedConfig)
        pluginsConfigured = Self.configurePluginsOnFlip(coordinator.events, store: store, logger: logger)
        let counters = ServerCounters()
        let proxyCounts = proxy.map { proxy in
            { @Sendable () -> ServerCounters.Snapshot in
                let p = proxy.connectionCounts()
                return .init(
                    accepted: p.accepted, active: p.active, handled: p.accepted, requests: p.requests, writing: p.writing)
            }
        }
        let statusReport = StatusReport(source: NodeStatus(coordinator: coordinator), counters: counters, proxy: proxyCounts)
        self.statusReport = statusReport
        // `/metrics` where the prometheus plugin is loaded, as Kong loads its API then.
        let configStore = store
        let proxyServer = proxy
        let metrics = plugins.registry.plugin(PrometheusPlugin.self).map {
            NodeMetrics(
                plugin: $0, statusReport: statusReport, store: configStore, nodeID: nodeID,
                hostsFileAddress: { proxyServer?.hostsFileAddress(of: $0) }, streamListening: !settings.streamListen.isEmpty)
        }
        let pluginAPIs = NodePluginAPIs(loaded: catalog.enabledPlugins, registry: plugins.registry, metrics: metrics)
        let upstreamHealth = Self.upstreamHealth(configStore)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var listeners: [HTTPListener] = []
        let status = Self.listenerAddresses(settings.statusListen)
        if !status.isEmpty {
            let statusAPI = AdminAPI(
                settings: settings, catalog: catalog, coordinator: coordinator,
                statusBody: { statusReport.statusBody() }, logger: logger, nodeID: nodeID, surface: .status,
                pluginRoutes: pluginAPIs.status, upstreamHealth: upstreamHealth)
            // Answered on the event loop: nothing the Status API answers waits for a load.
            listeners.append(HTTPListener(
                name: "status", addresses: status, group: group, maxBodySize: statusAPI.maxBodySize,
                counters: counters,
                secureChannel: try Self.secureChannel(
                    status, settings.statusSSLCert, settings.statusSSLCertKey, setting: "status_ssl_cert",
                    policy: settings.serverTLS),
                accessLog: accessLogs.status, addedHeaders: settings.nginxHttpAddHeader, logger: logger
            ) { request in
                statusAPI.respond(to: request) ?? .json(.notFound, #"{"message":"Not found"}"#)
            })
        }
        let admin = Self.listenerAddresses(settings.adminListen)
        if !admin.isEmpty {
            for address in admin where !Self.isLoopback(address.host) {
                logger.warning(
                    "the Admin API listens on a non-loopback address: anyone who can reach it can read the configuration",
                    metadata: ["admin.address": "\(address)"])
            }
            let adminAPI = AdminAPI(
                settings: settings, catalog: catalog, coordinator: coordinator,
                statusBody: { statusReport.statusBody() }, logger: logger, nodeID: nodeID,
                pluginRoutes: pluginAPIs.admin, upstreamHealth: upstreamHealth,
                cache: Self.nodeCache(plugins.registry.nodeCaches))
            // Admin answers run in tasks: config loads and large listings must not stall a loop.
            listeners.append(HTTPListener(
                name: "admin", addresses: admin, group: group, maxBodySize: adminAPI.maxBodySize, counters: counters,
                secureChannel: try Self.secureChannel(
                    admin, settings.adminSSLCert, settings.adminSSLCertKey, setting: "admin_ssl_cert",
                    policy: settings.serverTLS),
                accessLog: accessLogs.admin, addedHeaders: settings.nginxHttpAddHeader, logger: logger, answering: .task { await adminAPI.handle($0) }))
        }
        self.listeners = listeners
    }

    /// A node started but never run (a test, a start that failed late) lets go of the signals.
    deinit {
        signalTrap.withLock { $0?.cancel() }
    }

    /// The balancers' health of the live generation, for the Admin and Status APIs.
    /// `/cache` over the plugins' node caches: a key is probed in each, dropped from all.
    static func nodeCache(_ caches: [any NodeCachingPlugin]) -> NodeCache {
        NodeCache(
            probe: { key in
                let now = WallClock.now()
                return caches.lazy.compactMap { $0.cachedValue(forKey: key, now: now) }.first
            },
            invalidate: { key in for cache in caches { cache.invalidateCached(key: key) } },
            purge: { for cache in caches { cache.purgeCached() } })
    }

    static func upstreamHealth(_ store: ConfigStore) -> UpstreamHealthProvider {
        @Sendable func plans() -> ProxyPlans? { store.current.artifact(for: ProxyPlansBuilder.self) }
        return UpstreamHealthProvider(
            targets: { plans()?.targetHealth(upstreamID: $0) },
            balancer: { plans()?.balancerHealth(upstreamID: $0) },
            set: { upstream, target, address, healthy in
                guard let plans = plans() else { return "upstream not found" }
                return plans.setTargetHealth(upstreamID: upstream, target: target, address: address, healthy: healthy)
            })
    }

    /// Kong's `configure` phase: after each flip, every plugin gets its configs of the new
    /// generation (rate-limiting drops the counters of plugins that went away).
    static func configurePluginsOnFlip(_ events: EventBus, store: ConfigStore, logger: Logger) -> EventSubscription {
        events.onEvent { event in
            guard case .configFlipped = event, let plans = store.current.artifact(for: ProxyPlansBuilder.self) else { return }
            if !plans.streamPluginsNotRun.isEmpty {
                logger.warning(
                    "plugins configured for stream protocols are not run on stream connections (only ip-restriction, the logging plugins, prometheus and zipkin are)",
                    metadata: ["plugins": "\(plans.streamPluginsNotRun.joined(separator: ", "))"])
            }
            guard let plugins = plans.plugins else { return }
            plugins.configure()
        }
    }

    /// Writes the settings to the prefix (`.kong_env`), loads `declarative_config` (or
    /// `declarative_config_string`) and binds the listeners. A node already running with the
    /// same prefix, or a config that does not load, aborts the start, as in Kong. With neither
    /// config set, the config persisted by the previous run in the same prefix is loaded again
    /// (``PersistedConfig``).
    public func start() async throws {
        await trapSignals()
        do { try await prepareLoadAndBind() } catch {
            signalTrap.withLock { $0?.cancel() }
            throw error
        }
    }

    /// `start()` once the signals are trapped: the prefix, the initial load, the listeners.
    func prepareLoadAndBind() async throws {
        if NodeProcess.runningPid(prefix: settings.prefix) != nil {
            throw NodeStartError("kgate is already running in \(settings.prefix)")
        }
        try KongEnvFile(prefix: settings.prefix).write(settings)
        if !settings.ignoredProperties.isEmpty {
            logger.notice(
                "Kong properties without effect on kgate are ignored",
                metadata: ["properties": "\(settings.ignoredProperties.map { "\($0.property) (\($0.source))" }.joined(separator: ", "))"])
        }
        let coordinator = self.coordinator
        loadLoop.withLock { task in
            if task == nil { task = Task { await coordinator.run() } }
        }
        if let path = settings.declarativeConfig {
            if settings.declarativeConfigWatch {
                let watcher = ConfigFileWatcher(
                    path: path, options: WatchOptions(debounce: .milliseconds(settings.declarativeConfigDebounce)))
                let events = try watcher.events()
                watch.withLock { $0 = (watcher, events) }
                logger.info("watching the declarative config", metadata: [
                    "config.file": "\(path)", "watch.mechanism": "\(watcher.activeMechanism.map { "\($0)" } ?? "none")",
                ])
            }
            let outcome = await coordinator.reload(.file(path, force: true))
            if case .rejected(let error, let declarative) = outcome {
                let text = declarative.map(CLIErrorText.details) ?? error.details
                throw NodeStartError("error parsing declarative config file \(path):\n\(text)")
            }
        } else if let text = settings.declarativeConfigString {
            let outcome = await coordinator.reload(.bytes(Array(text.utf8), source: .string(name: nil), force: true))
            if case .rejected(let error, let declarative) = outcome {
                let details = declarative.map(CLIErrorText.details) ?? error.details
                throw NodeStartError("error parsing declarative string \(text):\n\(details)")
            }
        } else {
            await loadPersistedConfig()
        }
        // The proxy first: once the Status API answers (readiness probes, tests), the proxy
        // accepts connections, as nginx has every socket bound before it serves any.
        try await proxy?.bind()
        for listener in listeners { try await listener.bind() }
    }

    /// Kong's `found persisted lmdb config`: the last config of the previous run, if any. One
    /// that no longer loads (a plugin since disabled) is logged and the node starts empty.
    func loadPersistedConfig() async {
        let persisted = persistedConfig
        guard let bytes = persisted.load() else { return }
        logger.info("found persisted lmdb config, loading...", metadata: ["config.persisted": "\(persisted.path)"])
        let outcome = await coordinator.reload(.bytes(bytes, source: .persisted(path: persisted.path), force: true))
        if let error = outcome.error {
            logger.error(
                "the persisted config does not load; starting without a config",
                metadata: ["config.persisted": "\(persisted.path)", "error.message": "\(error.details)"])
        }
    }

    /// Serves until SIGTERM/SIGINT/SIGQUIT, then shuts down gracefully.
    public func run() async throws {
        guard let loop = loadLoop.withLock({ $0 }) else { throw NodeStartError("Node.run() called before start()") }
        defer { signalTrap.withLock { $0?.cancel() } }
        var services: [any Service] = [CoordinatorService(loop: loop)]
        services += listeners.map { $0 as any Service }
        services.append(ReloadSignalService(node: self))
        services.append(LogReopenSignalService(logger: logger, errorLog: errorLog, accessLogs: accessLogs.files))
        if let proxy { services.append(ProxyService(proxy: proxy)) }
        if let path = settings.declarativeConfig, let watch = watch.withLock({ $0 }) {
            services.append(WatcherService(
                path: path, watcher: watch.watcher, events: watch.events, coordinator: coordinator, logger: logger,
                follows: { [weak self] in self?.followsStartFile.load(ordering: .relaxed) ?? false }))
        }
        let pidFile = PidFile(prefix: settings.prefix)
        try pidFile.write()
        defer { pidFile.remove() }
        // No signals of its own: the shutdown signals are the trap's (``trapSignals()``).
        let serviceGroup = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
        let stopAtOnce = self.serviceGroup.withLock { state in
            defer { state = .running(serviceGroup) }
            if case .shutdownRequested = state { return true }
            return false
        }
        if stopAtOnce { await serviceGroup.triggerGracefulShutdown() }
        logger.notice("kgate started", metadata: ["prefix": "\(settings.prefix)", "config.hash": "\(store.current.hash)"])
        try await serviceGroup.run()
        try await group.shutdownGracefully()
        logger.notice("kgate stopped")
    }

    /// Traps the node's signals before anything is written or bound, and is the one handler of
    /// the shutdown signals until `run()` returns: a service group would install its handlers
    /// only once `run()` starts it, and a SIGTERM before that (a supervisor stopping a node that
    /// already answers) would kill the process instead of stopping it gracefully. A shutdown
    /// signal becomes ``shutdown()`` (which `run()` honours even before it got going); SIGHUP
    /// and SIGUSR1 are dropped here, and answered by their services once `run()` starts them.
    func trapSignals() async {
        let signals = await UnixSignalsSequence(trapping: Self.shutdownSignals + [.sighup, .sigusr1])
        let task = Task { [weak self] in
            for await signal in signals where Self.shutdownSignals.contains(signal) {
                await self?.shutdown()
            }
        }
        signalTrap.withLock { $0 = task }
    }

    /// The signals that stop the node gracefully: SIGTERM and SIGINT, and SIGQUIT, nginx's
    /// graceful shutdown (`kgate quit`, `kill -QUIT`), which would otherwise dump core.
    static let shutdownSignals: [UnixSignal] = [.sigterm, .sigint, .sigquit]

    /// Starts a graceful shutdown, as SIGTERM does; called before `run()` got going, `run()`
    /// starts the services and stops them at once.
    public func shutdown() async {
        let running = serviceGroup.withLock { state -> ServiceGroup? in
            guard case .running(let group) = state else {
                state = .shutdownRequested
                return nil
            }
            return group
        }
        await running?.triggerGracefulShutdown()
    }

    /// Where `run()` is, for `shutdown()`.
    enum RunState {
        case notRunning
        case shutdownRequested
        case running(ServiceGroup)
    }

    /// The addresses the listeners are bound to, by listener name (for tests and logs).
    public func boundPorts(_ name: String) -> [Int] {
        if name == "proxy" { return proxy?.localAddresses.compactMap(\.port) ?? [] }
        return listeners.filter { $0.name == name }.flatMap { $0.localAddresses.compactMap(\.port) }
    }

    /// The TLS set-up of a listener that has `ssl` addresses (nil for a plain one).
    static func secureChannel(
        _ addresses: [ListenerAddress], _ certificates: [PEMFile], _ keys: [PEMFile], setting: String,
        policy: ServerTLSPolicy
    ) throws -> HTTPListener.SecureChannel? {
        guard addresses.contains(where: \.tls) else { return nil }
        return try ListenerTLS.secureChannel(certificates: certificates, keys: keys, setting: setting, policy: policy)
    }

    /// The addresses of `admin_listen` or `status_listen`: `ssl` ones serve over TLS
    /// (``secureChannel(_:_:_:setting:policy:)``), `http2` ones HTTP/2 besides HTTP/1.1.
    static func listenerAddresses(_ list: [ListenAddress]) -> [ListenerAddress] {
        list.map { ListenerAddress(host: $0.host, port: $0.port, backlog: $0.backlog ?? 511, tls: $0.ssl, http2: $0.http2) }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}

/// Why a node could not start, with Kong's wording.
public struct NodeStartError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
