/// Kong's `tracing_instrumentations`: what the node's tracer records for each request.
public struct TracingInstrumentations: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The request's root span, `kong` (on whenever tracing is).
    public static let request = Self(rawValue: 1 << 0)
    /// `kong.router`.
    public static let router = Self(rawValue: 1 << 1)
    /// `kong.balancer`, one per try.
    public static let balancer = Self(rawValue: 1 << 2)
    /// `kong.rewrite.plugin.<name>`.
    public static let pluginRewrite = Self(rawValue: 1 << 3)
    /// `kong.access.plugin.<name>`.
    public static let pluginAccess = Self(rawValue: 1 << 4)
    /// `kong.header_filter.plugin.<name>`.
    public static let pluginHeaderFilter = Self(rawValue: 1 << 5)
    /// `kong.dns`.
    public static let dnsQuery = Self(rawValue: 1 << 6)
    /// `kong.internal.request` (plugins' HTTP calls).
    public static let httpClient = Self(rawValue: 1 << 7)
    /// `kong.database.query`: never recorded, kgate has no database.
    public static let dbQuery = Self(rawValue: 1 << 8)

    /// Kong's `instrumentation.init`: nothing for `off` (or none), everything for `all`, else
    /// the request span and the types named.
    public init(names: [String]) {
        guard let first = names.first, first != "off" else {
            self = []
            return
        }
        if first == "all" {
            self = [.request, .router, .balancer, .pluginRewrite, .pluginAccess, .pluginHeaderFilter, .dnsQuery, .httpClient, .dbQuery]
            return
        }
        let byName: [String: Self] = [
            "router": .router, "balancer": .balancer, "plugin_rewrite": .pluginRewrite, "plugin_access": .pluginAccess,
            "plugin_header_filter": .pluginHeaderFilter, "dns_query": .dnsQuery, "http_client": .httpClient,
            "db_query": .dbQuery,
        ]
        self = names.reduce(into: .request) { set, name in
            if let type = byName[name] { set.insert(type) }
        }
    }
}

/// The node's tracer (Kong's global tracer, `instrument`): what it records and the sampling
/// rate of new traces (`tracing_sampling_rate`).
public struct TracerSettings: Sendable, Hashable {
    public var instrumentations: TracingInstrumentations
    public var samplingRate: Double

    public init(instrumentations: TracingInstrumentations, samplingRate: Double) {
        self.instrumentations = instrumentations
        self.samplingRate = samplingRate
    }

    /// Whether requests get spans at all.
    public var isEnabled: Bool { !instrumentations.isEmpty }

    /// Kong's trace-id based sampler: the first 8 bytes of the trace id, read as the machine's
    /// `uint64_t` (little-endian here), below `rate` × 2⁶⁴. Nil (a sampler failure) for an id shorter than 8 bytes.
    public static func sample(traceID: [UInt8], rate: Double) -> Bool? {
        if rate >= 1 { return true }
        if rate <= 0 { return false }
        guard traceID.count >= 8 else { return nil }
        var truncated: UInt64 = 0
        for i in (0..<8).reversed() { truncated = truncated << 8 | UInt64(traceID[i]) }
        return Double(truncated) < rate * 18_446_744_073_709_551_616.0
    }
}

/// One request's spans (Kong's `ngx.ctx.KONG_SPANS`, its active span and its tracing
/// context): the root span `kong` made when the request starts, the spans of the
/// instrumentations on, and the balancer span made ahead so that its id can be propagated
/// upstream before the balancer runs.
public struct RequestTrace: Sendable {
    public let settings: TracerSettings
    /// The linked spans, in the order started (the root first).
    public private(set) var spans: [TraceSpan] = []
    /// Each span's parent among ``spans``.
    private var parents: [Int?] = []
    /// The span new spans are children of.
    private var active: Int?
    /// The balancer span made before `access` (Kong's unlinked span): linked as the last try.
    public internal(set) var balancer: TraceSpan?
    /// The trace id of the request (Kong's `tracing_context` raw trace id): the root's, or the
    /// one a tracing plugin received.
    public var rawTraceID: [UInt8]?

