@testable import KGatePlugins
import KGateSchema
import Testing

/// Kong's `datadog` datagrams (`kong/plugins/datadog/handler.lua`, `statsd_logger.lua`).
struct DatadogTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: billing.v1
          url: http://upstream.test:8080
          routes:
          - name: r
            paths: [/r]
        consumers:
        - id: 0b4b5d6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f
          username: alice
          keyauth_credentials:
          - key: k1
        plugins:
        - name: key-auth
          route: r
        - name: datadog
          config:
            prefix: kong
            consumer_tag: user
            metrics:
            - {name: request_count, stat_type: counter, sample_rate: 0.5, consumer_identifier: username, tags: ["team:a", "x"]}
            - {name: upstream_latency, stat_type: distribution, consumer_identifier: consumer_id}
            - {name: response_size, stat_type: gauge, sample_rate: 1, consumer_identifier: custom_id}
        """

    /// The datagrams of one request, unpacked from the queue entry.
    private func datagrams(served: ServedExchange) throws -> [String] {
        let plugin = DatadogPlugin()
        let runner = try Gate.runner(Self.config, registry: PluginRegistry([plugin, KeyAuthPlugin()]))
        var exchange = Exchange(runner, route: "r", path: "/r", headers: ["apikey": "k1"])
        exchange.ctx.served = served
        let row = try #require(runner.database.page["plugins"]?.rows.values.first { $0["name"] == "datadog" })
        let config = try plugin.makeConfig(
            try #require(row["config"]?.objectValue), scope: PluginScope(id: "p1", name: "datadog"))
        return StatsdLines.unpack(DatadogPlugin.datagrams(config, exchange.ctx)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func datagramsAsKongSendsThem() throws {
        let served = ServedExchange(
            requestURI: "/r", requestSize: 80, upstreamURI: "/r", upstreamStatus: "", status: 502,
            responseHeaders: [:], responseSize: 321, kongLatency: 2, proxyLatency: nil, receiveLatency: 0,
            requestLatency: 9, tries: [], clientIP: "127.0.0.1", hostPort: 8000, source: .kong)
        #expect(
            try datagrams(served: served) == [
                "kong.request.count:1|c|@0.5|#name:billing_v1,status:502,user:alice,team:a,x",
                "kong.upstream_latency:-1|d|#name:billing_v1,status:502,user:0b4b5d6c_1a2b_4c3d_8e9f_0a1b2c3d4e5f",
                // alice has no custom_id: no consumer tag.
                "kong.response.size:321|g|#name:billing_v1,status:502",
            ])
    }
}
