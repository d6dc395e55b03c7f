import Foundation
import Testing

/// opentelemetry's trace context propagation through the proxy, against Kong's spec
/// (spec/03-plugins/37-opentelemetry/03-propagation_spec.lua, `tracing_instrumentations = off`:
/// no span is sampled, so the sampled flags sent upstream are `00` / `0`), with the
/// plugins configured the old way (`header_type`) and the new way (`propagation`).
@Suite("Plugins live: opentelemetry propagation", .serialized)
struct PluginsOpenTelemetryTests {
    private static let endpoint = "traces_endpoint: http://localhost:8080/v1/traces"
    private static let allFormats = "[b3, w3c, jaeger, ot, datadog, aws, gcp, instana]"

    /// The routes of Kong's spec, by host, with the config of each style.
    private static let routes: [(host: String, old: String, new: String)] = [
        ("http-route", "", "propagation: {extract: \(allFormats), inject: [preserve], default_format: w3c}"),
        ("http-route-ignore", "header_type: ignore", "propagation: {extract: [], inject: [preserve], default_format: w3c}"),
        ("http-route-w3c", "header_type: w3c", "propagation: {extract: \(allFormats), inject: [preserve, w3c], default_format: w3c}"),
        ("http-route-dd", "header_type: datadog", "propagation: {extract: \(allFormats), inject: [preserve, datadog], default_format: datadog}"),
        ("http-route-b3-single", "header_type: b3-single", "propagation: {extract: \(allFormats), inject: [preserve, b3-single], default_format: w3c}"),
        ("http-route-ins", "header_type: instana", "propagation: {extract: \(allFormats), inject: [preserve, instana], default_format: instana}"),
        ("http-no-preserve-route", "header_type: preserve",
         "header_type: preserve, propagation: {extract: [b3], inject: [w3c], default_format: w3c}"),
        ("http-clear-route", "header_type: preserve",
         "propagation: {extract: [w3c, ot], inject: [preserve], clear: [ot-tracer-traceid, ot-tracer-spanid, ot-tracer-sampled], default_format: b3}"),
    ]

    /// One service on `port` with routes by host, each with its plugins (name, config).
    private static func serviceYAML(_ port: Int, _ routes: [(host: String, plugins: [(String, String)])]) -> String {
        var out = "_format_version: \"3.0\"\nservices:\n- url: http://127.0.0.1:\(port)\n  routes:\n"
        for route in routes {
            out += "  - hosts: [\(route.host)]\n    plugins:\n"
            for (name, config) in route.plugins { out += "    - name: \(name)\n      config: {\(config)}\n" }
        }
        return out
    }

    private static func yaml(_ port: Int, new: Bool) -> String {
        serviceYAML(port, routes.map { route in
            (route.host, [("opentelemetry", [endpoint, new ? route.new : route.old].filter { !$0.isEmpty }.joined(separator: ", "))])
        })
    }

