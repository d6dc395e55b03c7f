import Foundation
import KGateSettings
import KGateTestSupport
import Testing

@testable import KGatePlugins

/// opentelemetry's span export through the proxy, against Kong's spec
/// (spec/03-plugins/37-opentelemetry/04-exporter_spec.lua): with `tracing_instrumentations`
/// on, the request's spans reach a collector (a test upstream recording what it is sent) as
/// OTLP/HTTP protobuf, sampled by the received decision and the sampling rates.
@Suite("Plugins live: opentelemetry export", .serialized)
struct PluginsOpenTelemetryExportTests {
    /// Kong's spec trace ids: the first is sampled at a 0.5 rate, the second never.
    static let sampledTraceID = "92a54b3e1a7c4f2da9e44b8a6f3e1dab"
    static let nonSampledTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    private func settings(_ instrumentations: [String], rate: Double = 1) -> NodeSettings {
        var settings = NodeSettings()
        settings.tracingInstrumentations = instrumentations
        settings.tracingSamplingRate = rate
        return settings
    }

    /// A service on the api upstream, route `otel.test` with the plugin (`config` added to its
    /// endpoint and a fast queue), run with the node `settings`.
    private func run(
        config: String = "", settings: NodeSettings, serviceHost: String? = nil, resolver: ScriptedResolver? = nil,
        _ body: (ProxyHarness, TestUpstream, TestUpstream) async throws -> Void
    ) async throws {
        try await withUpstreams(["api", "collector"]) { ups in
            let (api, collector) = (ups[0], ups[1])
            var plugin = "traces_endpoint: \"http://127.0.0.1:\(collector.port)/v1/traces\", queue: {max_coalescing_delay: 0.05}"
            if !config.isEmpty { plugin += ", " + config }
            let yaml = """
                _format_version: "3.0"
                services:
                - name: otel-service
                  url: http://\(serviceHost ?? "127.0.0.1"):\(api.port)
                  routes:
                  - name: otel-route
                    hosts: [otel.test]
                    paths: [/]
                    plugins:
                    - name: opentelemetry
                      config: {\(plugin)}
                """
            try await withProxy(yaml, resolver: resolver, settings: settings) { proxy in try await body(proxy, api, collector) }
        }
    }

    /// The export requests the collector received, once `count` spans arrived (or what arrived
    /// within the wait).
    private func exports(_ collector: TestUpstream, spans count: Int) async throws -> [OTLPTraceRequest] {
        var decoded: [OTLPTraceRequest] = []
        _ = await waitUntil {
            decoded = (try? collector.requests.map { try OTLPTraceRequest($0.body) }) ?? []
            return decoded.reduce(0) { $0 + $1.spans.count } >= count
        }
        return decoded
    }

