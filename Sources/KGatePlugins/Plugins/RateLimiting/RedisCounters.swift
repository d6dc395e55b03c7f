import KGateRedis
import KGateSchema
import NIOCore
import Synchronization

/// The `redis` policy of both rate-limiting plugins: counters in a Redis server every node
/// shares, under Kong's keys, so Kong and kgate nodes pointed at the same Redis count together.
///
/// Each call is one pipelined round trip on the event loop's connection (``RedisClient``); the
/// plugin's `access` waits for it (``PluginContext/wait(for:then:)``) without blocking the loop.
struct RedisCounters: Sendable {
    /// When a key made by an addition expires.
    enum Expiry: Sendable {
        /// Seconds after it is made (`EXPIRE`).
        case after(Int)
        /// At a Unix time (`EXPIREAT`).
        case at(Int)
    }

    let endpoint: RedisEndpoint
    let client: RedisClient

    /// The endpoint of a plugin config's `redis` record.
    init(config: Object, client: RedisClient = .shared) {
        let redis = config.record("redis") ?? [:]
        endpoint = RedisEndpoint(
            host: redis.string("host") ?? "127.0.0.1", port: redis.number("port").map { Int($0) } ?? 6379,
            database: redis.number("database").map { Int($0) } ?? 0, username: redis.string("username"),
            password: redis.string("password"), ssl: redis.bool("ssl"), sslVerify: redis.bool("ssl_verify"),
            serverName: redis.string("server_name"), timeoutMilliseconds: redis.number("timeout").map { Int($0) } ?? 2000)
        self.client = client
    }

    /// Counts one in each key and returns each key's count before it; a key made by it expires
    /// after its `ttl` seconds (rate-limiting's realtime `usage`: counting first is what keeps
    /// concurrent requests of many nodes exact).
    func countOne(_ keys: [(key: String, ttl: Int)]) -> EventLoopFuture<[Int]> {
        let commands = keys.map { RedisCommand("EVAL", Self.countOneScript, "1", $0.key, String($0.ttl)) }
        return client.send(commands, to: endpoint).flatMapThrowing { replies in try replies.map(Self.integer) }
    }

    /// Each key's count (0 when missing): response-ratelimiting's `usage` (`GET`).
    func read(_ keys: [String]) -> EventLoopFuture<[Int]> {
        client.send(keys.map { RedisCommand("GET", $0) }, to: endpoint).flatMapThrowing { replies in
            try replies.map { reply in reply.isNull ? 0 : try Self.integer(reply) }
        }
    }

    /// Adds each amount to its key; a key made by it gets its expiry.
    func add(_ items: [(key: String, amount: Int, expiry: Expiry)]) -> EventLoopFuture<Void> {
        let commands = items.map { item -> RedisCommand in
            let (command, time): (String, Int) =
                switch item.expiry {
                case .after(let seconds): ("expire", seconds)
                case .at(let unix): ("expireat", unix)
                }
            return RedisCommand("EVAL", Self.addScript, "1", item.key, String(item.amount), command, String(time))
        }
        return client.send(commands, to: endpoint).flatMapThrowing { replies in
            for case .error(let message) in replies { throw RedisError.server(message) }
        }
    }

    private static func integer(_ reply: RESPValue) throws -> Int {
        if case .error(let message) = reply { throw RedisError.server(message) }
        guard let n = reply.integer else { throw RedisError.protocolError("not a counter: \(reply)") }
        return n
    }

    /// INCR, the TTL on a new key, the count before.
    private static let countOneScript = """
        local n = redis.call("incr", KEYS[1])
        if n == 1 then redis.call("expire", KEYS[1], ARGV[1]) end
        return n - 1
        """

    /// INCRBY, then EXPIRE or EXPIREAT (ARGV[2]) on a key that did not exist.
    private static let addScript = """
        local existed = redis.call("exists", KEYS[1])
        redis.call("incrby", KEYS[1], ARGV[1])
        if existed == 0 then redis.call(ARGV[2], KEYS[1], ARGV[3]) end
        return 0
        """

    // MARK: Keys

    /// rate-limiting's key: `ratelimit:<route>:<service>:<identifier>:<window start ms>:<period>`.
    static func rateLimitingKey(scope: String, identifier: String, period: RateLimitPeriod, windowStart: Int) -> String {
        "ratelimit:\(scope):\(identifier):\(windowStart * 1000):\(period.name)"
    }

    /// response-ratelimiting's key:
    /// `response-ratelimit:<route>:<service>:<identifier>:<window start ms>:<name>:<period>`.
    static func responseRateLimitingKey(scope: String, identifier: String, name: String, period: RateLimitPeriod, now: Int)
        -> String
    {
        "response-ratelimit:\(scope):\(identifier):\(period.windowStart(now) * 1000):\(name):\(period.name)"
    }

    /// Redis could not be used: a `fault_tolerant` config lets the request through (Kong logs
    /// `failed to get usage`); otherwise the plugin fails (Kong's `error(err)`: 500).
    static func usageFailed(_ error: any Error, faultTolerant: Bool, _ ctx: inout PluginContext) throws {
        guard faultTolerant else { throw RedisUsageError(underlying: error) }
        ctx.logger.error("failed to get usage: \(error)")
    }
}

/// A Redis failure as the plugin reports it when it is not `fault_tolerant`.
struct RedisUsageError: Error, CustomStringConvertible {
    let underlying: any Error
    var description: String { "failed to get usage: \(underlying)" }
}