    /// Starts a request's trace with its root span (`instrumentation.request`), sampled by the
    /// node's rate, and the balancer span when balancer spans are recorded.
    public init(settings: TracerSettings, request: PluginRequest, requestURI: String, startNanos: UInt64) {
        self.settings = settings
        let traceID = TraceIDs.random(16)
        var root = TraceSpan(
            name: "kong", kind: .server, traceID: traceID, startNanos: startNanos,
            shouldSample: TracerSettings.sample(traceID: traceID, rate: settings.samplingRate) ?? false)
        root.setAttribute("http.method", .string(request.method))
        root.setAttribute("http.url", .string(request.scheme + "://" + request.host + requestURI))
        root.setAttribute("http.host", .string(request.host))
        root.setAttribute("http.scheme", .string(request.scheme))
        root.setAttribute("http.flavor", .string(Self.flavor(request.httpVersion)))
        root.setAttribute("http.client_ip", .string(request.forwardedIP))
        root.setAttribute("net.peer.ip", .string(request.ip))
        root.setAttribute("kong.request.id", .string(request.requestID))
        rawTraceID = traceID
        link(root, parent: nil, activate: true)
        if settings.instrumentations.contains(.balancer) { balancer = child("", kind: .client, at: startNanos) }
    }

    /// `ngx.req.http_version()` as Kong formats it (`%.1f`).
    private static func flavor(_ version: Double) -> String {
        version == 2 ? "2.0" : version == 1.0 ? "1.0" : version == 0.9 ? "0.9" : "1.1"
    }

    /// The root span (`KONG_SPANS[1]`).
    public var root: TraceSpan? { spans.first }

    // MARK: Spans

    /// Starts a span under the active one and makes it active (Kong's `start_span` then
    /// `set_active_span`); returns its index.
    @discardableResult
    public mutating func start(_ name: String, kind: TraceSpan.Kind = .internal, at nanos: UInt64 = WallClock.nowNanoseconds()) -> Int {
        link(child(name, kind: kind, at: nanos), parent: active, activate: true)
    }

    /// A new span under the active one (in its trace, with its sampling decision), not linked;
    /// the root of a new trace when none is active.
    private func child(_ name: String, kind: TraceSpan.Kind, at nanos: UInt64) -> TraceSpan {
        let parent = active.map { spans[$0] }
        return TraceSpan(
            name: name, kind: kind, traceID: parent?.traceID ?? TraceIDs.random(16), parentID: parent?.spanID,
            startNanos: nanos, shouldSample: parent?.shouldSample)
    }

    @discardableResult
    private mutating func link(_ span: TraceSpan, parent: Int?, activate: Bool) -> Int {
        spans.append(span)
        parents.append(parent)
        if activate { active = spans.count - 1 }
        return spans.count - 1
    }

    /// Ends a span; the active span goes back to its nearest open ancestor (a plugin's span
    /// ends when its `access` suspends, before the I/O it waits for).
    public mutating func finish(_ index: Int, at nanos: UInt64 = WallClock.nowNanoseconds()) {
        spans[index].finish(at: nanos)
        guard active == index else { return }
        var parent = parents[index]
        while let p = parent, spans[p].endNanos != nil { parent = parents[p] }
        active = parent
    }

    /// Marks a span failed with the error (Kong's `record_error` and `set_status(2)`).
    public mutating func fail(_ index: Int, _ message: String) {
        spans[index].recordError(message)
        spans[index].status = .error
    }

    /// Changes a span in place.
    public mutating func update(_ index: Int, _ change: (inout TraceSpan) -> Void) {
        change(&spans[index])
    }

    /// Kong's `tracer:set_should_sample`: every linked span's decision.
    public mutating func setShouldSample(_ sampled: Bool) {
        for i in spans.indices { spans[i].shouldSample = sampled }
    }

    /// Kong's `get_sampling_decision`: none without a root span; the parent's `false` (or no
    /// trace id) as is; else the trace id sampled at the plugin's rate, or the node's.
    public func samplingDecision(parentSampled: Bool?, rate: Double?) -> Bool {
        guard root != nil else { return false }
        guard parentSampled != false, let traceID = rawTraceID else { return parentSampled ?? false }
        return TracerSettings.sample(traceID: traceID, rate: rate ?? settings.samplingRate) ?? false
    }

    // MARK: Instrumentations

    /// Starts `kong.router` when routing is instrumented.
    public mutating func startRouter() -> Int? {
        settings.instrumentations.contains(.router) ? start("kong.router") : nil
    }

    /// Starts `kong.dns` when DNS queries are instrumented.
    public mutating func startDNS() -> Int? {
        settings.instrumentations.contains(.dnsQuery) ? start("kong.dns", kind: .client) : nil
    }

