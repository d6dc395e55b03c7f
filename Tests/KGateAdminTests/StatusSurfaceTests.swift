import KGateConfig
import KGateSchema
import KGateSettings
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// The Status API as Kong serves it on `status_listen` (`kong/status/init.lua`): the cases of
/// `spec/02-integration/08-status_api/*` that run in DB-less mode.
@Suite struct StatusSurfaceTests {
    static let hash = "0123456789abcdef0123456789abcdef"

    func harness(settings: NodeSettings = NodeSettings()) throws -> AdminHarness {
        try AdminHarness(
            settings: settings, statusBody: { ["configuration_hash": .string(Self.hash)] }, surface: .status)
    }

    /// `02-targets_routes_spec.lua`'s fixtures: four weighted targets, a passive health check
    /// upstream, an empty upstream.
    static let upstreams = """
        _format_version: "3.0"
        upstreams:
        - name: up1
          targets:
          - {target: "api-1:80", weight: 10}
          - {target: "api-2:80", weight: 20}
          - {target: "api-3:80", weight: 30}
          - {target: "api-4:80", weight: 40}
        - name: hcup
          healthchecks: {passive: {healthy: {successes: 1}, unhealthy: {tcp_failures: 1, http_failures: 1, timeouts: 1}}}
          targets:
          - {target: "hc-api-1:80", weight: 10}
        - name: emptyup
        """

    /// `01-core_routes_spec.lua`, `04-config_spec.lua`: `/status` with Kong's `memory` block;
    /// headers as Kong's status server sends them (no CORS filter, no token).
    @Test func statusAsKongsStatusServer() async throws {
        let h = try harness(settings: NodeSettings(adminToken: "s3cret"))
        let r = await h.get("/status")
        #expect(r.status == 200)
        #expect(r["configuration_hash"]?.stringValue == Self.hash)
        #expect(r["memory"]?["lua_shared_dicts"] != nil)
        #expect(r["database"] == nil)
        #expect(r.headers.first(name: "Server") == "kong/3.10.0")
        #expect(r.headers.first(name: "X-Kong-Admin-Latency") != nil)
        #expect(r.headers.first(name: "Access-Control-Allow-Origin") == "*")
        #expect(r.headers.first(name: "Access-Control-Allow-Credentials") == nil)
        #expect(await h.get("/status?unit=z").status == 400)
        #expect(await h.get("/status/").status == 200)
        #expect(await h.send(.HEAD, "/status").status == 200)
        let options = await h.send(.OPTIONS, "/status/ready")
        #expect(options.status == 204)
        #expect(options.headers.first(name: "Allow") == "GET, HEAD, OPTIONS, POST")
    }

    /// Only the status routes: the Admin API's are not there.
    @Test func adminRoutesAreNotServed() async throws {
        let h = try harness()
        await h.load(Self.upstreams)
        for path in ["/", "/config", "/services", "/upstreams", "/upstreams/up1", "/endpoints", "/timers"] {
            #expect(await h.get(path).status == 404, "\(path)")
        }
        #expect(await h.send(.DELETE, "/status").status == 405)
        #expect(await h.get("/robots.txt").body == "User-agent: *\nDisallow: /")
        let dns = await h.get("/status/dns")
        #expect(dns.status == 501)
        #expect(dns.message == "not implemented with the legacy DNS client")
    }

    /// `03-readiness_endpoint_spec.lua`: 503 with no configuration (Kong loads an empty one),
    /// 200 after a valid one, still 200 after an invalid one.
    @Test func readiness() async throws {
        let h = try harness()
        var r = await h.get("/status/ready")
        #expect(r.status == 503)
        #expect(r.message == "no configuration available (empty configuration present)")
        await h.load(#"_format_version: "3.0""#)
        #expect(await h.get("/status/ready").message == "no configuration available (empty configuration present)")
        await h.load(Self.upstreams)
        r = await h.get("/status/ready")
        #expect(r.status == 200)
        #expect(r.body == #"{"message":"ready"}"#)
        await h.load(#"_format"\!@#$"#)
        #expect(await h.get("/status/ready").status == 200)
    }

    /// `17-drain_spec.lua`: `kong drain` posts `{"status":"draining"}`; any other status is a 400
    /// without a body; a body without a content type is refused as Kong's `before_filter` does.
    @Test func draining() async throws {
        let h = try harness()
        await h.load(Self.upstreams)
        #expect(await h.json(.POST, "/status/ready", ["status": "ready"]).status == 400)
        #expect(await h.send(.POST, "/status/ready", body: "status=draining").status == 415)
        #expect(await h.send(.POST, "/status/ready", headers: [("Content-Type", "application/json")], body: "{").status == 400)
        #expect(await h.get("/status/ready").status == 200)
        let drained = await h.json(.POST, "/status/ready", ["status": "draining"])
        #expect(drained.status == 204)
        #expect(drained.body.isEmpty)
        let r = await h.get("/status/ready")
        #expect(r.status == 503)
        #expect(r.body == #"{"message":"draining"}"#)
        await h.load(Fixture.sample)
        #expect(await h.get("/status/ready").status == 503)
    }

    /// `02-targets_routes_spec.lua`: the upstream routes read as on the Admin API; their other
    /// methods are 405, the health-setting routes are absent (404).
    @Test func upstreamRoutes() async throws {
        let h = try harness()
        await h.load(Self.upstreams)
        for suffix in ["", "/"] {
            #expect(await h.get("/upstreams/up1/targets" + suffix).data.count == 4)
            let health = await h.get("/upstreams/up1/health" + suffix)
            #expect(health.data.count == 4)
            #expect(health["node_id"]?.stringValue == "5b7cd4b6-53c4-4f7b-8a0c-6f1f5e8e1a2b")
        }
        #expect(await h.get("/upstreams/emptyup/targets").body.contains(#""data":[]"#))
        #expect(await h.get("/upstreams/emptyup/targets/all").body == #"{"data":[],"next":null}"#)
        #expect(await h.get("/upstreams/up1/targets/all").data.count == 4)
        #expect(await h.get("/upstreams/up1/targets?size=2")["offset"]?.stringValue != nil)
        var offset: String?
        for page in 1...3 {
            let r = await h.get("/upstreams/up1/targets/all?size=2" + (offset.map { "&offset=\($0)" } ?? ""))
            #expect(r.status == 200)
            #expect(r.data.count == (page < 3 ? 2 : 0))
            offset = r["offset"]?.stringValue
            if page < 3 { #expect(offset != nil) }
        }
        #expect(await h.get("/upstreams/up1/targets/all?foo=bar").status == 200)
        #expect(
            await h.send(.GET, "/upstreams/up1/targets/all", headers: [("Content-Type", "application/json")], body: "x")
                .status == 200)
        let target = await h.get("/upstreams/up1/targets/api-1:80")
        #expect(target.status == 200)
        #expect(target["weight"]?.integerValue == 10)

        #expect(await h.json(.POST, "/upstreams/up1/targets/", ["target": "mashape.com"]).status == 405)
        #expect(await h.json(.PATCH, "/upstreams/up1/targets/api-1:80", ["weight": 659]).status == 405)
        #expect(await h.json(.PUT, "/upstreams/up1/targets/api-1:80", ["target": "api-1:80"]).status == 405)
        #expect(await h.send(.DELETE, "/upstreams/up1/targets/api-1:80").status == 405)
        #expect(await h.send(.POST, "/upstreams/up1/targets/api-1:80/unhealthy").status == 404)
        #expect(await h.send(.PUT, "/upstreams/up1/targets/api-1:80/healthy").status == 404)
    }
}