    private func span(_ spans: [OTLPSpan], _ name: String) throws -> OTLPSpan {
        try #require(spans.first { $0.name == name }, "no span \(name) in \(spans.map(\.name))")
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("exports valid traces: headers, resource, and the request's spans in one trace")
    func exportsValidTraces() async throws {
        try await run(config: "headers: {X-Access-Token: token}", settings: settings(["all"])) { proxy, api, collector in
            let r = try await proxy.get("/echo", host: "otel.test")
            #expect(r.status == 200)
            let requests = try await exports(collector, spans: 5)
            let first = try #require(collector.requests.first)
            #expect(first.head.method == .POST && first.head.uri == "/v1/traces")
            #expect(first.head.headers["Content-Type"] == ["application/x-protobuf"])
            #expect(first.head.headers["X-Access-Token"] == ["token"])

            let export = try #require(requests.first)
            #expect(export.resource.map(\.key) == ["service.instance.id", "service.name", "service.version"])
            #expect(export.resource[1].value == .string("kong"))
            #expect(export.resource[2].value == .string("3.10.0"))
            #expect(export.scopeName == "kong-internal" && export.scopeVersion == "0.1.0")

            let spans = requests.flatMap(\.spans)
            let root = try span(spans, "kong")
            #expect(root.kind == 2 && root.parentSpanID == nil)
            let attributes = Dictionary(root.attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            #expect(attributes["http.method"] == .string("GET"))
            #expect(attributes["http.url"] == .string("http://otel.test/echo"))
            #expect(attributes["http.host"] == .string("otel.test"))
            #expect(attributes["http.scheme"] == .string("http"))
            #expect(attributes["http.flavor"] == .string("1.1"))
            #expect(attributes["http.status_code"] == .int(200))
            #expect(attributes["http.route"] == .string("/"))
            #expect(attributes["net.peer.ip"] == .string("127.0.0.1"))
            if case .string(let id)? = attributes["kong.request.id"] { #expect(id.count == 32) } else { Issue.record("no kong.request.id") }

            for name in ["kong.router", "kong.access.plugin.opentelemetry", "kong.header_filter.plugin.opentelemetry", "kong.balancer"] {
                let child = try span(spans, name)
                #expect(child.traceID == root.traceID, "\(name)")
                #expect(child.parentSpanID == root.spanID, "\(name)")
                #expect(child.startNanos >= root.startNanos && (child.endNanos ?? 0) <= (root.endNanos ?? 0), "\(name)")
            }
            let balancer = try span(spans, "kong.balancer")
            #expect(balancer.kind == 3)
            let tryAttributes = Dictionary(balancer.attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            #expect(tryAttributes["try_count"] == .double(1))
            #expect(tryAttributes["net.peer.ip"] == .string("127.0.0.1"))
            #expect(tryAttributes["net.peer.port"] == .double(Double(api.port)))

            // The upstream got the balancer span's context, sampled.
            let echoed = EchoedRequest(r)
            #expect(echoed.header("traceparent") == "00-\(hex(root.traceID))-\(hex(balancer.spanID))-01")
        }
    }

    @Test("#propagate w3c traceparent: the received trace and parent")
    func propagatesReceivedTrace() async throws {
        try await run(settings: settings(["all"])) { proxy, _, collector in
            let parent = "0123456789abcdef"
            let r = try await proxy.get(
                "/echo", host: "otel.test", headers: [("traceparent", "00-\(Self.sampledTraceID)-\(parent)-01")])
            #expect(r.status == 200)
            let spans = try await exports(collector, spans: 5).flatMap(\.spans)
            let root = try span(spans, "kong")
            #expect(hex(root.traceID) == Self.sampledTraceID)
            #expect(root.parentSpanID.map(hex) == parent)
            #expect(spans.allSatisfy { hex($0.traceID) == Self.sampledTraceID })
            let balancer = try span(spans, "kong.balancer")
            #expect(EchoedRequest(r).header("traceparent") == "00-\(Self.sampledTraceID)-\(hex(balancer.spanID))-01")
        }
    }

    @Test("config.sampling_rate supersedes the node's rate", arguments: [0.0, 1.0])
    func samplingRate(global: Double) async throws {
        try await run(config: "sampling_rate: 0.5", settings: settings(["all"], rate: global)) { proxy, _, collector in
            let skipped = try await proxy.get(
                "/echo", host: "otel.test", headers: [("traceparent", "00-\(Self.nonSampledTraceID)-0123456789abcdef-01")])
            #expect(skipped.status == 200)
            #expect(EchoedRequest(skipped).header("traceparent")?.hasSuffix("-00") == true)
            let sampled = try await proxy.get(
                "/echo", host: "otel.test", headers: [("traceparent", "00-\(Self.sampledTraceID)-0123456789abcdef-01")])
            #expect(sampled.status == 200)
            let spans = try await exports(collector, spans: 5).flatMap(\.spans)
            #expect(!spans.isEmpty)
            #expect(spans.allSatisfy { hex($0.traceID) == Self.sampledTraceID })
        }
    }

    @Test("the node's tracing_sampling_rate when the plugin sets none; a received sampled=0 is kept")
    func globalSamplingRate() async throws {
        try await run(settings: settings(["all"], rate: 0.5)) { proxy, _, collector in
            for (trace, flags) in [(Self.nonSampledTraceID, "01"), (Self.sampledTraceID, "00"), (Self.sampledTraceID, "01")] {
                let r = try await proxy.get("/echo", host: "otel.test", headers: [("traceparent", "00-\(trace)-0123456789abcdef-\(flags)")])
                #expect(r.status == 200)
            }
            let spans = try await exports(collector, spans: 5).flatMap(\.spans)
            #expect(spans.count == 5)
            #expect(spans.allSatisfy { hex($0.traceID) == Self.sampledTraceID })
        }
    }

    @Test("only the instrumentations named are recorded (router: the request and router spans)")
    func instrumentationsNamed() async throws {
        try await run(settings: settings(["router"])) { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "otel.test")
            #expect(r.status == 200)
            let spans = try await exports(collector, spans: 2).flatMap(\.spans)
            #expect(spans.map(\.name).sorted() == ["kong", "kong.router"])
            // No balancer span: the root's context goes upstream.
            let root = try span(spans, "kong")
            #expect(EchoedRequest(r).header("traceparent") == "00-\(hex(root.traceID))-\(hex(root.spanID))-01")
        }
    }

    @Test("dns_query: the service host's lookup is kong.dns, its failure an exception")
    func dnsSpans() async throws {
        let resolver = ScriptedResolver()
        resolver.answer("api.internal", ["127.0.0.1"])
        try await run(settings: settings(["dns_query"]), serviceHost: "api.internal", resolver: resolver) { proxy, api, collector in
            let r = try await proxy.get("/echo", host: "otel.test")
            #expect(r.status == 200)
            let spans = try await exports(collector, spans: 2).flatMap(\.spans)
            let root = try span(spans, "kong")
            let dns = try span(spans, "kong.dns")
            #expect(dns.kind == 3 && dns.parentSpanID == root.spanID && dns.statusCode == nil)
            #expect(dns.attributes == [
                OTLPKeyValue("dns.record.domain", .string("api.internal")),
                OTLPKeyValue("dns.record.port", .double(Double(api.port))),
                OTLPKeyValue("dns.record.ip", .string("127.0.0.1")),
            ])
        }
        try await run(settings: settings(["dns_query"]), serviceHost: "missing.internal", resolver: ScriptedResolver()) { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "otel.test")
            #expect(r.status == 503)
            let dns = try span(try await exports(collector, spans: 2).flatMap(\.spans), "kong.dns")
            #expect(dns.statusCode == 2)
            #expect(dns.events.map(\.name) == ["exception"])
            #expect(dns.attributes.map(\.key) == ["dns.record.domain", "dns.record.port"])
        }
    }