    private static func hex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    private func run(new: Bool, _ body: (ProxyHarness) async throws -> Void) async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(Self.yaml(ups[0].port, new: new)) { proxy in try await body(proxy) }
        }
    }

    private func echoed(_ proxy: ProxyHarness, _ host: String, _ headers: [(String, String)] = []) async throws -> EchoedRequest {
        let r = try await proxy.get("/echo", host: host, headers: headers)
        #expect(r.status == 200)
        return EchoedRequest(r)
    }

    @Test("the spec's propagation cases, old and new configs", arguments: [false, true])
    func propagation(new: Bool) async throws {
        try await run(new: new) { proxy in
            // Default: a new w3c trace.
            let plain = try await echoed(proxy, "http-route")
            let traceparent = try #require(plain.header("traceparent"))
            #expect(traceparent.wholeMatch(of: /00-[0-9a-f]{32}-[0-9a-f]{16}-00/) != nil)

            // b3 multi headers.
            let trace = Self.hex(16)
            let b3 = try await echoed(proxy, "http-route", [("x-b3-sampled", "1"), ("x-b3-traceid", trace)])
            #expect(b3.header("x-b3-traceid") == trace)
            #expect(b3.header("x-b3-sampled") == "0")

            // b3 single header, with and without parent, and sampled off.
            let span = Self.hex(8)
            let parent = Self.hex(8)
            let single = try await echoed(proxy, "http-route", [("b3", "\(trace)-\(span)-1-\(parent)")])
            let singleOut = try #require(single.header("b3"))
            #expect(singleOut.wholeMatch(of: try Regex("\(trace)-[0-9a-f]{16}-0-\(span)")) != nil)
            let noParent = try await echoed(proxy, "http-route", [("b3", "\(trace)-\(span)-1")])
            #expect(noParent.header("b3")?.hasPrefix("\(trace)-") == true)
            #expect(noParent.header("b3")?.hasSuffix("-0-\(span)") == true)
            let off = try await echoed(proxy, "http-route", [("b3", "\(trace)-\(span)-0")])
            #expect(off.header("b3")?.contains("-0") == true)

            // w3c in, w3c out, in the same trace with the incoming span as parent.
            let w3c = try await echoed(proxy, "http-route", [("traceparent", "00-\(trace)-\(parent)-01")])
            let w3cOut = try #require(w3c.header("traceparent"))
            #expect(w3cOut.hasPrefix("00-\(trace)-") && w3cOut.hasSuffix("-00"))
            #expect(!w3cOut.contains(parent))

            // ignore: always a new w3c trace.
            for headers in [[("traceparent", "00-\(trace)-\(parent)-01")], [("x-b3-sampled", "1"), ("x-b3-traceid", trace)]] {
                let ignored = try await echoed(proxy, "http-route-ignore", headers)
                let out = try #require(ignored.header("traceparent"))
                #expect(!out.contains(trace))
            }

            // header_type w3c (preserve + w3c).
            let w3cRoute = try await echoed(proxy, "http-route-w3c", [("traceparent", "00-\(trace)-\(parent)-01")])
            #expect(w3cRoute.header("traceparent")?.hasPrefix("00-\(trace)-") == true)
            let both = try await echoed(proxy, "http-route-w3c", [("b3", "\(trace)-\(span)-0-\(parent)")])
            #expect(both.header("traceparent")?.hasPrefix("00-\(trace)-") == true)
            let bothB3 = try #require(both.header("b3"))
            #expect(bothB3 != "\(trace)-\(span)-0-\(parent)")
            #expect(bothB3.wholeMatch(of: try Regex("\(trace)-[0-9a-f]{16}-0-\(span)")) != nil)

            // header_type b3-single.
            let singleRoute = try await echoed(proxy, "http-route-b3-single", [("b3", "\(trace)-\(span)-0-\(parent)")])
            #expect(singleRoute.header("b3")?.wholeMatch(of: try Regex("\(trace)-[0-9a-f]{16}-0-\(span)")) != nil)

            // jaeger.
            let jaeger = try await echoed(proxy, "http-route", [("uber-trace-id", "\(trace):\(span):\(parent):1")])
            #expect(jaeger.header("uber-trace-id")?.wholeMatch(of: try Regex("\(trace):[0-9a-f]{16}:\(span):00")) != nil)

            // ot.
            let ot = try await echoed(
                proxy, "http-route", [("ot-tracer-traceid", trace), ("ot-tracer-spanid", span), ("ot-tracer-sampled", "1")])
            #expect(ot.header("ot-tracer-traceid") == trace)
            #expect(ot.header("ot-tracer-sampled") == "0")

            // instana.
            let instana = try await echoed(proxy, "http-route-ins", [("x-instana-t", trace), ("x-instana-s", span)])
            #expect(instana.header("x-instana-t") == trace)

            // datadog, with and without incoming headers.
            let datadog = try await echoed(proxy, "http-route", [("x-datadog-trace-id", "1234567890")])
            #expect(datadog.header("x-datadog-trace-id") == "1234567890")
            #expect(datadog.header("x-datadog-parent-id").flatMap { UInt64($0) } != nil)
            let newDatadog = try await echoed(proxy, "http-route-dd")
            #expect(newDatadog.header("x-datadog-trace-id").flatMap { UInt64($0) } != nil)
            #expect(newDatadog.header("x-datadog-parent-id").flatMap { UInt64($0) } != nil)

            guard new else { return }
            // clear: extracted from w3c, the ot headers removed.
            let cleared = try await echoed(
                proxy, "http-clear-route",
                [("traceparent", "00-\(trace)-\(parent)-01"), ("ot-tracer-traceid", trace), ("ot-tracer-spanid", parent), ("ot-tracer-sampled", "1")])
            #expect(cleared.header("traceparent")?.hasPrefix("00-\(trace)-") == true)
            #expect(cleared.header("ot-tracer-traceid") == nil)
            #expect(cleared.header("ot-tracer-spanid") == nil)
            #expect(cleared.header("ot-tracer-sampled") == nil)

            // No preserve: b3 passes through untouched, w3c is injected.
            let incoming = "\(trace)-\(span)-0-\(parent)"
            let noPreserve = try await echoed(proxy, "http-no-preserve-route", [("b3", incoming)])
            #expect(noPreserve.header("b3") == incoming)
            #expect(noPreserve.header("traceparent")?.hasPrefix("00-\(trace)-") == true)
        }
    }

    @Test("http_response_header_for_traceid echoes the trace id; the log has trace_id")
    func traceIDHeaderAndLog() async throws {
        let log = NSTemporaryDirectory() + "kgate-otel-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try await withUpstreams(["u"]) { ups in
            let yaml = Self.serviceYAML(ups[0].port, [
                ("trace.test", [
                    ("opentelemetry", "\(Self.endpoint), http_response_header_for_traceid: x-trace-id, header_type: preserve"),
                    ("file-log", "path: \"\(log)\""),
                ]),
                ("logs-only.test", [
                    ("opentelemetry", "logs_endpoint: http://localhost:8080/v1/logs, http_response_header_for_traceid: x-trace-id"),
                ]),
            ])
            try await withProxy(yaml) { proxy in
                let trace = Self.hex(16)
                let r = try await proxy.get("/echo", host: "trace.test", headers: [("traceparent", "00-\(trace)-\(Self.hex(8))-01")])
                #expect(r.status == 200)
                #expect(r.header("x-trace-id") == trace)
                let fresh = try await proxy.get("/echo", host: "trace.test")
                let freshID = try #require(fresh.header("x-trace-id"))
                #expect(EchoedRequest(fresh).header("traceparent")?.contains(freshID) == true)

                let lines = await fileLines(log, atLeast: 1)
                let line = try #require(lines.first)
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect((entry["trace_id"] as? [String: String]) == ["w3c": trace])

                // Without traces_endpoint nothing is propagated.
                let logsOnly = try await proxy.get("/echo", host: "logs-only.test")
                #expect(logsOnly.header("x-trace-id") == nil)
                #expect(EchoedRequest(logsOnly).header("traceparent") == nil)
            }
        }
    }
}
