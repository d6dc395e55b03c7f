import KGateSchema

/// A Kong plugin: its name, `PRIORITY`, `VERSION`, config schema, scoping rules and phases.
///
/// One value per plugin lives for the whole node (it may hold node-wide state, such as
/// rate-limiting counters); its config is parsed once per generation by ``makeConfig(_:scope:)``
/// into a typed ``Config`` that the phases receive. Phases have no-op defaults; list the ones
/// a plugin implements in ``phases`` so the runner only calls those (and the proxy only does
/// the work they need, like reading the body or buffering the response).
///
/// ```swift
/// struct HelloPlugin: Plugin {
///     struct Config: Sendable { var greeting: String }
///     static let name = "hello"
///     static let priority = 1000
///     static let phases: PluginPhases = [.access]
///     static let schema = Schema.record([("greeting", Field.string.defaulting("hi"))])
///     func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
///         Config(greeting: config.string("greeting") ?? "hi")
///     }
///     func access(_ config: Config, _ ctx: inout PluginContext) throws {
///         ctx.request.setHeader("X-Greeting", config.greeting)
///     }
/// }
/// ```
public protocol Plugin: Sendable {
    /// The config as the phases use it, parsed once per generation.
    associatedtype Config: Sendable

    /// Kong's plugin name (`key-auth`).
    static var name: String { get }
    /// Kong's `PRIORITY`: higher runs first.
    static var priority: Int { get }
    /// Kong's `VERSION` (`x.y.z`); bundled plugins report Kong's version.
    static var version: String { get }
    /// The schema replaces `consumer` with `typedefs.no_consumer` (auth plugins): configs are
    /// never looked up by consumer.
    static var noConsumer: Bool { get }
    /// The schema forbids route scoping.
    static var noRoute: Bool { get }
    /// The schema forbids service scoping.
    static var noService: Bool { get }
    /// The phases the plugin implements.
    static var phases: PluginPhases { get }
    /// The phases it runs for stream sessions (Kong's stream subsystem), when a config's
    /// `protocols` name `tcp`, `tls` or `udp`: `log` for the logging plugins, whose
    /// ``LogSerializer`` output is then Kong's stream shape (``PluginContext/session``).
    static var streamPhases: PluginPhases { get }
    /// The config schema: the `config` record, or a whole plugin subschema (a schema with a
    /// `config` field and plugin-level entity checks), as `EntityCatalog(pluginConfigSchemas:)`
    /// takes it.
    static var schema: Schema { get }

    /// Parses a validated config (defaults filled in) once per generation.
    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config
    /// Called after each flip with every config of this plugin in the new generation (Kong's
    /// `configure` handler).
    func configure(_ configs: [ScopedConfig<Config>])
    /// The phases a config runs in (asked once per config and generation): ``phases``, or
    /// fewer for a plugin whose configs may leave phases empty (a serverless function's).
    func phases(of config: Config) -> PluginPhases
    /// Whether the proxy must read the whole request body before `access` for this config
    /// (the body is then in `ctx.request.body`). Asked once per config and generation.
    func requestBodyNeed(_ config: Config) -> RequestBodyNeed

    /// TLS handshake (global configs only); the request has only its addresses and SNI.
    func certificate(_ config: Config, _ ctx: inout PluginContext) throws
    /// Before routing (global configs only).
    func rewrite(_ config: Config, _ ctx: inout PluginContext) throws
    /// After routing, before proxying; may answer with `ctx.exit(...)`.
    func access(_ config: Config, _ ctx: inout PluginContext) throws
    /// With the whole upstream response (`ctx.response.body`); makes the proxy buffer it.
    func response(_ config: Config, _ ctx: inout PluginContext) throws
    /// With the response status and headers, before they are sent.
    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws
    /// With each body chunk, before it is sent; `last` marks the final one.
    func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws
    /// After the response was sent.
    func log(_ config: Config, _ ctx: inout PluginContext)
}

extension Plugin {
    /// Kong's version at the reference commit.
    public static var version: String { PluginConstants.kongVersion }
    /// None: the plugin serves HTTP only.
    public static var streamPhases: PluginPhases { [] }
    /// Kong's flag for a bundled plugin, false otherwise.
    public static var noConsumer: Bool { PluginConstants.bundled(name)?.noConsumer ?? false }
    /// Kong's flag for a bundled plugin, false otherwise.
    public static var noRoute: Bool { PluginConstants.bundled(name)?.noRoute ?? false }
    /// Kong's flag for a bundled plugin, false otherwise.
    public static var noService: Bool { PluginConstants.bundled(name)?.noService ?? false }

    /// Nothing to configure.
    public func configure(_ configs: [ScopedConfig<Config>]) {}
    /// All of ``phases``.
    public func phases(of config: Config) -> PluginPhases { Self.phases }
    /// No body needed.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .never }
    /// No-op.
    public func certificate(_ config: Config, _ ctx: inout PluginContext) throws {}
    /// No-op.
    public func rewrite(_ config: Config, _ ctx: inout PluginContext) throws {}
    /// No-op.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {}
    /// No-op.
    public func response(_ config: Config, _ ctx: inout PluginContext) throws {}
    /// No-op.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {}
    /// No-op.
    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {}
    /// No-op.
    public func log(_ config: Config, _ ctx: inout PluginContext) {}

