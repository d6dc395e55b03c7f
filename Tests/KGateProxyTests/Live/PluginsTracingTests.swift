import Foundation
import Testing

/// One service (named `name`) on `port` with routes by host (named after it), each with its
/// plugins (name, config in YAML flow style).
private func tracingYAML(_ port: Int, name: String = "traced", _ routes: [(host: String, plugins: [(String, String)])]) -> String {
    var out = "_format_version: \"3.0\"\nservices:\n- name: \(name)\n  url: http://127.0.0.1:\(port)\n  routes:\n"
    for route in routes {
        out += "  - name: \(route.host.replacingOccurrences(of: ".", with: "-"))\n    hosts: [\(route.host)]\n    plugins:\n"
        for (name, config) in route.plugins { out += "    - name: \(name)\n      config: {\(config)}\n" }
    }
    return out
}

/// Random lower-case hex of `bytes` bytes.
private func randomHex(_ bytes: Int) -> String {
    (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

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

    private static func yaml(_ port: Int, new: Bool) -> String {
        tracingYAML(port, routes.map { route in
            (route.host, [("opentelemetry", [endpoint, new ? route.new : route.old].filter { !$0.isEmpty }.joined(separator: ", "))])
        })
    }

    private static func hex(_ bytes: Int) -> String { randomHex(bytes) }

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
            let yaml = tracingYAML(ups[0].port, [
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

/// zipkin through the proxy, against Kong's spec (spec/03-plugins/34-zipkin/zipkin_spec.lua):
/// the spans reported to a Zipkin collector (a test upstream recording what it is sent) and
/// the context propagated upstream.
@Suite("Plugins live: zipkin", .serialized)
struct PluginsZipkinTests {
    /// The spans the collector received, once `count` arrived.
    private func spans(_ collector: TestUpstream, count: Int) async throws -> [[String: Any]] {
        await collectedSpans(collector, atLeast: count)
    }

    private func span(_ spans: [[String: Any]], named name: String) throws -> [String: Any] {
        try #require(spans.first { $0["name"] as? String == name }, "no span \(name) in \(spans)")
    }

    private func tags(_ span: [String: Any]) -> [String: String] { span["tags"] as? [String: String] ?? [:] }

    private func annotations(_ span: [String: Any]) -> [String: Int] {
        var out: [String: Int] = [:]
        for a in span["annotations"] as? [[String: Any]] ?? [] { out[a["value"] as? String ?? ""] = a["timestamp"] as? Int }
        return out
    }

    private func run(
        config: String, _ body: (ProxyHarness, TestUpstream, TestUpstream) async throws -> Void
    ) async throws {
        try await withUpstreams(["api", "zipkin"]) { ups in
            let (api, collector) = (ups[0], ups[1])
            let endpoint = "http_endpoint: \"http://127.0.0.1:\(collector.port)/api/v2/spans\", queue: {max_coalescing_delay: 0.05}"
            let yaml = tracingYAML(api.port, name: "zipkin-service", [("zipkin.test", [("zipkin", endpoint + ", " + config)])])
            try await withProxy(yaml) { proxy in try await body(proxy, api, collector) }
        }
    }

    @Test("a sampled request: request, proxy and balancer spans with Kong's tags, annotations and ids")
    func regularRequest() async throws {
        try await run(config: "static_tags: [{name: static, value: ok}]") { proxy, api, collector in
            let start = Int(Date().timeIntervalSince1970 * 1_000_000)
            let r = try await proxy.get("/echo", host: "zipkin.test", headers: [("x-b3-sampled", "1"), ("zipkin-tags", "foo=bar; baz=qux")])
            #expect(r.status == 200)
            let all = try await spans(collector, count: 3)
            #expect(all.count == 3)
            let request = try span(all, named: "GET")
            let proxied = try span(all, named: "GET (proxy)")
            let balancer = try span(all, named: "GET (balancer try 1)")

            // Ids and kinds.
            let traceID = try #require(request["traceId"] as? String)
            #expect(traceID.count == 32)
            #expect(proxied["traceId"] as? String == traceID && balancer["traceId"] as? String == traceID)
            #expect(request["kind"] as? String == "SERVER")
            #expect(proxied["kind"] as? String == "CLIENT" && balancer["kind"] as? String == "CLIENT")
            #expect(proxied["parentId"] as? String == request["id"] as? String)
            #expect(balancer["parentId"] as? String == request["id"] as? String)
            #expect(request["parentId"] == nil)
            for s in [request, proxied] {
                let timestamp = try #require(s["timestamp"] as? Int)
                #expect(timestamp >= start - 1_000_000 && timestamp <= start + 10_000_000)
                #expect((s["localEndpoint"] as? [String: String]) == ["serviceName": "kong"])
            }
            #expect((request["duration"] as? Int ?? -1) >= (proxied["duration"] as? Int ?? 0))

            // Tags.
            var requestTags = tags(request)
            #expect(requestTags.removeValue(forKey: "kong.node.id")?.wholeMatch(of: /[0-9a-f-]+/) != nil)
            #expect(requestTags == [
                "http.method": "GET", "http.path": "/echo", "http.status_code": "200", "http.protocol": "HTTP/1.1",
                "http.host": "zipkin.test", "lc": "kong", "static": "ok", "foo": "bar", "baz": "qux",
            ])
            let clientEndpoint = try #require(request["remoteEndpoint"] as? [String: Any])
            #expect(clientEndpoint["ipv4"] as? String == "127.0.0.1")
            #expect((clientEndpoint["port"] as? Int ?? 0) > 0)
            #expect(clientEndpoint["serviceName"] == nil)
            let proxyTags = tags(proxied)
            #expect(proxyTags["kong.route_name"] == "zipkin-test")
            #expect(proxyTags["peer.hostname"] == "127.0.0.1")
            let upstreamEndpoint = try #require(proxied["remoteEndpoint"] as? [String: Any])
            #expect(upstreamEndpoint["ipv4"] as? String == "127.0.0.1")
            #expect(upstreamEndpoint["port"] as? Int == api.port)
            #expect(upstreamEndpoint["serviceName"] as? String == "zipkin-service")
            var balancerTags = tags(balancer)
            #expect(balancerTags.removeValue(forKey: "kong.route") != nil && balancerTags.removeValue(forKey: "kong.service") != nil)
            #expect(balancerTags == ["kong.balancer.try": "1", "kong.route_name": "zipkin-test", "kong.service_name": "zipkin-service"])
            #expect((balancer["remoteEndpoint"] as? [String: Any])?["port"] as? Int == api.port)

            // Annotations: the request span's rewrite, the proxy span's phases, in order.
            let r1 = annotations(request)
            #expect(Set(r1.keys) == ["krs", "krf"])
            #expect(r1["krs"]! <= r1["krf"]!)
            let p1 = annotations(proxied)
            #expect(Set(p1.keys) == ["kas", "kaf", "khs", "khf", "kbs", "kbf"])
            #expect(p1["kas"]! <= p1["kaf"]! && p1["khs"]! <= p1["khf"]! && p1["kbs"]! <= p1["kbf"]! && p1["khs"]! <= p1["kbs"]!)

            // The proxy span's context went upstream in b3 (the format received).
            let echoed = EchoedRequest(r)
            #expect(echoed.header("x-b3-traceid") == traceID)
            #expect(echoed.header("x-b3-spanid") == proxied["id"] as? String)
            #expect(echoed.header("x-b3-parentspanid") == request["id"] as? String)
            #expect(echoed.header("x-b3-sampled") == "1")
        }
    }

    @Test("an unsampled request reports nothing and still propagates; a received trace is joined")
    func unsampledAndJoined() async throws {
        try await run(config: "sample_ratio: 0") { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "zipkin.test")
            #expect(r.status == 200)
            let echoed = EchoedRequest(r)
            // Nothing received: a new trace in b3 (the default format), not sampled.
            #expect(echoed.header("x-b3-traceid")?.count == 32)
            #expect(echoed.header("x-b3-sampled") == "0")

            // A sampled w3c trace: the spans are in it, the received span the request's parent.
            let trace = randomHex(16)
            let parent = randomHex(8)
            let joined = try await proxy.get("/echo", host: "zipkin.test", headers: [("traceparent", "00-\(trace)-\(parent)-01")])
            let out = try #require(EchoedRequest(joined).header("traceparent"))
            #expect(out.hasPrefix("00-\(trace)-") && out.hasSuffix("-01"))
            let all = try await spans(collector, count: 3)
            #expect(all.count == 3)
            let request = try span(all, named: "GET")
            #expect(request["traceId"] as? String == trace)
            #expect(request["parentId"] as? String == parent)
        }
    }

    @Test("phase durations as tags, 8-byte trace ids, the trace id header, method_path names")
    func tagsFlavor() async throws {
        let config = "phase_duration_flavor: tags, traceid_byte_count: 8, http_response_header_for_traceid: x-trace-id, "
            + "http_span_name: method_path, sample_ratio: 1"
        try await run(config: config) { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "zipkin.test")
            #expect(r.status == 200)
            let all = try await spans(collector, count: 3)
            let request = try span(all, named: "GET /echo")
            let proxied = try span(all, named: "GET /echo (proxy)")
            let traceID = try #require(request["traceId"] as? String)
            #expect(traceID.count == 16)
            #expect(r.header("x-trace-id") == traceID)
            #expect(request["annotations"] == nil && proxied["annotations"] == nil)
            #expect(tags(request)["kong.rewrite.duration_ms"].flatMap { Int($0) } != nil)
            for phase in ["access", "header_filter", "body_filter"] {
                #expect(tags(proxied)["kong.\(phase).duration_ms"].flatMap { Int($0) } != nil, "\(phase)")
            }
        }
    }

    /// A global zipkin also traces requests no route matched (its header_filter and log run)
    /// and requests a plugin answered in access.
    @Test("unrouted and plugin-answered requests are traced too")
    func unroutedAndExits() async throws {
        try await withUpstreams(["api", "zipkin"]) { ups in
            let (api, collector) = (ups[0], ups[1])
            let yaml = tracingYAML(api.port, [("terminated.test", [("request-termination", "status_code: 503")])])
                + "plugins:\n- name: zipkin\n  config: {http_endpoint: \"http://127.0.0.1:\(collector.port)/\", sample_ratio: 1, "
                + "queue: {max_coalescing_delay: 0.05}}\n"
            try await withProxy(yaml) { proxy in
                #expect(try await proxy.get("/", host: "nowhere.test").status == 404)
                var all = try await spans(collector, count: 2)
                #expect(all.count == 2)
                #expect(tags(try span(all, named: "GET"))["http.status_code"] == "404")
                #expect(try span(all, named: "GET (proxy)")["parentId"] != nil)

                #expect(try await proxy.get("/", host: "terminated.test").status == 503)
                all = try await spans(collector, count: 4)
                let answered = all.dropFirst(2).first { $0["name"] as? String == "GET" }
                #expect(answered.map(tags)?["http.status_code"] == "503")
                #expect(all.count == 4)
            }
        }
    }

    /// zipkin_no_endpoint_spec: no collector, every request sampled, `header_type: w3c`
    /// (the received format and w3c go upstream), with 8- and 16-byte trace ids.
    @Test("no http_endpoint: the received context and w3c go upstream", arguments: [8, 16])
    func noEndpoint(traceIDBytes: Int) async throws {
        try await withUpstreams(["api"]) { ups in
            let config = "sample_ratio: 1, traceid_byte_count: \(traceIDBytes), static_tags: [{name: static, value: ok}], header_type: w3c"
            try await withProxy(tracingYAML(ups[0].port, [("http-route", [("zipkin", config)])])) { proxy in
                let hexLength = traceIDBytes * 2
                func padded(_ id: String, _ length: Int) -> String { String(repeating: "0", count: max(0, length - id.count)) + id }
                func echoed(_ headers: [(String, String)]) async throws -> EchoedRequest {
                    let r = try await proxy.get("/echo", host: "http-route", headers: headers)
                    #expect(r.status == 200)
                    return EchoedRequest(r)
                }
                let trace = randomHex(traceIDBytes)
                let span = randomHex(8)
                let parent = randomHex(8)
                let b3 = try await echoed([("x-b3-sampled", "1"), ("x-b3-traceid", trace)])
                #expect(b3.header("x-b3-traceid") == trace)
                #expect(b3.header("traceparent")?.wholeMatch(of: try Regex("00-\(padded(trace, 32))-[0-9a-f]{16}-01")) != nil)
                let single = try await echoed([("b3", "\(trace)-\(span)-1-\(parent)")])
                #expect(single.header("b3")?.wholeMatch(of: try Regex("\(trace)-[0-9a-f]{16}-1-[0-9a-f]{16}")) != nil)
                let w3cTrace = randomHex(16)
                let w3c = try await echoed([("traceparent", "00-\(w3cTrace)-\(parent)-01")])
                #expect(w3c.header("traceparent")?.wholeMatch(of: try Regex("00-\(w3cTrace)-[0-9a-f]{16}-01")) != nil)
                let jaeger = try await echoed([("uber-trace-id", "\(trace):\(span):\(parent):1")])
                #expect(jaeger.header("uber-trace-id")?.wholeMatch(of: try Regex("\(padded(trace, hexLength)):[0-9a-f]{16}:\(span):01")) != nil)
                let ot = try await echoed([("ot-tracer-traceid", trace), ("ot-tracer-spanid", span), ("ot-tracer-sampled", "1")])
                #expect(ot.header("ot-tracer-traceid") == padded(trace, hexLength))
            }
        }
    }
}
