@testable import KGatePlugins
import KGateSchema
import Testing

/// Kong's `prometheus` plugin: what a request counts, and the `/metrics` text
/// (`kong/plugins/prometheus/exporter.lua`, `prometheus.lua`).
struct PrometheusTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: s
          url: http://upstream.test:8080
          routes:
          - name: r
            paths: [/r]
        - host: nameless.test
          routes:
          - id: 6f7c1c7e-3a4e-4e55-9c2b-1b2a3c4d5e6f
            paths: [/n]
        consumers:
        - username: alice
          keyauth_credentials:
          - key: k1
        plugins:
        - name: key-auth
          route: r
        - name: prometheus
          config: {per_consumer: @PER@, status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true}
        """

    /// A registry of its own, so that counts from other tests do not mix in.
    private func setup(perConsumer: Bool = false) throws -> (PrometheusPlugin, PluginRunner) {
        let prometheus = PrometheusPlugin()
        let registry = PluginRegistry([prometheus, KeyAuthPlugin()])
        let runner = try Gate.runner(
            Self.config.replacingOccurrences(of: "@PER@", with: String(perConsumer)), registry: registry)
        runner.configure()
        return (prometheus, runner)
    }

    private func served(status: Int, proxyLatency: Int?, source: ServedExchange.Source = .upstream) -> ServedExchange {
        ServedExchange(
            requestURI: "/r", requestSize: 100, upstreamURI: "/r", upstreamStatus: "200", status: status,
            responseHeaders: [:], responseSize: 250, kongLatency: 3, proxyLatency: proxyLatency, receiveLatency: 0,
            requestLatency: 30, tries: [], clientIP: "127.0.0.1", hostPort: 8000, source: source)
    }

    private func log(_ runner: PluginRunner, route: String?, path: String = "/r", served: ServedExchange) {
        var exchange = Exchange(runner, route: route, path: path, headers: ["apikey": "k1"])
        exchange.ctx.served = served
        runner.log(&exchange.ctx)
    }

    private static let node = PrometheusNodeFacts(nodeID: "n-1", version: "3.10.0")

    @Test func countsRequestsPerRouteStatusAndSource() throws {
        let (prometheus, runner) = try setup()
        log(runner, route: "r", served: served(status: 200, proxyLatency: 12))
        log(runner, route: "r", served: served(status: 200, proxyLatency: 12))
        log(runner, route: "r", served: served(status: 503, proxyLatency: nil, source: .kong))
        let text = prometheus.exposition(node: Self.node)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains(#"kong_http_requests_total{service="s",route="r",code="200",source="service",workspace="default",consumer=""} 2"#))
        #expect(lines.contains(#"kong_http_requests_total{service="s",route="r",code="503",source="kong",workspace="default",consumer=""} 1"#))
        #expect(lines.contains(#"kong_bandwidth_bytes{service="s",route="r",direction="ingress",workspace="default",consumer=""} 300"#))
        #expect(lines.contains(#"kong_bandwidth_bytes{service="s",route="r",direction="egress",workspace="default",consumer=""} 750"#))
        // The upstream histogram saw two requests: the third had no upstream latency.
        #expect(lines.contains(#"kong_upstream_latency_ms_count{service="s",route="r",workspace="default"} 2"#))
        #expect(lines.contains(#"kong_upstream_latency_ms_sum{service="s",route="r",workspace="default"} 24"#))
        #expect(lines.contains(#"kong_request_latency_ms_sum{service="s",route="r",workspace="default"} 90"#))
        #expect(lines.contains("kong_nginx_metric_errors_total 0"))
    }

    /// A service without a name is labelled by its host, a route without one by its id; a
    /// request no route matched is not counted.
    @Test func labelsFallBackAndUnroutedRequestsAreLeftOut() throws {
        let (prometheus, runner) = try setup()
        log(runner, route: nil, served: served(status: 404, proxyLatency: nil, source: .kong))
        #expect(prometheus.metrics.snapshot() == PrometheusMetrics.Series())
        var exchange = Exchange(runner, route: nil, path: "/n")
        exchange.ctx.setRoute(
            id: "6f7c1c7e-3a4e-4e55-9c2b-1b2a3c4d5e6f",
            serviceID: runner.database.page.entity("routes", id: "6f7c1c7e-3a4e-4e55-9c2b-1b2a3c4d5e6f")?["service"]?
                .objectValue?["id"]?.stringValue, captures: nil)
        exchange.ctx.served = served(status: 200, proxyLatency: 1)
        runner.log(&exchange.ctx)
        let text = prometheus.exposition(node: Self.node)
        #expect(text.contains(#"kong_http_requests_total{service="nameless.test",route="6f7c1c7e-3a4e-4e55-9c2b-1b2a3c4d5e6f",code="200""#))
    }

    @Test(arguments: [false, true])
    func consumerLabelFollowsPerConsumer(perConsumer: Bool) throws {
        let (prometheus, runner) = try setup(perConsumer: perConsumer)
        log(runner, route: "r", served: served(status: 200, proxyLatency: 1))
        let consumer = perConsumer ? "alice" : ""
        #expect(
            prometheus.exposition(node: Self.node).contains(
                #"kong_http_requests_total{service="s",route="r",code="200",source="service",workspace="default",consumer="\#(consumer)"} 1"#))
    }

    /// Buckets are cumulative, listed only once they count something, in increasing order with
    /// `+Inf` last; then `_count` and `_sum`; one HELP and TYPE per metric.
    @Test func histogramsAsKongWritesThem() throws {
        let (prometheus, runner) = try setup()
        log(runner, route: "r", served: served(status: 200, proxyLatency: 90))
        log(runner, route: "r", served: served(status: 200, proxyLatency: 300))
        let text = prometheus.exposition(node: Self.node)
        let upstream = text.split(separator: "\n").filter { $0.contains("upstream_latency_ms") }.map(String.init)
        let labels = #"service="s",route="r",workspace="default""#
        #expect(
            upstream == [
                "# HELP kong_upstream_latency_ms Latency added by upstream response for each service/route in Kong",
                "# TYPE kong_upstream_latency_ms histogram",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"100\"} 1",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"250\"} 1",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"400\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"700\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"1000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"2000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"5000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"10000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"30000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"60000\"} 2",
                "kong_upstream_latency_ms_bucket{\(labels),le=\"+Inf\"} 2",
                "kong_upstream_latency_ms_count{\(labels)} 2",
                "kong_upstream_latency_ms_sum{\(labels)} 390",
            ])
    }

    /// Stream sessions are counted apart (02-access_spec "increments the count for proxied TCP
    /// streams"): `stream_sessions_total` without a consumer label, `session_duration_ms`.
    @Test func streamSessions() throws {
        let prometheus = PrometheusPlugin()
        let runner = try Gate.runner(
            """
            _format_version: "3.0"
            services:
            - name: tcp-service
              url: tcp://127.0.0.1:9000
              routes:
              - name: tcp-route
                protocols: [tcp]
                destinations: [{port: 19000}]
            plugins:
            - name: prometheus
              protocols: [http, https, grpc, grpcs, tcp, tls]
              config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true}
            """, registry: PluginRegistry([prometheus]))
        runner.configure()
        let route = try #require(runner.database.page["routes"]?.rows.elements.first)
        let session = StreamSession(
            tls: nil, received: 5, sent: 5, status: 200, serverPort: 19000, upstreamReceived: 5, upstreamSent: 5,
            kongLatency: 0, sessionLatency: 40, tries: [.init(ip: "127.0.0.1", port: 9000, balancerStart: 0)],
            clientIP: "127.0.0.1")
        runner.logStream(
            session, route: route.key, service: route.value["service"]?.objectValue?["id"]?.stringValue, startTime: 0)
        let lines = Set(prometheus.exposition(node: Self.node).split(separator: "\n").map(String.init))
        #expect(lines.contains(#"kong_stream_sessions_total{service="tcp-service",route="tcp-route",code="200",source="service",workspace="default"} 1"#))
        #expect(lines.contains(#"kong_session_duration_ms_bucket{service="tcp-service",route="tcp-route",workspace="default",le="50"} 1"#))
        #expect(lines.contains(#"kong_kong_latency_ms_count{service="tcp-service",route="tcp-route",workspace="default"} 1"#))
        #expect(!lines.contains { $0.hasPrefix("kong_bandwidth_bytes") || $0.hasPrefix("kong_http_requests_total{") })
        // With stream listeners, the workers' VMs are reported for the stream subsystem too
        // (02-access_spec "exposes Lua worker VM stats").
        var node = Self.node
        node.workers = [.init(pid: 42, bytes: 1000)]
        node.subsystems = ["http", "stream"]
        let vms = prometheus.exposition(node: node).split(separator: "\n").filter { $0.hasPrefix("kong_memory_workers_lua_vms_bytes") }
        #expect(
            vms == [
                #"kong_memory_workers_lua_vms_bytes{node_id="n-1",pid="42",kong_subsystem="http"} 1000"#,
                #"kong_memory_workers_lua_vms_bytes{node_id="n-1",pid="42",kong_subsystem="stream"} 1000"#,
            ])
    }

    /// Without any prometheus config Kong exports its worker-local gauges only.
    @Test func withoutConfigsOnlyNodeGauges() throws {
        let prometheus = PrometheusPlugin()
        var node = Self.node
        node.connections.accepted = 4
        node.connections.requests = 9
        node.sharedDictionaries = [.init(name: "kong", allocated: 0, capacity: 5 << 20)]
        node.workers = [.init(pid: 42, bytes: 1000)]
        node.targets = { [.init(upstream: "u", target: "10.0.0.1:80", address: "10.0.0.1:80", state: "healthchecks_off")] }
        let text = prometheus.exposition(node: node)
        let expected = """
            # HELP kong_datastore_reachable Datastore reachable from Kong, 0 is unreachable
            # TYPE kong_datastore_reachable gauge
            kong_datastore_reachable 1
            # HELP kong_memory_lua_shared_dict_bytes Allocated slabs in bytes in a shared_dict
            # TYPE kong_memory_lua_shared_dict_bytes gauge
            kong_memory_lua_shared_dict_bytes{node_id="n-1",shared_dict="kong",kong_subsystem="http"} 0
            # HELP kong_memory_lua_shared_dict_total_bytes Total capacity in bytes of a shared_dict
            # TYPE kong_memory_lua_shared_dict_total_bytes gauge
            kong_memory_lua_shared_dict_total_bytes{node_id="n-1",shared_dict="kong",kong_subsystem="http"} 5242880
            # HELP kong_memory_workers_lua_vms_bytes Allocated bytes in worker Lua VM
            # TYPE kong_memory_workers_lua_vms_bytes gauge
            kong_memory_workers_lua_vms_bytes{node_id="n-1",pid="42",kong_subsystem="http"} 1000
            # HELP kong_nginx_connections_total Number of connections by subsystem
            # TYPE kong_nginx_connections_total gauge
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="accepted"} 4
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="active"} 0
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="handled"} 0
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="reading"} 0
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="total"} 9
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="waiting"} 0
            kong_nginx_connections_total{node_id="n-1",subsystem="http",state="writing"} 0
            # HELP kong_nginx_requests_total Number of requests total
            # TYPE kong_nginx_requests_total gauge
            kong_nginx_requests_total{node_id="n-1",subsystem="http"} 9
            # HELP kong_nginx_timers Number of nginx timers
            # TYPE kong_nginx_timers gauge
            kong_nginx_timers{state="pending"} 0
            kong_nginx_timers{state="running"} 0
            # HELP kong_node_info Kong Node metadata information
            # TYPE kong_node_info gauge
            kong_node_info{node_id="n-1",version="3.10.0"} 1

            """
        #expect(text == expected)
    }

    /// `upstream_health_metrics` in any config adds every target's four states.
    @Test func upstreamHealthWhenAnyConfigAsks() throws {
        let prometheus = PrometheusPlugin()
        let registry = PluginRegistry([prometheus])
        let yaml = "_format_version: \"3.0\"\nplugins:\n- name: prometheus\n  config: {upstream_health_metrics: true}\n"
        try Gate.runner(yaml, registry: registry).configure()
        var node = Self.node
        node.targets = { [.init(upstream: "u", target: "10.0.0.1:80", address: "10.0.0.1:80", state: "healthchecks_off")] }
        let lines = prometheus.exposition(node: node).split(separator: "\n").filter { $0.hasPrefix("kong_upstream_target_health") }.map(String.init)
        let prefix = #"kong_upstream_target_health{upstream="u",target="10.0.0.1:80",address="10.0.0.1:80",state="#
        #expect(
            lines == [
                prefix + #""dns_error",subsystem="http"} 0"#, prefix + #""healthchecks_off",subsystem="http"} 1"#,
                prefix + #""healthy",subsystem="http"} 0"#, prefix + #""unhealthy",subsystem="http"} 0"#,
            ])
        // Enabled but nothing counted yet: the error counter, no request series.
        #expect(prometheus.exposition(node: node).contains("kong_nginx_metric_errors_total 0\n"))
    }

    /// A config without prometheus (Kong's `configure(nil)`) stops the request metrics'
    /// export; they come back, with their counts, when a config has the plugin again.
    @Test func reloadWithoutThePluginStopsTheExport() throws {
        let prometheus = PrometheusPlugin()
        let registry = PluginRegistry([prometheus, KeyAuthPlugin()])
        let yaml = Self.config.replacingOccurrences(of: "@PER@", with: "false")
        let runner = try Gate.runner(yaml, registry: registry)
        runner.configure()
        log(runner, route: "r", served: served(status: 200, proxyLatency: 1))
        #expect(prometheus.exposition(node: Self.node).contains("kong_http_requests_total{"))
        try Gate.runner("_format_version: \"3.0\"\n", registry: registry).configure()
        let without = prometheus.exposition(node: Self.node)
        #expect(!without.contains("kong_http_requests_total{"))
        #expect(!without.contains("kong_nginx_metric_errors_total"))
        try Gate.runner(yaml, registry: registry).configure()
        #expect(prometheus.exposition(node: Self.node).contains(#"code="200",source="service",workspace="default",consumer=""} 1"#))
    }

    @Test func labelValuesAreEscaped() {
        #expect(PrometheusExposition.labelText([("a", #"x"y\z"#)]) == #"{a="x\"y\\z"}"#)
        #expect(PrometheusExposition.labelText([]) == "")
    }
}
