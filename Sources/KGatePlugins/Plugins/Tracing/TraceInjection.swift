import KGateSchema

/// What one injector writes: the headers to set upstream and the trace id as the format
/// prints it (the log's `trace_id` entry).
struct TraceInjection: Equatable {
    var headers: [HTTPFields.Field]
    /// The format's key in the log's `trace_id` (`w3c`, `b3`, ...) and the id; nil when the
    /// format prints none.
    var formattedTraceID: (key: String, value: String)?

    static func == (a: TraceInjection, b: TraceInjection) -> Bool {
        a.headers == b.headers && a.formattedTraceID?.key == b.formattedTraceID?.key
            && a.formattedTraceID?.value == b.formattedTraceID?.value
    }
}

/// An injector refused its context (Kong's `injector context is invalid` errors).
struct TraceInjectionError: Error, Equatable {
    let message: String
}

extension TraceFormat {
    /// The sizes this format's trace ids may have, the first being the one used when the
    /// received size is not among them (`trace_id_allowed_sizes`).
    private var traceIDSizes: [Int] {
        switch self {
        case .w3c, .aws, .gcp: [16]
        case .b3, .b3Single, .jaeger, .instana: [16, 8]
        case .ot: [8, 16]
        case .datadog: [8]
        }
    }

    /// Whether the format needs both a trace and a span id (`context_validate.all`).
    private var needsIDs: Bool {
        switch self {
        case .w3c, .jaeger, .ot, .aws, .gcp: true
        case .b3, .b3Single, .datadog, .instana: false
        }
    }

    /// Kong's injector of this format (`_INJECTOR:inject`): the context's ids sized for the
    /// format, then its headers.
    func inject(_ context: TraceContext) -> Result<TraceInjection, TraceInjectionError> {
        if needsIDs {
            let missing = [("trace_id", context.traceID), ("span_id", context.spanID)].first { $0.1 == nil }
            if let missing {
                return .failure(TraceInjectionError(message: "\(rawValue) injector context is invalid: field \(missing.0) not found in context"))
            }
        }
        var sized = context
        let sizes = traceIDSizes
        let size = context.traceIDOriginalSize.flatMap { sizes.contains($0) ? $0 : nil } ?? sizes[0]
        sized.traceID = TraceIDs.sized(context.traceID, size)
        sized.spanID = TraceIDs.sized(context.spanID, 8)
        sized.parentID = TraceIDs.sized(context.parentID, 8)
        return .success(TraceInjection(headers: headers(sized), formattedTraceID: formattedTraceID(sized.traceID)))
    }

    /// `create_headers`.
    private func headers(_ c: TraceContext) -> [HTTPFields.Field] {
        let hex = { (id: [UInt8]?) in id.map(TraceIDs.hex) }
        let sampled = { (yes: String, no: String) in c.shouldSample == true ? yes : no }
        var out: [HTTPFields.Field] = []
        func add(_ name: String, _ value: String?) {
            if let value { out.append(HTTPFields.Field(name: name, value: value)) }
        }
        switch self {
        case .w3c:
            add("traceparent", "00-\(hex(c.traceID)!)-\(hex(c.spanID)!)-\(sampled("01", "00"))")
        case .b3:
            if let trace = hex(c.traceID), let span = hex(c.spanID) {
                add("x-b3-traceid", trace)
                add("x-b3-spanid", span)
                add("x-b3-parentspanid", hex(c.parentID))
            }
            if let flags = c.flags { add("x-b3-flags", flags) } else { add("x-b3-sampled", sampled("1", "0")) }
        case .b3Single:
            let flag: String? = c.flags == "1" ? "d" : c.shouldSample.map { $0 ? "1" : "0" }
            guard let trace = hex(c.traceID), let span = hex(c.spanID) else {
                add("b3", flag ?? "0")
                break
            }
            add("b3", [trace, span, flag, hex(c.parentID)].compactMap { $0 }.joined(separator: "-"))
        case .jaeger:
            add("uber-trace-id", "\(hex(c.traceID)!):\(hex(c.spanID)!):\(hex(c.parentID) ?? "0"):\(sampled("01", "00"))")
            for (key, value) in c.baggage ?? [:] { add("uberctx-" + key, QueryArgs.encode(value)) }
        case .ot:
            add("ot-tracer-traceid", hex(c.traceID))
            add("ot-tracer-spanid", hex(c.spanID))
            add("ot-tracer-sampled", c.shouldSample.map { $0 ? "1" : "0" })
            for (key, value) in c.baggage ?? [:] { add("ot-baggage-" + key, QueryArgs.encode(value)) }
        case .datadog:
            add("x-datadog-trace-id", c.traceID.map(TraceIDs.decimal))
            add("x-datadog-parent-id", c.spanID.map(TraceIDs.decimal))
            add("x-datadog-sampling-priority", c.shouldSample.map { $0 ? "1" : "0" })
        case .aws:
            let trace = hex(c.traceID)!
            let split = trace.index(trace.startIndex, offsetBy: 8)
            add("x-amzn-trace-id", "Root=1-\(trace[..<split])-\(trace[split...]);Parent=\(hex(c.spanID)!);Sampled=\(sampled("1", "0"))")
        case .gcp:
            add("x-cloud-trace-context", "\(hex(c.traceID)!)/\(TraceIDs.decimal(c.spanID!));o=\(sampled("1", "0"))")
        case .instana:
            add("x-instana-t", hex(c.traceID))
            add("x-instana-s", hex(c.spanID))
            add("x-instana-l", c.shouldSample.map { $0 ? "1" : "0" })
        }
        return out
    }

    /// `get_formatted_trace_id`.
    private func formattedTraceID(_ id: [UInt8]?) -> (key: String, value: String)? {
        switch self {
        case .b3, .b3Single: ("b3", id.map(TraceIDs.hex) ?? "")
        case .datadog: id.map { ("datadog", TraceIDs.decimal($0)) }
        default: id.map { (rawValue, TraceIDs.hex($0)) }
        }
    }
}
