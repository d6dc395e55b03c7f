import KGateSchema

/// A tracing plugin's propagation settings (Kong's `propagation` record, or what the
/// deprecated `header_type` and `default_header_type` mean: `get_plugin_params`), and the
/// extract, clear and inject steps of `kong.observability.tracing.propagation`.
struct TracePropagation: Sendable, Equatable {
    /// An `inject` entry.
    enum Injection: Sendable, Equatable {
        /// The format the context was extracted from, else the default format.
        case preserve
        case format(TraceFormat)
    }

    /// The formats tried in order; nil: none.
    var extract: [TraceFormat]?
    /// Header names removed from the upstream request after extraction.
    var clear: [String]?
    /// The formats written upstream; nil: none.
    var inject: [Injection]?
    /// The format of `preserve` when nothing was extracted.
    var defaultFormat: TraceFormat?

    /// Every extractor, in the order `header_type` tries them.
    static let allExtractors: [TraceFormat] = [.b3, .w3c, .jaeger, .ot, .datadog, .aws, .gcp, .instana]

    /// Reads a plugin config.
    init(config: Object) {
        let propagation = config["propagation"]?.objectValue ?? [:]
        let formats = { (key: String) -> [TraceFormat]? in
            propagation[key]?.arrayValue.map { $0.compactMap { $0.stringValue.flatMap(TraceFormat.init(rawValue:)) } }
        }
        defaultFormat = propagation["default_format"]?.stringValue.flatMap(TraceFormat.init(rawValue:))
        let explicit = ["extract", "clear", "inject"].contains { key in propagation[key].map { !$0.isNull } ?? false }
        if explicit {
            extract = formats("extract")
            clear = propagation["clear"]?.arrayValue?.compactMap(\.stringValue)
            inject = propagation["inject"]?.arrayValue.map {
                $0.compactMap { value in
                    value.stringValue == "preserve" ? .preserve : value.stringValue.flatMap(TraceFormat.init(rawValue:)).map(Injection.format)
                }
            }
            return
        }
        if let old = config["default_header_type"]?.stringValue { defaultFormat = TraceFormat(rawValue: old) }
        switch config["header_type"]?.stringValue {
        case nil: break
        case "preserve":
            extract = Self.allExtractors
            inject = [.preserve]
        case "ignore":
            inject = defaultFormat.map { [.format($0)] }
        case let type?:
            extract = Self.allExtractors
            inject = [.preserve] + (TraceFormat(rawValue: type).map { [.format($0)] } ?? [])
        }
    }

    /// Kong's `propagate`: the context extracted from the request, turned by `injecting` into
    /// the one sent upstream (the plugin's `get_inject_ctx`), then the `clear` headers removed
    /// and the context injected. The trace id goes to the log's `trace_id`, injector errors to
    /// the error log. Returns the injected context.
    @discardableResult
    func propagate(_ ctx: inout PluginContext, injecting: (TraceContext, inout PluginContext) -> TraceContext) -> TraceContext {
        let (extracted, format) = extracted(from: ctx)
        let context = injecting(extracted, &ctx)
        let (traceIDs, errors) = apply(context, extractedFrom: format, to: &ctx.request)
        if !traceIDs.isEmpty {
            ctx.serializedValues["trace_id"] = .object(Object(uniqueKeysWithValues: traceIDs.map { ($0.key, Value.string($0.value)) }))
        }
        if !errors.isEmpty { ctx.logger.error("\(errors.joined(separator: ", "))") }
        return context
    }

    /// The request's context, Kong's warnings about its headers going to the plugin's log.
    func extracted(from ctx: PluginContext) -> (context: TraceContext, format: TraceFormat?) {
        let logger = ctx.logger
        return extracted(from: TraceHeaders(ctx.request.headers)) { logger.warning("\($0)") }
    }

    /// Kong's `extract_tracing_context`: the first non-empty context the formats find, with
    /// its format.
    func extracted(from headers: TraceHeaders, warn: (String) -> Void) -> (context: TraceContext, format: TraceFormat?) {
        for format in extract ?? [] {
            if let context = format.extract(headers, warn: warn), !context.isEmpty { return (context, format) }
        }
        return (TraceContext(), nil)
    }

    /// Kong's `clear_tracing_headers` then `inject_tracing_context`: removes the `clear`
    /// headers, sets every injector's headers, and returns the trace id as each format
    /// prints it, or the injectors' errors.
    func apply(
        _ context: TraceContext, extractedFrom: TraceFormat?, to request: inout PluginRequest
    ) -> (traceIDs: [(key: String, value: String)], errors: [String]) {
        for name in clear ?? [] { request.clearHeader(name) }
        var traceIDs: [(key: String, value: String)] = []
        var errors: [String] = []
        for injection in inject ?? [] {
            var format: TraceFormat
            switch injection {
            case .format(let f): format = f
            case .preserve:
                format = extractedFrom ?? defaultFormat ?? .w3c
                if format == .b3, context.singleHeader { format = .b3Single }
            }
            switch format.inject(context) {
            case .success(let injection):
                for field in injection.headers { request.setHeader(field.name, field.value) }
                if let id = injection.formattedTraceID {
                    if let i = traceIDs.firstIndex(where: { $0.key == id.key }) { traceIDs[i] = id } else { traceIDs.append(id) }
                }
            case .failure(let error):
                errors.append(error.message)
            }
        }
        return (traceIDs, errors)
    }
}
