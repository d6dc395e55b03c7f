import KGateConfig
import KGateSchema
import Logging
import NIOCore
import NIOHTTP1

/// Kong's `opentelemetry` (PRIORITY 14): trace context propagation and, when the node records
/// spans (`tracing_instrumentations`), their export as OTLP/HTTP protobuf to `traces_endpoint`.
///
/// In `access` the request's tracing headers are read (`propagation.extract`, or what
/// `header_type` means) and a context is written upstream in the `inject` formats after the
/// `clear` headers are removed. With tracing on, the injected span is the request's balancer
/// span (else its root span `kong`) in the received trace, the root's parent is the received
/// span, and the trace is sampled by the received decision and `sampling_rate` (else the
/// node's `tracing_sampling_rate`). With tracing off, a root span is made only for
/// propagation (a new trace id unless one was received, not sampled) and nothing is exported.
/// The trace id goes to the log serializer's `trace_id`; `http_response_header_for_traceid`
/// echoes it to the client.
///
/// In `log` the request's sampled spans are queued (Kong's queue, `<plugin id>:traces`) and
/// sent in batches as an `ExportTraceServiceRequest` with `Content-Type:
/// application/x-protobuf` and `headers`, under the resource `service.name` (`kong`),
/// `service.instance.id` (the node id), `service.version` and `resource_attributes`, whose
/// `$(...)` templates are rendered from the request as Kong does. `logs_endpoint` gets, through
/// a queue of its own (`<plugin id>:logs`), an `ExportLogsServiceRequest` of what the request's
/// Lua (pre-function, post-function) logged with `kong.log` and `ngx.log` at or above
/// `log_level`, with Kong's attributes and the request's trace id.
public final class OpenTelemetryPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        /// Whether `traces_endpoint` is set (traces, hence propagation, are on).
        var traces: Bool
        var propagation: TracePropagation
        var responseHeaderForTraceID: String?
        /// `sampling_rate`: supersedes the node's `tracing_sampling_rate` when set.
        var samplingRate: Double?
        var endpoint: PluginHTTPClient.Endpoint?
        var headers: [(String, String)]
        var resourceAttributes: [(key: String, template: Template)]
        var timeout: TimeAmount
        var queueName: String
        var queue: LogQueue.Settings
        var logsEndpoint: PluginHTTPClient.Endpoint?
        var logsQueueName: String
    }

    /// `opentelemetry`.
    public static let name = "opentelemetry"
    /// 14.
    public static let priority = 14
    /// access, header_filter, log.
    public static let phases: PluginPhases = [.access, .headerFilter, .log]
    /// Kong's schema.
    public static let schema = ObservabilitySchemas.opentelemetry

    /// The plugin's keys in `kong.ctx.plugin`: the trace id (hex), and false when the trace
    /// is not to be exported (Kong's `should_sample`).
    static let traceIDKey = "trace_id"
    static let shouldSampleKey = "should_sample"
    /// The trace id's bytes and flags, for the request's logs.
    static let rawTraceIDKey = "raw_trace_id"
    static let traceFlagsKey = "trace_flags"

    /// `kong.node.get_id()`.
    let nodeID: String
    /// `untrusted_lua` is not `off`: `resource_attributes` templates are rendered.
    let luaEnabled: Bool
    private let queues = LogQueues(plugin: "opentelemetry")
    private let logger = Logger(label: "kgate.plugins.opentelemetry")

    /// Makes the plugin; `nodeID` is `kong.node.get_id()` (a random UUID when nil).
    public init(nodeID: String? = nil, luaEnabled: Bool = true) {
        self.nodeID = nodeID ?? EntityID.random()
        self.luaEnabled = luaEnabled
    }

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let traces = config.string("traces_endpoint")
        let headers = (config["headers"]?.objectValue ?? [:]).compactMap { name, value in value.stringValue.map { (name, $0) } }
        let attributes = (config["resource_attributes"]?.objectValue ?? [:]).compactMap { key, value in
            value.stringValue.map { (key: key, template: Template($0)) }
        }
        return Config(
            traces: traces != nil, propagation: TracePropagation(config: config),
            responseHeaderForTraceID: config.string("http_response_header_for_traceid"),
            samplingRate: config.number("sampling_rate"),
            endpoint: traces.flatMap(ParsedURL.init).flatMap(PluginHTTPClient.Endpoint.init(url:)),
            headers: headers.sorted { $0.0 < $1.0 }, resourceAttributes: attributes.sorted { $0.key < $1.key },
            timeout: .milliseconds(Int64(config.integer("read_timeout") ?? 5000)), queueName: scope.id + ":traces",
            queue: LogQueue.Settings(pluginConfig: config),
            logsEndpoint: config.string("logs_endpoint").flatMap(ParsedURL.init).flatMap(PluginHTTPClient.Endpoint.init(url:)),
            logsQueueName: scope.id + ":logs")
    }

    // MARK: Phases

    /// Propagates the trace context upstream (Kong's `otel_traces.access`).
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard config.traces else { return }
        let context = config.propagation.propagate(&ctx) { extracted, ctx in
            guard ctx.trace?.root != nil else {
                ctx.plugin[Self.shouldSampleKey] = false
                return Self.rootSpanContext(extracted)
            }
            return Self.injectContext(extracted, samplingRate: config.samplingRate, &ctx.trace!)
        }
        if let traceID = context.traceID {
            ctx.plugin[Self.traceIDKey] = TraceIDs.hex(traceID)
            ctx.plugin[Self.rawTraceIDKey] = traceID
            ctx.plugin[Self.traceFlagsKey] = context.shouldSample == true ? UInt32(1) : UInt32(0)
        }
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

    /// Kong's `get_inject_ctx` with tracing on: the received trace id becomes the request's
    /// (and the injected span's), the received span the root's parent; the sampling decision
    /// is made and set on every span; the injected span (the balancer's, else the root) is
    /// what goes upstream.
    static func injectContext(_ extracted: TraceContext, samplingRate: Double?, _ trace: inout RequestTrace) -> TraceContext {
        if let traceID = extracted.traceID { trace.rawTraceID = traceID }
        if let parent = extracted.spanID ?? extracted.parentID { trace.update(0) { $0.parentID = parent } }
        let sampled = trace.samplingDecision(parentSampled: extracted.shouldSample, rate: samplingRate)
        trace.setShouldSample(sampled)
        var injected = trace.balancer ?? trace.root!
        if let traceID = extracted.traceID { injected.traceID = traceID }
        injected.shouldSample = sampled
        if trace.balancer != nil {
            trace.balancer = injected
        } else {
            trace.update(0) { $0.traceID = injected.traceID }
        }
        var context = extracted
        context.traceID = injected.traceID
        context.spanID = injected.spanID
        context.parentID = injected.parentID
        context.shouldSample = sampled
        return context
    }

    /// Echoes the trace id (`http_response_header_for_traceid`).
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard config.traces, let name = config.responseHeaderForTraceID else { return }
        let traceID = (ctx.plugin[Self.traceIDKey] as? String) ?? ctx.trace?.rawTraceID.map(TraceIDs.hex)
        if let traceID { ctx.response.addHeader(name, traceID) }
    }

    /// Queues the request's sampled spans (Kong's `otel_traces.log`) and its Lua's logs (Kong's
    /// `otel_logs.log`).
    public func log(_ config: Config, _ ctx: inout PluginContext) {
        logTraces(config, &ctx)
        logLogs(config, &ctx)
    }

    /// Queues the request's sampled spans, in the request's trace.
    private func logTraces(_ config: Config, _ ctx: inout PluginContext) {
        guard config.traces, let endpoint = config.endpoint, let trace = ctx.trace,
            ctx.plugin[Self.shouldSampleKey] as? Bool != false
        else { return }
        let spans = trace.spans.filter { $0.shouldSample != false }
        guard !spans.isEmpty else { return }
        let queue = exportQueue(config.queueName, to: endpoint, config, ctx)
        for var span in spans {
            if let traceID = trace.rawTraceID { span.traceID = traceID }
            queue.enqueue(OTLPEncoding.span(span))
        }
    }

    /// Queues what the request's Lua logged, each entry with `request.id` and where it was
    /// logged from, in the request's trace (the root span's id).
    private func logLogs(_ config: Config, _ ctx: inout PluginContext) {
        guard let endpoint = config.logsEndpoint, ctx.luaTables != nil else { return }
        let records = LuaRuntime.current.requestLogs(ctx)
        guard !records.isEmpty else { return }
        let queue = exportQueue(config.logsQueueName, to: endpoint, config, ctx)
        let traceID = ctx.plugin[Self.rawTraceIDKey] as? [UInt8] ?? ctx.trace?.rawTraceID
        let flags = ctx.plugin[Self.traceFlagsKey] as? UInt32
        let requestID = ctx.request.requestID
        for record in records {
            var attributes = [SpanAttribute("request.id", .string(requestID))]
            if let line = record.line { attributes.append(SpanAttribute("introspection.current.line", .double(Double(line)))) }
            for (key, value) in [
                ("introspection.name", record.name), ("introspection.namewhat", record.namewhat),
                ("introspection.source", record.source), ("introspection.what", record.what),
            ] {
                if let value { attributes.append(SpanAttribute(key, .string(value))) }
            }
            queue.enqueue(
                OTLPEncoding.logRecord(
                    timeNanos: record.timeNanos, level: record.level, body: record.body, attributes: attributes,
                    traceID: traceID, spanID: traceID == nil ? nil : ctx.trace?.root?.spanID, flags: traceID == nil ? nil : flags))
        }
    }

    // MARK: Export

    /// The queue of encoded spans or log records bound for `endpoint` (made on first use):
    /// each batch goes out as one export request under the resource of the config.
    private func exportQueue(_ name: String, to endpoint: PluginHTTPClient.Endpoint, _ config: Config, _ ctx: PluginContext) -> LogQueue {
        queues.queue(name, settings: config.queue, logger: logger) { logger in
            let resource = resourceAttributes(config, ctx, logger: logger)
            let client = PluginHTTPClient(endpoint: endpoint)
            let headers = Self.exportHeaders(config.headers)
            return { batch in
                try await Self.export(
                    OTLPEncoding.exportRequest(batch, resource: resource), to: client, headers: headers, timeout: config.timeout)
            }
        }
    }

    /// Kong's `get_headers`: the configured headers, with `Content-Type:
    /// application/x-protobuf` unless they name one (as written).
    static func exportHeaders(_ configured: [(String, String)]) -> HTTPHeaders {
        var headers = HTTPHeaders(configured)
        if !configured.contains(where: { $0.0 == "Content-Type" }) { headers.add(name: "Content-Type", value: "application/x-protobuf") }
        return headers
    }

    /// One batch (Kong's `http_export_request`): anything but a 200 fails it.
    static func export(_ body: [UInt8], to client: PluginHTTPClient, headers: HTTPHeaders, timeout: TimeAmount) async throws {
        let response = try await client.post(body, headers: headers, timeout: timeout) { "failed to send request: \($0)" }
        guard response.status == 200 else {
            throw PluginHTTPClient.Failure(description: "response error: \(response.status), body: \(response.body)")
        }
    }

    /// The resource's attributes (Kong's `render_resource_attributes`): `service.name`,
    /// `service.instance.id` and `service.version`, overridden or extended by
    /// `resource_attributes`, sorted by key. A template that does not compile stays as
    /// written; one that fails to render (or any `$(...)` with `untrusted_lua = off`) leaves
    /// every attribute unrendered, with a warning.
    func resourceAttributes(_ config: Config, _ ctx: PluginContext, logger: Logger) -> [SpanAttribute] {
        var values: [String: String] = [
            "service.name": "kong", "service.instance.id": nodeID, "service.version": PluginConstants.kongVersion,
        ]
        var rendered: [String: String] = [:]
        var env = LazyTemplateEnvironment(luaEnabled: luaEnabled, plugin: "otel")
        do {
            for (key, template) in config.resourceAttributes {
                rendered[key] = template.compiles ? try env.renderTemplate(template, ctx) : template.source
            }
        } catch {
            logger.warning("[otel] resource attributes template failed to compile: \(error)")
            rendered = Dictionary(config.resourceAttributes.map { ($0.key, $0.template.source) }, uniquingKeysWith: { $1 })
        }
        values.merge(rendered) { $1 }
        return values.sorted { $0.key < $1.key }.map { SpanAttribute($0.key, .string($0.value)) }
    }
}
