@testable import KGatePlugins
import KGateSchema
import Testing

/// Kong's `statsd` lines (`kong/plugins/statsd/log.lua`, `statsd_logger.lua`), as
/// `spec/03-plugins/06-statsd/01-log_spec.lua` expects them.
struct StatsdTests {
    static func config(_ pluginConfig: String) -> String {
        """
        _format_version: "3.0"
        services:
        - name: statsd1.v2
          url: http://upstream.test:8080
          routes:
          - name: r
            paths: [/r]
        consumers:
        - id: 0b4b5d6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f
          username: robert
          custom_id: robert
          keyauth_credentials:
          - key: k1
        plugins:
        - name: key-auth
          route: r
        - name: statsd
          config: \(pluginConfig)
        """
    }

    static let served = ServedExchange(
        requestURI: "/r", requestSize: 80, upstreamURI: "/r", upstreamStatus: "200", status: 200,
        responseHeaders: [:], responseSize: 321, kongLatency: 2, proxyLatency: 5, receiveLatency: 0,
        requestLatency: 9, tries: [], clientIP: "127.0.0.1", hostPort: 8000, source: .upstream)

    /// The lines one request makes, or nil when its status is not allowed.
    private func lines(
        _ pluginConfig: String, served: ServedExchange = Self.served, route: String? = "r"
    ) throws -> (plugin: StatsdPlugin, lines: [String], routeID: String) {
        let plugin = StatsdPlugin()
        let runner = try Gate.runner(Self.config(pluginConfig), registry: PluginRegistry([plugin, KeyAuthPlugin()]))
        var exchange = Exchange(runner, route: route, path: "/r", headers: ["apikey": "k1"])
        exchange.ctx.served = served
        let row = try #require(runner.database.page["plugins"]?.rows.values.first { $0["name"] == "statsd" })
        let config = try plugin.makeConfig(try #require(row["config"]?.objectValue), scope: PluginScope(id: "p1", name: "statsd"))
        return (plugin, plugin.lines(config, exchange.ctx, now: 1_700_000_000), Gate.routeID(runner, "r"))
    }

    @Test func defaultMetricsWithScopes() throws {
        let (plugin, lines, routeID) = try lines("{host: 127.0.0.1, port: 8125}")
        let workspace = LogSerializer.workspaceID
        let scope = "kong.service.statsd1_v2"
        let expected = [
            "\(scope).request.count:1|c", "\(scope).latency:9|ms", "\(scope).request.size:80|c",
            "\(scope).status.200:1|c", "\(scope).response.size:321|c", "\(scope).user.uniques:robert|s",
            "\(scope).user.robert.request.count:1|c", "\(scope).upstream_latency:5|ms", "\(scope).kong_latency:2|ms",
            "\(scope).user.robert.status.200:1|c", "\(scope).workspace.\(workspace).status.200:1|c",
            "kong.route.\(routeID).user.robert.status.200:1|c",
        ]
        #expect(Array(lines.prefix(expected.count)) == expected)
        // shdict_usage: the node's dictionaries, two gauges each.
        let shdict = lines.dropFirst(expected.count)
        #expect(shdict.count == plugin.sharedDictionaries.count * 2)
        #expect(shdict.first == "kong.node.\(plugin.hostname).shdict.kong.free_space:5242880|g")
    }

    /// With a tag style the plain metrics carry tags; the per-scope counters are left out.
    @Test(arguments: [
        ("dogstatsd", "kong.request.count:1|c|#service:statsd1.v2,route:r,workspace:WS,consumer:robert,node:NODE,status:200"),
        ("influxdb", "kong.request.count,service=statsd1.v2,route=r,workspace=WS,consumer=robert,node=NODE,status=200:1|c"),
        ("librato", "kong.request.count#service=statsd1.v2,route=r,workspace=WS,consumer=robert,node=NODE,status=200:1|c"),
        ("signalfx", "kong.request.count[service=statsd1.v2,route=r,workspace=WS,consumer=robert,node=NODE,status=200]:1|c"),
    ])
    func tagStyles(style: String, first: String) throws {
        let (plugin, lines, _) = try lines(
            "{host: 127.0.0.1, tag_style: \(style), metrics: [{name: request_count, stat_type: counter, sample_rate: 1}, "
                + "{name: status_count, stat_type: counter, sample_rate: 1}, {name: upstream_latency, stat_type: timer}]}")
        let expected = first.replacingOccurrences(of: "WS", with: LogSerializer.workspaceID)
            .replacingOccurrences(of: "NODE", with: plugin.hostname)
        #expect(lines.count == 2)
        #expect(lines.first == expected)
    }

    @Test func sampleRatesIdentifiersAndSkippedValues() throws {
        let served = ServedExchange(
            requestURI: "/r", requestSize: 80, upstreamURI: "", upstreamStatus: "", status: 401, responseHeaders: [:],
            responseSize: 10, kongLatency: 1, proxyLatency: nil, receiveLatency: 0, requestLatency: 1, tries: [],
            clientIP: "127.0.0.1", hostPort: 8000, source: .kong)
        let (_, lines, _) = try lines(
            "{host: 127.0.0.1, prefix: p, hostname_in_prefix: false, service_identifier_default: service_id, "
                + "metrics: [{name: request_count, stat_type: counter, sample_rate: 0.25}, "
                + "{name: request_per_user, stat_type: counter, sample_rate: 1, consumer_identifier: consumer_id}, "
                + "{name: upstream_latency, stat_type: timer}]}",
            served: served)
        // upstream_latency is -1 when nothing was proxied: not sent.
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("p.service.") && lines[0].hasSuffix(".request.count:1|c|@0.25"))
        #expect(lines[1].hasSuffix(".user.0b4b5d6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f.request.count:1|c"))
    }

    @Test func unmatchedRequestsAreGlobal() throws {
        let (_, lines, _) = try lines(
            "{host: 127.0.0.1, metrics: [{name: request_count, stat_type: counter, sample_rate: 1}]}", route: nil)
        #expect(lines == ["kong.global.unmatched.request.count:1|c"])
    }

    @Test func statusRanges() {
        #expect(StatsdPlugin.statusRange("200-299") == 200...299)
        // Kong's unanchored `(\d\d\d)-(\d\d\d)` finds `000-300` in this one.
        #expect(StatsdPlugin.statusRange("2000-3000") == 0...300)
        #expect(StatsdPlugin.statusRange("abc") == nil)
    }

    /// With `udp_packet_size`, lines share packets joined by newlines; over TCP each ends
    /// with one.
    @Test func packets() {
        let lines = ["aaaa", "bbbb", "cccc", "dddddddddddd"].map { Array($0.utf8) }
        let udp = StatsdPlugin.packets(lines, .udp, packetSize: 10).map { String(decoding: $0, as: UTF8.self) }
        #expect(udp == ["aaaa\nbbbb", "cccc", "dddddddddddd"])
        #expect(StatsdPlugin.packets(lines, .udp, packetSize: 0).count == 4)
        let tcp = StatsdPlugin.packets(lines, .tcp(tls: false, serverName: nil), packetSize: 10)
        #expect(tcp.first == Array("aaaa\n".utf8))
    }
}
