import Synchronization

/// Kong's rate-limiting periods, shortest first, with their `expiration` (the window used for
/// `RateLimit-Reset`).
public enum RateLimitPeriod: Int, Sendable, Hashable, CaseIterable {
    /// 1 s windows.
    case second
    /// Calendar minutes.
    case minute
    /// Calendar hours.
    case hour
    /// UTC days.
    case day
    /// Calendar months (UTC); `RateLimit-Reset` counts 30 days, as Kong.
    case month
    /// Calendar years (UTC); `RateLimit-Reset` counts 365 days, as Kong.
    case year

    /// The config field and header suffix (`minute`).
    public var name: String {
        switch self {
        case .second: return "second"
        case .minute: return "minute"
        case .hour: return "hour"
        case .day: return "day"
        case .month: return "month"
        case .year: return "year"
        }
    }

    /// Kong's `expiration.lua` (seconds): a month is 30 days, a year 365.
    public var expiration: Int {
        switch self {
        case .second: return 1
        case .minute: return 60
        case .hour: return 3600
        case .day: return 86400
        case .month: return 2_592_000
        case .year: return 31_536_000
        }
    }

    /// The start of the UTC calendar window holding `now` (Kong's `timestamp.get_timestamps`):
    /// the second, minute, hour, day, first day of the month, January 1st.
    public func windowStart(_ now: Int) -> Int {
        switch self {
        case .second: return now
        case .minute: return now - mod(now, 60)
        case .hour: return now - mod(now, 3600)
        case .day: return now - mod(now, 86400)
        case .month:
            let (y, m, _) = CivilDate.fromDays(floorDiv(now, 86400))
            return CivilDate.days(year: y, month: m, day: 1) * 86400
        case .year:
            let (y, _, _) = CivilDate.fromDays(floorDiv(now, 86400))
            return CivilDate.days(year: y, month: 1, day: 1) * 86400
        }
    }

    private func mod(_ a: Int, _ b: Int) -> Int { ((a % b) + b) % b }
    private func floorDiv(_ a: Int, _ b: Int) -> Int { (a - mod(a, b)) / b }
}

/// Days since 1970-01-01 ↔ proleptic Gregorian dates (Howard Hinnant's algorithms).
enum CivilDate {
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func fromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// One configured period of a limit, with the client header names and the limit's text made
/// once per config (rate-limiting's `X-RateLimit-Limit-Minute`, response-ratelimiting's
/// `X-RateLimit-Limit-<name>-minute`).
struct PeriodLimit: Sendable {
    var period: RateLimitPeriod
    var limit: Double
    var text: String
    var limitHeader: String
    var remainingHeader: String
}

/// Six values, one per period, without a heap allocation.
public struct PeriodValues<Element: Sendable>: Sendable {
    private var s, m, h, d, mo, y: Element

    /// All six set to `value`.
    public init(repeating value: Element) {
        (s, m, h, d, mo, y) = (value, value, value, value, value, value)
    }

    /// The value of a period.
    public subscript(_ p: RateLimitPeriod) -> Element {
        get {
            switch p {
            case .second: return s
            case .minute: return m
            case .hour: return h
            case .day: return d
            case .month: return mo
            case .year: return y
            }
        }
        set {
            switch p {
            case .second: s = newValue
            case .minute: m = newValue
            case .hour: h = newValue
            case .day: d = newValue
            case .month: mo = newValue
            case .year: y = newValue
            }
        }
    }
}

/// The local policy's counters of one rate-limiting config scope (route and service), shared by
/// every thread of the node and kept across reloads.
///
/// Each identifier has, per period, the current window's start and count. A request checks
/// and increments all its periods under its shard's lock, so limits are exact under any
/// concurrency (N concurrent requests against a limit L: exactly L pass). Counters of past
/// windows are reset on first use and idle identifiers are dropped by a periodic sweep
/// (Kong's shm keys expire after their period).
public final class RateLimitCounters: Sendable {
    struct Usage {
        var starts = PeriodValues<Int>(repeating: Int.min)
        var counts = PeriodValues<Int>(repeating: 0)
        /// When the last of the windows it counts ends (for the sweep).
        var expiresAt = 0

        /// Counts `amount` in each configured period's current window.
        mutating func count(_ amount: Int = 1, starts new: PeriodValues<Int>, limits: PeriodValues<Double?>, expiresAt: Int) {
            for p in RateLimitPeriod.allCases where limits[p] != nil {
                if starts[p] != new[p] {
                    starts[p] = new[p]
                    counts[p] = 0
                }
                counts[p] += amount
            }
            self.expiresAt = max(self.expiresAt, expiresAt)
        }

        /// The count of each configured period in the windows starting at `starts`.
        func used(in starts: PeriodValues<Int>, limits: PeriodValues<Double?>) -> PeriodValues<Int> {
            var used = PeriodValues<Int>(repeating: 0)
            for p in RateLimitPeriod.allCases where limits[p] != nil && self.starts[p] == starts[p] {
                used[p] = counts[p]
            }
            return used
        }
    }

