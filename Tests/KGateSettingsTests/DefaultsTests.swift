import Testing

@testable import KGateSettings

/// `NodeSettings()` is the documented defaults, and resolving no source gives exactly that.
struct DefaultsTests {
    @Test func noSourcesGiveTheDefaults() throws {
        #expect(try settings() == NodeSettings())
        #expect(try NodeSettings.resolve(file: nil, environment: [:], flags: [:]) == NodeSettings())
    }

    @Test func documentedDefaults() {
        let s = NodeSettings()
        #expect(s.prefix == "./kgate-prefix")
        #expect(s.logLevel == .notice)
        #expect(s.plugins == ["bundled"])
        #expect(s.workerProcesses == .auto)
        #expect(s.database == .off)
        #expect(s.declarativeConfig == nil)
        #expect(s.declarativeConfigString == nil)
        #expect(s.declarativeConfigWatch == true)
        #expect(s.declarativeConfigDebounce == 200)
        #expect(s.routerFlavor == .traditionalCompatible)
        #expect(s.headers == ["server_tokens", "latency_tokens", "X-Kong-Request-Id"])
        #expect(s.headersUpstream == ["X-Kong-Request-Id"])
        #expect(s.trustedIPs.isEmpty)
        #expect(s.realIPHeader == "X-Real-IP")
        #expect(s.realIPRecursive == false)
        #expect(s.errorDefaultType == .plain)
        #expect(s.upstreamKeepalivePoolSize == 512)
        #expect(s.upstreamKeepaliveMaxRequests == 10000)
        #expect(s.upstreamKeepaliveIdleTimeout == 60)
        #expect(s.nginxAdminClientMaxBodySize.text == "10m")
        #expect(s.nginxAdminClientMaxBodySize.bytes == 10 * 1024 * 1024)
        #expect(s.adminToken == nil)
        #expect(s.proxyErrorLog == "logs/error.log")
        // kong_defaults.lua: proxy and admin access logs on, the status server's off.
        #expect(s.proxyAccessLog == AccessLogSetting(path: "logs/access.log"))
        #expect(s.adminAccessLog == AccessLogSetting(path: "logs/admin_access.log"))
        #expect(s.statusAccessLog == nil)
        #expect(s.proxyAccessLog?.format(default: .kong) == .kong)
    }

    /// Kong's `nginx_err_logs`: the error log is under the prefix unless its path is absolute.
    @Test func errorLogPath() {
        var s = NodeSettings(prefix: "/srv/kong")
        #expect(s.errorLogPath == "/srv/kong/logs/error.log")
        s.prefix = "servroot/"
        #expect(s.errorLogPath == "servroot/logs/error.log")
        s.proxyErrorLog = "/dev/stderr"
        #expect(s.errorLogPath == "/dev/stderr")
        s.proxyErrorLog = nil
        #expect(s.errorLogPath == nil)
    }

    /// Kong's default listen strings (kong_defaults.lua) parse to the default values and render back.
    @Test(arguments: [
        (
            "proxy_listen",
            "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384",
            NodeSettings.defaultProxyListen
        ),
        (
            "admin_listen",
            "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
            NodeSettings.defaultAdminListen
        ),
        ("status_listen", "127.0.0.1:8007 reuseport backlog=16384", NodeSettings.defaultStatusListen),
    ])
    func kongDefaultListenStrings(property: String, text: String, expected: [ListenAddress]) throws {
        #expect(try ListenAddress.parseList(text, property: property) == expected)
        #expect(expected.map(\.description).joined(separator: ", ") == text)
        #expect(try settings("\(property) = \(text)") == NodeSettings())
    }

    @Test func defaultHeadersExpand() {
        #expect(
            NodeSettings().enabledHeaders == [
                "Server", "Via", "X-Kong-Proxy-Latency", "X-Kong-Response-Latency", "X-Kong-Admin-Latency",
                "X-Kong-Upstream-Latency", "X-Kong-Request-Id",
            ])
        #expect(NodeSettings().sendsRequestIDUpstream)
        #expect(NodeSettings(headersUpstream: []).sendsRequestIDUpstream == false)
    }

    @Test func workerProcessesResolveAgainstCores() {
        #expect(WorkerProcesses.auto.resolved(coreCount: 8) == 8)
        #expect(WorkerProcesses.auto.resolved(coreCount: 0) == 1)
        #expect(WorkerProcesses.count(3).resolved(coreCount: 8) == 3)
    }

    @Test func bundledExpansion() {
        let s = NodeSettings(plugins: ["my-plugin", "bundled", "key-auth"])
        #expect(s.expandingBundledPlugins(["key-auth", "cors"]) == ["my-plugin", "key-auth", "cors"])
    }

    @Test func logLevelsOrderBySeverity() {
        #expect(LogLevel.debug < .notice)
        #expect(LogLevel.emerg > .warn)
        #expect(LogLevel.allCases.map(\.rawValue) == ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"])
    }
}
