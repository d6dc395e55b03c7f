import Synchronization
import Testing

@testable import KGatePlugins

/// Kong's `syslog`: the severity by status class, the `log_level` threshold, the facility.
struct SyslogTests {
    final class Sent: Sendable {
        let messages = Mutex<[(Int32, String)]>([])
    }

    @Test func severityByStatusAboveTheLevel() throws {
        let sent = Sent()
        let plugin = SyslogPlugin { priority, message in sent.messages.withLock { $0.append((priority, message)) } }
        let registry = PluginRegistry(BundledPluginSet.all().filter { type(of: $0).name != "syslog" } + [plugin])
        let runner = try Gate.runner(
            """
            _format_version: "3.0"
            services:
            - name: s
              url: http://upstream.test
              routes:
              - name: r
                paths: [/r]
            plugins:
            - name: syslog
              config:
                log_level: warning
                successful_severity: info
                client_errors_severity: warning
                server_errors_severity: crit
                facility: local3
            """, registry: registry)
        for status in [200, 404, 503] {
            var exchange = Exchange(runner, route: "r", path: "/r")
            exchange.ctx.served = ServedExchange(
                requestURI: "/r", requestSize: 10, upstreamURI: "/", upstreamStatus: String(status), status: status,
                responseHeaders: [:], responseSize: 10, kongLatency: 0, proxyLatency: 0, receiveLatency: 0,
                requestLatency: 0, tries: [], clientIP: "127.0.0.1", hostPort: 8000, source: .upstream)
            runner.log(&exchange.ctx)
        }
        let messages = sent.messages.withLock { $0 }
        // info (200) is below `warning`: not sent.
        #expect(messages.map(\.0) == [(19 << 3) | 4, (19 << 3) | 2])
        #expect(messages.first?.1.contains(#""status":404"#) == true)
    }
}
