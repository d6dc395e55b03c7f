/// A log record as Kong's `prepare_logs` makes it for OTLP (`logs/v1/logs.proto`'s `LogRecord`).
struct OTLPLogRecord: Sendable {
    /// Nanoseconds since 1970.
    var timeNanos: UInt64
    /// Nanoseconds since 1970.
    var observedTimeNanos: UInt64
    /// OTLP's `SeverityNumber` (Kong: DEBUG 5, INFO 9, NOTICE 11, WARN 13, ERR 17, CRIT 19, ALERT 21, EMERG 23).
    var severityNumber: Int
    var severityText: String
    /// Sent as an `AnyValue` string.
    var body: String
    var attributes: [SpanAttribute]
    /// The request's trace id, as received (not resized, as Kong).
    var traceID: [UInt8]?
    var spanID: [UInt8]?
    /// W3C trace flags.
    var flags: UInt32?
}

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
        traces(encodedSpans: spans.map(span), resource: resource)
    }

    /// The same request from spans already encoded by `span(_:)` (as Kong's queue holds
    /// transformed spans).
    static func traces(encodedSpans: [[UInt8]], resource: [SpanAttribute]) -> [UInt8] {
        export(resource: resource) { scope in
            for encoded in encodedSpans { scope.bytes(2, encoded) }
        }
    }

    /// One `Span` message's bytes (Kong's `transform_span`), for `traces(encodedSpans:resource:)`.
    static func span(_ span: TraceSpan) -> [UInt8] {
        var writer = ProtobufWriter()
        writeSpan(span, into: &writer)
        return writer.output
    }

    /// An `ExportLogsServiceRequest`: one `ResourceLogs` with `resource`'s attributes (in order)
    /// and one `ScopeLogs` holding `records` (Kong's `encode_logs`).
    static func logs(_ records: [OTLPLogRecord], resource: [SpanAttribute]) -> [UInt8] {
        export(resource: resource) { scope in
            for record in records { scope.message(2) { writeLogRecord(record, into: &$0) } }
        }
    }

    /// The envelope traces and logs share (their messages number alike): the request's
    /// `resource_*` (1) holds `resource` (1) and `scope_*` (2); that holds `scope` (1) and the
    /// items (2), which `items` writes.
    private static func export(resource: [SpanAttribute], items: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var request = ProtobufWriter()
        request.message(1) { resourceItems in
            resourceItems.message(1) { writeAttributes(resource, field: 1, into: &$0) }
            resourceItems.message(2) { scopeItems in
                scopeItems.message(1) { scope in
                    scope.stringIfSet(1, scopeName)
                    scope.stringIfSet(2, scopeVersion)
                }
                items(&scopeItems)
            }
        }
        return request.output
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

    /// A `LogRecord` (fields 1 to 11 but the reserved 4 and `dropped_attributes_count`).
    private static func writeLogRecord(_ record: OTLPLogRecord, into writer: inout ProtobufWriter) {
        writer.fixed64IfSet(1, record.timeNanos)
        writer.int64IfSet(2, Int64(record.severityNumber))
        writer.stringIfSet(3, record.severityText)
        writer.message(5) { $0.string(1, record.body) }
        writeAttributes(record.attributes, field: 6, into: &writer)
        writer.fixed32IfSet(8, record.flags)
        writer.bytesIfSet(9, record.traceID)
        writer.bytesIfSet(10, record.spanID)
        writer.fixed64IfSet(11, record.observedTimeNanos)
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
