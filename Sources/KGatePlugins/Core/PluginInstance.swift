import KGateSchema

/// One configured plugin (a plugin row of a generation): the node's plugin value, its parsed
/// config and its scope, with the plugin's type erased so the runner can hold a list of them.
protocol AnyPluginInstance: AnyObject, Sendable {
    var descriptor: PluginDescriptor { get }
    /// `descriptor.name` (read on every call; stored apart to avoid copying the descriptor).
    var name: String { get }
    /// The phases of its config (``Plugin/phases(of:)``).
    var phases: PluginPhases { get }
    var scope: PluginScope { get }
    /// Runs a phase (other than `body_filter`).
    func run(_ phase: PluginPhase, _ ctx: inout PluginContext) throws
    func bodyFilter(_ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws
    var bodyNeed: RequestBodyNeed { get }
}

/// A configured plugin of a known type.
final class PluginInstance<P: Plugin>: AnyPluginInstance {
    let plugin: P
    let config: P.Config
    let scope: PluginScope
    let descriptor: PluginDescriptor
    let name: String
    let phases: PluginPhases
    let bodyNeed: RequestBodyNeed

    init(plugin: P, config: P.Config, scope: PluginScope, descriptor: PluginDescriptor) {
        self.plugin = plugin
        self.config = config
        self.scope = scope
        self.descriptor = descriptor
        self.name = descriptor.name
        self.phases = plugin.phases(of: config)
        self.bodyNeed = plugin.requestBodyNeed(config)
    }

    func run(_ phase: PluginPhase, _ ctx: inout PluginContext) throws {
        switch phase {
        case .certificate: try plugin.certificate(config, &ctx)
        case .rewrite: try plugin.rewrite(config, &ctx)
        case .access: try plugin.access(config, &ctx)
        case .response: try plugin.response(config, &ctx)
        case .headerFilter: try plugin.headerFilter(config, &ctx)
        case .bodyFilter:
            var empty: [UInt8] = []
            try plugin.bodyFilter(config, &ctx, chunk: &empty, last: true)
        case .log: plugin.log(config, &ctx)
        }
    }

    func bodyFilter(_ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        try plugin.bodyFilter(config, &ctx, chunk: &chunk, last: last)
    }
}

/// A node's plugin with its type erased: makes instances from rows and runs `configure`.
protocol AnyPluginHandler: Sendable {
    var descriptor: PluginDescriptor { get }
    var schema: Schema { get }
    func makeInstance(config: Object, scope: PluginScope) throws -> any AnyPluginInstance
    func configure(_ instances: [any AnyPluginInstance])
    /// The plugin value.
    var anyPlugin: any Plugin { get }
}

/// The handler of a known plugin type.
struct PluginHandler<P: Plugin>: AnyPluginHandler {
    let plugin: P
    let descriptor: PluginDescriptor
    var anyPlugin: any Plugin { plugin }

    init(_ plugin: P) {
        self.plugin = plugin
        self.descriptor = P.descriptor
    }

    var schema: Schema { P.schema }

    func makeInstance(config: Object, scope: PluginScope) throws -> any AnyPluginInstance {
        PluginInstance(plugin: plugin, config: try plugin.makeConfig(config, scope: scope), scope: scope, descriptor: descriptor)
    }

    func configure(_ instances: [any AnyPluginInstance]) {
        let configs = instances.compactMap { ($0 as? PluginInstance<P>).map { ScopedConfig(scope: $0.scope, config: $0.config) } }
        plugin.configure(configs)
    }
}
