/// Kong's OTLP encoder (`kong/observability/otlp`): traces as the protobuf bodies of OTLP/HTTP
/// export requests. Field numbers are those of Kong's bundled
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
    /// transformed spans): `resource_spans` (1) holds `resource` (1) and `scope_spans` (2); that
    /// holds `scope` (1) and the spans (2).
    static func traces(encodedSpans: [[UInt8]], resource: [SpanAttribute]) -> [UInt8] {
        var request = ProtobufWriter()
        request.message(1) { resourceSpans in
            resourceSpans.message(1) { writeAttributes(resource, field: 1, into: &$0) }
            resourceSpans.message(2) { scopeSpans in
                scopeSpans.message(1) { scope in
                    scope.stringIfSet(1, scopeName)
                    scope.stringIfSet(2, scopeVersion)
                }
                for encoded in encodedSpans { scopeSpans.bytes(2, encoded) }
            }
        }
        return request.output
    }

    /// One `Span` message's bytes (Kong's `transform_span`), for `traces(encodedSpans:resource:)`.
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
