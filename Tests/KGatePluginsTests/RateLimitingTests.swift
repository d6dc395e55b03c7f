import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/23-rate-limiting` (`policy: local`), and the counters' guarantees.
@Suite struct RateLimitingTests {
    /// 2023-11-14T22:13:20Z.
    static let t0: Double = 1_700_000_000

    /// A runner with its own plugin values: counters are per node, and these tests' plugin ids
    /// are the same (derived from the scope), so sharing the registry would share counters.
    static func runner(_ yaml: String, registry: PluginRegistry = PluginRegistry.bundled()) throws -> PluginRunner {
        try Gate.runner(yaml, registry: registry)
    }

    static func config(_ rl: String, auth: Bool = false) -> String {
        """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
          routes:
          - name: test
            paths: [/test]
          plugins:
          - name: rate-limiting
            config: \(rl)
        \(auth ? "  - {name: key-auth, config: {key_names: [test-key]}}" : "")
        consumers:
        - username: Bob
          keyauth_credentials: [{key: test_credential}]
        """
    }

    struct Seen: Equatable {
        var status: [Int] = []
        var minuteLimit: [String?] = []
        var minuteRemaining: [String?] = []
        var limit: [String?] = []
        var remaining: [String?] = []
        var reset: [Int] = []
    }

    static func requests(
        _ runner: PluginRunner, _ n: Int, time: Double = t0, ip: String = "127.0.0.1", headers: HTTPFields = [:],
        path: String = "/test"
    ) -> Seen {
        var seen = Seen()
        for _ in 0..<n {
            var ex = Exchange(runner, route: "test", path: path, headers: headers, ip: ip, time: time)
            let h = ex.respond()
            seen.status.append(ex.status == 0 ? 200 : ex.status)
            seen.minuteLimit.append(h["X-RateLimit-Limit-Minute"])
            seen.minuteRemaining.append(h["X-RateLimit-Remaining-Minute"])
            seen.limit.append(h["RateLimit-Limit"])
            seen.remaining.append(h["RateLimit-Remaining"])
            seen.reset.append(h["RateLimit-Reset"].flatMap { Int($0) } ?? -1)
        }
        return seen
    }

    static func validate(_ seen: Seen, window: Int) {
        #expect(seen.status == [200, 200, 200, 200, 200, 200, 429])
        #expect(seen.minuteLimit == Array(repeating: "6", count: 7))
        #expect(seen.minuteRemaining == ["5", "4", "3", "2", "1", "0", "0"])
        #expect(seen.limit == Array(repeating: "6", count: 7))
        #expect(seen.remaining == ["5", "4", "3", "2", "1", "0", "0"])
        #expect(seen.reset.allSatisfy { $0 >= 0 && $0 <= window })
    }

    @Test(arguments: ["ip", "consumer", "credential", "service", "header", "path"])
    func blocksIfExceedingLimit(limitBy: String) throws {
        let auth = limitBy == "consumer" || limitBy == "credential"
        let runner = try Self.runner(Self.config(
            "{minute: 6, limit_by: \(limitBy), path: /test, header_name: test-header}", auth: auth))
        let headers: HTTPFields =
            auth ? ["test-key": "test_credential"] : limitBy == "header" ? ["test-header": "test"] : [:]
        Self.validate(Self.requests(runner, 7, headers: headers), window: 60)
    }

    @Test func multipleIPsCountApart() throws {
        let runner = try Self.runner(Self.config("{minute: 6, limit_by: ip}"))
        Self.validate(Self.requests(runner, 7, ip: "10.0.0.1"), window: 60)
        Self.validate(Self.requests(runner, 7, ip: "10.0.0.2"), window: 60)
    }

    @Test func multipleLimits() throws {
        let runner = try Self.runner(Self.config("{minute: 6, hour: 99999}"))
        Self.validate(Self.requests(runner, 7), window: 3600)
        var ex = Exchange(runner, route: "test", time: Self.t0 + 60)
        let h = ex.respond()
        #expect(h["X-RateLimit-Limit-Hour"] == "99999")
        #expect(h["X-RateLimit-Remaining-Hour"] == "99992")
    }

    @Test func headerValuesAndReset() throws {
        // 22:13:20 → the minute window started 20 s ago, the hour 13 min 20 s ago.
        let runner = try Self.runner(Self.config("{second: 2, minute: 3, hour: 10}"))
        var ex = Exchange(runner, route: "test", time: Self.t0)
        let h = ex.respond()
        #expect(h["X-RateLimit-Limit-Second"] == "2")
        #expect(h["X-RateLimit-Remaining-Second"] == "1")
        #expect(h["X-RateLimit-Remaining-Minute"] == "2")
        #expect(h["X-RateLimit-Remaining-Hour"] == "9")
        // Most constrained: second (1 left, window 1 s).
        #expect(h["RateLimit-Limit"] == "2")
        #expect(h["RateLimit-Remaining"] == "1")
        #expect(h["RateLimit-Reset"] == "1")
        _ = Exchange(runner, route: "test", time: Self.t0)
        // Second exhausted: 3rd request in the same second is rejected.
        var third = Exchange(runner, route: "test", time: Self.t0)
        #expect(third.status == 429)
        #expect(third.message == "API rate limit exceeded")
        let h3 = third.respond()
        #expect(h3["Retry-After"] == "1")
        #expect(h3["X-RateLimit-Remaining-Second"] == "0")
        // Not counted: the minute still has one left.
        #expect(h3["X-RateLimit-Remaining-Minute"] == "1")
        // Next second: minute's last request; then the minute window (reset 40 s) blocks.
        var fourth = Exchange(runner, route: "test", time: Self.t0 + 1)
        #expect(fourth.status == 0)
        #expect(fourth.respond()["RateLimit-Reset"] == "39")
        var fifth = Exchange(runner, route: "test", time: Self.t0 + 2)
        #expect(fifth.status == 429)
        let h5 = fifth.respond()
        #expect(h5["RateLimit-Remaining"] == "0")
        #expect(h5["Retry-After"] == "38")
        // A new minute counts again.
        #expect(Exchange(runner, route: "test", time: Self.t0 + 40).status == 0)
    }

    @Test func hideClientHeadersAndCustomError() throws {
        let runner = try Self.runner(Self.config("{minute: 1, hide_client_headers: true, error_code: 404, error_message: Fake Not Found}"))
        var first = Exchange(runner, route: "test")
        #expect(first.respond()["X-RateLimit-Limit-Minute"] == nil)
        var second = Exchange(runner, route: "test")
        #expect(second.status == 404)
        #expect(second.message == "Fake Not Found")
        let h = second.respond()
        #expect(h["Retry-After"] == nil)
        #expect(h["RateLimit-Remaining"] == nil)
    }

    @Test func pathAndHeaderFallBackToTheClientAddress() throws {
        let runner = try Self.runner(Self.config("{minute: 1, limit_by: header, header_name: x-user}"))
        #expect(Exchange(runner, route: "test", headers: ["x-user": "a"]).status == 0)
        #expect(Exchange(runner, route: "test", headers: ["x-user": "b"]).status == 0)
        #expect(Exchange(runner, route: "test", headers: ["x-user": "a"]).status == 429)
        #expect(Exchange(runner, route: "test").status == 0)
        #expect(Exchange(runner, route: "test").status == 429)
        let path = try Self.runner(Self.config("{minute: 1, limit_by: path, path: /test/a}"))
        #expect(Exchange(path, route: "test", path: "/test/a").status == 0)
        #expect(Exchange(path, route: "test", path: "/test/a").status == 429)
        // Another path: counted by IP (a different key).
        #expect(Exchange(path, route: "test", path: "/test/b").status == 0)
    }

    @Test func consumerScopedLimitsApplyAfterAuthentication() throws {
        let runner = try Self.runner("""
            _format_version: "3.0"
            routes:
            - name: test
              paths: [/test]
              plugins: [{name: key-auth, config: {anonymous: anon}}]
            plugins:
            - name: rate-limiting
              config: {minute: 100}
            consumers:
            - username: anon
            - username: Bob
              keyauth_credentials: [{key: bob}]
              plugins:
              - name: rate-limiting
                config: {minute: 2}
            """)
        var bob = Exchange(runner, route: "test", headers: ["apikey": "bob"])
        #expect(bob.respond()["X-RateLimit-Limit-Minute"] == "2")
        var anon = Exchange(runner, route: "test")
        #expect(anon.respond()["X-RateLimit-Limit-Minute"] == "100")
    }

    /// Each deprecated `redis_*` shorthand carries Kong's deprecation words (shown by
    /// `GET /schemas/plugins/rate-limiting`).
    @Test func shorthandDeprecations() throws {
        let record = try #require(RateLimitingPlugin.schema.field(named: "config")?.record)
        #expect(record.shorthandFields.count == 9)
        for shorthand in record.shorthandFields {
            let target = String(shorthand.name.dropFirst("redis_".count))
            #expect(shorthand.replacedWith == "redis." + target)
            #expect(
                shorthand.notice?.message
                    == "rate-limiting: config.\(shorthand.name) is deprecated, please use config.redis.\(target) instead")
            #expect(shorthand.notice?.removalInVersion == "4.0")
        }
    }

    @Test func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: \(config)\n")
        }
        #expect(load("{minute: 10}") == nil)
        #expect(load("{}")?.contains(
            "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'") == true)
        #expect(load("{second: 20, minute: 10}")?.contains(
            "The limit for minute(10.0) cannot be lower than the limit for second(20.0)") == true)
        #expect(load("{minute: 10, sync_rate: 10}")?.contains("sync_rate can only be used with the redis policy") == true)
        #expect(load("{minute: 10, policy: cluster}")?.contains("expected one of: local, redis") == true)
        #expect(load("{minute: 10, limit_by: header}")?.contains("header_name") == true)
        #expect(load("{minute: 10, policy: redis}")?.contains("host") == true)
        #expect(load("{minute: 10, policy: redis, redis_host: localhost}") == nil)
        #expect(load("{minute: 10, policy: redis, redis_host: localhost, redis: {host: localhost}}") == nil)
        #expect(load("{minute: 10, policy: redis, redis_port: 55000, redis: {host: a, port: 6379}}")?.contains(
            "both deprecated and new field are used but their values mismatch: redis_port = 55000 vs redis.port = 6379") == true)
        #expect(load("{minute: -1}")?.contains("value must be greater than 0") == true)
    }

    @Test func windowStarts() {
        // 2023-11-14T22:13:20Z.
        let now = Int(Self.t0)
        #expect(RateLimitPeriod.second.windowStart(now) == now)
        #expect(RateLimitPeriod.minute.windowStart(now) == now - 20)
        #expect(RateLimitPeriod.hour.windowStart(now) == now - 13 * 60 - 20)
        #expect(RateLimitPeriod.day.windowStart(now) == 1_699_920_000)  // 2023-11-14T00:00:00Z
        #expect(RateLimitPeriod.month.windowStart(now) == 1_698_796_800)  // 2023-11-01T00:00:00Z
        #expect(RateLimitPeriod.year.windowStart(now) == 1_672_531_200)  // 2023-01-01T00:00:00Z
        #expect(RateLimitPeriod.month.windowStart(951_782_400) == 949_363_200)  // 2000-02-29 → 02-01
        #expect(RateLimitPeriod.month.windowStart(951_868_799) == 949_363_200)  // 02-29 23:59:59
        #expect(RateLimitPeriod.month.windowStart(951_868_800) == 951_868_800)  // 03-01
    }

    @Test func exactUnderConcurrency() async {
        let counters = RateLimitCounters()
        var configured = PeriodValues<Double?>(repeating: nil)
        configured[.minute] = 1000
        configured[.hour] = 5000
        let limits = configured
        let now = Int(Self.t0)
        let passed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var n = 0
                    for _ in 0..<500 where counters.take("k", now: now, limits: limits).stop == nil { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(passed == 1000)
        #expect(counters.usage("k", period: .minute, now: now) == 1000)
        #expect(counters.usage("k", period: .hour, now: now) == 1000)
    }

    @Test func countersSurviveReloadsKeyedByScopeAsKong() throws {
        let plugin = RateLimitingPlugin()
        let registry = PluginRegistry([plugin, KeyAuthPlugin()])
        func config(_ minute: Int, id: String) -> String {
            """
            _format_version: "3.0"
            routes:
            - name: test
              paths: [/test]
            plugins:
            - name: rate-limiting
              id: \(id)
              config: {minute: \(minute)}
            """
        }
        // A time in the current minute: `configure` keeps counters whose windows have not ended.
        let now = (WallClock.now() / 60).rounded(.down) * 60
        let idA = "a0000000-0000-4000-8000-000000000001"
        let first = try Self.runner(config(3, id: idA), registry: registry)
        first.configure()
        for _ in 0..<2 { #expect(Exchange(first, route: "test", time: now).status == 0) }
        // Same id, new limit: the count carries over.
        let second = try Self.runner(config(3, id: idA), registry: registry)
        second.configure()
        #expect(Exchange(second, route: "test", time: now).status == 0)
        #expect(Exchange(second, route: "test", time: now).status == 429)
        // A new id with the same scope keeps counting, as Kong's counters are keyed by the
        // config's route and service (policies/init.lua `get_local_key`), not its id.
        let idB = "b0000000-0000-4000-8000-000000000002"
        let third = try Self.runner(config(4, id: idB), registry: registry)
        third.configure()
        #expect(Exchange(third, route: "test", time: now).status == 0)
        #expect(Exchange(third, route: "test", time: now).status == 429)
        // Gone from the config: the counters stay while their windows last.
        let global = PluginScope(id: idB, name: "rate-limiting", instanceName: nil, routeID: nil, serviceID: nil, consumerID: nil)
        let none = try Self.runner("_format_version: \"3.0\"\nroutes:\n- name: test\n  paths: [/test]\n", registry: registry)
        none.configure()
        #expect(plugin.counters(for: global) != nil)
    }

    @Test func idleIdentifiersAreSwept() {
        let counters = RateLimitCounters()
        var limits = PeriodValues<Double?>(repeating: nil)
        limits[.second] = 5
        let now = Int(Self.t0)
        for i in 0..<100 { _ = counters.take("ip-\(i)", now: now, limits: limits) }
        #expect(counters.identifierCount == 100)
        // A request sweeps its own shard (of 16, picked by a per-process hash): a few later
        // identifiers make sure a shard holding old ones is reached.
        for i in 0..<32 { _ = counters.take("later-\(i)", now: now + 120, limits: limits) }
        #expect(counters.identifierCount < 132)
        counters.sweep(now: now + 120)
        #expect(counters.identifierCount == 32)
    }
}
