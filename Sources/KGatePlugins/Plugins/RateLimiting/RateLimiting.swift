import KGateSchema
import Logging

/// Kong's `rate-limiting` (PRIORITY 910) with the `local` policy: per-node counters by
/// consumer, credential, IP, service, header or path, over fixed UTC windows (second to
/// year).
///
/// Unless `hide_client_headers`, responses carry `X-RateLimit-Limit-<Period>`,
/// `X-RateLimit-Remaining-<Period>` and `RateLimit-Limit` / `-Remaining` / `-Reset` (the most
/// constrained period); a rejected request gets `Retry-After` and `error_code` (429) with
/// `error_message` (`API rate limit exceeded`).
///
/// Counters live in the plugin value (node-wide), one `RateLimitCounters` per config scope, as
/// Kong keys its local counters (`ratelimit:<route_id>:<service_id>:<identifier>:...`, with
/// the config's route and service, nil ones as the zero UUID): they survive reloads, including
/// a change of plugin id or a removal and re-adding within the window, and expire with their
/// windows. `policy: redis` configs count locally too (logged at configure time).
public final class RateLimitingPlugin: Plugin {
    /// What requests are counted by.
    public enum LimitBy: String, Sendable {
        /// The consumer's id, else the credential's (else the client address).
        case consumer
        /// The credential's id.
        case credential
        /// The client address.
        case ip
        /// The service's id.
        case service
        /// A request header's value (`header_name`).
        case header
        /// The path, when it is `path`.
        case path
    }

    /// One configured period, with its header names and limit text made once.
    struct Limit: Sendable {
        var period: RateLimitPeriod
        var limit: Double
        var text: String
        var limitHeader: String
        var remainingHeader: String
    }

    /// The parsed config.
    public struct Config: Sendable {
        var limits: PeriodValues<Double?>
        /// The configured periods, shortest first.
        var configured: [Limit]
        var limitBy: LimitBy
        var headerName: String?
        var path: String?
        var hideClientHeaders: Bool
        var errorCode: Int
        var errorMessage: String
        var policy: String
        /// The counters of this plugin id.
        let counters: RateLimitCounters
    }

    /// `rate-limiting`.
    public static let name = "rate-limiting"
    /// 910.
    public static let priority = 910
    /// access.
    public static let phases: PluginPhases = [.access]

    private let scopes = RateLimitScopes()
    private let logger: Logger

    /// Makes the plugin (one per node: it owns the counters).
    public init(logger: Logger = Logger(label: "kgate.plugins")) {
        self.logger = logger
    }

    /// Parses the config and attaches the counters of its plugin id.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        var limits = PeriodValues<Double?>(repeating: nil)
        for p in RateLimitPeriod.allCases { limits[p] = config.number(p.name) }
        let store = scopes.counters(for: scope)
        let configured = RateLimitPeriod.allCases.compactMap { p in
            limits[p].map {
                Limit(
                    period: p, limit: $0, text: Self.number($0), limitHeader: Self.limitHeaders[p.rawValue],
                    remainingHeader: Self.remainingHeaders[p.rawValue])
            }
        }
        return Config(
            limits: limits, configured: configured, limitBy: LimitBy(rawValue: config.string("limit_by") ?? "consumer") ?? .consumer,
            headerName: config.string("header_name"), path: config.string("path"),
            hideClientHeaders: config.bool("hide_client_headers"),
            errorCode: config.number("error_code").map { Int($0) } ?? 429,
            errorMessage: config.string("error_message") ?? "API rate limit exceeded",
            policy: config.string("policy") ?? "local", counters: store)
    }

    /// Drops the counters of scopes no longer configured once all their windows have ended.
    public func configure(_ configs: [ScopedConfig<Config>]) {
        scopes.configure(configs.map { ($0.scope, $0.config.policy) }, plugin: Self.name, logger: logger)
    }

    /// The counters of a config scope, if it has any (tests, diagnostics).
    public func counters(for scope: PluginScope) -> RateLimitCounters? {
        scopes.existing(for: scope)
    }

    /// Counts the request; answers `error_code` when a limit is reached.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let now = Int(ctx.request.startTime.rounded(.down))
        let identifier = config.limitBy.identifier(ctx, headerName: config.headerName, path: config.path)
        let decision = config.counters.take(identifier, now: now, limits: config.limits)

        var reset = 0
        if !config.hideClientHeaders {
            var chosen: (remaining: Double, window: Int, limit: String)?
            for l in config.configured {
                let p = l.period
                var remaining = l.limit - Double(decision.usage[p])
                if decision.stop == nil || decision.stop == p { remaining -= 1 }
                remaining = max(0, remaining)
                if chosen == nil || remaining < chosen!.remaining
                    || (remaining == chosen!.remaining && p.expiration > chosen!.window)
                {
                    chosen = (remaining, p.expiration, l.text)
                    reset = max(1, p.expiration - (now - decision.starts[p]))
                }
                ctx.response.setHeader(l.limitHeader, l.text)
                ctx.response.setHeader(l.remainingHeader, Self.number(remaining))
            }
            if let chosen {
                ctx.response.setHeader("RateLimit-Limit", chosen.limit)
                ctx.response.setHeader("RateLimit-Remaining", Self.number(chosen.remaining))
                ctx.response.setHeader("RateLimit-Reset", String(reset))
            }
        }
        if decision.stop != nil {
            if !config.hideClientHeaders { ctx.response.setHeader("Retry-After", String(reset)) }
            try ctx.error(config.errorCode, message: config.errorMessage)
        }
    }

    private static let limitHeaders = RateLimitPeriod.allCases.map { "X-RateLimit-Limit-" + $0.name.capitalizedASCII }
    private static let remainingHeaders = RateLimitPeriod.allCases.map {
        "X-RateLimit-Remaining-" + $0.name.capitalizedASCII
    }

    /// Lua's `tostring` of a number.
    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return Value.formatNumber(d)
    }
}

extension String {
    /// The first letter upper-cased (ASCII).
    var capitalizedASCII: String { prefix(1).uppercased() + dropFirst() }
}

extension RateLimitingPlugin.LimitBy {
    /// Kong's `get_identifier` (both rate-limiting plugins): the configured entity, else the
    /// client address.
    func identifier(_ ctx: PluginContext, headerName: String? = nil, path: String? = nil) -> String {
        let found: String?
        switch self {
        case .service: found = ctx.serviceID
        case .consumer: found = ctx.consumer?.id ?? ctx.credential?.id
        case .credential: found = ctx.credential?.id
        case .header: found = headerName.flatMap { ctx.request.header($0) }
        case .path: found = ctx.request.path == path ? path : nil
        case .ip: found = nil
        }
        return found ?? ctx.request.forwardedIP
    }
}
