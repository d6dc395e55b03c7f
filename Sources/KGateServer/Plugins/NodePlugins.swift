import KGateAdmin
import KGateConfig
import KGateRouter
import KGatePlugins
import KGateSchema
import KGateSettings
import Logging

/// The plugins a node runs, and the entity catalog that validates their configs: one place
/// that `kgate start` and `kgate config parse` share, so a config the CLI accepts is one the
/// node loads.
///
/// Plugins kgate implements run with their schemas (Kong's, for the logging, metrics and
/// tracing plugins). A plugin kgate lacks (an auth plugin, say) makes the config fail, so it
/// is never silently skipped.
public struct NodePlugins: Sendable {
    /// The plugin implementations.
    public let registry: PluginRegistry
    /// Entity schemas with the plugins' config schemas.
    public let catalog: EntityCatalog
    /// Builds each generation's plugins iterator.
    public let builder: PluginsBuilder

    /// The plugins for the node settings (`plugins`, `router_flavor`) and the node's id
    /// (`kong.node.get_id()`, a random UUID when nil).
    public init(settings: NodeSettings, nodeID: String? = nil, logger: Logger = Logger(label: "kgate.plugins")) {
        let luaEnabled = settings.untrustedLua != .off
        let enabled = settings.expandingBundledPlugins(BundledPlugins.names)
        // `kong.configuration` for the Lua code of configs (as `GET /` shows it: sensitive
        // values hidden).
        let configuration = NodeConfiguration.object(
            settings: settings, loadedPlugins: enabled, workingDirectory: NodeConfiguration.workingDirectory())
        let registry = PluginRegistry.bundled(
            nodeID: nodeID, luaEnabled: luaEnabled, luaSandboxed: settings.untrustedLua != .on,
            viaEnabled: settings.enabledHeaders.contains("Via"), configuration: configuration)
        self.registry = registry
        var schemas = registry.configSchemas
        // Kong's schemas of the logging, metrics and tracing plugins: they know
        // `untrusted_lua = off`.
        schemas.merge(BundledPluginSet.observabilityConfigSchemas(luaEnabled: luaEnabled)) { _, kong in kong }
        for name in enabled where schemas[name] == nil {
            schemas[name] = Self.notImplemented(name)
        }
        catalog = EntityCatalog(
            routerFlavor: KGateConfig.RouterFlavor(rawValue: settings.routerFlavor.rawValue) ?? .traditionalCompatible,
            enabledPlugins: enabled, pluginConfigSchemas: schemas,
            routeExpressionValidator: { route in route["expression"]?.stringValue.flatMap(ATCExpression.validationError) })
        builder = PluginsBuilder(registry: registry, logger: logger)
    }

    /// The subschema of a plugin kgate does not implement: its `name` never validates, so a
    /// config using it is refused by the loader, with the position of the name.
    static func notImplemented(_ name: String) -> Schema {
        let message = "plugin '\(name)' is not implemented by kgate"
        return Schema(
            name: name, primaryKey: [],
            fields: [
                ("name", Field.string.isRequired.with { $0.customValidator = { _ in message } }),
                ("config", Field(.record)),
            ])
    }

    /// The plugin names a loaded config uses that kgate does not run (which make it unusable),
    /// sorted.
    public func unsupported(in config: DeclarativeConfig) -> [String] {
        var unsupported = Set<String>()
        for row in config.entities["plugins"].map({ Array($0.values) }) ?? [] {
            guard let name = row["name"]?.stringValue, registry.descriptor(name) == nil else { continue }
            unsupported.insert(name)
        }
        return unsupported.sorted()
    }
}
