import KGateSchema

/// The plugins a node runs: one value per plugin name, created once at start-up and shared by
/// every generation (they may hold node-wide state).
///
/// Hand ``configSchemas`` to `EntityCatalog(pluginConfigSchemas:)` so the loader validates the
/// configs with these schemas, and the registry to `PluginsBuilder` to build each generation's
/// `PluginRunner`.
public final class PluginRegistry: Sendable {
    let handlers: [String: any AnyPluginHandler]
    /// The plugin names, in execution order.
    public let names: [String]

    /// A registry of the given plugins.
    ///
    /// - Precondition: names are unique and versions follow `x.y.z` (Kong refuses to load
    ///   such a plugin).
    public init(_ plugins: [any Plugin]) {
        var handlers: [String: any AnyPluginHandler] = [:]
        for plugin in plugins {
            let handler = Self.box(plugin)
            let d = handler.descriptor
            precondition(handlers[d.name] == nil, "plugin \(d.name) registered twice")
            precondition(
                Self.isVersion(d.version),
                "Plugin \"\(d.name)\" cannot be loaded because its VERSION field does not follow the \"x.y.z\" format")
            handlers[d.name] = handler
        }
        self.handlers = handlers
        self.names = handlers.values.map(\.descriptor).sorted(by: PluginDescriptor.runsBefore).map(\.name)
    }

    private static func box<P: Plugin>(_ plugin: P) -> any AnyPluginHandler { PluginHandler(plugin) }

    /// The bundled plugins kgate implements, with their default settings, for the node with
    /// that id (a random UUID when nil).
    public static func bundled(
        nodeID: String? = nil, luaEnabled: Bool = true, luaSandboxed: Bool = true, viaEnabled: Bool = true,
        configuration: Object? = nil
    ) -> PluginRegistry {
        PluginRegistry(
            BundledPluginSet.all(
                nodeID: nodeID, luaEnabled: luaEnabled, luaSandboxed: luaSandboxed, viaEnabled: viaEnabled,
                configuration: configuration))
    }

    /// Config schemas by plugin name, for `EntityCatalog(pluginConfigSchemas:)`.
    public var configSchemas: [String: Schema] { handlers.mapValues(\.schema) }

    /// The registered plugin of a type (the node's `PrometheusPlugin`, whose metrics
    /// `/metrics` reports); nil when the registry has none.
    public func plugin<P: Plugin>(_ type: P.Type) -> P? { handlers[P.name]?.anyPlugin as? P }

    /// A plugin's facts; nil when the registry has no such plugin.
    public func descriptor(_ name: String) -> PluginDescriptor? { handlers[name]?.descriptor }

    /// Kong's VERSION check: `x.y.z` with digits.
    static func isVersion(_ v: String) -> Bool {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}
