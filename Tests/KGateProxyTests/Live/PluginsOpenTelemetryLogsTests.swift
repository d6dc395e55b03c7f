import KGateSettings
import KGateTestSupport
import Testing

/// opentelemetry's `logs_endpoint` through the proxy, after Kong's
/// spec/03-plugins/37-opentelemetry/04-exporter_spec.lua: what a post-function logs with
/// `kong.log` and `ngx.log` reaches a collector as OTLP/HTTP logs, with the request's id, where
/// the code logged, and the request's trace.
@Suite("Plugins live: opentelemetry logs", .serialized)
struct PluginsOpenTelemetryLogsTests {
    static let accessBody = """
        kong.log.info("this is a log from kong.log");
        ngx.log(ngx.INFO, "this is a log from ngx.log")
        """

    @Test("kong.log and ngx.log lines are exported with request.id, introspection and the trace id")
    func exportsLogs() async throws {
        try await withUpstreams(["api", "collector"]) { ups in
            let (api, collector) = (ups[0], ups[1])
            let code = Self.accessBody.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            let yaml = """
                _format_version: "3.0"
                services:
                - url: http://127.0.0.1:\(api.port)
                  routes:
                  - hosts: [logs.test]
                    plugins:
                    - name: opentelemetry
                      config:
                        traces_endpoint: "http://127.0.0.1:\(collector.port)/v1/traces"
                        logs_endpoint: "http://127.0.0.1:\(collector.port)/v1/logs"
                        queue: {max_coalescing_delay: 0.05}
                    - name: post-function
                      config:
                        access: ["\(code)"]
                  - hosts: [quiet.test]
                    plugins:
                    - name: opentelemetry
                      config:
                        logs_endpoint: "http://127.0.0.1:\(collector.port)/v1/logs"
                        queue: {max_coalescing_delay: 0.05}
                    - name: post-function
                      config:
                        access: ["kong.log.debug('below the log level')"]
                """
            var settings = NodeSettings()
            settings.logLevel = .info
            // As Kong's "exports valid logs with tracing": spans are recorded and sampled.
            settings.tracingInstrumentations = ["all"]
            settings.tracingSamplingRate = 1
            try await withProxy(yaml, settings: settings) { proxy in
                let traceID = "92a54b3e1a7c4f2da9e44b8a6f3e1dab"
                let r = try await proxy.get("/echo", host: "logs.test", headers: [("traceparent", "00-\(traceID)-0123456789abcdef-01")])
                #expect(r.status == 200)
                let requestID = try #require(r.header("X-Kong-Request-Id"))
                _ = try await proxy.get("/echo", host: "quiet.test")
                var records: [OTLPLogRecord] = []
                _ = await waitUntil {
                    records = collector.requests.filter { $0.head.uri == "/v1/logs" }
                        .flatMap { (try? OTLPLogsRequest($0.body).records) ?? [] }
                    return records.count >= 2
                }
                let logs = records.filter { $0.body.hasPrefix("this is a log") }
                #expect(logs.count == 2)
                for log in logs {
                    let fromKongLog = log.body.hasSuffix("kong.log")
                    #expect(log.attribute("request.id") == .string(requestID))
                    #expect(log.attribute("introspection.source") == .string(Self.accessBody))
                    #expect(log.attribute("introspection.current.line") == .double(fromKongLog ? 1 : 2))
                    #expect(log.severityNumber == 9 && log.severityText == "INFO")
                    #expect(log.timeNanos > 0 && log.observedTimeNanos == log.timeNanos)
                    #expect(log.traceID.map { $0.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() } == traceID)
                    #expect(log.spanID?.count == 8)
                    #expect(log.flags == 1)
                }
                #expect(!records.contains { $0.body == "below the log level" })
                let request = try #require(collector.requests.first { $0.head.uri == "/v1/logs" })
                #expect(request.head.headers["Content-Type"] == ["application/x-protobuf"])
                #expect(try OTLPLogsRequest(request.body).scopeName == "kong-internal")
            }
        }
    }
}
