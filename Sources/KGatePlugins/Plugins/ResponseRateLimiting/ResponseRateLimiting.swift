import KGateSchema
import Logging

/// Kong's `response-ratelimiting` (PRIORITY 900) with the `local` policy: named limits the
/// upstream spends through a response header (`X-Kong-Limit: videos=2, images=1`).
///
/// - `access` reads each limit's usage for the client (consumer, credential or address), sends
///   `X-RateLimit-Remaining-<name>` (the lowest remaining of its periods) upstream, and with
///   `block_on_first_violation` answers 429 `API rate limit exceeded for '<name>'` once a
///   period has nothing left.
/// - `header_filter` reads the upstream's `header_name`, removes it, adds
///   `X-RateLimit-Limit-<name>-<period>` and `X-RateLimit-Remaining-<name>-<period>` unless
///   `hide_client_headers`, and answers 429 with no body when the response spends a limit
///   that had nothing left.
/// - `log` adds the spent amounts to the windows of the request's start.
///
/// Counters are kept as rate-limiting keeps its own (``RateLimitScopes``), or with `policy:
/// redis` in Redis under Kong's keys (``RedisCounters``): `access` reads them (`GET`) and `log`
/// adds what the response spent, in every period's window. When Redis fails, a
/// `fault_tolerant` config lets the request through (logging `failed to get usage`);
/// otherwise the request fails with 500.
public final class ResponseRateLimitingPlugin: Plugin {
    /// One named limit: its configured periods, shortest first.
    struct Limit: Sendable {
        var name: String
        var limits: PeriodValues<Double?>
        var periods: [PeriodLimit]
        /// `X-RateLimit-Remaining-<name>` (upstream).
        var remainingHeader: String
    }

    /// The parsed config.
    public struct Config: Sendable {
        var headerName: String
        var limitBy: RateLimitingPlugin.LimitBy
        var blockOnFirstViolation: Bool
        var hideClientHeaders: Bool
        var limits: [Limit]
        var faultTolerant: Bool
        var scopeKey: String
        let counters: RateLimitCounters
        /// The Redis counters (`policy: redis`).
        var redis: RedisCounters?
    }

    /// What `access` saw, for `header_filter` and `log` (Kong's `kong.ctx.plugin`).
    struct Usage: Sendable {
        var identifier: String
        var now: Int
        /// Per limit (as `Config.limits`), per configured period: what was left.
        var remaining: [[Double]]
        /// The amounts the response spends, per limit (0: none).
        var increments: [Int]
        /// The response was refused: nothing is counted.
        var stopped = false
    }

    /// `response-ratelimiting`.
    public static let name = "response-ratelimiting"
    /// 900.
    public static let priority = 900
    /// access, header_filter, log.
    public static let phases: PluginPhases = [.access, .headerFilter, .log]

    private let scopes = RateLimitScopes()
    private let logger: Logger
    private static let usageKey = "usage"

    /// Makes the plugin (one per node: it owns the counters).
    public init(logger: Logger = Logger(label: "kgate.plugins")) {
        self.logger = logger
    }

