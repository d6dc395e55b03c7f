import KGateConfig
import KGateRouter
import KGateHTTP
import KGatePlugins
import KGateSettings
import KGateStore
import Logging
import NIOCore
import NIOPosix
import Synchronization

@testable import KGateProxy

/// Shared event loops for all live tests (two, like the machine's cores).
enum TestLoops {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
}

/// A gateway started on 127.0.0.1:0 with a YAML config, plus helpers to talk to it.
struct ProxyHarness: Sendable {
    let server: ProxyServer
    let store: ConfigStore
    let port: Int
    /// What the proxy logged at `error` and above.
    let errors: CapturedLog

    /// Entity schemas with the bundled plugins' config schemas (as `kgate start` validates).
    static let loader = DeclarativeLoader(catalog: EntityCatalog(pluginConfigSchemas: BundledPluginSet.configSchemas))

    /// Loads `yaml` and starts a proxy on it, with the bundled plugins (a registry of its
    /// own, so rate-limiting counters are never shared between tests) plus `extraPlugins`, which
    /// replace bundled plugins of the same name.
    /// Names are asked of `resolver` (when nil, the one the settings choose: `dns_resolver`'s
    /// nameservers, else the system's). `settings` are the node's (their
    /// listeners aside); `environment`, when given, is what `{vault://env/...}` references read.
    static func start(
        _ yaml: String, extraPlugins: [any Plugin] = [], resolver: (any DNSResolving)? = nil,
        settings: NodeSettings = NodeSettings(), environment: [String: String]? = nil, accessLog: AccessLog? = nil,
        streamAccessLog: AccessLog? = nil, configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyHarness {
        let extraNames = Set(extraPlugins.map { type(of: $0).name })
        // `kong.configuration` holds the settings Lua code reads (`log_level`, for the logs).
        let bundled = BundledPluginSet.all(
            luaEnabled: settings.untrustedLua != .off, luaSandboxed: settings.untrustedLua != .on,
            configuration: ["log_level": .string(settings.logLevel.rawValue)])
        let registry = PluginRegistry(bundled.filter { !extraNames.contains(type(of: $0).name) } + extraPlugins)
        let plugins = PluginsBuilder(registry: registry)
        var plans = ProxyPlansBuilder(settings: settings, plugins: plugins)
        if let environment { plans.environment = environment }
        let store = try ConfigStore(artifacts: [plans])
        let flavor = KGateConfig.RouterFlavor(rawValue: settings.routerFlavor.rawValue) ?? .traditionalCompatible
        let loader =
            extraPlugins.isEmpty && flavor == .traditionalCompatible
            ? Self.loader
            : DeclarativeLoader(
                catalog: EntityCatalog(
                    routerFlavor: flavor,
                    enabledPlugins: BundledPlugins.names + extraPlugins.map { type(of: $0).name },
                    pluginConfigSchemas: registry.configSchemas,
                    routeExpressionValidator: { $0["expression"]?.stringValue.flatMap(ATCExpression.validationError) }))
        try install(yaml, in: store, loader: loader)
        var settings = settings
        settings.proxyListen = [ListenAddress(host: "127.0.0.1", port: 0)]
        var configuration = ProxyConfiguration(settings: settings, coreCount: 2)
        configure(&configuration)
        let errors = CapturedLog()
        let logger = Logger(label: "kgate.proxy.test") { _ in CapturedLog.Handler(log: errors) }
        let server = ProxyServer(
            configuration: configuration, store: store, group: TestLoops.group, logger: logger,
            resolver: resolver ?? ProxyServer.resolver(for: configuration),
            accessLog: accessLog, streamAccessLog: streamAccessLog)
        try await server.bind()
        let port = server.localAddresses.first?.port ?? 0
        return ProxyHarness(server: server, store: store, port: port, errors: errors)
    }

    /// Replaces the config.
    static func install(_ yaml: String, in store: ConfigStore, loader: DeclarativeLoader = Self.loader) throws {
        switch loader.load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success(let config):
            try store.install(config, source: .none)
            // Kong's `configure` phase, as the node runs it after each flip.
            store.current.artifact(for: ProxyPlansBuilder.self)?.plugins?.configure()
        case .failure(let error): throw HarnessError.badConfig("\(error)")
        }
    }

