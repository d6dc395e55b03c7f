import Foundation
import KGateSettings
import KGateTestSupport
import Logging
import Testing

@testable import KGateServer

/// `GET /metrics` (the prometheus plugin's API) on a live node's Admin and Status APIs, and the
/// proxy's requests in `/status` (`spec/03-plugins/26-prometheus/04-status_api_spec.lua`).
@Suite(.serialized)
struct MetricsListenerTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: mock-service
          url: http://127.0.0.1:9
          routes:
          - name: http-route
            paths: [/]
        plugins:
        - name: request-termination
          config: {status_code: 200, message: hi}
        - name: prometheus
          config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}
        upstreams:
        - name: mock-upstream
          targets: [{target: "127.0.0.1:15555"}, {target: "localhost:15556"}]
        """

    private func withNode(
        config: String, plugins: [String] = ["bundled"],
        _ body: (_ proxy: TestHTTPClient, _ admin: TestHTTPClient, _ status: TestHTTPClient?) throws -> Void
    ) async throws {
        let dir = NSTemporaryDirectory() + "kgate-metrics-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let loopback = ListenAddress(host: "127.0.0.1", port: 0)
        var settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [loopback], adminListen: [loopback], statusListen: [loopback],
            declarativeConfigString: config)
        settings.plugins = plugins
        settings.proxyAccessLog = nil
        let node = try Node(settings: settings, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await node.start()
        let task = Task { try await node.run() }
        let proxy = TestHTTPClient(port: try #require(node.boundPorts("proxy").first))
        let admin = TestHTTPClient(port: try #require(node.boundPorts("admin").first))
        let status = node.boundPorts("status").first.map { TestHTTPClient(port: $0) }
        let result = Result { try body(proxy, admin, status) }
        await node.shutdown()
        try await task.value
        try result.get()
    }

    @Test func metricsOnBothAPIs() async throws {
        try await withNode(config: Self.config) { proxy, admin, status in
            for _ in 0..<3 { #expect(try proxy.get("/").status == 200) }
            for client in [admin, try #require(status)] {
                let r = try client.get("/metrics")
                #expect(r.status == 200)
                #expect(r.header("content-type") == "text/plain; charset=UTF-8")
                let lines = Set(r.body.split(separator: "\n").map(String.init))
                #expect(lines.contains(
                    #"kong_http_requests_total{service="mock-service",route="http-route",code="200",source="kong",workspace="default",consumer=""} 3"#))
                #expect(lines.contains(#"kong_kong_latency_ms_bucket{service="mock-service",route="http-route",workspace="default",le="+Inf"} 3"#))
                #expect(lines.contains("kong_datastore_reachable 1"))
                #expect(lines.contains("kong_nginx_metric_errors_total 0"))
                #expect(r.body.contains(#"kong_memory_lua_shared_dict_total_bytes{node_id=""#))
                #expect(r.body.contains(#",shared_dict="prometheus_metrics",kong_subsystem="http"} 5242880"#))
                #expect(lines.contains(
                    #"kong_upstream_target_health{upstream="mock-upstream",target="127.0.0.1:15555",address="127.0.0.1:15555",state="healthchecks_off",subsystem="http"} 1"#))
                // A name the hosts file knows is reported with that file's address.
                #expect(lines.contains(
                    #"kong_upstream_target_health{upstream="mock-upstream",target="localhost:15556",address="127.0.0.1:15556",state="healthchecks_off",subsystem="http"} 1"#))
                #expect(r.body.contains(#"kong_node_info{node_id=""#))
                // The three proxied requests are in nginx's request counter.
                let total = try #require(lines.first { $0.hasPrefix("kong_nginx_requests_total{") })
                #expect((Int(total.split(separator: " ").last ?? "") ?? 0) >= 3)
            }
            #expect(try admin.get("/endpoints").body.contains(#""\/metrics""#))
        }
    }

    /// `/status` counts the proxy's connections and requests, as nginx's `stub_status` counts
    /// every server block.
    @Test func statusCountsProxiedRequests() async throws {
        try await withNode(config: Self.config) { proxy, admin, _ in
            let before = try requests(admin)
            for _ in 0..<4 { _ = try proxy.get("/") }
            // Four proxied requests and the `/status` request itself.
            #expect(try requests(admin) == before + 5)
        }
    }

    /// Without the plugin loaded (`plugins` leaves it out), Kong has no `/metrics`.
    @Test func noMetricsWithoutThePlugin() async throws {
        let config = "_format_version: \"3.0\"\n"
        try await withNode(config: config, plugins: ["key-auth"]) { _, admin, status in
            let status = try #require(status)
            #expect(try admin.get("/metrics").status == 404)
            #expect(try status.get("/metrics").status == 404)
        }
    }

    /// proxy-cache's Admin API (`api.lua`): a stored entry by key, its purge, and the flush.
    @Test func proxyCacheEndpoints() async throws {
        let config = """
            _format_version: "3.0"
            routes:
            - name: cached
              paths: [/]
              plugins:
              - {name: proxy-cache, id: 2f8f1a1e-5c9d-4d7c-9d6b-3a2e1f0c9b8a, config: {strategy: memory}}
              - {name: request-termination, config: {status_code: 200, content_type: text/plain, body: hello}}
            """
        try await withNode(config: config) { proxy, admin, _ in
            let first = try proxy.get("/")
            #expect(first.header("X-Cache-Status") == "Miss")
            let key = try #require(first.header("X-Cache-Key"))
            #expect(try proxy.get("/").header("X-Cache-Status") == "Hit")
            let entry = try admin.get("/proxy-cache/" + key)
            #expect(entry.status == 200)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(entry.body.utf8)) as? [String: Any])
            #expect(json["body"] as? String == "hello")
            #expect(json["status"] as? Int == 200)
            #expect(try admin.get("/proxy-cache/2f8f1a1e-5c9d-4d7c-9d6b-3a2e1f0c9b8a/caches/" + key).status == 200)
            #expect(try admin.request("DELETE", "/proxy-cache/" + key).status == 204)
            #expect(try admin.get("/proxy-cache/" + key).status == 404)
            #expect(try proxy.get("/").header("X-Cache-Status") == "Miss")
            #expect(try admin.request("DELETE", "/proxy-cache").status == 204)
            #expect(try proxy.get("/").header("X-Cache-Status") == "Miss")
        }
    }

    private func requests(_ admin: TestHTTPClient) throws -> Int {
        let body = try admin.get("/status").body
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (json?["server"] as? [String: Any])?["total_requests"] as? Int ?? -1
    }
}
