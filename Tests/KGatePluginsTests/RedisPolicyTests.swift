import Foundation
import KGatePlugins
import KGateRedis
import KGateSchema
import KGateTestSupport
import Testing

/// The `redis` policy of both rate-limiting plugins against a real `redis-server`: two runners
/// with their own plugin values stand for two nodes sharing the server.
@Suite(.serialized) struct RedisPolicyTests {
    static func config(_ plugin: String, _ conf: String) -> String {
        """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
          routes:
          - name: test
            paths: [/test]
          plugins:
          - name: \(plugin)
            config: \(conf)
        """
    }

    /// A node: a runner with its own plugin values (counters, synced usage).
    static func node(_ yaml: String) throws -> PluginRunner {
        let runner = try Gate.runner(yaml, registry: PluginRegistry.bundled())
        runner.configure()
        return runner
    }

    static func request(_ runner: PluginRunner, time: Double, ip: String = "127.0.0.1") -> (status: Int, headers: HTTPFields, ex: Exchange) {
        var ex = Exchange(runner, route: "test", path: "/test", ip: ip, time: time)
        let headers = ex.respond()
        return (ex.status == 0 ? 200 : ex.status, headers, ex)
    }

    /// Kong's `ratelimit:<route>:<service>:<identifier>:<window start ms>:<period>`, with the
    /// plugin's route and service: these plugins are on the service, so the route is the zero
    /// UUID.
    static func key(_ runner: PluginRunner, _ prefix: String, _ identifier: String, _ start: Int, _ tail: String) -> String {
        let route = Gate.routeID(runner, "test")
        let service = runner.database.page.entity("routes", id: route)?["service"]?.objectValue?["id"]?.stringValue ?? "?"
        return "\(prefix):00000000-0000-0000-0000-000000000000:\(service):\(identifier):\(start * 1000):\(tail)"
    }

    @Test("realtime: every node counts in Redis, refused requests too, under Kong's keys")
    func realtimeCountsAcrossNodes() throws {
        let server = try RedisServer()
        let yaml = Self.config("rate-limiting", "{minute: 5, hour: 100, policy: redis, redis: {host: 127.0.0.1, port: \(server.port)}}")
        let (a, b) = (try Self.node(yaml), try Self.node(yaml))
        let now = Double(Int(Date().timeIntervalSince1970))
        var statuses: [Int] = []
        var remaining: [String?] = []
        for node in [a, a, a, b, b, b] {
            let r = Self.request(node, time: now)
            statuses.append(r.status)
            remaining.append(r.headers["X-RateLimit-Remaining-Minute"])
        }
        #expect(statuses == [200, 200, 200, 200, 200, 429])
        #expect(remaining == ["4", "3", "2", "1", "0", "0"])
        let minute = Int(now) - Int(now) % 60
        let key = Self.key(a, "ratelimit", "127.0.0.1", minute, "minute")
        #expect(try server.cli(["GET", key]) == "6")
        let ttl = Int(try server.cli(["TTL", key])) ?? -9
        #expect(ttl > 0 && ttl <= 60)
        let hour = Int(now) - Int(now) % 3600
        #expect(try server.cli(["GET", Self.key(a, "ratelimit", "127.0.0.1", hour, "hour")]) == "6")
        // Another client has its own counters.
        #expect(Self.request(b, time: now, ip: "10.0.0.9").status == 200)
    }

    @Test("Redis down: fault_tolerant lets requests through without headers, else 500")
    func faultTolerance() throws {
        let port = try RedisServer.freePort()
        let tolerant = try Self.node(Self.config("rate-limiting", "{minute: 1, policy: redis, redis: {host: 127.0.0.1, port: \(port)}}"))
        for _ in 0..<3 {
            let r = Self.request(tolerant, time: 1_700_000_000)
            #expect(r.status == 200)
            #expect(r.headers["X-RateLimit-Limit-Minute"] == nil)
        }
        let strict = try Self.node(
            Self.config("rate-limiting", "{minute: 1, fault_tolerant: false, policy: redis, redis: {host: 127.0.0.1, port: \(port)}}"))
        let r = Self.request(strict, time: 1_700_000_000)
        #expect(r.status == 500)
        #expect(r.ex.message == "An unexpected error occurred")
        #expect(r.ex.ctx.failed)
    }

    @Test("sync_rate: nodes count locally and sync; a read brings the other nodes' counts")
    func syncRate() async throws {
        let server = try RedisServer()
        let yaml = Self.config(
            "rate-limiting", "{hour: 3, sync_rate: 0.1, policy: redis, redis: {host: 127.0.0.1, port: \(server.port)}}")
        let (a, b) = (try Self.node(yaml), try Self.node(yaml))
        let now = Double(Int(Date().timeIntervalSince1970))
        let hour = Int(now) - Int(now) % 3600
        let key = Self.key(a, "ratelimit", "127.0.0.1", hour, "hour")
        var statuses = (0..<4).map { _ in Self.request(a, time: now).status }
        var remaining = (0..<1).map { _ in Self.request(a, time: now).headers["X-RateLimit-Remaining-Hour"] }
        #expect(statuses == [200, 200, 200, 429])
        #expect(remaining == ["0"])
        // The first request was counted in Redis; the rest go with the sync.
        #expect(await waitUntil(timeout: .seconds(5)) { (try? server.cli(["GET", key])) == "3" })
        statuses = (0..<2).map { _ in Self.request(b, time: now).status }
        #expect(statuses == [429, 429])
        // B's read counted one in Redis and its sync takes it back.
        try await Task.sleep(for: .milliseconds(400))
        #expect(try server.cli(["GET", key]) == "3")
        remaining = [Self.request(a, time: now + 1).headers["X-RateLimit-Remaining-Hour"]]
        #expect(remaining == ["0"])
    }

    @Test("response-ratelimiting: usage read from Redis, spent amounts added to every period")
    func responseRateLimiting() async throws {
        let server = try RedisServer()
        let yaml = Self.config(
            "response-ratelimiting",
            "{limit_by: ip, limits: {video: {minute: 10, hour: 20}}, policy: redis, redis: {host: 127.0.0.1, port: \(server.port)}}")
        let (a, b) = (try Self.node(yaml), try Self.node(yaml))
        let now = Double(Int(Date().timeIntervalSince1970))
        var ex = Exchange(a, route: "test", path: "/test", time: now)
        #expect(ex.upstream("X-RateLimit-Remaining-video") == "10")
        let headers = ex.respond(headers: ["X-Kong-Limit": "video=4"])
        #expect(headers["X-RateLimit-Remaining-video-minute"] == "6")
        a.log(&ex.ctx)
        let minute = Int(now) - Int(now) % 60
        let key = Self.key(a, "response-ratelimit", "127.0.0.1", minute, "video:minute")
        #expect(await waitUntil(timeout: .seconds(5)) { (try? server.cli(["GET", key])) == "4" })
        // Every period's window, configured or not, expiring after the period.
        let year = try server.cli(["KEYS", "response-ratelimit:*:year"])
        #expect(year.hasSuffix(":video:year"))
        #expect((Int(try server.cli(["TTL", year])) ?? 0) > 31_000_000)
        let other = Exchange(b, route: "test", path: "/test", time: now)
        #expect(other.upstream("X-RateLimit-Remaining-video") == "6")

        // Redis gone: fault tolerant by default.
        server.stop()
        let down = Exchange(b, route: "test", path: "/test", time: now)
        #expect(down.status == 0)
        #expect(down.upstream("X-RateLimit-Remaining-video") == nil)
    }
}
