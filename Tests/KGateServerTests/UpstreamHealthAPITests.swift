import Foundation
import KGateSettings
import KGateTestSupport
import Logging
import Testing

@testable import KGateServer

/// The balancer's health on a live node's Admin and Status APIs: `GET /upstreams/{u}/health`
/// and `PUT .../targets/{t}/healthy|unhealthy` (Kong's `07-upstreams_routes_spec`,
/// `08-targets_routes_spec`), and the proxy following what was set.
@Suite(.serialized)
struct UpstreamHealthAPITests {
    static let config = """
        _format_version: "3.0"
        upstreams:
        - name: pool
          healthchecks:
            passive:
              unhealthy:
                tcp_failures: 5
          targets: [{target: "127.0.0.1:9"}]
        - name: plain
          targets: [{target: "127.0.0.1:10"}]
        - name: six
          healthchecks:
            passive:
              unhealthy:
                tcp_failures: 5
          targets: [{target: "::1"}, {target: "[::1]:81"}]
        - name: idle
          healthchecks:
            passive:
              unhealthy:
                tcp_failures: 5
          targets: [{target: "127.0.0.1:2221", weight: 0}, {target: "localhost:2222", weight: 0}]
        services:
        - host: pool
          routes:
          - paths: [/]
        plugins:
        - name: prometheus
          config: {upstream_health_metrics: true}
        """

    @Test func setAndReadTargetHealth() async throws {
        let dir = NSTemporaryDirectory() + "kgate-health-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let loopback = ListenAddress(host: "127.0.0.1", port: 0)
        var settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [loopback], adminListen: [loopback], statusListen: [loopback],
            declarativeConfigString: Self.config)
        settings.proxyAccessLog = nil
        let node = try Node(settings: settings, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await node.start()
        let task = Task { try await node.run() }
        let result = Result {
            let proxy = TestHTTPClient(port: try #require(node.boundPorts("proxy").first))
            let admin = TestHTTPClient(port: try #require(node.boundPorts("admin").first))
            let status = TestHTTPClient(port: try #require(node.boundPorts("status").first))

            var health = try admin.get("/upstreams/pool/health").body
            #expect(health.contains(#""health":"HEALTHY""#))
            #expect(health.contains(#""addresses":[{"#))
            #expect(try admin.get("/upstreams/plain/health").body.contains(#""health":"HEALTHCHECKS_OFF""#))

            let put = try admin.request("PUT", "/upstreams/pool/targets/127.0.0.1:9/unhealthy")
            #expect(put.status == 204, Comment(rawValue: put.body))
            for client in [admin, status] {
                health = try client.get("/upstreams/pool/health").body
                #expect(health.contains(#""health":"UNHEALTHY""#))
            }
            // prometheus reports the address's state as Kong's exporter does.
            let metrics = try admin.get("/metrics").body
            #expect(metrics.contains(
                #"kong_upstream_target_health{upstream="pool",target="127.0.0.1:9",address="127.0.0.1:9",state="unhealthy",subsystem="http"} 1"#))
            #expect(metrics.contains(
                #"kong_upstream_target_health{upstream="pool",target="127.0.0.1:9",address="127.0.0.1:9",state="healthy",subsystem="http"} 0"#))
            let balancer = try admin.get("/upstreams/pool/health?balancer_health=1").body
            #expect(balancer.contains(#""balancer_health":"UNHEALTHY""#))
            #expect(balancer.contains(#""health":"UNHEALTHY""#))
            let refused = try proxy.get("/")
            #expect(refused.status == 503)
            #expect(refused.body.contains("failure to get a peer from the ring-balancer"))

            #expect(try admin.request("PUT", "/upstreams/pool/targets/127.0.0.1:9/127.0.0.1:9/healthy").status == 204)
            #expect(try admin.get("/upstreams/pool/health").body.contains(#""health":"HEALTHY""#))
            #expect(try proxy.get("/").status == 502)  // tried again: nothing listens there

            let off = try admin.request("PUT", "/upstreams/plain/targets/127.0.0.1:10/unhealthy")
            #expect(off.status == 400)
            #expect(off.body.contains("no healthchecker found for plain"))
            #expect(try admin.request("PUT", "/upstreams/pool/targets/10.9.9.9:1/unhealthy").status == 404)
            // IPv6 targets, with and without a port, are shown and found as Kong formats them.
            let six = try admin.get("/upstreams/six/health").body
            let loopback = "[0000:0000:0000:0000:0000:0000:0000:0001]"
            #expect(six.contains(#""target":"\#(loopback):8000""#), Comment(rawValue: six))
            #expect(six.contains(#""target":"\#(loopback):81""#), Comment(rawValue: six))
            #expect(!six.contains("DNS_ERROR"), Comment(rawValue: six))
            // Kong's balancer names an IPv6 target in brackets.
            #expect(six.contains(#""host":"\#(loopback)""#), Comment(rawValue: six))
            #expect(try admin.request("PUT", "/upstreams/six/targets/[::1]:81/unhealthy").status == 404)
            #expect(try admin.request("PUT", "/upstreams/six/targets/\(loopback):81/unhealthy").status == 204)
            let sixAfter = try admin.get("/upstreams/six/health").body
            #expect(sixAfter.contains(#""health":"UNHEALTHY""#) && sixAfter.contains(#""health":"HEALTHY""#), Comment(rawValue: sixAfter))
            // Kong's exporter labels an address `ip:port`, an IPv6 one without brackets.
            let sixMetrics = try admin.get("/metrics").body
            #expect(sixMetrics.contains(
                #"kong_upstream_target_health{upstream="six",target="::1",address="::1:8000",state="healthy",subsystem="http"} 1"#),
                Comment(rawValue: sixMetrics))
            #expect(sixMetrics.contains(
                #"kong_upstream_target_health{upstream="six",target="[::1]:81",address="::1:81",state="unhealthy",subsystem="http"} 1"#))
            // Kong's balancer keeps targets of weight 0 (never picked): their addresses are
            // shown with health checks off (08-targets_routes_spec "returns HEALTHCHECKS_OFF
            // for target with weight 0"), the name's once resolved.
            var idle = ""
            for _ in 0..<100 {
                idle = try admin.get("/upstreams/idle/health").body
                if !idle.contains("DNS_ERROR") { break }
                usleep(20_000)
            }
            #expect(!idle.contains("DNS_ERROR") && !idle.contains(#""HEALTHY""#), Comment(rawValue: idle))
            #expect(idle.contains(#""ip":"127.0.0.1""#) && idle.contains(#""port":2221"#) && idle.contains(#""port":2222"#))
            #expect(idle.components(separatedBy: #""health":"HEALTHCHECKS_OFF""#).count - 1 >= 4, Comment(rawValue: idle))
            // The Status API only reads.
            #expect(try status.request("PUT", "/upstreams/pool/targets/127.0.0.1:9/unhealthy").status != 204)
        }
        await node.shutdown()
        try await task.value
        try result.get()
    }
}
