import KGateConfig
import KGatePlugins
import KGateSchema
import KGateStore
import Synchronization

/// A plugin that records which of its configs ran (`tag`), in access and log.
struct ProbePlugin: Plugin {
    struct Config: Sendable {
        var tag: String
        var exit: Int?
    }

    static let name = "probe"
    static let priority = 100
    static let phases: PluginPhases = [.access, .headerFilter, .log]
    static let schema = Schema.record([("tag", Field.string), ("exit", Field.integer)])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(tag: config.string("tag") ?? "", exit: config.integer("exit"))
    }

    func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var seen = ctx.shared["seen"] as? [String] ?? []
        seen.append("probe:\(config.tag)")
        ctx.shared["seen"] = seen
        if let status = config.exit { try ctx.exit(status, message: "probe") }
    }

    func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setHeader("X-Probe", config.tag)
    }

    func log(_ config: Config, _ ctx: inout PluginContext) {
        var seen = ctx.shared["logged"] as? [String] ?? []
        seen.append("probe:\(config.tag)")
        ctx.shared["logged"] = seen
    }
}

/// A plugin like `probe` with a name that sorts before it at the same priority.
struct EarlyProbePlugin: Plugin {
    typealias Config = ProbePlugin.Config
    static let name = "aprobe"
    static let priority = 100
    static let phases: PluginPhases = [.access]
    static let schema = ProbePlugin.schema

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        try ProbePlugin().makeConfig(config, scope: scope)
    }

    func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var seen = ctx.shared["seen"] as? [String] ?? []
        seen.append("aprobe:\(config.tag)")
        ctx.shared["seen"] = seen
    }
}

/// An auth-like plugin (priority 1000) that authenticates the consumer named by `X-Who`.
struct WhoPlugin: Plugin {
    struct Config: Sendable {}
    static let name = "who"
    static let priority = 1000
    static let phases: PluginPhases = [.access]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

    func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let who = ctx.request.header("x-who"), let consumer = ctx.db.consumer(idOrUsername: who) else { return }
        ctx.authenticate(consumer: consumer, credential: CredentialEntity(id: "cred", row: ["consumer": ["id": .string(consumer.id)]]))
    }
}

/// A plugin that runs before `who` (priority 2000), so it never sees the consumer.
struct EarlyPlugin: Plugin {
    typealias Config = ProbePlugin.Config
    static let name = "early"
    static let priority = 2000
    static let phases: PluginPhases = [.access]
    static let schema = ProbePlugin.schema

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        try ProbePlugin().makeConfig(config, scope: scope)
    }

    func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var seen = ctx.shared["seen"] as? [String] ?? []
        seen.append("early:\(config.tag)")
        ctx.shared["seen"] = seen
    }
}

/// A plugin that throws in access.
struct FailingPlugin: Plugin {
    struct Config: Sendable {}
    struct Boom: Error {}
    static let name = "failing"
    static let priority = 500
    static let phases: PluginPhases = [.access]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }
    func access(_ config: Config, _ ctx: inout PluginContext) throws { throw Boom() }
}

/// A global rewrite plugin, recording the configs `configure` received.
final class RewritePlugin: Plugin {
    struct Config: Sendable { var tag: String }
    static let name = "rewriter"
    static let priority = 50
    static let phases: PluginPhases = [.rewrite, .log]
    static let schema = Schema.record([("tag", Field.string)])
    let configured = Mutex<[[String]]>([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config(tag: config.string("tag") ?? "") }

    func configure(_ configs: [ScopedConfig<Config>]) {
        configured.withLock { $0.append(configs.map(\.config.tag)) }
    }

    func rewrite(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.request.setHeader("X-Rewritten", config.tag)
    }

    func log(_ config: Config, _ ctx: inout PluginContext) {
        ctx.shared["rewriter-logged"] = true
    }
}

/// Sets `authenticated_groups` from `X-Groups` (and a credential without consumer when
/// `X-Credential` is present), like Kong's ctx-checker fixtures.
struct GroupsPlugin: Plugin {
    struct Config: Sendable {}
    static let name = "set-groups"
    static let priority = 1200
    static let phases: PluginPhases = [.access]
    static let schema = Schema.record([])

    func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

    func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if let groups = ctx.request.header("x-groups") {
            ctx.shared["authenticated_groups"] = groups.split(separator: ",").map(String.init)
        }
        if ctx.request.header("x-credential") != nil {
            ctx.authenticate(consumer: nil, credential: CredentialEntity(id: "external", row: [:]))
        }
    }
}

/// Registry and loader with the probes.
enum ProbeGate {
    static let rewriter = RewritePlugin()
    static let registry = PluginRegistry(
        BundledPluginSet.all() + [ProbePlugin(), EarlyProbePlugin(), WhoPlugin(), EarlyPlugin(), FailingPlugin(), rewriter, GroupsPlugin()])
    static let catalog = EntityCatalog(
        enabledPlugins: BundledPlugins.names + ["probe", "aprobe", "who", "early", "failing", "rewriter", "set-groups"],
        pluginConfigSchemas: registry.configSchemas)
    static let loader = DeclarativeLoader(catalog: catalog)

    static func runner(_ yaml: String) throws -> PluginRunner {
        switch loader.load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success(let config): return try PluginRunner(page: Page(config: config, catalog: catalog), registry: registry)
        case .failure(let error): throw Gate.LoadFailure(description: CLIErrorText.details(error))
        }
    }
}
