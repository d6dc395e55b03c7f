#if canImport(Glibc)
import Glibc
#endif
import KGatePlugins
import KGateSchema
import Testing

/// The cost of key-auth + rate-limiting per request through the runner (no sockets), as the
/// benchmark route runs them. Opt-in: `KGATE_PLUGIN_BENCH=1 swift test -c release --filter PluginBench`.
@Suite struct PluginBench {
    static var enabled: Bool { Environment.get("KGATE_PLUGIN_BENCH") != nil }

    @Test(.enabled(if: PluginBench.enabled)) func keyAuthAndRateLimiting() throws {
        let runner = try Gate.runner("""
            _format_version: "3.0"
            services:
            - name: bench
              url: http://127.0.0.1:9000
              routes:
              - name: bench
                paths: [/bench]
              plugins:
              - name: key-auth
              - name: rate-limiting
                config: {second: 1000000000, limit_by: consumer}
            consumers:
            - username: bench
              keyauth_credentials: [{key: bench-key}]
            """, registry: PluginRegistry.bundled())
        let routeID = Gate.routeID(runner, "bench")
        let serviceID = runner.database.page.entity("services", endpointKey: "bench")!["id"]!.stringValue!
        let headers: HTTPFields = [
            "Host": "127.0.0.1:8000", "User-Agent": "wrk", "Accept": "*/*", "apikey": "bench-key",
            "Connection": "keep-alive",
        ]
        let upstream: HTTPFields = ["Content-Type": "text/plain", "Content-Length": "2", "Date": "x"]
        let n = 1_000_000
        let clock = ContinuousClock()
        var passed = 0
        let elapsed = clock.measure {
            for _ in 0..<n {
                let request = PluginRequest(
                    method: "GET", host: "127.0.0.1", port: 8000, rawPath: "/bench", path: "/bench", headers: headers,
                    forwardedIP: "127.0.0.1", startTime: 1_700_000_000)
                var ctx = runner.makeContext(request)
                ctx.setRoute(id: routeID, serviceID: serviceID)
                runner.access(&ctx)
                if ctx.exitResponse == nil { passed += 1 }
                runner.headerFilter(&ctx, status: 200, headers: upstream, fromService: true)
                runner.log(&ctx)
            }
        }
        let ns = Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000) / Double(n)
        print("key-auth + rate-limiting: \(Int(ns)) ns/request (\(passed) passed)")
        #expect(passed == n)
    }
}

/// Reads the environment without Foundation.
enum Environment {
    static func get(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