    /// Ends `kong.dns` with the name asked, the port, and the address found or the error.
    public mutating func finishDNS(_ index: Int, host: String, port: Int, result: Result<String, DNSQueryError>) {
        spans[index].setAttribute("dns.record.domain", .string(host))
        spans[index].setAttribute("dns.record.port", .double(Double(port)))
        switch result {
        case .success(let ip): spans[index].setAttribute("dns.record.ip", .string(ip))
        case .failure(let error): fail(index, error.message)
        }
        finish(index)
    }

    /// lua-resty-http's `User-Agent`, which Kong records when a call sends none.
    static let restyHTTPUserAgent = "lua-resty-http/0.17.2 (Lua) ngx_lua/10026"

    /// Starts `kong.internal.request` for a plugin's HTTP call (Kong's `http_client`
    /// instrumentation of `request_uri`) when it is instrumented.
    public mutating func startHTTPClient(url: String, method: String, userAgent: String?) -> Int? {
        guard settings.instrumentations.contains(.httpClient) else { return nil }
        let index = start("kong.internal.request", kind: .client)
        spans[index].setAttribute("http.url", .string(url))
        spans[index].setAttribute("http.method", .string(method))
        spans[index].setAttribute("http.flavor", .string("1.1"))
        spans[index].setAttribute("http.user_agent", .string(userAgent ?? Self.restyHTTPUserAgent))
        return index
    }

    /// Ends `kong.internal.request` with the response's status, or the error.
    public mutating func finishHTTPClient(_ index: Int, status: Result<Int, any Error>) {
        switch status {
        case .success(let code): spans[index].setAttribute("http.status_code", .int(Int64(code)))
        case .failure(let error): spans[index].recordError("\(error)")
        }
        finish(index)
    }

    /// Starts `kong.<phase>.plugin.<name>` when the phase is instrumented.
    mutating func startPlugin(_ phase: PluginPhase, _ name: String) -> Int? {
        let type: TracingInstrumentations
        switch phase {
        case .rewrite: type = .pluginRewrite
        case .access: type = .pluginAccess
        case .headerFilter: type = .pluginHeaderFilter
        default: return nil
        }
        guard settings.instrumentations.contains(type) else { return nil }
        return start("kong.\(phase.rawValue).plugin.\(name)")
    }

    /// The request's end, before the log phase (Kong's `runloop_before_header_filter` and
    /// `runloop_log_before`): the root's status and route, a `kong.balancer` span per try (the
    /// last, successful one is the span made ahead, ending with the response), then the
    /// active span ends.
    public mutating func end(served: ServedExchange, routePath: String?, at nanos: UInt64 = WallClock.nowNanoseconds()) {
        if root != nil {
            spans[0].setAttribute("http.status_code", .int(Int64(served.status)))
            spans[0].setAttribute("http.route", .string(routePath ?? ""))
        }
        if settings.instrumentations.contains(.balancer), let tries = served.tries {
            for (i, attempt) in tries.enumerated() { linkTry(attempt, number: i + 1, last: i == tries.count - 1, end: nanos) }
        }
        if let active { finish(active, at: nanos) }
    }

    private mutating func linkTry(_ attempt: ServedExchange.Try, number: Int, last: Bool, end: UInt64) {
        let start = UInt64(max(0, attempt.balancerStartNanoseconds))
        var span: TraceSpan
        let reusesAhead = last && attempt.state == nil && balancer != nil
        if reusesAhead, let ahead = balancer {
            span = ahead
            balancer = nil
            span.startNanos = start
        } else {
            span = child("", kind: .client, at: start)
        }
        span.name = "kong.balancer"
        span.setAttribute("try_count", .double(Double(number)))
        span.setAttribute("net.peer.ip", .string(attempt.ip))
        span.setAttribute("net.peer.port", .double(Double(attempt.port)))
        if attempt.state != nil {
            if let code = attempt.code { span.setAttribute("http.status_code", .int(Int64(code))) }
            span.status = .error
        }
        if let hostname = attempt.hostname { span.setAttribute("net.peer.name", .string(hostname)) }
        span.finish(at: reusesAhead ? end : start + UInt64(max(0, attempt.balancerLatency)) * 1_000_000)
        link(span, parent: active, activate: false)
    }
}

/// A failed DNS query, as the `kong.dns` span records it.
public struct DNSQueryError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
