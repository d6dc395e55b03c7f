import Testing

@testable import KGatePlugins

/// The request's spans as Kong's tracer and instrumentations make them
/// (`kong/pdk/tracing.lua`, `kong/observability/tracing/instrumentation.lua`).
struct RequestTraceTests {
    private static let all = TracerSettings(instrumentations: TracingInstrumentations(names: ["all"]), samplingRate: 1)

    private func trace(_ settings: TracerSettings = all) -> RequestTrace {
        let request = PluginRequest(
            method: "POST", scheme: "https", host: "example.test", rawPath: "/a", forwardedIP: "10.0.0.9", ip: "127.0.0.1",
            requestID: "abc")
        return RequestTrace(settings: settings, request: request, requestURI: "/a?b=1", startNanos: 1_000)
    }

    private func served(status: Int = 200, tries: [ServedExchange.Try]?) -> ServedExchange {
        ServedExchange(
            requestURI: "/a?b=1", requestSize: 0, upstreamURI: "/a?b=1", upstreamStatus: "200", status: status,
            responseHeaders: HTTPFields(), responseSize: 0, kongLatency: 0, proxyLatency: 0, receiveLatency: 0,
            requestLatency: 0, tries: tries, clientIP: "127.0.0.1", hostPort: nil, source: .upstream)
    }

