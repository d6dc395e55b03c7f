import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/24-response-rate-limiting` (`policy: local`): the schema, the usage
/// sent upstream, the counting of what responses spend, and the header_filter refusal.
@Suite struct ResponseRateLimitingTests {
    static let t0: Double = 1_700_000_000

    /// A runner with its own plugin values: counters are per node and keyed by route and
    /// service, which these tests share.
    static func runner(_ yaml: String) throws -> PluginRunner {
        try Gate.runner(yaml, registry: PluginRegistry.bundled())
    }

    static func config(_ plugin: String, auth: Bool = false) -> String {
        """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
          routes:
          - name: test
            paths: [/test]
          plugins:
          - name: response-ratelimiting
            config: \(plugin)
        \(auth ? "  - {name: key-auth, config: {key_names: [apikey]}}" : "")
        consumers:
        - username: Bob
          keyauth_credentials: [{key: bob-key}]
        - username: Ann
          keyauth_credentials: [{key: ann-key}]
        """
    }

    /// One request through access, header_filter (the upstream answering `spent` in
    /// `X-Kong-Limit`, when given) and log.
    static func request(
        _ runner: PluginRunner, spent: [String] = [], headers: HTTPFields = [:], ip: String = "127.0.0.1",
        time: Double = t0
    ) -> (ex: Exchange, response: HTTPFields) {
        var ex = Exchange(runner, route: "test", path: "/test", headers: headers, ip: ip, time: time)
        var upstream: HTTPFields = ["Content-Type": "text/plain"]
        for value in spent { upstream.add("X-Kong-Limit", value) }
        let response = ex.respond(headers: upstream)
        runner.log(&ex.ctx)
        return (ex, response)
    }

    @Test func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: response-ratelimiting\n  config: \(config)\n")
        }
        #expect(load("{limits: {video: {second: 1}}}") == nil)
        #expect(load("{limits: {video: {second: 1, minute: 2, hour: 3, day: 4, month: 5, year: 6}}}") == nil)
        #expect(load("{}")?.contains("in 'limits': required field missing") == true)
        #expect(load("{limits: {}}")?.contains("in 'limits': length must be at least 1") == true)
        #expect(load("{limits: {video: {seco: 1}}}")?.contains("unknown field") == true)
        #expect(load("{limits: {video: {second: null, minute: 1}}}") == nil)
        #expect(load("{limits: {video: {second: 2, minute: 1}}}")?.contains(
            "in 'limits': the limit for minute(1.0) cannot be lower than the limit for second(2.0)") == true)
        #expect(load("{limits: {video: {second: 1, minute: 2, hour: 3, day: 4, month: 6, year: 5}}}")?.contains(
            "the limit for year(5.0) cannot be lower than the limit for month(6.0)") == true)
        #expect(load("{limits: {second: 10}}")?.contains("in 'limits': expected a record") == true)
        #expect(load("{limits: {video: {}}}")?.contains("at least one of these fields must be non-empty") == true)
        #expect(load("{limits: {video: {second: 1}}, policy: cluster}")?.contains("expected one of: local, redis") == true)
        #expect(load("{limits: {video: {second: 1}}, policy: redis}")?.contains("host") == true)
        #expect(load("{limits: {video: {second: 1}}, policy: redis, redis: {host: localhost}}") == nil)
        #expect(load("{limits: {video: {second: 1}}, limit_by: service}")?.contains("expected one of: consumer, credential, ip") == true)
        #expect(load("{limits: {video: {second: 0}}}")?.contains("value must be greater than 0") == true)
        let shorthand = ResponseRateLimitingPlugin.schema.field(named: "config")?.record?.shorthandFields.first
        #expect(shorthand?.notice?.message == "response-ratelimiting: config.redis_host is deprecated, please use config.redis.host instead")
    }

    @Test("spends what the upstream reports, tells upstream what is left, refuses a spent limit in header_filter")
    func spendsAndRefuses() throws {
        let runner = try Self.runner(Self.config("{limit_by: ip, limits: {video: {second: 6, minute: 10}}}"))
        var upstreamSaw: [String?] = []
        var remaining: [String?] = []
        for _ in 0..<3 {
            let (ex, response) = Self.request(runner, spent: ["video=2"])
            #expect(ex.status == 0)
            #expect(ex.ctx.headerFilterExit == nil)
            upstreamSaw.append(ex.upstream("X-RateLimit-Remaining-video"))
            remaining.append(response["X-RateLimit-Remaining-video-second"])
            #expect(response["X-RateLimit-Limit-video-second"] == "6")
            #expect(response["X-RateLimit-Limit-video-minute"] == "10")
            #expect(response["X-Kong-Limit"] == nil)
        }
        #expect(upstreamSaw == ["6", "4", "2"])
        #expect(remaining == ["4", "2", "0"])

        // Nothing left: a response that spends is refused with an empty 429, and not counted.
        let (refused, response) = Self.request(runner, spent: ["video=1"])
        #expect(refused.ctx.headerFilterExit?.status == 429)
        #expect(refused.ctx.response.status == 429)
        #expect(response["Content-Length"] == "0")
        #expect(response["Content-Type"] == "text/plain")
        #expect(response["X-RateLimit-Remaining-video-second"] == "0")
        #expect(response["X-RateLimit-Remaining-video-minute"] == "3")
        // A response that spends nothing still passes.
        let (free, _) = Self.request(runner)
        #expect(free.ctx.headerFilterExit == nil)
        #expect(free.upstream("X-RateLimit-Remaining-video") == "0")
        // The next second's window.
        let (later, laterResponse) = Self.request(runner, spent: ["video=1"], time: Self.t0 + 1)
        #expect(later.ctx.headerFilterExit == nil)
        #expect(laterResponse["X-RateLimit-Remaining-video-second"] == "5")
        #expect(laterResponse["X-RateLimit-Remaining-video-minute"] == "3")
    }

    @Test("several limits in one header or in several; unknown names and bad amounts ignored")
    func parsesIncrements() throws {
        let runner = try Self.runner(Self.config("{limit_by: ip, limits: {video: {minute: 10}, image: {minute: 10}}}"))
        _ = Self.request(runner, spent: ["video=2, image=1, audio=5, bad, x=y=z"])
        _ = Self.request(runner, spent: ["video=1", "image=3"])
        _ = Self.request(runner, spent: ["video=abc, image= 2 "])
        let (ex, response) = Self.request(runner)
        #expect(ex.upstream("X-RateLimit-Remaining-video") == "7")
        #expect(ex.upstream("X-RateLimit-Remaining-image") == "4")
        #expect(response["X-RateLimit-Remaining-image-minute"] == "4")
    }

    @Test("block_on_first_violation refuses in access once any period of a limit has nothing left")
    func blockOnFirstViolation() throws {
        let runner = try Self.runner(
            Self.config("{limit_by: ip, block_on_first_violation: true, limits: {video: {second: 6}, image: {second: 4}}}"))
        _ = Self.request(runner, spent: ["video=2, image=4"])
        let (ex, _) = Self.request(runner, spent: ["video=2"])
        #expect(ex.status == 429)
        #expect(ex.message == "API rate limit exceeded for 'image'")
    }

    @Test("hide_client_headers keeps the limits from the client, not from upstream")
    func hideClientHeaders() throws {
        let runner = try Self.runner(Self.config("{limit_by: ip, hide_client_headers: true, limits: {video: {second: 6}}}"))
        let (ex, response) = Self.request(runner, spent: ["video=1"])
        #expect(response["X-RateLimit-Remaining-video-second"] == nil)
        #expect(response["X-RateLimit-Limit-video-second"] == nil)
        #expect(response["X-Kong-Limit"] == nil)
        #expect(ex.upstream("X-RateLimit-Remaining-video") == "6")
    }

    @Test("counts per consumer, per credential, else per client address; header_name is configurable")
    func identifiers() throws {
        let runner = try Self.runner(
            Self.config("{header_name: x-spent, limits: {video: {minute: 5}}}", auth: true))
        func spend(_ key: String, ip: String = "127.0.0.1") -> String? {
            var ex = Exchange(runner, route: "test", path: "/test", headers: ["apikey": key], ip: ip, time: Self.t0)
            _ = ex.respond(headers: ["X-Spent": "video=2", "X-Kong-Limit": "video=5"])
            runner.log(&ex.ctx)
            return ex.ctx.response.headers["X-RateLimit-Remaining-video-minute"]
        }
        #expect(spend("bob-key") == "3")
        #expect(spend("bob-key", ip: "10.0.0.1") == "1")
        #expect(spend("ann-key") == "3")

        let byIP = try Self.runner(Self.config("{limit_by: credential, limits: {video: {minute: 5}}}"))
        let (first, _) = Self.request(byIP, spent: ["video=2"], ip: "10.0.0.1")
        let (other, _) = Self.request(byIP, spent: ["video=2"], ip: "10.0.0.2")
        let (again, _) = Self.request(byIP, ip: "10.0.0.1")
        #expect(first.upstream("X-RateLimit-Remaining-video") == "5")
        #expect(other.upstream("X-RateLimit-Remaining-video") == "5")
        #expect(again.upstream("X-RateLimit-Remaining-video") == "3")
    }

    @Test("an exit in header_filter ends the phase: later plugins' header_filter do not run")
    func exitEndsHeaderFilter() throws {
        let runner = try Self.runner(
            """
            _format_version: "3.0"
            services:
            - name: svc
              url: http://upstream
              routes:
              - name: test
                paths: [/test]
              plugins:
              - name: response-ratelimiting
                config: {limit_by: ip, limits: {video: {minute: 1}}}
              - name: response-transformer
                config: {add: {headers: ["X-Added:yes"]}}
            """)
        let (passed, passedResponse) = Self.request(runner, spent: ["video=1"])
        #expect(passed.ctx.headerFilterExit == nil)
        #expect(passedResponse["X-Added"] == "yes")
        let (refused, refusedResponse) = Self.request(runner, spent: ["video=1"])
        #expect(refused.ctx.headerFilterExit == PluginExit(status: 429))
        #expect(refusedResponse["X-Added"] == nil)
        #expect(refusedResponse["Content-Length"] == "0")
    }
}
