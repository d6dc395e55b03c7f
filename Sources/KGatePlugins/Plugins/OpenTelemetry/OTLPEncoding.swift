/// Kong's OTLP encoder (`kong/observability/otlp`): traces and logs as the protobuf bodies of
/// OTLP/HTTP export requests. Field numbers are those of Kong's bundled
/// `opentelemetry/proto` files; scalar fields at their proto3 default are omitted.
enum OTLPEncoding {
    /// The instrumentation scope Kong reports.
    static let scopeName = "kong-internal"
    static let scopeVersion = "0.1.0"

    /// An `ExportTraceServiceRequest`: one `ResourceSpans` with `resource`'s attributes (in
    /// order) and one `ScopeSpans` holding `spans` (Kong's `encode_traces` of `transform_span`s).
    static func traces(_ spans: [TraceSpan], resource: [SpanAttribute]) -> [UInt8] {
        exportRequest(spans.map(span), resource: resource)
    }

    /// An `ExportTraceServiceRequest` of spans encoded by `span(_:)`, or an
    /// `ExportLogsServiceRequest` of records encoded by `logRecord(...)` (Kong's queues hold
    /// encoded items; both requests have one layout): `resource_spans`/`resource_logs` (1) holds
    /// `resource` (1) and `scope_spans`/`scope_logs` (2); that holds `scope` (1) and the items (2).
    static func exportRequest(_ encodedItems: [[UInt8]], resource: [SpanAttribute]) -> [UInt8] {
        var request = ProtobufWriter()
        request.message(1) { resourceItems in
            resourceItems.message(1) { writeAttributes(resource, field: 1, into: &$0) }
            resourceItems.message(2) { scopeItems in
                scopeItems.message(1) { scope in
                    scope.stringIfSet(1, scopeName)
                    scope.stringIfSet(2, scopeVersion)
                }
                for encoded in encodedItems { scopeItems.bytes(2, encoded) }
            }
        }
        return request.output
    }

    /// Kong's `map_severity`: an nginx level's OTLP severity number and text.
    static func severity(_ level: Int) -> (number: Int64, text: String)? {
        switch level {
        case 8: (5, "DEBUG")
        case 7: (9, "INFO")
        case 6: (11, "NOTICE")
        case 5: (13, "WARN")
        case 4: (17, "ERR")
        case 3: (19, "CRIT")
        case 2: (21, "ALERT")
        case 1: (23, "EMERG")
        default: nil
        }
    }

    /// One `LogRecord` (Kong's `prepare_logs`): times, severity, the body as a string, the
    /// attributes (`request.id`, `introspection.*`), and the request's trace id and flags.
    static func logRecord(
        timeNanos: UInt64, level: Int, body: String, attributes: [SpanAttribute], traceID: [UInt8]?, spanID: [UInt8]?,
        flags: UInt32?
    ) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.fixed64IfSet(1, timeNanos)
        if let severity = severity(level) {
            writer.int64IfSet(2, severity.number)
            writer.stringIfSet(3, severity.text)
        }
        writer.message(5) { $0.string(1, body) }
        writeAttributes(attributes, field: 6, into: &writer)
        writer.fixed32IfSet(8, flags)
        writer.bytesIfSet(9, traceID.flatMap { TraceIDs.sized($0, 16) })
        writer.bytesIfSet(10, spanID)
        writer.fixed64IfSet(11, timeNanos)
        return writer.output
    }

    /// One `Span` message's bytes (Kong's `transform_span`), for `exportRequest(_:resource:)`.
    static func span(_ span: TraceSpan) -> [UInt8] {
        var writer = ProtobufWriter()
        writeSpan(span, into: &writer)
        return writer.output
    }

    /// A `Span` (Kong's `transform_span`): the trace id sized to 16 bytes and the parent's to 8
    /// (the last bytes of a longer id, zeros in front of a shorter one); no parent, or an
    /// empty one, is left out, as is an open span's end. Status carries only its code.
    private static func writeSpan(_ span: TraceSpan, into writer: inout ProtobufWriter) {
        writer.bytesIfSet(1, TraceIDs.sized(span.traceID, 16))
        writer.bytesIfSet(2, span.spanID)
        writer.bytesIfSet(4, span.parentID.flatMap { $0.isEmpty ? nil : TraceIDs.sized($0, 8) })
        writer.stringIfSet(5, span.name)
        writer.int64IfSet(6, Int64(span.kind.rawValue))
        writer.fixed64IfSet(7, span.startNanos)
        writer.fixed64IfSet(8, span.endNanos)
        writeAttributes(span.attributes, field: 9, into: &writer)
        for event in span.events {
            writer.message(11) { writeEvent(event, into: &$0) }
        }
        if let status = span.status {
            writer.message(15) { $0.int64IfSet(3, Int64(status.rawValue)) }
        }
    }

    /// A `Span.Event`.
    private static func writeEvent(_ event: SpanEvent, into writer: inout ProtobufWriter) {
        writer.fixed64IfSet(1, event.timeNanos)
        writer.stringIfSet(2, event.name)
        writeAttributes(event.attributes, field: 3, into: &writer)
    }

    /// Each attribute as a `KeyValue` in the repeated `field`; the `AnyValue` member is always
    /// written (a `oneof` keeps its default values).
    private static func writeAttributes(_ attributes: [SpanAttribute], field: Int, into writer: inout ProtobufWriter) {
        for attribute in attributes {
            writer.message(field) { keyValue in
                keyValue.stringIfSet(1, attribute.key)
                keyValue.message(2) { value in
                    switch attribute.value {
                    case .string(let string): value.string(1, string)
                    case .bool(let bool): value.bool(2, bool)
                    case .int(let int): value.int64(3, int)
                    case .double(let double): value.double(4, double)
                    }
                }
            }
        }
    }
}