    /// One service on the upstream at `port` with a catch-all route.
    static func oneService(port: Int) -> String {
        "_format_version: \"3.0\"\nservices:\n- url: http://127.0.0.1:\(port)\n  routes:\n  - paths: [/]\n"
    }

    func stop() async {
        await server.shutdown(gracePeriod: .milliseconds(200))
    }

    func client() async throws -> RawClient {
        try await RawClient.connect(port: port, group: TestLoops.group)
    }

    /// One request on a fresh connection; the final response (an interim `100 Continue` is
    /// skipped, as clients do).
    func get(_ path: String, host: String = "example.test", headers: [(String, String)] = []) async throws -> RawResponse {
        let c = try await client()
        defer { Task { await c.close() } }
        try await c.send(Self.request("GET", path, host: host, headers: headers))
        var response = try await c.readResponse()
        while response.status == 100 { response = try await c.readResponse() }
        return response
    }

    static func request(
        _ method: String, _ path: String, host: String? = "example.test", headers: [(String, String)] = [], body: String? = nil
    ) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\n"
        if let host { text += "Host: \(host)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n"
        if let body { text += body }
        return text
    }
}

enum HarnessError: Error {
    case badConfig(String)
}

/// Starts upstreams, runs `body`, stops them (also when `body` throws).
func withUpstreams<R>(
    _ names: [String], _ body: ([TestUpstream]) async throws -> R
) async throws -> R {
    try await withStarted(names.map { TestUpstream(name: $0, group: TestLoops.group) }, body)
}

/// Starts one upstream answering `canned` by path (a fake service), runs `body`, stops it.
func withCannedUpstream<R>(
    _ canned: [String: TestUpstream.Canned], _ body: (TestUpstream) async throws -> R
) async throws -> R {
    try await withStarted([TestUpstream(name: "canned", group: TestLoops.group, canned: canned)]) { try await body($0[0]) }
}

/// Starts `upstreams`, runs `body`, stops them (also when `body` throws).
private func withStarted<R>(_ upstreams: [TestUpstream], _ body: ([TestUpstream]) async throws -> R) async throws -> R {
    for u in upstreams { try await u.start() }
    do {
        let result = try await body(upstreams)
        for u in upstreams { await u.stop() }
        return result
    } catch {
        for u in upstreams { await u.stop() }
        throw error
    }
}

/// Log messages kept for a test to look at (`error` and above).
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel = Logger.Level.error
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append(event.message.description) }
        }
    }
}

/// Starts a proxy (with the bundled plugins and `extraPlugins`), runs `body`, stops it.
func withProxy<R>(
    _ yaml: String, extraPlugins: [any Plugin] = [], resolver: (any DNSResolving)? = nil,
    settings: NodeSettings = NodeSettings(), environment: [String: String]? = nil, accessLog: AccessLog? = nil,
    streamAccessLog: AccessLog? = nil, configure: (inout ProxyConfiguration) -> Void = { _ in },
    _ body: (ProxyHarness) async throws -> R
) async throws -> R {
    let proxy = try await ProxyHarness.start(
        yaml, extraPlugins: extraPlugins, resolver: resolver, settings: settings, environment: environment,
        accessLog: accessLog, streamAccessLog: streamAccessLog, configure: configure)
    do {
        let result = try await body(proxy)
        await proxy.stop()
        return result
    } catch {
        await proxy.stop()
        throw error
    }
}

/// The echo upstream's view of the request: `METHOD URI` then `name: value` lines.
struct EchoedRequest {
    var requestLine: String
    var headers: [(String, String)]

    init(_ response: RawResponse) {
        let lines = response.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        requestLine = lines.first ?? ""
        headers = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(colon, offsetBy: 2)...]))
        }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func all(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}