    /// The plugin's facts.
    public static var descriptor: PluginDescriptor {
        PluginDescriptor(
            name: name, priority: priority, version: version, noConsumer: noConsumer, noRoute: noRoute,
            noService: noService, phases: phases, streamPhases: streamPhases)
    }
}

/// When a config needs the whole request body before `access`.
public enum RequestBodyNeed: Int, Sendable, Hashable, Comparable {
    /// Never (the body streams to upstream).
    case never = 0
    /// Only when the request has no valid `Content-Length` (request-size-limiting).
    case withoutContentLength = 1
    /// Always (key-auth with `key_in_body`, request-transformer body rules, ...).
    case always = 2
    /// Always, and a body larger than `client_body_buffer_size` too (nginx's body file, which
    /// aws-lambda reads without `skip_large_bodies`): ``PluginRequest/spooledBody``.
    case alwaysWithSpooled = 3

    /// Orders by how much is needed.
    public static func < (a: RequestBodyNeed, b: RequestBodyNeed) -> Bool { a.rawValue < b.rawValue }
}

/// Kong's plugin phases (HTTP subsystem).
public enum PluginPhase: String, Sendable, Hashable, CaseIterable {
    /// TLS handshake (global configs).
    case certificate
    /// Before routing (global configs).
    case rewrite
    /// After routing: the collecting phase.
    case access
    /// The whole upstream response (buffered proxying).
    case response
    /// The response head.
    case headerFilter = "header_filter"
    /// Each response body chunk.
    case bodyFilter = "body_filter"
    /// After the response.
    case log
}

/// A set of phases.
public struct PluginPhases: OptionSet, Sendable, Hashable {
    /// The raw value.
    public let rawValue: UInt8
    /// Makes a set.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// TLS handshake.
    public static let certificate = PluginPhases(rawValue: 1 << 0)
    /// Before routing.
    public static let rewrite = PluginPhases(rawValue: 1 << 1)
    /// After routing.
    public static let access = PluginPhases(rawValue: 1 << 2)
    /// Whole upstream response.
    public static let response = PluginPhases(rawValue: 1 << 3)
    /// Response head.
    public static let headerFilter = PluginPhases(rawValue: 1 << 4)
    /// Response body chunks.
    public static let bodyFilter = PluginPhases(rawValue: 1 << 5)
    /// After the response.
    public static let log = PluginPhases(rawValue: 1 << 6)
    /// The phases after access (Kong's `DOWNSTREAM_PHASES`).
    public static let downstream: PluginPhases = [.response, .headerFilter, .bodyFilter, .log]

    /// The set holding one phase.
    public init(_ phase: PluginPhase) {
        switch phase {
        case .certificate: self = .certificate
        case .rewrite: self = .rewrite
        case .access: self = .access
        case .response: self = .response
        case .headerFilter: self = .headerFilter
        case .bodyFilter: self = .bodyFilter
        case .log: self = .log
        }
    }
}

/// What the runner knows about a plugin.
public struct PluginDescriptor: Sendable, Hashable {
    /// Kong's name.
    public var name: String
    /// `PRIORITY`.
    public var priority: Int
    /// `VERSION`.
    public var version: String
    /// Configs never looked up by consumer.
    public var noConsumer: Bool
    /// Configs never looked up by route.
    public var noRoute: Bool
    /// Configs never looked up by service.
    public var noService: Bool
    /// Implemented phases.
    public var phases: PluginPhases
    /// The phases run for stream sessions.
    public var streamPhases: PluginPhases = []

    /// Kong's execution order (`sort_by_handler_priority`): priority descending, equal
    /// priorities by name descending.
    public static func runsBefore(_ a: PluginDescriptor, _ b: PluginDescriptor) -> Bool {
        a.priority == b.priority ? a.name > b.name : a.priority > b.priority
    }
}

/// Where a plugin config applies: its row's id and foreign keys.
public struct PluginScope: Sendable, Hashable {
    /// The plugin row's id.
    public var id: String
    /// The plugin name.
    public var name: String
    /// `instance_name`, if any.
    public var instanceName: String?
    /// `route.id`, nil when not route-scoped.
    public var routeID: String?
    /// `service.id`, nil when not service-scoped.
    public var serviceID: String?
    /// `consumer.id`, nil when not consumer-scoped.
    public var consumerID: String?

    /// Makes a scope.
    public init(
        id: String, name: String, instanceName: String? = nil, routeID: String? = nil, serviceID: String? = nil,
        consumerID: String? = nil
    ) {
        self.id = id
        self.name = name
        self.instanceName = instanceName
        self.routeID = routeID
        self.serviceID = serviceID
        self.consumerID = consumerID
    }

    /// True when the config has no route, service or consumer (Kong's global plugin).
    public var isGlobal: Bool { routeID == nil && serviceID == nil && consumerID == nil }
}

/// A parsed config with its scope (what `configure` receives).
public struct ScopedConfig<Config: Sendable>: Sendable {
    /// Where it applies.
    public var scope: PluginScope
    /// The parsed config.
    public var config: Config
}

/// A config that cannot be used, found while building a generation.
public struct PluginConfigError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Makes an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
