@testable import KGatePlugins
import KGateTestSupport
import Testing

/// kgate's OTLP protobuf encoding (Kong's `kong/observability/otlp`): the wire-format writer's
/// exact bytes, then traces read back with the test support's decoder.
@Suite struct OTLPEncodingTests {
    /// Attributes of every kind, defaults included (a `oneof` member is sent even at its default).
    static let allKinds: [SpanAttribute] = [
        SpanAttribute("http.method", .string("GET")),
        SpanAttribute("empty", .string("")),
        SpanAttribute("sampled", .bool(true)),
        SpanAttribute("cached", .bool(false)),
        SpanAttribute("http.status_code", .int(200)),
        SpanAttribute("negative", .int(-5)),
        SpanAttribute("zero", .int(0)),
        SpanAttribute("ratio", .double(0.25)),
    ]
    static let resource: [SpanAttribute] = [
        SpanAttribute("service.name", .string("kong")),
        SpanAttribute("service.instance.id", .string("node-1")),
        SpanAttribute("weight", .double(1.5)),
    ]

    /// What the decoder should read for `attributes`.
    static func decoded(_ attributes: [SpanAttribute]) -> [OTLPKeyValue] {
        attributes.map { attribute in
            switch attribute.value {
            case .string(let v): OTLPKeyValue(attribute.key, .string(v))
            case .bool(let v): OTLPKeyValue(attribute.key, .bool(v))
            case .int(let v): OTLPKeyValue(attribute.key, .int(v))
            case .double(let v): OTLPKeyValue(attribute.key, .double(v))
            }
        }
    }

    /// The spans of a request, undecoded (request > resource_* > scope_* > items).
    static func rawItems(_ bytes: [UInt8]) throws -> [ProtobufMessage] {
        try ProtobufMessage(bytes).message(1)?.message(2)?.messages(2) ?? []
    }

    /// `request`'s items, after checking its resource (`Self.resource`), its scope and its count.
    static func items(_ request: OTLPTraceRequest, count: Int) throws -> [OTLPSpan] {
        #expect(request.resource == decoded(resource))
        #expect(request.scopeName == "kong-internal")
        #expect(request.scopeVersion == "0.1.0")
        try #require(request.spans.count == count)
        return request.spans
    }

    /// `body`'s bytes.
    static func written(_ body: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var writer = ProtobufWriter()
        body(&writer)
        return writer.output
    }

    // MARK: Wire format

    @Test func scalarsAndMessagesHaveTheirExactBytes() {
        #expect(Self.written { $0.varint(1, 300) } == [0x08, 0xAC, 0x02])
        #expect(Self.written { $0.int64(2, -1) } == [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        #expect(Self.written { $0.bool(3, true) } == [0x18, 0x01])
        #expect(Self.written { $0.fixed64(7, 0x0102_0304_0506_0708) } == [0x39, 8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Self.written { $0.fixed32(8, 1) } == [0x45, 1, 0, 0, 0])
        #expect(Self.written { $0.double(4, 1.5) } == [0x21, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F])
        #expect(Self.written { $0.bytes(1, [0xAB]) } == [0x0A, 0x01, 0xAB])
        #expect(Self.written { $0.message(2) { $0.string(1, "hi") } } == [0x12, 0x04, 0x0A, 0x02, 0x68, 0x69])
        #expect(Self.written { $0.message(15) { _ in } } == [0x7A, 0x00])
        #expect(Self.written { $0.varint(16, 1) } == [0x80, 0x01, 0x01])
    }

    @Test func ifSetHelpersOmitProto3Defaults() {
        let defaults = Self.written {
            $0.int64IfSet(1, 0)
            $0.int64IfSet(1, nil)
            $0.boolIfSet(2, false)
            $0.fixed64IfSet(3, 0)
            $0.fixed32IfSet(4, nil)
            $0.bytesIfSet(5, [])
            $0.stringIfSet(6, "")
        }
        #expect(defaults.isEmpty)
        let set = Self.written {
            $0.int64IfSet(1, 2)
            $0.boolIfSet(2, true)
            $0.fixed32IfSet(4, 7)
            $0.bytesIfSet(5, [9])
            $0.stringIfSet(6, "a")
        }
        #expect(set == [0x08, 0x02, 0x10, 0x01, 0x25, 7, 0, 0, 0, 0x2A, 0x01, 9, 0x32, 0x01, 0x61])
    }

