import KGateRedis
import KGateSchema
import Logging
import Synchronization

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
/// windows.
///
/// With `policy: redis` the counters are in Redis under the same keys, shared by every node
/// (``RedisCounters``): each request counts itself there and reads the counts back in one
/// round trip (`sync_rate` -1), or the node counts locally and syncs every `sync_rate` seconds
/// (``RedisSyncedUsage``). When Redis fails, a `fault_tolerant` config lets the request through
/// without headers (logging `failed to get usage`); otherwise the request fails with 500.
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

    /// The parsed config.
    public struct Config: Sendable {
        var limits: PeriodValues<Double?>
        /// The configured periods, shortest first.
        var configured: [PeriodLimit]
        var limitBy: LimitBy
        var headerName: String?
        var path: String?
        var hideClientHeaders: Bool
        var errorCode: Int
        var errorMessage: String
        var faultTolerant: Bool
        /// Kong's counter key prefix of the config's scope (route and service ids).
        var scopeKey: String
        /// The counters of this scope (`policy: local`).
        let counters: RateLimitCounters
        /// The Redis counters (`policy: redis`).
        var redis: RedisCounters?
        /// The local counts synced to Redis (`policy: redis` with a `sync_rate`).
        var synced: RedisSyncedUsage?
        var syncRate: Double
    }

    /// `rate-limiting`.
    public static let name = "rate-limiting"
    /// 910.
    public static let priority = 910
    /// access.
    public static let phases: PluginPhases = [.access]

    private let scopes = RateLimitScopes()
    private let synced = Mutex<[RedisEndpoint: RedisSyncedUsage]>([:])
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
                PeriodLimit(
                    period: p, limit: $0, text: Self.number($0), limitHeader: Self.limitHeaders[p.rawValue],
                    remainingHeader: Self.remainingHeaders[p.rawValue])
            }
        }
        let redis = config.string("policy") == "redis" ? RedisCounters(config: config) : nil
        let syncRate = config.number("sync_rate") ?? -1
        return Config(
            limits: limits, configured: configured, limitBy: LimitBy(rawValue: config.string("limit_by") ?? "consumer") ?? .consumer,
            headerName: config.string("header_name"), path: config.string("path"),
            hideClientHeaders: config.bool("hide_client_headers"),
            errorCode: config.number("error_code").map { Int($0) } ?? 429,
            errorMessage: config.string("error_message") ?? "API rate limit exceeded",
            faultTolerant: config.bool("fault_tolerant", default: true), scopeKey: RateLimitScopes.key(scope), counters: store,
            redis: redis, synced: syncRate > 0 ? redis.map(syncedUsage) : nil, syncRate: syncRate)
    }

    /// The synced counts of a Redis endpoint, shared by every config naming it (Kong keys its
    /// local tables by `host:port;database`).
    private func syncedUsage(_ redis: RedisCounters) -> RedisSyncedUsage {
        synced.withLock { map in
            if let existing = map[redis.endpoint] { return existing }
            let new = RedisSyncedUsage(counters: redis)
            map[redis.endpoint] = new
            return new
        }
    }

    /// Drops the counters of scopes no longer configured once all their windows have ended.
    public func configure(_ configs: [ScopedConfig<Config>]) {
        scopes.keep(configs.map(\.scope))
    }

    /// The counters of a config scope, if it has any (tests, diagnostics).
    public func counters(for scope: PluginScope) -> RateLimitCounters? {
        scopes.existing(for: scope)
    }

    /// Counts the request; answers `error_code` when a limit is reached.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let now = Int(ctx.request.startTime.rounded(.down))
        let identifier = config.limitBy.identifier(ctx, headerName: config.headerName, path: config.path)
        guard let redis = config.redis else {
            let decision = config.counters.take(identifier, now: now, limits: config.limits)
            return try Self.answer(config, decision, now: now, &ctx)
        }
        let keys = config.configured.map { l in
            let start = l.period.windowStart(now)
            return RedisSyncedUsage.Key(
                name: RedisCounters.rateLimitingKey(scope: config.scopeKey, identifier: identifier, period: l.period, windowStart: start),
                windowStart: start, expiration: l.period.expiration)
        }
        if let synced = config.synced, let used = synced.usage(keys, now: now) {
            return try countSynced(config, synced, keys, used: used, now: now, &ctx)
        }
        ctx.wait(for: redis.countOne(keys.map { ($0.name, $0.expiration) })) { [self] ctx, result in
            let used: [Int]
            switch result {
            case .success(let counts): used = counts
            case .failure(let error): return try RedisCounters.usageFailed(error, faultTolerant: config.faultTolerant, &ctx)
            }
            if let synced = config.synced {
                synced.store(keys, counts: used, syncRate: config.syncRate, logger: ctx.logger)
                return try countSynced(config, synced, keys, used: used, now: now, &ctx)
            }
            // Realtime: Redis counted the request already, refused or not.
            try Self.answer(config, Self.decision(config, keys, used: used), now: now, &ctx)
        }
    }

    /// The synced policy's decision; a request let through is counted locally.
    private func countSynced(
        _ config: Config, _ synced: RedisSyncedUsage, _ keys: [RedisSyncedUsage.Key], used: [Int], now: Int,
        _ ctx: inout PluginContext
    ) throws {
        let decision = Self.decision(config, keys, used: used)
        if decision.stop == nil { synced.count(keys, syncRate: config.syncRate, logger: ctx.logger) }
        try Self.answer(config, decision, now: now, &ctx)
    }

    /// Kong's `get_usage` from each configured period's count before the request (`keys` are
    /// the periods' keys, in `configured` order).
    private static func decision(_ config: Config, _ keys: [RedisSyncedUsage.Key], used: [Int]) -> RateLimitCounters.Decision {
        var decision = RateLimitCounters.Decision(
            usage: PeriodValues(repeating: 0), starts: PeriodValues(repeating: 0), stop: nil)
        for ((l, key), count) in zip(zip(config.configured, keys), used) {
            decision.usage[l.period] = count
            decision.starts[l.period] = key.windowStart
            if l.limit - Double(count) <= 0 { decision.stop = l.period }
        }
        return decision
    }

    /// Sets the rate-limit headers of a decision and refuses the request when a limit is
    /// reached.
    private static func answer(
        _ config: Config, _ decision: RateLimitCounters.Decision, now: Int, _ ctx: inout PluginContext
    ) throws {
        var reset = 0
        if !config.hideClientHeaders {
            var chosen: (remaining: Double, window: Int, index: Int)?
            // By index: iterating would copy each limit (and retain its strings).
            let limits = config.configured
            for i in limits.indices {
                let p = limits[i].period
                var remaining = limits[i].limit - Double(decision.usage[p])
                if decision.stop == nil || decision.stop == p { remaining -= 1 }
                remaining = max(0, remaining)
                if chosen == nil || remaining < chosen!.remaining
                    || (remaining == chosen!.remaining && p.expiration > chosen!.window)
                {
                    chosen = (remaining, p.expiration, i)
                    reset = max(1, p.expiration - (now - decision.starts[p]))
                }
                ctx.response.setHeader(limits[i].limitHeader, limits[i].text)
                ctx.response.setHeader(limits[i].remainingHeader, Self.number(remaining))
            }
            if let chosen {
                ctx.response.setHeader("RateLimit-Limit", limits[chosen.index].text)
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
