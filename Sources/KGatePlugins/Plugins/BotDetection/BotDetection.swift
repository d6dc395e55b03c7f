import KGateRegex
import KGateSchema
import Synchronization

/// Kong's `bot-detection` (PRIORITY 2500, `kong/plugins/bot-detection`): the `User-Agent`
/// (stripped of surrounding spaces) is allowed when an `allow` regex matches it, else refused
/// with 403 when a `deny` regex or one of Kong's bot rules does. Two `User-Agent` fields get
/// 400 `Only one User-Agent header allowed`; none passes. Results are cached per config
/// (Kong's LRU of 10,000 agents).
public final class BotDetectionPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allow: [PCRERegex]
        var deny: [PCRERegex]
        /// The config row's id, naming its cache.
        var id: String
    }

    /// `bot-detection`.
    public static let name = "bot-detection"
    /// 2500.
    public static let priority = 2500
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's `bot-detection` config schema.
    public static let schema = Schema.record([
        ("allow", Field.array(of: Field.string.with { $0.isRegex = true }).defaulting([])),
        ("deny", Field.array(of: Field.string.with { $0.isRegex = true }).defaulting([])),
    ])

    /// Kong's rules (`rules.lua`), compiled once.
    static let bots: [PCRERegex] = BotDetectionRules.patterns.compactMap { try? compile($0) }
    static let cacheSize = 10_000

    /// Agent → refused, per config (cleared with each generation).
    private let caches = Mutex<[String: [String: Bool]]>([:])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            allow: try (config.strings("allow") ?? []).map(Self.compile),
            deny: try (config.strings("deny") ?? []).map(Self.compile), id: scope.id)
    }

    /// A rule as `ngx.re.find(agent, rule, "jo")` runs it under Kong.
    static func compile(_ pattern: String) throws(PCREError) -> PCRERegex {
        try PCRERegex(pattern, matchLimit: PCRERegex.pluginMatchLimit)
    }

    public func configure(_ configs: [ScopedConfig<Config>]) {
        caches.withLock { $0.removeAll() }
    }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let (agent, count) = ctx.request.headers.tableValue("user-agent") else { return }
        if count > 1 { return try ctx.error(400, message: "Only one User-Agent header allowed") }
        let refused: Bool
        if let cached = caches.withLock({ $0[config.id]?[agent] }) {
            refused = cached
        } else {
            refused = Self.refuses(config, agent.kongStripped)
            caches.withLock { caches in
                if caches[config.id, default: [:]].count >= Self.cacheSize { caches[config.id] = [:] }
                caches[config.id, default: [:]][agent] = refused
            }
        }
        if refused { try ctx.error(403) }
    }

    /// Kong's `examine_agent`: allowed, denied, a bot, or nothing.
    static func refuses(_ config: Config, _ agent: String) -> Bool {
        if config.allow.contains(where: { $0.matches(agent) }) { return false }
        if config.deny.contains(where: { $0.matches(agent) }) { return true }
        return bots.contains { $0.matches(agent) }
    }

}
