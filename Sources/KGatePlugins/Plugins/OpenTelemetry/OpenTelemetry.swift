import KGateSchema
import Logging

/// Kong's `opentelemetry` (PRIORITY 14) as it runs with Kong's default
/// `tracing_instrumentations = off`: trace context propagation. In `access` the request's
/// tracing headers are read (`propagation.extract`, or what `header_type` means), a root span
/// is made (a new trace id unless one was received, a new span id, the received span as its
/// parent, not sampled), and its context is written upstream in the `inject` formats after
/// the `clear` headers are removed; the trace id goes to the log serializer's `trace_id`.
/// `http_response_header_for_traceid` echoes the trace id to the client.
///
/// kgate records no spans, so nothing is sent to `traces_endpoint` (Kong sends nothing either
/// with instrumentations off), and `logs_endpoint` gets no logs: a config with one is warned
/// about.
public struct OpenTelemetryPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        /// Whether `traces_endpoint` is set (traces, hence propagation, are on).
        var traces: Bool
        var propagation: TracePropagation
        var responseHeaderForTraceID: String?
    }

    /// `opentelemetry`.
    public static let name = "opentelemetry"
    /// 14.
    public static let priority = 14
    /// access, header_filter.
    public static let phases: PluginPhases = [.access, .headerFilter]
    /// Kong's schema.
    public static let schema = ObservabilitySchemas.opentelemetry

    /// The plugin's key for the trace id (hex) in `kong.ctx.plugin`.
    static let traceIDKey = "trace_id"

    private let logger = Logger(label: "kgate.plugins.opentelemetry")

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        if config.string("logs_endpoint") != nil {
            logger.warning("opentelemetry: kgate does not export logs; config.logs_endpoint is not used")
        }
        return Config(
            traces: config.string("traces_endpoint") != nil, propagation: TracePropagation(config: config),
            responseHeaderForTraceID: config.string("http_response_header_for_traceid"))
    }

    /// Propagates the trace context upstream (Kong's `otel_traces.access`).
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard config.traces else { return }
        let context = config.propagation.propagate(&ctx) { extracted, _ in Self.rootSpanContext(extracted) }
        if let traceID = context.traceID { ctx.plugin[Self.traceIDKey] = TraceIDs.hex(traceID) }
    }

    /// Kong's `get_inject_ctx` with tracing off: the root span's context, in the trace
    /// received (else a new one), its parent the received span, not sampled.
    static func rootSpanContext(_ extracted: TraceContext) -> TraceContext {
        var context = extracted
        context.traceID = extracted.traceID ?? TraceIDs.random(16)
        context.parentID = extracted.spanID ?? extracted.parentID
        context.spanID = TraceIDs.random(8)
        context.shouldSample = false
        return context
    }

    /// Echoes the trace id (`http_response_header_for_traceid`).
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard config.traces, let name = config.responseHeaderForTraceID, let traceID = ctx.plugin[Self.traceIDKey] as? String else { return }
        ctx.response.addHeader(name, traceID)
    }
}