    /// Parses the config and attaches the counters of its scope.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        var limits: [Limit] = []
        for (name, value) in config.record("limits") ?? [:] {
            guard let record = value.objectValue else { continue }
            var values = PeriodValues<Double?>(repeating: nil)
            var periods: [PeriodLimit] = []
            for p in RateLimitPeriod.allCases {
                guard let limit = record.number(p.name) else { continue }
                values[p] = limit
                let suffix = name + "-" + p.name
                periods.append(
                    PeriodLimit(
                        period: p, limit: limit, text: RateLimitingPlugin.number(limit), limitHeader: "X-RateLimit-Limit-" + suffix,
                        remainingHeader: "X-RateLimit-Remaining-" + suffix))
            }
            limits.append(Limit(name: name, limits: values, periods: periods, remainingHeader: "X-RateLimit-Remaining-" + name))
        }
        return Config(
            headerName: config.string("header_name") ?? "x-kong-limit",
            limitBy: RateLimitingPlugin.LimitBy(rawValue: config.string("limit_by") ?? "consumer") ?? .consumer,
            blockOnFirstViolation: config.bool("block_on_first_violation"),
            hideClientHeaders: config.bool("hide_client_headers"), limits: limits,
            faultTolerant: config.bool("fault_tolerant", default: true), scopeKey: RateLimitScopes.key(scope),
            counters: scopes.counters(for: scope),
            redis: config.string("policy") == "redis" ? RedisCounters(config: config) : nil)
    }

    /// Drops the counters of scopes no longer configured once all their windows have ended.
    public func configure(_ configs: [ScopedConfig<Config>]) {
        scopes.keep(configs.map(\.scope))
    }

    /// The counters of a config scope, if it has any (tests, diagnostics).
    public func counters(for scope: PluginScope) -> RateLimitCounters? {
        scopes.existing(for: scope)
    }

    /// Reads the usage, tells upstream what is left, refuses a spent limit when asked to.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard !config.limits.isEmpty else { return }
        let now = Int(ctx.request.startTime.rounded(.down))
        let identifier = config.limitBy.identifier(ctx)
        guard let redis = config.redis else {
            let used = config.limits.map { limit in
                let counts = config.counters.peek(Self.key(limit, identifier), now: now, limits: limit.limits)
                return limit.periods.map { counts[$0.period] }
            }
            return try Self.apply(config, used: used, identifier: identifier, now: now, &ctx)
        }
        let keys = config.limits.flatMap { limit in
            limit.periods.map {
                RedisCounters.responseRateLimitingKey(
                    scope: config.scopeKey, identifier: identifier, name: limit.name, period: $0.period, now: now)
            }
        }
        ctx.wait(for: redis.read(keys)) { ctx, result in
            switch result {
            case .success(let counts):
                var rest = counts[...]
                let used = config.limits.map { limit in
                    defer { rest = rest.dropFirst(limit.periods.count) }
                    return Array(rest.prefix(limit.periods.count))
                }
                try Self.apply(config, used: used, identifier: identifier, now: now, &ctx)
            case .failure(let error):
                try RedisCounters.usageFailed(error, faultTolerant: config.faultTolerant, &ctx)
            }
        }
    }

    /// What `access` does with each limit's usage (per configured period).
    private static func apply(_ config: Config, used: [[Int]], identifier: String, now: Int, _ ctx: inout PluginContext) throws {
        var usage = Usage(identifier: identifier, now: now, remaining: [], increments: [])
        for (limit, counts) in zip(config.limits, used) {
            usage.remaining.append(zip(limit.periods, counts).map { $0.limit - Double($1) })
        }
        for (limit, remaining) in zip(config.limits, usage.remaining) {
            if config.blockOnFirstViolation, remaining.contains(0) {
                return try ctx.error(429, message: "API rate limit exceeded for '\(limit.name)'")
            }
            if let lowest = remaining.min() {
                ctx.request.setHeader(limit.remainingHeader, RateLimitingPlugin.number(lowest))
            }
        }
        ctx.plugin[Self.usageKey] = usage
    }

    /// Reads what the response spends; refuses it when it spends a limit with nothing left.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard !config.limits.isEmpty else { return }
        guard var usage = ctx.plugin[Self.usageKey] as? Usage else { return }
        let spent = ctx.response.fromService ? Self.increments(ctx.response.headers, config: config) : nil
        usage.increments = spent ?? Array(repeating: 0, count: config.limits.count)
        var stop = false
        for (i, limit) in config.limits.enumerated() {
            let increment = usage.increments[i]
            for (period, remaining) in zip(limit.periods, usage.remaining[i]) {
                if !config.hideClientHeaders {
                    ctx.response.setHeader(period.limitHeader, period.text)
                    ctx.response.setHeader(period.remainingHeader, RateLimitingPlugin.number(max(0, remaining - Double(increment))))
                }
                if increment > 0, remaining <= 0 { stop = true }
            }
        }
        ctx.response.clearHeader(config.headerName)
        usage.stopped = stop
        ctx.plugin[Self.usageKey] = usage
        if stop { try ctx.exit(429) }
    }

    /// Counts what the response spent, in the windows of the request's start.
    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard let usage = ctx.plugin[Self.usageKey] as? Usage, !usage.stopped else { return }
        if let redis = config.redis {
            // Kong's redis policy adds to every period's window, configured or not.
            let items = zip(config.limits, usage.increments).filter { $0.1 != 0 }.flatMap { limit, increment in
                RateLimitPeriod.allCases.map { period in
                    (
                        key: RedisCounters.responseRateLimitingKey(
                            scope: config.scopeKey, identifier: usage.identifier, name: limit.name, period: period, now: usage.now),
                        amount: increment, expiry: RedisCounters.Expiry.after(period.expiration)
                    )
                }
            }
            guard !items.isEmpty else { return }
            let logger = ctx.logger
            redis.add(items).whenFailure { error in logger.error("failed to increment counters in Redis: \(error)") }
            return
        }
        for (limit, increment) in zip(config.limits, usage.increments) where increment != 0 {
            config.counters.add(increment, to: Self.key(limit, usage.identifier), now: usage.now, limits: limit.limits)
        }
    }

    /// The counter of a limit for an identifier (Kong's key has both).
    static func key(_ limit: Limit, _ identifier: String) -> String {
        limit.name + "\u{0}" + identifier
    }

    /// Kong's `parse_header`: `name=amount` pairs of the configured limits, split on `,` when
    /// the header came once (each value is one pair when it came several times; the last pair
    /// of a name wins); amounts that are not numbers count as 0. Per limit, as `Config.limits`.
    static func increments(_ headers: HTTPFields, config: Config) -> [Int] {
        let values = headers.tableValues(config.headerName)
        let parts: [Substring] = values.count == 1 ? values[0].split(separator: ",", omittingEmptySubsequences: false) : values.map { $0[...] }
        var increments = Array(repeating: 0, count: config.limits.count)
        for part in parts {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = pair[0].kongStripped
            guard let i = config.limits.firstIndex(where: { $0.name == name }) else { continue }
            let amount = pair[1].kongStripped
            increments[i] = Int(amount) ?? Double(amount).flatMap { $0.isFinite && abs($0) < 1e15 ? Int($0) : nil } ?? 0
        }
        return increments
    }
}