    @Test("Kong's sampler reads the trace id's first 8 bytes as a little-endian uint64")
    func sampler() {
        let sampled = TraceIDs.fromHex("92a54b3e1a7c4f2da9e44b8a6f3e1dab")
        let notSampled = TraceIDs.fromHex("4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TracerSettings.sample(traceID: sampled, rate: 0.5) == true)
        #expect(TracerSettings.sample(traceID: notSampled, rate: 0.5) == false)
        #expect(TracerSettings.sample(traceID: notSampled, rate: 1) == true)
        #expect(TracerSettings.sample(traceID: sampled, rate: 0) == false)
        #expect(TracerSettings.sample(traceID: [1, 2, 3], rate: 0.5) == nil)
    }

    @Test("tracing_instrumentations: off, all, or the request span and the types named")
    func instrumentations() {
        #expect(TracingInstrumentations(names: []).isEmpty)
        #expect(TracingInstrumentations(names: ["off"]).isEmpty)
        #expect(TracingInstrumentations(names: ["all"]).contains([.request, .router, .balancer, .pluginAccess, .dnsQuery]))
        #expect(TracingInstrumentations(names: ["router", "plugin_access"]) == [.request, .router, .pluginAccess])
        #expect(TracingInstrumentations(names: ["db_query"]) == [.request, .dbQuery])
    }

    @Test("the root span kong: a server span with the request's attributes, active for new spans")
    func rootSpan() throws {
        var trace = trace()
        let root = try #require(trace.root)
        #expect(root.name == "kong" && root.kind == .server && root.startNanos == 1_000 && root.parentID == nil)
        #expect(root.traceID.count == 16 && root.spanID.count == 8 && trace.rawTraceID == root.traceID)
        #expect(root.shouldSample == true)
        #expect(root.attribute("http.method") == .string("POST"))
        #expect(root.attribute("http.url") == .string("https://example.test/a?b=1"))
        #expect(root.attribute("http.host") == .string("example.test"))
        #expect(root.attribute("http.scheme") == .string("https"))
        #expect(root.attribute("http.flavor") == .string("1.1"))
        #expect(root.attribute("http.client_ip") == .string("10.0.0.9"))
        #expect(root.attribute("net.peer.ip") == .string("127.0.0.1"))
        #expect(root.attribute("kong.request.id") == .string("abc"))

        let started = trace.startRouter()
        let router = try #require(started)
        let dns = trace.start("kong.dns", kind: .client)
        #expect(trace.spans[dns].parentID == trace.spans[router].spanID)
        trace.finish(dns)
        trace.finish(router)
        let next = trace.start("next")
        #expect(trace.spans[next].parentID == root.spanID && trace.spans[next].traceID == root.traceID)
    }

    @Test("plugin phase spans only for the phases instrumented; a failure is an error event")
    func pluginSpans() throws {
        var trace = trace(TracerSettings(instrumentations: TracingInstrumentations(names: ["plugin_access"]), samplingRate: 1))
        #expect(trace.startPlugin(.rewrite, "key-auth") == nil)
        #expect(trace.startPlugin(.headerFilter, "key-auth") == nil)
        #expect(trace.startRouter() == nil)
        let started = trace.startPlugin(.access, "key-auth")
        let access = try #require(started)
        trace.fail(access, "boom")
        let span0 = trace.spans[access]
        trace.finish(access, at: span0.startNanos - 1)
        #expect(trace.spans[access].endNanos == nil, "an end before the start is refused")
        trace.finish(access, at: span0.startNanos + 5)
        let span = trace.spans[access]
        #expect(span.name == "kong.access.plugin.key-auth" && span.endNanos == span0.startNanos + 5 && span.status == .error)
        #expect(span.events.map(\.name) == ["exception"])
        #expect(span.events.first?.attributes == [SpanAttribute("exception.message", .string("boom"))])
    }

    @Test("a span that outlives its parent (a suspended plugin's call) hands the active span back to an open ancestor")
    func outlivedParent() throws {
        var trace = trace()
        let rootID = try #require(trace.root).spanID
        let startedPlugin = trace.startPlugin(.access, "azure-functions")
        let plugin = try #require(startedPlugin)
        let startedCall = trace.startHTTPClient(url: "http://a.test:80", method: "GET", userAgent: nil)
        let call = try #require(startedCall)
        #expect(trace.spans[call].parentID == trace.spans[plugin].spanID)
        #expect(trace.spans[call].attribute("http.user_agent") == .string(RequestTrace.restyHTTPUserAgent))
        trace.finish(plugin)
        trace.finishHTTPClient(call, status: .success(201))
        #expect(trace.spans[call].attribute("http.status_code") == .int(201) && trace.spans[call].endNanos != nil)
        let next = trace.start("next")
        #expect(trace.spans[next].parentID == rootID)
    }

    @Test("the end: root status and route, a balancer span per try, the last one made ahead")
    func end() throws {
        var trace = trace()
        let ahead = try #require(trace.balancer)
        let tries = [
            ServedExchange.Try(ip: "10.0.0.1", port: 80, hostname: "a.test", balancerStart: 0, balancerLatency: 2, state: "failed", code: 502, balancerStartNanoseconds: 2_000),
            ServedExchange.Try(ip: "10.0.0.2", port: 8080, hostname: "a.test", balancerStart: 0, balancerStartNanoseconds: 3_000),
        ]
        trace.end(served: served(tries: tries), routePath: "/a", at: 9_000)
        let root = trace.spans[0]
        #expect(root.endNanos == 9_000)
        #expect(root.attribute("http.status_code") == .int(200) && root.attribute("http.route") == .string("/a"))
        let balancers = trace.spans.filter { $0.name == "kong.balancer" }
        #expect(balancers.count == 2)
        let failed = balancers[0]
        #expect(failed.spanID != ahead.spanID && failed.status == .error && failed.kind == .client)
        #expect(failed.attribute("http.status_code") == .int(502))
        #expect(failed.attribute("try_count") == .double(1) && failed.attribute("net.peer.port") == .double(80))
        #expect(failed.startNanos == 2_000 && failed.endNanos == 2_002_000)
        let last = balancers[1]
        #expect(last.spanID == ahead.spanID && last.status == nil && last.endNanos == 9_000)
        #expect(last.attribute("net.peer.ip") == .string("10.0.0.2") && last.attribute("net.peer.name") == .string("a.test"))
        #expect(balancers.allSatisfy { $0.parentID == root.spanID })
    }

    @Test("Kong's get_sampling_decision: a received false is kept, else the rate decides")
    func samplingDecision() {
        var trace = trace()
        trace.rawTraceID = TraceIDs.fromHex("4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.samplingDecision(parentSampled: false, rate: 1) == false)
        #expect(trace.samplingDecision(parentSampled: true, rate: 0.5) == false)
        #expect(trace.samplingDecision(parentSampled: nil, rate: 1) == true)
        #expect(trace.samplingDecision(parentSampled: true, rate: nil) == true)
        trace.setShouldSample(false)
        #expect(trace.spans.allSatisfy { $0.shouldSample == false })
    }
}