    struct Shard {
        var usage: [String: Usage] = [:]
        var nextSweep = 0
    }

    /// What a request saw: each configured period's usage before this request, and the first
    /// period whose limit was reached (Kong's `stop`), in which case nothing was counted.
    public struct Decision: Sendable {
        /// Usage before the request, per period (0 for unconfigured periods).
        public var usage: PeriodValues<Int>
        /// The window start of each period.
        public var starts: PeriodValues<Int>
        /// The longest period whose limit is reached, nil when the request is counted.
        public var stop: RateLimitPeriod?
    }

    /// A shard's lock, boxed so shards can live in an array (and apart in memory).
    final class ShardBox: Sendable {
        let state = Mutex(Shard())
    }

    private let shards: [ShardBox]
    private static let shardCount = 16
    private static let sweepInterval = 60

    /// Empty counters.
    public init() {
        shards = (0..<Self.shardCount).map { _ in ShardBox() }
    }

    /// Checks the limits of `identifier` at `now` (seconds) and counts the request unless a
    /// limit is reached. `limits` holds the configured periods' limits (nil: not configured).
    public func take(_ identifier: String, now: Int, limits: PeriodValues<Double?>) -> Decision {
        let (starts, expiresAt) = Self.windows(now: now, limits: limits)
        return withShard(of: identifier, now: now) { state in
            let used = state.usage[identifier]?.used(in: starts, limits: limits) ?? PeriodValues(repeating: 0)
            var decision = Decision(usage: used, starts: starts, stop: nil)
            for p in RateLimitPeriod.allCases {
                guard let limit = limits[p] else { continue }
                if limit - Double(used[p]) <= 0 { decision.stop = p }
            }
            guard decision.stop == nil else { return decision }
            state.usage[identifier, default: Usage()].count(starts: starts, limits: limits, expiresAt: expiresAt)
            return decision
        }
    }

    /// Each configured period's count for `identifier` in its window holding `now`, counting
    /// nothing (response-ratelimiting reads usage in `access` and adds in `log`).
    public func peek(_ identifier: String, now: Int, limits: PeriodValues<Double?>) -> PeriodValues<Int> {
        let (starts, _) = Self.windows(now: now, limits: limits)
        return withShard(of: identifier, now: now) { state in
            state.usage[identifier]?.used(in: starts, limits: limits) ?? PeriodValues(repeating: 0)
        }
    }

    /// Adds `amount` to each configured period's window holding `now` (which may be a request's
    /// start: its windows are counted even when a new one began since).
    public func add(_ amount: Int, to identifier: String, now: Int, limits: PeriodValues<Double?>) {
        let (starts, expiresAt) = Self.windows(now: now, limits: limits)
        withShard(of: identifier, now: now) { state in
            state.usage[identifier, default: Usage()].count(amount, starts: starts, limits: limits, expiresAt: expiresAt)
        }
    }

    /// The start of each configured period's window holding `now`, and when the last ends.
    private static func windows(now: Int, limits: PeriodValues<Double?>) -> (PeriodValues<Int>, expiresAt: Int) {
        var starts = PeriodValues<Int>(repeating: 0)
        var expiresAt = now
        for p in RateLimitPeriod.allCases where limits[p] != nil {
            starts[p] = p.windowStart(now)
            expiresAt = max(expiresAt, starts[p] + p.expiration)
        }
        return (starts, expiresAt)
    }

    /// Runs `body` under the lock of the identifier's shard, after the shard's sweep when due.
    private func withShard<R>(of identifier: String, now: Int, _ body: (inout Shard) -> R) -> R {
        let shard = shards[Int(UInt(bitPattern: identifier.hashValue) % UInt(Self.shardCount))]
        return shard.state.withLock { state in
            if now >= state.nextSweep {
                state.usage = state.usage.filter { $0.value.expiresAt > now }
                state.nextSweep = now + Self.sweepInterval
            }
            return body(&state)
        }
    }

    /// The current count of an identifier in a period's window holding `now` (tests, tools).
    public func usage(_ identifier: String, period: RateLimitPeriod, now: Int) -> Int {
        withShard(of: identifier, now: now) { state in
            guard let entry = state.usage[identifier], entry.starts[period] == period.windowStart(now) else { return 0 }
            return entry.counts[period]
        }
    }

    /// Drops every identifier whose windows all ended before `now` (a request does this for
    /// its own shard once a minute).
    public func sweep(now: Int) {
        for shard in shards {
            shard.state.withLock { state in
                state.usage = state.usage.filter { $0.value.expiresAt > now }
                state.nextSweep = now + Self.sweepInterval
            }
        }
    }

    /// Identifiers tracked (tests, diagnostics).
    public var identifierCount: Int { shards.reduce(0) { $0 + $1.state.withLock { $0.usage.count } } }
}