    @Test func emptyTraceRequestIsTheEnvelopeOnly() {
        let scope: [UInt8] = [0x0A, 0x0D] + Array("kong-internal".utf8) + [0x12, 0x05] + Array("0.1.0".utf8)
        let scopeSpans: [UInt8] = [0x0A, UInt8(scope.count)] + scope
        let resourceSpans: [UInt8] = [0x0A, 0x00, 0x12, UInt8(scopeSpans.count)] + scopeSpans
        #expect(OTLPEncoding.traces([], resource: []) == [0x0A, UInt8(resourceSpans.count)] + resourceSpans)
    }

    @Test func readerRefusesTruncatedInput() {
        #expect(throws: ProtobufDecodingError.truncated) { try ProtobufMessage([0x0A, 0x05, 0x01]) }
        #expect(throws: ProtobufDecodingError.truncated) { try ProtobufMessage([0x08, 0xAC]) }
        #expect(throws: ProtobufDecodingError.unsupportedWireType(3)) { try ProtobufMessage([0x0B]) }
    }

    // MARK: Traces

    @Test func spansRoundTrip() throws {
        let longTrace = (1...20).map(UInt8.init)
        var full = TraceSpan(
            name: "kong.router", kind: .server, traceID: longTrace, spanID: [1, 2, 3, 4, 5, 6, 7, 8],
            parentID: [0xA, 0xB, 0xC, 0xD], startNanos: 1_700_000_000_000_000_001)
        for attribute in Self.allKinds { full.setAttribute(attribute.key, attribute.value) }
        full.addEvent("exception", attributes: [SpanAttribute("exception.message", .string("boom"))], at: 1_700_000_000_000_000_002)
        full.addEvent("bare", at: 1_700_000_000_000_000_003)
        full.status = .error
        full.finish(at: 1_700_000_000_000_000_009)
        var open = TraceSpan(name: "open", kind: .unspecified, traceID: [1, 2, 3, 4, 5, 6, 7, 8], spanID: [9, 9, 9, 9, 9, 9, 9, 9], startNanos: 5)
        open.status = .unset

        let spans = try Self.items(OTLPTraceRequest(OTLPEncoding.traces([full, open], resource: Self.resource)), count: 2)

        let first = spans[0]
        #expect(first.traceID == Array(longTrace.suffix(16)))
        #expect(first.spanID == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(first.parentSpanID == [0, 0, 0, 0, 0xA, 0xB, 0xC, 0xD])
        #expect(first.name == "kong.router")
        #expect(first.kind == 2)
        #expect(first.startNanos == 1_700_000_000_000_000_001)
        #expect(first.endNanos == 1_700_000_000_000_000_009)
        #expect(first.attributes == Self.decoded(Self.allKinds))
        #expect(first.events.map(\.name) == ["exception", "bare"])
        #expect(first.events.map(\.timeNanos) == [1_700_000_000_000_000_002, 1_700_000_000_000_000_003])
        #expect(first.events.map(\.attributes) == [[OTLPKeyValue("exception.message", .string("boom"))], []])
        #expect(first.statusCode == 2)

        let second = spans[1]
        #expect(second.traceID == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(second.spanID == [9, 9, 9, 9, 9, 9, 9, 9])
        #expect(second.parentSpanID == nil)
        #expect(second.name == "open")
        #expect(second.kind == 0)
        #expect(second.startNanos == 5)
        #expect(second.endNanos == nil)
        #expect(second.attributes.isEmpty)
        #expect(second.events.isEmpty)
        #expect(second.statusCode == 0)
    }

    @Test func spanDefaultsAreOmitted() throws {
        let bare = TraceSpan(name: "bare", kind: .unspecified, traceID: [1], spanID: [2], startNanos: 3)
        var emptyParent = TraceSpan(name: "child", traceID: [1], spanID: [2], parentID: [], startNanos: 3)
        emptyParent.status = .ok
        let spans = try Self.rawItems(OTLPEncoding.traces([bare, emptyParent], resource: []))
        // trace_id, span_id, name, start: no parent (4), kind 0 (6), end (8), attributes, events or status (15).
        #expect(spans.map(\.numbers) == [[1, 2, 5, 7], [1, 2, 5, 6, 7, 15]])
        #expect(try spans[1].message(15)?.numbers == [3])
        let bareBytes: [UInt8] = [0x0A, 0x10] + [UInt8](repeating: 0, count: 15) + [1, 0x12, 0x01, 2, 0x2A, 0x04]
            + Array("bare".utf8) + [0x39, 3, 0, 0, 0, 0, 0, 0, 0]
        #expect(OTLPEncoding.span(bare) == bareBytes)
    }
}
