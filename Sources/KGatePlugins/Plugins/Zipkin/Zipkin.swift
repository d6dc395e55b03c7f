import KGateConfig
import KGateSchema
import Logging
import NIOCore
import NIOHTTP1

/// Kong's `zipkin` (PRIORITY 100000): a `SERVER` span for the request (or stream session), a
/// `CLIENT` span for its proxying and one per upstream try, reported as Zipkin v2 JSON to
/// `http_endpoint` through Kong's queue (``LogQueue``) when the trace is sampled (the received
/// sampling decision, else `sample_ratio`). The proxy span's context goes upstream in the
/// propagation formats (``TracePropagation``), as opentelemetry's does.
///
/// The spans carry Kong's tags (`lc`, `http.*`, `kong.*`, `peer.hostname`, `static_tags`,
/// the `tags_header` items) and the phase annotations (`krs`/`krf` on the request span,
/// `kas`/`kaf`, `khs`/`khf`, `kbs`/`kbf` on the proxy span) or, with
/// `phase_duration_flavor: tags`, the phases' durations. kgate's phase times are when this
/// plugin's handler runs (it runs first), the access phase ending when the first try starts.
public final class ZipkinPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var propagation: TracePropagation
        var sampleRatio: Double
        var traceIDByteCount: Int
        var spanNameWithPath: Bool
        var staticTags: [(String, String)]
        var tagsHeader: String
        var includeCredential: Bool
        var annotations: Bool
        var responseHeaderForTraceID: String?
        var localServiceName: String
        var defaultServiceName: String?
        var endpoint: PluginHTTPClient.Endpoint?
        var timeout: TimeAmount
        var queueName: String
        var queue: LogQueue.Settings
    }

    /// `zipkin`.
    public static let name = "zipkin"
    /// 100000: first, so that the phases' times are taken when they start.
    public static let priority = 100_000
    /// access, header_filter, body_filter, log.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter, .log]
    /// log: a stream session gets a `stream` span, its proxy span (`kps`/`kpf`: Kong's preread,
    /// here the session's start and its first try) and its tries' spans.
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's schema.
    public static let schema = ObservabilitySchemas.zipkin

    /// The plugin's key for a request's spans in `kong.ctx.plugin`.
    private static let stateKey = "zipkin"

    /// `kong.node.get_id()`.
    let nodeID: String
    private let queues = LogQueues(plugin: "zipkin")

    /// Makes the plugin; `nodeID` is `kong.node.get_id()` (a random UUID when nil).
    public init(nodeID: String? = nil) {
        self.nodeID = nodeID ?? EntityID.random()
    }

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let endpoint = config.string("http_endpoint").flatMap(ParsedURL.init).flatMap(PluginHTTPClient.Endpoint.init(url:))
        let staticTags = (config["static_tags"]?.sequenceElements ?? []).compactMap { tag -> (String, String)? in
            guard let name = tag["name"]?.stringValue, let value = tag["value"]?.stringValue else { return nil }
            return (name, value)
        }
        return Config(
            propagation: TracePropagation(config: config), sampleRatio: config.number("sample_ratio") ?? 0.001,
            traceIDByteCount: config.integer("traceid_byte_count") ?? 16,
            spanNameWithPath: config.string("http_span_name") == "method_path", staticTags: staticTags,
            tagsHeader: config.string("tags_header") ?? "Zipkin-Tags", includeCredential: config.bool("include_credential", default: true),
            annotations: config.string("phase_duration_flavor") != "tags",
            responseHeaderForTraceID: config.string("http_response_header_for_traceid"),
            localServiceName: config.string("local_service_name") ?? "kong",
            defaultServiceName: config.string("default_service_name"), endpoint: endpoint,
            timeout: .milliseconds(Int64(config.integer("read_timeout") ?? 5000)), queueName: scope.id,
            queue: LogQueue.Settings(pluginConfig: config))
    }

    // MARK: Phases

    /// Starts the spans and propagates the proxy span's context upstream.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        config.propagation.propagate(&ctx) { extracted, ctx in
            var state = self.state(config, ctx, extracted: extracted)
            let now = Self.nowMicroseconds()
            state.accessStart = now
            let proxy = state.proxySpan(at: now)
            ctx.plugin[Self.stateKey] = state
            var inject = extracted
            inject.traceID = proxy.traceID
            inject.spanID = proxy.spanID
            inject.parentID = proxy.parentID ?? extracted.parentID
            // Lua's `proxy_span.should_sample or inject_ctx.should_sample or nil`: true or nothing.
            inject.shouldSample = proxy.shouldSample || extracted.shouldSample == true ? true : nil
            inject.baggage = proxy.baggage ?? extracted.baggage
            return inject
        }
    }

    /// `khs`, and the trace id header.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        var state = self.state(config, ctx)
        let now = Self.nowMicroseconds()
        state.headerFilterStart = now
        _ = state.proxySpan(at: now)
        if config.annotations { state.proxy?.annotate("khs", at: now) }
        if let name = config.responseHeaderForTraceID, let proxy = state.proxy {
            ctx.response.addHeader(name, TraceIDs.hex(proxy.traceID))
        }
        ctx.plugin[Self.stateKey] = state
    }

    /// The header filter ends when the body starts (`khf`, `kbs`).
    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        var state = self.state(config, ctx)
        let now = Self.nowMicroseconds()
        if !state.headerFilterFinished {
            if config.annotations {
                state.proxy?.annotate("khf", at: now)
                state.proxy?.annotate("kbs", at: now)
            }
            state.headerFilterFinished = true
            state.bodyFilterStart = now
        }
        if last { state.bodyFilterEnd = now }
        ctx.plugin[Self.stateKey] = state
    }

    /// Finishes and reports the spans.
    public func log(_ config: Config, _ ctx: inout PluginContext) {
        let now = Self.nowMicroseconds()
        if let session = ctx.session { return logStream(session, config, &ctx, now: now) }
        var state = self.state(config, ctx)
        var proxy = state.proxySpan(at: now)
        var request = state.request
        let proxyFinish = state.bodyFilterEnd ?? now
        let tries = ctx.served?.tries
        let firstTryStart = tries?.first.map { $0.balancerStartNanoseconds / 1000 }
        let accessStart = state.accessStart ?? proxy.timestamp
        let accessEnd = firstTryStart.map { max($0, accessStart) } ?? state.headerFilterStart ?? proxyFinish
        if config.annotations {
            request.annotate("krs", at: request.timestamp)
            request.annotate("krf", at: max(request.timestamp, state.accessStart ?? request.timestamp))
            proxy.annotate("kas", at: accessStart)
            proxy.annotate("kaf", at: accessEnd)
            if !state.headerFilterFinished {
                proxy.annotate("khf", at: now)
                state.headerFilterFinished = true
            }
            proxy.annotate("kbf", at: now)
        } else {
            let ms = { (from: Int?, to: Int?) -> String? in
                guard let from, let to else { return nil }
                return String(max(0, to - from) / 1000)
            }
            request.setTag("kong.rewrite.duration_ms", ms(request.timestamp, state.accessStart))
            proxy.setTag("kong.access.duration_ms", ms(accessStart, accessEnd))
            proxy.setTag("kong.header_filter.duration_ms", ms(state.headerFilterStart, state.bodyFilterStart ?? now))
            proxy.setTag("kong.body_filter.duration_ms", ms(state.bodyFilterStart, state.bodyFilterEnd))
        }

        var spans = tries.map { triesSpans($0, of: request, into: &proxy, ctx) } ?? []
        request.setTag("http.status_code", ctx.served.map { String($0.status) } ?? (ctx.response.status > 0 ? String(ctx.response.status) : nil))
        if let consumer = ctx.consumer { request.setTag("kong.consumer", consumer.id) }
        if config.includeCredential, let id = ctx.credential?.id { request.setTag("kong.credential", id) }
        spans += finished(request: request, proxy: proxy, proxyFinish: proxyFinish, now: now, ctx)
        report(spans, config, logger: ctx.db.logger)
    }

    /// A stream session's spans (Kong's stream `initialize_request`, `preread` and `log`).
    private func logStream(_ session: StreamSession, _ config: Config, _ ctx: inout PluginContext, now: Int) {
        let r = ctx.request
        let start = Int((r.startTime * 1_000_000).rounded(.down))
        var request = ZipkinSpan(
            kind: .server, name: "stream", start: start, shouldSample: Double.random(in: 0..<1) < config.sampleRatio,
            traceID: TraceIDs.random(config.traceIDByteCount))
        request.ip = r.forwardedIP
        request.port = r.clientPort
        request.setTag("lc", "kong")
        for (name, value) in config.staticTags { request.setTag(name, value) }
        var proxy = request.child(.client, "stream (proxy)", start: start)
        let prereadEnd = start + session.kongLatency * 1000
        if config.annotations {
            proxy.annotate("kps", at: start)
            proxy.annotate("kpf", at: prereadEnd)
        } else {
            proxy.setTag("kong.preread.duration_ms", String(session.kongLatency))
        }
        var spans = triesSpans(session.tries, of: request, into: &proxy, ctx)
        spans += finished(request: request, proxy: proxy, proxyFinish: now, now: now, ctx)
        report(spans, config, logger: ctx.db.logger)
    }

    /// A span per upstream try; the proxy span gets the last try's peer.
    private func triesSpans(_ tries: [ServedExchange.Try], of request: ZipkinSpan, into proxy: inout ZipkinSpan, _ ctx: PluginContext) -> [ZipkinSpan] {
        var spans: [ZipkinSpan] = []
        for (i, attempt) in tries.enumerated() {
            let start = attempt.balancerStartNanoseconds / 1000
            var span = request.child(.client, "\(request.name) (balancer try \(i + 1))", start: start)
            span.ip = attempt.ip
            span.port = attempt.port
            span.setTag("kong.balancer.try", String(i + 1))
            if i < tries.count - 1 {
                span.setTag("error", "true")
                span.setTag("kong.balancer.state", attempt.state)
                span.setTag("http.status_code", attempt.code.map(String.init))
            }
            Self.tagServiceAndRoute(&span, ctx)
            span.finish(at: start + attempt.balancerLatency * 1000)
            spans.append(span)
        }
        proxy.setTag("peer.hostname", tries.last?.hostname)
        proxy.ip = tries.last?.ip
        proxy.port = tries.last?.port
        return spans
    }

    /// The proxy and request spans, ended, with the node id and the service and route.
    private func finished(request: ZipkinSpan, proxy: ZipkinSpan, proxyFinish: Int, now: Int, _ ctx: PluginContext) -> [ZipkinSpan] {
        var request = request
        var proxy = proxy
        request.setTag("kong.node.id", nodeID)
        Self.tagServiceAndRoute(&proxy, ctx)
        proxy.finish(at: max(proxyFinish, proxy.timestamp))
        request.finish(at: now)
        return [proxy, request]
    }

    // MARK: Spans

    /// A request's spans and the times of its phases (µs).
    struct RequestState: Sendable {
        var request: ZipkinSpan
        var proxy: ZipkinSpan?
        var headerFilterFinished = false
        var accessStart: Int?
        var headerFilterStart: Int?
        /// The first body chunk, which ends the header filter.
        var bodyFilterStart: Int?
        var bodyFilterEnd: Int?

        /// The proxy span, made at `start` when it does not exist yet.
        mutating func proxySpan(at start: Int) -> ZipkinSpan {
            if let proxy { return proxy }
            let made = request.child(.client, request.name + " (proxy)", start: start)
            proxy = made
            return made
        }
    }

    /// The request's spans, started when first needed (Kong's `initialize_request`); the
    /// phases keep them in `kong.ctx.plugin`.
    private func state(_ config: Config, _ ctx: PluginContext, extracted: TraceContext? = nil) -> RequestState {
        if let state = ctx.plugin[Self.stateKey] as? RequestState { return state }
        let logger = ctx.logger
        let context = extracted ?? config.propagation.extracted(from: ctx).context
        let (spanID, parentID) = context.reuseSpanID ? (context.spanID, context.parentID) : (nil, context.spanID)
        let sampled = context.shouldSample ?? (Double.random(in: 0..<1) < config.sampleRatio)
        let r = ctx.request
        var request = ZipkinSpan(
            kind: .server, name: config.spanNameWithPath ? "\(r.method) \(r.path)" : r.method,
            start: Int((r.startTime * 1_000_000).rounded(.down)), shouldSample: sampled,
            traceID: context.traceID ?? TraceIDs.random(config.traceIDByteCount), spanID: spanID, parentID: parentID,
            baggage: context.baggage)
        request.ip = r.forwardedIP
        request.port = r.clientPort
        request.setTag("lc", "kong")
        request.setTag("http.method", r.method)
        request.setTag("http.host", r.host)
        request.setTag("http.path", r.path)
        request.setTag("http.protocol", "HTTP/" + Value.formatNumber(r.httpVersion))
        for (name, value) in config.staticTags { request.setTag(name, value) }
        let (tags, errors) = ZipkinRequestTags.parse(r.headerValues(config.tagsHeader))
        if !errors.isEmpty { logger.warning("Could not parse the following Zipkin tags: \(errors.joined(separator: ", "))") }
        for (name, value) in tags { request.setTag(name, value) }
        return RequestState(request: request)
    }

    /// Kong's `tag_with_service_and_route`.
    private static func tagServiceAndRoute(_ span: inout ZipkinSpan, _ ctx: PluginContext) {
        if let service = ctx.serviceEntity, let id = service["id"]?.stringValue {
            span.setTag("kong.service", id)
            if let name = service["name"]?.stringValue {
                span.serviceName = name
                span.setTag("kong.service_name", name)
            }
        }
        if let route = ctx.routeEntity {
            if let id = route["id"]?.stringValue { span.setTag("kong.route", id) }
            if let name = route["name"]?.stringValue { span.setTag("kong.route_name", name) }
        }
    }

    static func nowMicroseconds() -> Int { Int((WallClock.now() * 1_000_000).rounded(.down)) }

    // MARK: Reporting

    /// Queues the sampled spans for `http_endpoint`.
    private func report(_ spans: [ZipkinSpan], _ config: Config, logger: Logger) {
        guard let endpoint = config.endpoint else { return }
        let queue = queues.queue(config.queueName, settings: config.queue, logger: logger) { _ in
            let client = PluginHTTPClient(endpoint: endpoint)
            return { try await Self.send($0, client: client, timeout: config.timeout) }
        }
        for span in spans {
            guard let json = span.report(localServiceName: config.localServiceName, defaultServiceName: config.defaultServiceName) else { continue }
            var bytes: [UInt8] = []
            KongJSONEncoderShim.encode(json, into: &bytes)
            queue.enqueue(bytes)
        }
    }

    /// One batch: a JSON array of spans (`send_entries_to_zipkin`).
    static func send(_ batch: [[UInt8]], client: PluginHTTPClient, timeout: TimeAmount) async throws {
        let body = LogQueue.jsonArray(batch)
        let response = try await client.post(body, headers: ["Content-Type": "application/json"], timeout: timeout) {
            "zipkin request failed: \($0)"
        }
        guard (200..<300).contains(response.status) else {
            let reason = HTTPResponseStatus(statusCode: response.status).reasonPhrase
            throw PluginHTTPClient.Failure(description: "zipkin server responded unexpectedly: \(response.status) \(reason)")
        }
    }
}