    @Test("http_client: azure-functions' call is kong.internal.request, under the plugin's access span")
    func httpClientSpan() async throws {
        try await withUpstreams(["function", "collector"]) { ups in
            let (function, collector) = (ups[0], ups[1])
            let yaml = """
                _format_version: "3.0"
                routes:
                - name: fn
                  hosts: [fn.test]
                  plugins:
                  - name: azure-functions
                    config: {https: false, appname: azure, hostdomain: example.test, functionname: fn}
                  - name: opentelemetry
                    config: {traces_endpoint: "http://127.0.0.1:\(collector.port)/v1/traces", queue: {max_coalescing_delay: 0.05}}
                """
            let plugin = AzureFunctionsPlugin(connectingTo: ("127.0.0.1", function.port))
            try await withProxy(yaml, extraPlugins: [plugin], settings: settings(["plugin_access", "http_client"])) { proxy in
                let r = try await proxy.get("/x", host: "fn.test", headers: [("User-Agent", "otel-test")])
                #expect(r.status == 200)
                let spans = try await exports(collector, spans: 3).flatMap(\.spans)
                let root = try span(spans, "kong")
                let access = try span(spans, "kong.access.plugin.azure-functions")
                let call = try span(spans, "kong.internal.request")
                #expect(access.parentSpanID == root.spanID && call.parentSpanID == access.spanID)
                #expect(call.kind == 3 && call.statusCode == nil)
                #expect(call.attributes == [
                    OTLPKeyValue("http.url", .string("http://azure.example.test:80")),
                    OTLPKeyValue("http.method", .string("GET")), OTLPKeyValue("http.flavor", .string("1.1")),
                    OTLPKeyValue("http.user_agent", .string("otel-test")), OTLPKeyValue("http.status_code", .int(200)),
                ])
                #expect(call.startNanos >= access.startNanos && (call.endNanos ?? 0) <= (root.endNanos ?? 0))
            }
        }
    }

    /// 04-exporter_spec #scoping: the plugin on the `/` route or its service, and maybe a
    /// global one; a request to another service's route is exported only by a global plugin.
    @Test(
        "#scoping: a route without the plugin is exported only by a global one",
        arguments: [(true, true, true), (true, true, false), (true, false, true), (true, false, false), (false, true, true), (false, true, false)]
    )
    func scoping(routeScoped: Bool, serviceScoped: Bool, global: Bool) async throws {
        try await withUpstreams(["api", "collector"]) { ups in
            let (api, collector) = (ups[0], ups[1])
            let otel = "{name: opentelemetry, config: {traces_endpoint: \"http://127.0.0.1:\(collector.port)/v1/traces\", "
                + "headers: {X-Access-Token: token}, queue: {max_coalescing_delay: 0.05}}}"
            var yaml = """
                _format_version: "3.0"
                services:
                - name: mock-service
                  url: http://127.0.0.1:\(api.port)
                  plugins: [\(serviceScoped ? otel : "")]
                  routes:
                  - name: traced
                    paths: [/]
                    plugins: [\(routeScoped ? otel : "")]
                - name: mock-service2
                  url: http://127.0.0.1:\(api.port)
                  routes:
                  - name: untraced
                    paths: [/no_plugin]

                """
            if global { yaml += "plugins: [\(otel)]\n" }
            try await withProxy(yaml, settings: settings(["all"])) { proxy in
                #expect(try await proxy.get("/no_plugin").status == 200)
                if global {
                    #expect(try await exports(collector, spans: 1).flatMap(\.spans).contains { $0.name == "kong" })
                } else {
                    try await Task.sleep(for: .milliseconds(400))
                    #expect(collector.requests.isEmpty)
                }
                // The route with the plugin is exported either way.
                let before = collector.requests.count
                #expect(try await proxy.get("/").status == 200)
                _ = await waitUntil { collector.requests.count > before }
                #expect(collector.requests.count > before)
            }
        }
    }

    @Test("tracing off (Kong's default): propagation only, nothing exported")
    func tracingOff() async throws {
        try await run(settings: NodeSettings()) { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "otel.test", headers: [("traceparent", "00-\(Self.sampledTraceID)-0123456789abcdef-01")])
            #expect(r.status == 200)
            #expect(EchoedRequest(r).header("traceparent")?.hasPrefix("00-\(Self.sampledTraceID)-") == true)
            try await Task.sleep(for: .milliseconds(400))
            #expect(collector.requests.isEmpty)
        }
    }

    @Test("overwrite resource attributes: templates rendered from the request, a bad one kept as written")
    func resourceAttributes() async throws {
        let config = """
            resource_attributes: {"service.name": kong_oss, "os.version": debian, "host.name": "$(headers.host)", validstr: "$($@#)"}
            """
        try await run(config: config, settings: settings(["request"])) { proxy, _, collector in
            let r = try await proxy.get("/echo", host: "otel.test")
            #expect(r.status == 200)
            let export = try #require(try await exports(collector, spans: 1).first)
            #expect(export.resource.map(\.key) == [
                "host.name", "os.version", "service.instance.id", "service.name", "service.version", "validstr",
            ])
            #expect(export.resource[0].value == .string("otel.test"))
            #expect(export.resource[1].value == .string("debian"))
            #expect(export.resource[3].value == .string("kong_oss"))
            #expect(export.resource[5].value == .string("$($@#)"))
        }
    }
}
