@testable import KGatePlugins
import KGateSchema
import Testing

/// Kong's trace context propagation: the extractors and injectors of
/// `spec/01-unit/26-observability/02-propagation_strategies_spec.lua`, and the extract, clear
/// and inject steps with `get_plugin_params` of `03-propagation_module_spec.lua`.
@Suite struct TracePropagationTests {
    // MARK: Ids (hex unless named `…Dec`)

    static let trace16 = "0af7651916cd43dd8448eb211c80319c"
    static let trace8 = "8448eb211c80319c"
    static let trace8Dec = "9532127138774266268"
    static let span1 = "b7ad6b7169203331"
    static let span1Dec = "13235353014750950193"
    static let span2 = "b7ad6b7169203332"
    static let bigTrace = "fffffffffffffff1"
    static let bigTrace16 = "fffffffffffffffffffffffffffffff1"
    static let bigSpan = "fffffffffffffff3"
    static let bigTraceDec = "18446744073709551601"
    static let bigSpanDec = "18446744073709551603"
    static let bigTrace16Dec = "340282366920938463463374607431768211441"
    static let tooLong = "1234567890123456789012345678901234567890"
    static let pad = String(repeating: "0", count: 16)

    /// A context with hex ids, as Kong's expected tables are written.
    static func context(
        trace: String? = nil, span: String? = nil, parent: String? = nil, sample: Bool? = nil, flags: String? = nil,
        w3cFlags: Int? = nil, single: Bool = false, reuse: Bool = false, baggage: [String: String]? = nil,
        size: Int? = nil
    ) -> TraceContext {
        TraceContext(
            traceID: trace.map(TraceIDs.fromHex), spanID: span.map(TraceIDs.fromHex), parentID: parent.map(TraceIDs.fromHex),
            shouldSample: sample, flags: flags, w3cFlags: w3cFlags, singleHeader: single, reuseSpanID: reuse,
            baggage: baggage, traceIDOriginalSize: size)
    }

    /// Every field of a context, ids in hex, for readable comparisons.
    static func show(_ c: TraceContext?) -> String {
        guard let c else { return "nil" }
        var parts: [String] = []
        if let id = c.traceID { parts.append("trace_id=\(TraceIDs.hex(id))") }
        if let id = c.spanID { parts.append("span_id=\(TraceIDs.hex(id))") }
        if let id = c.parentID { parts.append("parent_id=\(TraceIDs.hex(id))") }
        if let sample = c.shouldSample { parts.append("should_sample=\(sample)") }
        if let flags = c.flags { parts.append("flags=\(flags)") }
        if let flags = c.w3cFlags { parts.append("w3c_flags=\(flags)") }
        if c.singleHeader { parts.append("single_header") }
        if c.reuseSpanID { parts.append("reuse_span_id") }
        if let baggage = c.baggage {
            parts.append("baggage=" + baggage.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))
        }
        if let size = c.traceIDOriginalSize { parts.append("trace_id_original_size=\(size)") }
        return "{" + parts.joined(separator: " ") + "}"
    }

    /// Runs an extractor, collecting its warnings.
    static func extract(_ format: TraceFormat, _ headers: HTTPFields) -> (context: TraceContext?, warnings: [String]) {
        var warnings: [String] = []
        let context = format.extract(TraceHeaders(headers)) { warnings.append($0) }
        return (context, warnings)
    }

    static func extract(_ format: TraceFormat, _ pairs: [(String, String)]) -> (context: TraceContext?, warnings: [String]) {
        extract(format, HTTPFields(pairs))
    }

    /// The headers an injection writes, by name (each written once).
    static func headerTable(_ fields: [HTTPFields.Field]) -> [String: String] {
        Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Extraction

    struct ExtractionCase: Sendable, CustomTestStringConvertible {
        let format: TraceFormat
        let name: String
        let headers: HTTPFields
        let expected: TraceContext
        var testDescription: String { "\(format.rawValue): \(name)" }

        init(_ format: TraceFormat, _ name: String, _ headers: [(String, String)], _ expected: TraceContext) {
            self.format = format
            self.name = name
            self.headers = HTTPFields(headers)
            self.expected = expected
        }
    }

    static let extractionCases: [ExtractionCase] = {
        let (t16, t8, s1, s2) = (trace16, trace8, span1, span2)
        let b3Full = { (sampled: String) in "\(t16)-\(s1)-\(sampled)-\(s2)" }
        let aws = { (trace: String, rest: String) in
            "Root=1-\(trace.prefix(8))-\(trace.dropFirst(8));\(rest)"
        }
        return [
            // w3c
            .init(.w3c, "base case", [("traceparent", "00-\(t16)-\(s1)-01")],
                  context(trace: t16, span: s1, sample: true, w3cFlags: 0x01, size: 16)),
            .init(.w3c, "sampling mask on", [("traceparent", "00-\(t16)-\(s1)-09")],
                  context(trace: t16, span: s1, sample: true, w3cFlags: 0x09, size: 16)),
            .init(.w3c, "sampling mask off", [("traceparent", "00-\(t16)-\(s1)-08")],
                  context(trace: t16, span: s1, sample: false, w3cFlags: 0x08, size: 16)),
            .init(.w3c, "hex flags", [("traceparent", "00-\(t16)-\(s1)-ef")],
                  context(trace: t16, span: s1, sample: true, w3cFlags: 0xef, size: 16)),
            .init(.w3c, "sampled = false", [("traceparent", "00-\(t16)-\(s1)-00")],
                  context(trace: t16, span: s1, sample: false, w3cFlags: 0x00, size: 16)),
            .init(.w3c, "header name in any case", [("TraceParent", "00-\(t16)-\(s1)-01")],
                  context(trace: t16, span: s1, sample: true, w3cFlags: 0x01, size: 16)),
            // b3, multiple headers
            .init(.b3, "base case",
                  [("x-b3-traceid", t16), ("x-b3-spanid", s1), ("x-b3-parentspanid", s2), ("x-b3-sampled", "1")],
                  context(trace: t16, span: s1, parent: s2, sample: true, reuse: true, size: 16)),
            .init(.b3, "sampling decision only", [("x-b3-sampled", "0")], context(sample: false, reuse: true)),
            .init(.b3, "sampled set via flags",
                  [("x-b3-traceid", t16), ("x-b3-spanid", s1), ("x-b3-parentspanid", s2), ("x-b3-flags", "1")],
                  context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", reuse: true, size: 16)),
            .init(.b3, "sampled = false",
                  [("x-b3-traceid", t16), ("x-b3-spanid", s1), ("x-b3-parentspanid", s2), ("x-b3-sampled", "0")],
                  context(trace: t16, span: s1, parent: s2, sample: false, reuse: true, size: 16)),
            .init(.b3, "sampled = true (word)", [("x-b3-traceid", t16), ("x-b3-spanid", s1), ("x-b3-sampled", "true")],
                  context(trace: t16, span: s1, sample: true, reuse: true, size: 16)),
            .init(.b3, "8-byte trace id",
                  [("x-b3-traceid", t8), ("x-b3-spanid", s1), ("x-b3-parentspanid", s2), ("x-b3-sampled", "1")],
                  context(trace: pad + t8, span: s1, parent: s2, sample: true, reuse: true, size: 8)),
            // b3, single header
            .init(.b3, "1-char header, sampled = true", [("b3", "1")], context(sample: true, single: true, reuse: true)),
            .init(.b3, "1-char header, sampled = false", [("b3", "0")], context(sample: false, single: true, reuse: true)),
            .init(.b3, "1-char header, debug", [("b3", "d")],
                  context(sample: true, flags: "1", single: true, reuse: true)),
            .init(.b3, "all fields", [("b3", b3Full("1"))],
                  context(trace: t16, span: s1, parent: s2, sample: true, single: true, reuse: true, size: 16)),
            .init(.b3, "all fields, sampled = false", [("b3", b3Full("0"))],
                  context(trace: t16, span: s1, parent: s2, sample: false, single: true, reuse: true, size: 16)),
            .init(.b3, "all fields, debug", [("b3", b3Full("d"))],
                  context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", single: true, reuse: true, size: 16)),
            .init(.b3, "from tracestate", [("tracestate", "b3=" + b3Full("d"))],
                  context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", single: true, reuse: true, size: 16)),
            .init(.b3, "from tracestate sent several times",
                  [("tracestate", "test"), ("tracestate", "b3=" + b3Full("1")), ("tracestate", "test2")],
                  context(trace: t16, span: s1, parent: s2, sample: true, single: true, reuse: true, size: 16)),
            .init(.b3, "trace and span ids only", [("b3", "\(t16)-\(s1)")],
                  context(trace: t16, span: s1, single: true, reuse: true, size: 16)),
            .init(.b3, "no parent", [("b3", "\(t16)-\(s1)-1")],
                  context(trace: t16, span: s1, sample: true, single: true, reuse: true, size: 16)),
            .init(.b3, "single header, 8-byte trace id", [("b3", "\(t8)-\(s1)-1")],
                  context(trace: pad + t8, span: s1, sample: true, single: true, reuse: true, size: 8)),
            .init(.b3, "single header wins over multiple headers",
                  [("b3", "\(t16)-\(s1)-0"), ("x-b3-traceid", t8), ("x-b3-spanid", s2), ("x-b3-sampled", "1")],
                  context(trace: t16, span: s1, sample: false, single: true, reuse: true, size: 16)),
            // jaeger
            .init(.jaeger, "base case", [("uber-trace-id", "\(t16):\(s1):\(s2):01"), ("uberctx-foo", "bar")],
                  context(trace: t16, span: s1, parent: s2, sample: true, reuse: true, baggage: ["foo": "bar"], size: 16)),
            .init(.jaeger, "sampled = false", [("uber-trace-id", "\(t16):\(s1):\(s2):00")],
                  context(trace: t16, span: s1, parent: s2, sample: false, reuse: true, size: 16)),
            .init(.jaeger, "parent = 0", [("uber-trace-id", "\(t16):\(s1):0:01")],
                  context(trace: t16, span: s1, parent: pad, sample: true, reuse: true, size: 16)),
            .init(.jaeger, "shorter span id is 0-padded", [("uber-trace-id", "\(t16):123:\(s2):01")],
                  context(trace: t16, span: "0000000000000123", parent: s2, sample: true, reuse: true, size: 16)),
            .init(.jaeger, "shorter trace id is 0-padded", [("uber-trace-id", "1234:\(s1):\(s2):01")],
                  context(trace: String(repeating: "0", count: 28) + "1234", span: s1, parent: s2, sample: true, reuse: true, size: 2)),
            .init(.jaeger, "8-byte trace id", [("uber-trace-id", "\(t8):\(s1):\(s2):01")],
                  context(trace: pad + t8, span: s1, parent: s2, sample: true, reuse: true, size: 8)),
            .init(.jaeger, "baggage is URI-decoded, keys lower-cased",
                  [("uber-trace-id", "\(t16):\(s1):\(s2):01"), ("UberCtx-Some-Key", "a%20b")],
                  context(trace: t16, span: s1, parent: s2, sample: true, reuse: true, baggage: ["some-key": "a b"], size: 16)),
            // ot
            .init(.ot, "base case",
                  [("ot-tracer-traceid", t16), ("ot-tracer-spanid", s1), ("ot-tracer-sampled", "1"), ("ot-baggage-foo", "bar")],
                  context(trace: t16, span: s1, sample: true, baggage: ["foo": "bar"], size: 16)),
            .init(.ot, "sampled = false", [("ot-tracer-traceid", t16), ("ot-tracer-spanid", s1), ("ot-tracer-sampled", "0")],
                  context(trace: t16, span: s1, sample: false, size: 16)),
            .init(.ot, "missing sampled flag", [("ot-tracer-traceid", t16), ("ot-tracer-spanid", s1)],
                  context(trace: t16, span: s1, size: 16)),
            .init(.ot, "large trace and span ids",
                  [("ot-tracer-traceid", bigTrace16), ("ot-tracer-spanid", bigSpan), ("ot-baggage-foo", "bar")],
                  context(trace: bigTrace16, span: bigSpan, baggage: ["foo": "bar"], size: 16)),
            .init(.ot, "8-byte trace id", [("ot-tracer-traceid", t8), ("ot-tracer-spanid", s1), ("ot-tracer-sampled", "0")],
                  context(trace: pad + t8, span: s1, sample: false, size: 8)),
            .init(.ot, "not a baggage header",
                  [("ot-tracer-traceid", t16), ("ot-tracer-spanid", s1), ("ot-tracer-sampled", "1"), ("otttttbaggage-foo", "bar")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            // datadog
            .init(.datadog, "base case",
                  [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", span1Dec), ("x-datadog-sampling-priority", "1")],
                  context(trace: pad + t8, span: s1, sample: true, size: 8)),
            .init(.datadog, "sampled = false",
                  [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", span1Dec), ("x-datadog-sampling-priority", "0")],
                  context(trace: pad + t8, span: s1, sample: false, size: 8)),
            .init(.datadog, "missing trace id ignores parent id",
                  [("x-datadog-parent-id", span1Dec), ("x-datadog-sampling-priority", "1")], context(sample: true)),
            .init(.datadog, "missing parent id", [("x-datadog-trace-id", trace8Dec), ("x-datadog-sampling-priority", "1")],
                  context(trace: pad + t8, sample: true, size: 8)),
            .init(.datadog, "missing sampled", [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", span1Dec)],
                  context(trace: pad + t8, span: s1, size: 8)),
            .init(.datadog, "priority 2, spaces around the id",
                  [("x-datadog-trace-id", " \(trace8Dec) "), ("x-datadog-sampling-priority", "2")],
                  context(trace: pad + t8, sample: true, size: 8)),
            .init(.datadog, "big decimal trace id", [("x-datadog-trace-id", bigTraceDec), ("x-datadog-parent-id", span1Dec)],
                  context(trace: pad + bigTrace, span: s1, size: 8)),
            .init(.datadog, "big decimal span id", [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", bigSpanDec)],
                  context(trace: pad + t8, span: bigSpan, size: 8)),
            .init(.datadog, "16-byte decimal trace id", [("x-datadog-trace-id", bigTrace16Dec), ("x-datadog-parent-id", span1Dec)],
                  context(trace: bigTrace16, span: s1, size: 16)),
            // aws
            .init(.aws, "base case", [("x-amzn-trace-id", aws(t16, "Parent=\(s1);Sampled=1"))],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.aws, "with spaces",
                  [("x-amzn-trace-id", "  Root =   1-\(t16.prefix(8))-\(t16.dropFirst(8))  ;  Parent= \(s1);  Sampled   =1")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.aws, "parent first", [("x-amzn-trace-id", "Parent=\(s1);Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Sampled=1")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.aws, "extra fields", [("x-amzn-trace-id", "Foo=bar;" + aws(t16, "Parent=\(s1);Sampled=1"))],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.aws, "large id", [("x-amzn-trace-id", aws(bigTrace16, "Parent=\(s1);Sampled=1"))],
                  context(trace: bigTrace16, span: s1, sample: true, size: 16)),
            .init(.aws, "sampled = false", [("x-amzn-trace-id", aws(t16, "Parent=\(s1);Sampled=0"))],
                  context(trace: t16, span: s1, sample: false, size: 16)),
            // gcp
            .init(.gcp, "base case", [("x-cloud-trace-context", "\(t16)/\(span1Dec);o=1")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.gcp, "sampled = false", [("x-cloud-trace-context", "\(t16)/\(span1Dec);o=0")],
                  context(trace: t16, span: s1, sample: false, size: 16)),
            .init(.gcp, "no flag", [("x-cloud-trace-context", "\(t16)/\(span1Dec)")],
                  context(trace: t16, span: s1, sample: false, size: 16)),
            // instana
            .init(.instana, "base case", [("x-instana-t", t16), ("x-instana-s", s1), ("x-instana-l", "1")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
            .init(.instana, "sampled = false", [("x-instana-t", t16), ("x-instana-s", s1), ("x-instana-l", "0")],
                  context(trace: t16, span: s1, sample: false, size: 16)),
            .init(.instana, "8-byte trace id", [("x-instana-t", t8), ("x-instana-s", s1), ("x-instana-l", "0")],
                  context(trace: pad + t8, span: s1, sample: false, size: 8)),
            .init(.instana, "level with correlation data",
                  [("x-instana-t", t16), ("x-instana-s", s1), ("x-instana-l", "1,correlationType=web;correlationId=1234")],
                  context(trace: t16, span: s1, sample: true, size: 16)),
        ]
    }()

    @Test(arguments: extractionCases)
    func extracts(_ c: ExtractionCase) {
        let (context, warnings) = Self.extract(c.format, c.headers)
        #expect(Self.show(context) == Self.show(c.expected))
        #expect(context == c.expected)
        #expect(warnings.isEmpty)
    }

    @Test(arguments: TraceFormat.allCases)
    func noHeadersNoContext(_ format: TraceFormat) {
        let (context, warnings) = Self.extract(format, ["host": "example.test", "x-other": "1"])
        #expect(context == nil)
        #expect(warnings.isEmpty)
    }

    struct ExtractionFailure: Sendable, CustomTestStringConvertible {
        let format: TraceFormat
        let name: String
        let headers: HTTPFields
        let warning: String
        /// Whether the extractor still hands on the ids (Kong only warns about these).
        let keepsIDs: Bool
        var testDescription: String { "\(format.rawValue): \(name)" }

        init(_ format: TraceFormat, _ name: String, _ headers: [(String, String)], _ warning: String, keepsIDs: Bool = false) {
            self.format = format
            self.name = name
            self.headers = HTTPFields(headers)
            self.warning = warning
            self.keepsIDs = keepsIDs
        }
    }

    static let extractionFailures: [ExtractionFailure] = {
        let (t16, t8, s1, s2) = (trace16, trace8, span1, span2)
        let w3cHeader = "invalid W3C traceparent header; ignoring."
        let w3cTrace = "invalid W3C trace context trace ID; ignoring."
        let w3cParent = "invalid W3C trace context parent ID; ignoring."
        let b3Single = "b3 single header invalid; ignoring."
        let jaegerHeader = "invalid jaeger uber-trace-id header; ignoring."
        let awsTrace = "invalid aws header trace id; ignoring."
        let awsParent = "invalid aws header parent id; ignoring."
        let gcp = "invalid GCP header; ignoring."
        let instana = "x-instana-t header invalid; ignoring."
        return [
            // w3c
            .init(.w3c, "non-hex version", [("traceparent", "vv-\(t16)-\(s1)-00")], w3cHeader),
            .init(.w3c, "non-hex trace id", [("traceparent", "00-\(String(repeating: "v", count: 32))-\(s1)-00")], w3cHeader),
            .init(.w3c, "non-hex parent id", [("traceparent", "00-\(t16)-vvvvvvvvvvvvvvvv-00")], w3cHeader),
            .init(.w3c, "non-hex flags", [("traceparent", "00-\(t16)-\(s1)-vv")], w3cHeader),
            .init(.w3c, "trace id too short", [("traceparent", "00-123-\(s1)-00")], w3cTrace),
            .init(.w3c, "trace id all zero", [("traceparent", "00-\(String(repeating: "0", count: 32))-\(s1)-00")], w3cTrace),
            .init(.w3c, "trace id too long", [("traceparent", "00-\(tooLong)-\(s1)-00")], w3cTrace),
            .init(.w3c, "parent id too short", [("traceparent", "00-\(t16)-123-00")], w3cParent),
            .init(.w3c, "parent id too long", [("traceparent", "00-\(t16)-\(tooLong)-00")], w3cParent),
            .init(.w3c, "parent id all zero", [("traceparent", "00-\(t16)-\(pad)-00")], w3cParent),
            .init(.w3c, "version 01", [("traceparent", "01-\(t16)-\(s1)-00")], "invalid W3C Trace Context version; ignoring."),
            .init(.w3c, "flags too long", [("traceparent", "00-\(t16)-\(s1)-000")], "invalid W3C trace context flags; ignoring."),
            .init(.w3c, "flags too short", [("traceparent", "00-\(t16)-\(s1)-0")], "invalid W3C trace context flags; ignoring."),
            // b3
            .init(.b3, "invalid x-b3-traceid",
                  [("x-b3-traceid", "x"), ("x-b3-spanid", s1), ("x-b3-parentspanid", s2), ("x-b3-sampled", "0")],
                  "x-b3-traceid header invalid; ignoring."),
            .init(.b3, "invalid x-b3-spanid", [("x-b3-traceid", t16), ("x-b3-spanid", "123")], "x-b3-spanid header invalid; ignoring."),
            .init(.b3, "invalid x-b3-sampled", [("x-b3-sampled", "yes")], "x-b3-sampled header invalid; ignoring."),
            .init(.b3, "invalid x-b3-flags", [("x-b3-flags", "2")], "x-b3-flags header invalid; ignoring."),
            .init(.b3, "single: non-hex trace id", [("b3", "xxx-\(s1)-1-\(s2)")], b3Single),
            .init(.b3, "single: trace id too long", [("b3", "\(tooLong)-\(s1)-1-\(s2)")], b3Single),
            .init(.b3, "single: trace id too short", [("b3", "123-\(s1)-1-\(s2)")], b3Single),
            .init(.b3, "single: empty header", [("b3", "")], b3Single),
            .init(.b3, "single: no span id", [("b3", t16 + "-")], b3Single),
            .init(.b3, "single: non-hex span id", [("b3", t16 + "-xxx")], b3Single),
            .init(.b3, "single: span id too long", [("b3", "\(t16)-\(tooLong)-1-\(s2)")], b3Single),
            .init(.b3, "single: span id too short", [("b3", "\(t16)-123-1-\(s2)")], b3Single),
            .init(.b3, "single: invalid sampled", [("b3", "\(t16)-\(s1)-x")], b3Single),
            .init(.b3, "single: non-hex parent", [("b3", "\(t16)-\(s1)-d-xxx")], b3Single),
            .init(.b3, "single: parent too long", [("b3", "\(t16)-\(s1)-d-\(tooLong)")], b3Single),
            .init(.b3, "single: parent too short", [("b3", "\(t16)-\(s1)-d-123")], b3Single),
            // jaeger
            .init(.jaeger, "non-hex trace id", [("uber-trace-id", "vv:\(s1):\(s2):00")], jaegerHeader),
            .init(.jaeger, "non-hex span id", [("uber-trace-id", "\(t8):vv:\(s2):00")], jaegerHeader),
            .init(.jaeger, "non-hex parent id", [("uber-trace-id", "\(t8):\(s1):vv:00")], jaegerHeader),
            .init(.jaeger, "non-hex flags", [("uber-trace-id", "\(t8):\(s1):\(s2):vv")], jaegerHeader),
            .init(.jaeger, "trace id too long", [("uber-trace-id", "\(tooLong):\(s1):\(s2):00")], "invalid jaeger trace ID; ignoring."),
            .init(.jaeger, "trace id all zero", [("uber-trace-id", "\(String(repeating: "0", count: 32)):\(s1):\(s2):00")],
                  "invalid jaeger trace ID; ignoring."),
            .init(.jaeger, "parent id too short", [("uber-trace-id", "\(t16):\(s1):ff:00")], "invalid jaeger parent ID; ignoring.",
                  keepsIDs: true),
            .init(.jaeger, "parent id too long", [("uber-trace-id", "\(t16):\(s1):\(tooLong):00")], "invalid jaeger parent ID; ignoring.",
                  keepsIDs: true),
            .init(.jaeger, "span id too long", [("uber-trace-id", "\(t16):\(tooLong):\(s1):00")], "invalid jaeger span ID; ignoring."),
            .init(.jaeger, "span id all zero", [("uber-trace-id", "\(t16):\(String(repeating: "0", count: 32)):\(s1):00")],
                  "invalid jaeger span ID; ignoring."),
            .init(.jaeger, "flags too long", [("uber-trace-id", "\(t16):\(s1):\(s2):123")], "invalid jaeger flags; ignoring."),
            // ot
            .init(.ot, "invalid trace id", [("ot-tracer-traceid", "xx")], "ot-tracer-traceid header invalid; ignoring."),
            .init(.ot, "invalid span id", [("ot-tracer-traceid", t16), ("ot-tracer-spanid", "xx")], "ot-tracer-spanid header invalid; ignoring."),
            .init(.ot, "invalid sampled", [("ot-tracer-sampled", "2")], "ot-tracer-sampled header invalid; ignoring."),
            // datadog
            .init(.datadog, "hex trace id",
                  [("x-datadog-trace-id", t16), ("x-datadog-parent-id", span1Dec), ("x-datadog-sampling-priority", "1")],
                  "x-datadog-trace-id header invalid; ignoring."),
            .init(.datadog, "hex parent id",
                  [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", s1), ("x-datadog-sampling-priority", "1")],
                  "x-datadog-parent-id header invalid; ignoring.", keepsIDs: true),
            .init(.datadog, "empty trace id",
                  [("x-datadog-trace-id", ""), ("x-datadog-parent-id", span1Dec), ("x-datadog-sampling-priority", "1")],
                  "x-datadog-trace-id header invalid; ignoring."),
            .init(.datadog, "empty parent id",
                  [("x-datadog-trace-id", trace8Dec), ("x-datadog-parent-id", ""), ("x-datadog-sampling-priority", "1")],
                  "x-datadog-parent-id header invalid; ignoring.", keepsIDs: true),
            .init(.datadog, "invalid priority", [("x-datadog-trace-id", trace8Dec), ("x-datadog-sampling-priority", "3")],
                  "x-datadog-sampling-priority header invalid; ignoring."),
            // aws
            .init(.aws, "version 0", [("x-amzn-trace-id", "Root=0-\(t8.prefix(8))-;Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "non-hex timestamp", [("x-amzn-trace-id", "Root=1-vv-;Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "non-hex unique id", [("x-amzn-trace-id", "Root=1-\(t8.prefix(8))-vv;Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "trace id too short", [("x-amzn-trace-id", "Root=1-\(t8.prefix(8))-;Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "trace id too long",
                  [("x-amzn-trace-id", "Root=1-\(tooLong.prefix(8))-\(tooLong.dropFirst(8));Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "empty trace id", [("x-amzn-trace-id", "Root=;Parent=\(s1);Sampled=0")], awsTrace),
            .init(.aws, "non-hex parent id", [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=vv;Sampled=0")],
                  awsParent),
            .init(.aws, "parent id too long",
                  [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=\(tooLong);Sampled=0")], awsParent),
            .init(.aws, "parent id too short",
                  [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=123;Sampled=0")], awsParent),
            .init(.aws, "empty parent id", [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=;Sampled=0")],
                  awsParent),
            .init(.aws, "sampled 2", [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=\(s1);Sampled=2")],
                  "invalid aws header sampled flag; ignoring."),
            .init(.aws, "empty sampled", [("x-amzn-trace-id", "Root=1-\(t16.prefix(8))-\(t16.dropFirst(8));Parent=\(s1);Sampled=")],
                  "invalid aws header sampled flag; ignoring."),
            // gcp
            .init(.gcp, "trace id too short", [("x-cloud-trace-context", "123/\(span1Dec);o=0")], gcp),
            .init(.gcp, "trace id too long", [("x-cloud-trace-context", "\(tooLong)/\(span1Dec);o=0")], gcp),
            .init(.gcp, "non-hex trace id", [("x-cloud-trace-context", "vvv/\(span1Dec);o=0")], gcp),
            .init(.gcp, "upper-case trace id", [("x-cloud-trace-context", "\(t16.uppercased())/\(span1Dec);o=0")], gcp),
            .init(.gcp, "no span id", [("x-cloud-trace-context", "\(t16)/;o=0")], gcp),
            .init(.gcp, "hex span id", [("x-cloud-trace-context", "\(t16)/\(s1);o=0")], gcp),
            .init(.gcp, "span id of 21 digits", [("x-cloud-trace-context", "\(t16)/\(span1Dec)0;o=0")], gcp),
            .init(.gcp, "sampling 01", [("x-cloud-trace-context", "\(t16)/\(span1Dec);o=01")], gcp),
            .init(.gcp, "sampling missing", [("x-cloud-trace-context", "\(t16)/\(span1Dec);o=")], gcp),
            .init(.gcp, "sampling non-digit", [("x-cloud-trace-context", "\(t16)/\(span1Dec);o=v")], gcp),
            // instana
            .init(.instana, "non-hex trace id", [("x-instana-t", "abcdefghijklmnop"), ("x-instana-s", s1)], instana, keepsIDs: true),
            .init(.instana, "trace id too long", [("x-instana-t", tooLong)], instana),
            .init(.instana, "trace id too short", [("x-instana-t", "abc")], instana),
            .init(.instana, "empty trace id", [("x-instana-t", "")], instana),
            .init(.instana, "non-hex span id", [("x-instana-t", t16), ("x-instana-s", "xyz")], "x-instana-s header invalid; ignoring.",
                  keepsIDs: true),
        ]
    }()

    @Test(arguments: extractionFailures)
    func warnsAboutInvalidHeaders(_ c: ExtractionFailure) {
        let (context, warnings) = Self.extract(c.format, c.headers)
        #expect(warnings.contains(c.warning), "warnings: \(warnings)")
        if !c.keepsIDs {
            #expect(context?.traceID == nil, "context: \(Self.show(context))")
            #expect(context?.spanID == nil)
        }
    }

    /// What Kong hands on past the warnings: the valid parts.
    @Test func invalidPartsAreDropped() {
        // An invalid b3 id keeps the sampling decision.
        var (context, _) = Self.extract(.b3, [("x-b3-traceid", "x"), ("x-b3-spanid", Self.span1), ("x-b3-sampled", "0")])
        #expect(Self.show(context) == Self.show(Self.context(sample: false, reuse: true)))
        (context, _) = Self.extract(.b3, [("b3", "xxx-\(Self.span1)-1")])
        #expect(Self.show(context) == Self.show(Self.context(single: true, reuse: true)))
        // jaeger's invalid parent is only warned about.
        (context, _) = Self.extract(.jaeger, [("uber-trace-id", "\(Self.trace16):\(Self.span1):ff:01")])
        #expect(Self.show(context) == Self.show(Self.context(
            trace: Self.trace16, span: Self.span1, parent: "00000000000000ff", sample: true, reuse: true, size: 16)))
        // datadog's invalid parent leaves the trace id.
        (context, _) = Self.extract(.datadog, [("x-datadog-trace-id", Self.trace8Dec), ("x-datadog-parent-id", "x")])
        #expect(Self.show(context) == Self.show(Self.context(trace: Self.pad + Self.trace8, size: 8)))
        // instana takes the leading hex digits.
        (context, _) = Self.extract(.instana, [("x-instana-t", "abcdefghijklmnop"), ("x-instana-s", Self.span1)])
        #expect(Self.show(context) == Self.show(Self.context(
            trace: String(repeating: "0", count: 26) + "abcdef", span: Self.span1, sample: false, size: 3)))
        // A w3c header sent twice is not read.
        (context, _) = Self.extract(.w3c, [("traceparent", "00-\(Self.trace16)-\(Self.span1)-01"), ("traceparent", "x")])
        #expect(context == nil)
    }

    // MARK: Injection

    struct InjectionCase: Sendable, CustomTestStringConvertible {
        let format: TraceFormat
        let name: String
        let context: TraceContext
        let headers: [String: String]
        /// The log's `trace_id` entry (keyed by the extractor's name).
        let traceID: (key: String, value: String)?
        var testDescription: String { "\(format.rawValue): \(name)" }

        init(_ format: TraceFormat, _ name: String, _ context: TraceContext, _ headers: [String: String], traceID: String?) {
            self.format = format
            self.name = name
            self.context = context
            self.headers = headers
            let key = format == .b3Single ? "b3" : format.rawValue
            self.traceID = traceID.map { (key, $0) }
        }
    }

    static let injectionCases: [InjectionCase] = {
        let (t16, t8, s1, s2) = (trace16, trace8, span1, span2)
        return [
            // w3c
            .init(.w3c, "base case", context(trace: t16, span: s1, sample: true, w3cFlags: 1, size: 16),
                  ["traceparent": "00-\(t16)-\(s1)-01"], traceID: t16),
            .init(.w3c, "sampled = false", context(trace: t16, span: s1, sample: false, w3cFlags: 0, size: 16),
                  ["traceparent": "00-\(t16)-\(s1)-00"], traceID: t16),
            .init(.w3c, "default size is 16 bytes", context(trace: t16, span: s1, sample: true),
                  ["traceparent": "00-\(t16)-\(s1)-01"], traceID: t16),
            .init(.w3c, "8-byte trace id is padded", context(trace: pad + t8, span: s1, sample: true, size: 8),
                  ["traceparent": "00-\(pad + t8)-\(s1)-01"], traceID: pad + t8),
            // b3
            .init(.b3, "base case", context(trace: t16, span: s1, parent: s2, sample: true, reuse: true, size: 16),
                  ["x-b3-traceid": t16, "x-b3-spanid": s1, "x-b3-parentspanid": s2, "x-b3-sampled": "1"], traceID: t16),
            .init(.b3, "sampling decision only", context(sample: false, reuse: true), ["x-b3-sampled": "0"], traceID: ""),
            .init(.b3, "sampled set via flags", context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", reuse: true, size: 16),
                  ["x-b3-traceid": t16, "x-b3-spanid": s1, "x-b3-parentspanid": s2, "x-b3-flags": "1"], traceID: t16),
            .init(.b3, "sampled = false", context(trace: t16, span: s1, parent: s2, sample: false, reuse: true, size: 16),
                  ["x-b3-traceid": t16, "x-b3-spanid": s1, "x-b3-parentspanid": s2, "x-b3-sampled": "0"], traceID: t16),
            .init(.b3, "8-byte trace id", context(trace: pad + t8, span: s1, parent: s2, sample: true, reuse: true, size: 8),
                  ["x-b3-traceid": t8, "x-b3-spanid": s1, "x-b3-parentspanid": s2, "x-b3-sampled": "1"], traceID: t8),
            .init(.b3, "default size is 16 bytes", context(trace: t16, span: s1, parent: s2, sample: true),
                  ["x-b3-traceid": t16, "x-b3-spanid": s1, "x-b3-parentspanid": s2, "x-b3-sampled": "1"], traceID: t16),
            // b3-single
            .init(.b3Single, "1-char header, sampled = true", context(sample: true, single: true, reuse: true), ["b3": "1"], traceID: ""),
            .init(.b3Single, "1-char header, sampled = false", context(sample: false, single: true, reuse: true), ["b3": "0"], traceID: ""),
            .init(.b3Single, "1-char header, debug", context(sample: true, flags: "1", single: true, reuse: true), ["b3": "d"], traceID: ""),
            .init(.b3Single, "no sampling decision", context(), ["b3": "0"], traceID: ""),
            .init(.b3Single, "all fields", context(trace: t16, span: s1, parent: s2, sample: true, single: true, reuse: true, size: 16),
                  ["b3": "\(t16)-\(s1)-1-\(s2)"], traceID: t16),
            .init(.b3Single, "all fields, sampled = false",
                  context(trace: t16, span: s1, parent: s2, sample: false, single: true, reuse: true, size: 16),
                  ["b3": "\(t16)-\(s1)-0-\(s2)"], traceID: t16),
            .init(.b3Single, "all fields, debug",
                  context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", single: true, reuse: true, size: 16),
                  ["b3": "\(t16)-\(s1)-d-\(s2)"], traceID: t16),
            .init(.b3Single, "trace and span ids only", context(trace: t16, span: s1, single: true, reuse: true, size: 16),
                  ["b3": "\(t16)-\(s1)"], traceID: t16),
            .init(.b3Single, "no parent", context(trace: t16, span: s1, sample: true, single: true, reuse: true, size: 16),
                  ["b3": "\(t16)-\(s1)-1"], traceID: t16),
            .init(.b3Single, "8-byte trace id", context(trace: pad + t8, span: s1, sample: true, single: true, reuse: true, size: 8),
                  ["b3": "\(t8)-\(s1)-1"], traceID: t8),
            .init(.b3Single, "default size is 16 bytes", context(trace: t16, span: s1, parent: s2, sample: true, flags: "1", single: true),
                  ["b3": "\(t16)-\(s1)-d-\(s2)"], traceID: t16),
            .init(.b3Single, "big 16-byte trace id", context(trace: bigTrace16, span: s1, parent: s2, sample: true, flags: "1", single: true),
                  ["b3": "\(bigTrace16)-\(s1)-d-\(s2)"], traceID: bigTrace16),
            // jaeger
            .init(.jaeger, "base case",
                  context(trace: t16, span: s1, parent: s2, sample: true, reuse: true, baggage: ["foo": "bar"], size: 16),
                  ["uber-trace-id": "\(t16):\(s1):\(s2):01", "uberctx-foo": "bar"], traceID: t16),
            .init(.jaeger, "sampled = false", context(trace: t16, span: s1, parent: s2, sample: false, reuse: true, size: 16),
                  ["uber-trace-id": "\(t16):\(s1):\(s2):00"], traceID: t16),
            .init(.jaeger, "8-byte trace id", context(trace: pad + t8, span: s1, parent: s2, sample: true, reuse: true, size: 8),
                  ["uber-trace-id": "\(t8):\(s1):\(s2):01"], traceID: t8),
            .init(.jaeger, "default size is 16 bytes", context(trace: t16, span: s1, parent: s2, sample: true, baggage: ["foo": "bar"]),
                  ["uber-trace-id": "\(t16):\(s1):\(s2):01", "uberctx-foo": "bar"], traceID: t16),
            .init(.jaeger, "no parent, baggage escaped", context(trace: t16, span: s1, baggage: ["k": "a b/c"]),
                  ["uber-trace-id": "\(t16):\(s1):0:00", "uberctx-k": "a%20b%2Fc"], traceID: t16),
            // ot
            .init(.ot, "base case", context(trace: t16, span: s1, sample: true, baggage: ["foo": "bar"], size: 16),
                  ["ot-tracer-traceid": t16, "ot-tracer-spanid": s1, "ot-tracer-sampled": "1", "ot-baggage-foo": "bar"], traceID: t16),
            .init(.ot, "sampled = false", context(trace: t16, span: s1, sample: false, size: 16),
                  ["ot-tracer-traceid": t16, "ot-tracer-spanid": s1, "ot-tracer-sampled": "0"], traceID: t16),
            .init(.ot, "missing sampled flag", context(trace: t16, span: s1, size: 16),
                  ["ot-tracer-traceid": t16, "ot-tracer-spanid": s1], traceID: t16),
            .init(.ot, "large trace and span ids", context(trace: bigTrace16, span: bigSpan, baggage: ["foo": "bar"], size: 16),
                  ["ot-tracer-traceid": bigTrace16, "ot-tracer-spanid": bigSpan, "ot-baggage-foo": "bar"], traceID: bigTrace16),
            .init(.ot, "8-byte trace id", context(trace: pad + t8, span: s1, sample: false, size: 8),
                  ["ot-tracer-traceid": t8, "ot-tracer-spanid": s1, "ot-tracer-sampled": "0"], traceID: t8),
            .init(.ot, "default size is 8 bytes", context(trace: pad + t8, span: s1, sample: true, baggage: ["foo": "bar"]),
                  ["ot-tracer-traceid": t8, "ot-tracer-spanid": s1, "ot-tracer-sampled": "1", "ot-baggage-foo": "bar"], traceID: t8),
            // datadog
            .init(.datadog, "base case", context(trace: pad + t8, span: s1, sample: true, size: 8),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": span1Dec, "x-datadog-sampling-priority": "1"],
                  traceID: trace8Dec),
            .init(.datadog, "sampled = false", context(trace: pad + t8, span: s1, sample: false, size: 8),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": span1Dec, "x-datadog-sampling-priority": "0"],
                  traceID: trace8Dec),
            .init(.datadog, "missing parent id", context(trace: pad + t8, sample: true, size: 8),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-sampling-priority": "1"], traceID: trace8Dec),
            .init(.datadog, "missing sampled", context(trace: pad + t8, span: s1, size: 8),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": span1Dec], traceID: trace8Dec),
            .init(.datadog, "big decimal trace id", context(trace: pad + bigTrace, span: s1, size: 8),
                  ["x-datadog-trace-id": bigTraceDec, "x-datadog-parent-id": span1Dec], traceID: bigTraceDec),
            .init(.datadog, "big decimal span id", context(trace: pad + t8, span: bigSpan, size: 8),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": bigSpanDec], traceID: trace8Dec),
            .init(.datadog, "default size is 8 bytes", context(trace: t16, span: s1, sample: true),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": span1Dec, "x-datadog-sampling-priority": "1"],
                  traceID: trace8Dec),
            .init(.datadog, "16-byte original size is still 8", context(trace: t16, span: s1, size: 16),
                  ["x-datadog-trace-id": trace8Dec, "x-datadog-parent-id": span1Dec], traceID: trace8Dec),
            .init(.datadog, "sampling decision only", context(sample: false), ["x-datadog-sampling-priority": "0"], traceID: nil),
            // aws
            .init(.aws, "base case", context(trace: t16, span: s1, sample: true, size: 16),
                  ["x-amzn-trace-id": "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=\(s1);Sampled=1"], traceID: t16),
            .init(.aws, "large id", context(trace: bigTrace16, span: s1, sample: true, size: 16),
                  ["x-amzn-trace-id": "Root=1-ffffffff-fffffffffffffffffffffff1;Parent=\(s1);Sampled=1"], traceID: bigTrace16),
            .init(.aws, "sampled = false", context(trace: t16, span: s1, sample: false, size: 16),
                  ["x-amzn-trace-id": "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=\(s1);Sampled=0"], traceID: t16),
            .init(.aws, "default size is 16 bytes", context(trace: t16, span: s1, sample: true),
                  ["x-amzn-trace-id": "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=\(s1);Sampled=1"], traceID: t16),
            // gcp
            .init(.gcp, "base case", context(trace: t16, span: s1, sample: true, size: 16),
                  ["x-cloud-trace-context": "\(t16)/\(span1Dec);o=1"], traceID: t16),
            .init(.gcp, "sampled = false", context(trace: t16, span: s1, sample: false, size: 16),
                  ["x-cloud-trace-context": "\(t16)/\(span1Dec);o=0"], traceID: t16),
            .init(.gcp, "default size is 16 bytes", context(trace: t16, span: s1, sample: true),
                  ["x-cloud-trace-context": "\(t16)/\(span1Dec);o=1"], traceID: t16),
            // instana
            .init(.instana, "base case", context(trace: t16, span: s1, sample: true, size: 16),
                  ["x-instana-t": t16, "x-instana-s": s1, "x-instana-l": "1"], traceID: t16),
            .init(.instana, "sampled = false", context(trace: t16, span: s1, sample: false, size: 16),
                  ["x-instana-t": t16, "x-instana-s": s1, "x-instana-l": "0"], traceID: t16),
            .init(.instana, "8-byte trace id", context(trace: pad + t8, span: s1, sample: false, size: 8),
                  ["x-instana-t": t8, "x-instana-s": s1, "x-instana-l": "0"], traceID: t8),
            .init(.instana, "big 16-byte trace id", context(trace: bigTrace16, span: s1),
                  ["x-instana-t": bigTrace16, "x-instana-s": s1], traceID: bigTrace16),
        ]
    }()

    @Test(arguments: injectionCases)
    func injects(_ c: InjectionCase) throws {
        let injection = try c.format.inject(c.context).get()
        #expect(injection.headers.count == c.headers.count)
        #expect(Self.headerTable(injection.headers) == c.headers)
        #expect(injection.formattedTraceID?.key == c.traceID?.key)
        #expect(injection.formattedTraceID?.value == c.traceID?.value)
    }

    @Test(arguments: [TraceFormat.w3c, .jaeger, .ot, .aws, .gcp])
    func injectionNeedsTraceAndSpanIDs(_ format: TraceFormat) {
        let noTrace = Self.context(span: Self.span1, sample: false)
        let noSpan = Self.context(trace: Self.trace16, sample: false)
        let prefix = "\(format.rawValue) injector context is invalid: field "
        #expect(format.inject(noTrace) == .failure(TraceInjectionError(message: prefix + "trace_id not found in context")))
        #expect(format.inject(noSpan) == .failure(TraceInjectionError(message: prefix + "span_id not found in context")))
        #expect(format.inject(TraceContext()) == .failure(TraceInjectionError(message: prefix + "trace_id not found in context")))
    }

    /// `trace_id_allowed_sizes`: the received size when the format allows it, else its first
    /// size; span and parent ids are always 8 bytes.
    @Test(arguments: [
        (TraceFormat.w3c, [16, 16, 16]), (.b3, [16, 8, 16]), (.b3Single, [16, 8, 16]), (.jaeger, [16, 8, 16]),
        (.ot, [16, 8, 8]), (.datadog, [8, 8, 8]), (.aws, [16, 16, 16]), (.gcp, [16, 16, 16]), (.instana, [16, 8, 16]),
    ])
    func traceIDSizes(_ format: TraceFormat, _ sizes: [Int]) throws {
        // Received as 16 bytes, as 8 bytes, and made by the plugin (no received size).
        let longID = "1" + String(repeating: "0", count: 29) + "ab"
        for (received, expected) in zip([16, 8, nil] as [Int?], sizes) {
            let context = Self.context(trace: longID, span: "00" + Self.span1, parent: "01" + Self.span2, sample: true, size: received)
            let injection = try format.inject(context).get()
            let id = TraceIDs.fromHex(longID).suffix(expected)
            let text = format == .datadog ? TraceIDs.decimal(Array(id)) : TraceIDs.hex(Array(id))
            #expect(injection.formattedTraceID?.value == text, "received \(String(describing: received))")
            let all = injection.headers.map(\.value).joined(separator: " ")
            if format != .datadog && format != .gcp {
                #expect(all.contains(Self.span1) && !all.contains("00" + Self.span1))
            }
        }
    }

    // MARK: Ids

    @Test func idConversions() {
        #expect(TraceIDs.fromHex("abc") == [0x0a, 0xbc])
        #expect(TraceIDs.fromHex("0") == [0])
        #expect(TraceIDs.fromHex("zz0a") == [UInt8(ascii: "z"), UInt8(ascii: "z"), 0x0a])
        #expect(TraceIDs.hex([0x0a, 0xf7, 0x00]) == "0af700")
        #expect(TraceIDs.sized([1, 2, 3], 2) == [2, 3])
        #expect(TraceIDs.sized([1], 3) == [0, 0, 1])
        #expect(TraceIDs.sized(nil, 8) == nil)
        #expect(TraceIDs.hex(TraceIDs.fromDecimal(Self.trace8Dec)) == Self.trace8)
        #expect(TraceIDs.hex(TraceIDs.fromDecimal(Self.bigTrace16Dec)) == Self.bigTrace16)
        #expect(TraceIDs.fromDecimal("0") == [])
        #expect(TraceIDs.fromDecimal("256") == [1, 0])
        #expect(TraceIDs.decimal(TraceIDs.fromHex(Self.span1)) == Self.span1Dec)
        #expect(TraceIDs.decimal(TraceIDs.fromHex(Self.bigSpan)) == Self.bigSpanDec)
        #expect(TraceIDs.decimal(TraceIDs.fromHex(Self.pad + Self.bigTrace)) == Self.bigTraceDec)
        // Leading zeros, and numbers far longer than ids (a header of many digits) round-trip.
        #expect(TraceIDs.fromDecimal("000123") == [0x7B])
        for length in [1, 9, 10, 19, 20, 39, 40, 200] {
            let digits = "9" + String((1..<length).map { i in Character(String(i * 7 % 10)) })
            #expect(TraceIDs.decimal(TraceIDs.fromDecimal(digits)) == digits, "\(length) digits")
        }
        #expect(TraceIDs.decimal([0, 0]) == "0")
        #expect(TraceIDs.random(16).count == 16)
        #expect(TraceIDs.random(8) != TraceIDs.random(8))
    }

    // MARK: Plugin params (`get_plugin_params`)

    @Test func propagationRecordIsTakenAsIs() {
        let p = TracePropagation(config: [
            "header_type": "jaeger", "default_header_type": "ot",
            "propagation": ["extract": ["w3c", "b3"], "inject": ["preserve", "b3-single"], "clear": ["x-foo"], "default_format": "gcp"],
        ])
        #expect(p.extract == [.w3c, .b3])
        #expect(p.inject == [.preserve, .format(.b3Single)])
        #expect(p.clear == ["x-foo"])
        #expect(p.defaultFormat == .gcp)

        // One field set is enough; an empty list disables extraction.
        let q = TracePropagation(config: ["header_type": "preserve", "propagation": ["extract": [], "default_format": "w3c"]])
        #expect(q.extract == [])
        #expect(q.inject == nil)
        #expect(q.clear == nil)
    }

    @Test func headerTypeMapping() {
        let all: [TraceFormat] = [.b3, .w3c, .jaeger, .ot, .datadog, .aws, .gcp, .instana]
        // The record as the schema fills it in: nulls and a default format.
        let record: Value = ["extract": .null, "inject": .null, "clear": .null, "default_format": "w3c"]

        let preserve = TracePropagation(config: ["header_type": "preserve", "default_header_type": "b3", "propagation": record])
        #expect(preserve.extract == all)
        #expect(preserve.inject == [.preserve])
        #expect(preserve.clear == nil)
        #expect(preserve.defaultFormat == .b3)

        let jaeger = TracePropagation(config: ["header_type": "jaeger", "propagation": record])
        #expect(jaeger.extract == all)
        #expect(jaeger.inject == [.preserve, .format(.jaeger)])
        #expect(jaeger.defaultFormat == .w3c)

        let single = TracePropagation(config: ["header_type": "b3-single"])
        #expect(single.inject == [.preserve, .format(.b3Single)])

        let ignore = TracePropagation(config: ["header_type": "ignore", "default_header_type": "datadog", "propagation": record])
        #expect(ignore.extract == nil)
        #expect(ignore.inject == [.format(.datadog)])

        let ignoreNoDefault = TracePropagation(config: ["header_type": "ignore"])
        #expect(ignoreNoDefault.extract == nil)
        #expect((ignoreNoDefault.inject ?? []).isEmpty)

        let none = TracePropagation(config: ["header_type": .null, "propagation": record])
        #expect(none.extract == nil)
        #expect(none.inject == nil)
        #expect(none.defaultFormat == .w3c)
    }

    // MARK: Extract, clear, inject (`propagate`)

    static let requestHeaders1: [(String, String)] = [
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("x-b3-traceid", "dc9d1b0ccedf0ecaf4f26ffab84d4f5e"),
        ("x-b3-spanid", "b7ad6b7169203332"),
        ("x-b3-sampled", "1"),
        ("x-b3-parentspanid", "f4f26ffab84d4f5f"),
        ("uber-trace-id", "f744b23fe9aa64f08255043ba51848db:f4f26ffab84d4f60:f4f26ffab84d4f61:01"),
    ]
    static let requestHeaders2: [(String, String)] = [
        ("x-b3-traceid", "f4f26ffab84d4f5e"),
        ("x-b3-spanid", "b7ad6b7169203332"),
        ("x-b3-sampled", "1"),
        ("x-b3-parentspanid", "f4f26ffab84d4f5f"),
    ]

    /// Kong's test change to an id: the last character moves up one (`f` wraps to `0`).
    static func bump(_ text: String) -> String {
        var bytes = Array(text.utf8)
        let last = bytes[bytes.count - 1]
        bytes[bytes.count - 1] = last + 1 < UInt8(ascii: "f") ? last + 1 : UInt8(ascii: "0")
        return String(decoding: bytes, as: UTF8.self)
    }

    static func bump(_ id: [UInt8]?) -> [UInt8]? { id.map { TraceIDs.fromHex(bump(TraceIDs.hex($0))) } }

    /// A plugin's change to the extracted context: ids bumped (and the parent when asked).
    static func bumpIDs(parent: Bool) -> @Sendable (TraceContext) -> TraceContext {
        { c in
            var c = c
            c.traceID = bump(c.traceID)
            c.spanID = bump(c.spanID)
            if parent { c.parentID = bump(c.parentID) }
            return c
        }
    }

    /// A context the plugin makes itself.
    static let madeContext: @Sendable (TraceContext) -> TraceContext = { _ in
        context(trace: "0af7651916cd43dd8448eb211c80319d", span: "8448eb211c80319e", sample: true)
    }

    struct PropagationCase: Sendable, CustomTestStringConvertible {
        let name: String
        let request: [(String, String)]
        let propagation: Value
        let update: @Sendable (TraceContext) -> TraceContext
        /// Headers changed or added (nil: removed), over the request's.
        let changes: [String: String?]
        var testDescription: String { name }
    }

    static let propagationCases: [PropagationCase] = {
        let (traceB3, spanB3, parentB3) = ("dc9d1b0ccedf0ecaf4f26ffab84d4f5e", "b7ad6b7169203332", "f4f26ffab84d4f5f")
        let (traceW3C, spanW3C) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
        let (traceJaeger, spanJaeger, parentJaeger) = ("f744b23fe9aa64f08255043ba51848db", "f4f26ffab84d4f60", "f4f26ffab84d4f61")
        let made = "00-0af7651916cd43dd8448eb211c80319d-8448eb211c80319e-01"
        let identity: @Sendable (TraceContext) -> TraceContext = { $0 }
        return [
            .init(name: "extract and inject empty", request: requestHeaders1, propagation: ["extract": [], "inject": []],
                  update: identity, changes: [:]),
            .init(name: "no extraction, one injector", request: requestHeaders1, propagation: ["extract": [], "inject": ["w3c"]],
                  update: madeContext, changes: ["traceparent": made]),
            .init(name: "no extraction, two injectors", request: requestHeaders1,
                  propagation: ["extract": [], "inject": ["w3c", "b3-single"]], update: madeContext,
                  changes: ["traceparent": made, "b3": "0af7651916cd43dd8448eb211c80319d-8448eb211c80319e-1"]),
            .init(name: "no extraction, preserve without default", request: requestHeaders1,
                  propagation: ["extract": [], "inject": ["preserve"]], update: madeContext, changes: ["traceparent": made]),
            .init(name: "no extraction, preserve uses the default format", request: requestHeaders1,
                  propagation: ["extract": [], "inject": ["preserve"], "default_format": "datadog"], update: madeContext,
                  changes: [
                      "x-datadog-trace-id": "9532127138774266269", "x-datadog-parent-id": "9532127138774266270",
                      "x-datadog-sampling-priority": "1",
                  ]),
            .init(name: "extractor finds nothing, preserve uses the default format", request: requestHeaders1,
                  propagation: ["extract": ["datadog"], "inject": ["preserve"], "default_format": "ot"],
                  update: { c in
                      #expect(c == TraceContext())
                      return madeContext(c)
                  },
                  changes: ["ot-tracer-sampled": "1", "ot-tracer-spanid": "8448eb211c80319e", "ot-tracer-traceid": "8448eb211c80319d"]),
            .init(name: "preserve among other injectors", request: requestHeaders1,
                  propagation: ["extract": ["b3", "w3c", "jaeger"], "inject": ["w3c", "preserve", "b3-single"]],
                  update: bumpIDs(parent: true),
                  changes: [
                      "traceparent": "00-\(bump(traceB3))-\(bump(spanB3))-01",
                      "x-b3-traceid": bump(traceB3), "x-b3-spanid": bump(spanB3), "x-b3-sampled": "1",
                      "x-b3-parentspanid": bump(parentB3),
                      "b3": "\(bump(traceB3))-\(bump(spanB3))-1-\(bump(parentB3))",
                  ]),
            .init(name: "extraction without injection", request: requestHeaders1,
                  propagation: ["extract": ["gcp", "aws", "ot", "datadog", "b3", "w3c", "jaeger"], "inject": []],
                  update: { _ in context(trace: "abcdef", span: "123fff", sample: true) }, changes: [:]),
            .init(name: "b3 extracted first", request: requestHeaders1,
                  propagation: ["extract": ["b3", "w3c", "jaeger"], "inject": ["w3c"]], update: bumpIDs(parent: false),
                  changes: ["traceparent": "00-\(bump(traceB3))-\(bump(spanB3))-01"]),
            .init(name: "w3c extracted first", request: requestHeaders1,
                  propagation: ["extract": ["w3c", "b3", "jaeger"], "inject": ["w3c"]], update: bumpIDs(parent: false),
                  changes: ["traceparent": "00-\(bump(traceW3C))-\(bump(spanW3C))-01"]),
            .init(name: "first extractor's header missing", request: requestHeaders1,
                  propagation: ["extract": ["datadog", "jaeger", "b3"], "inject": ["w3c"]], update: bumpIDs(parent: false),
                  changes: ["traceparent": "00-\(bump(traceJaeger))-\(bump(spanJaeger))-01"]),
            .init(name: "several injectors", request: requestHeaders1,
                  propagation: ["extract": ["w3c", "b3", "jaeger"], "inject": ["datadog", "w3c"]], update: bumpIDs(parent: false),
                  changes: [
                      "traceparent": "00-\(bump(traceW3C))-\(bump(spanW3C))-01",
                      "x-datadog-trace-id": bump("9532127138774266268"), "x-datadog-parent-id": bump("13235353014750950193"),
                      "x-datadog-sampling-priority": "1",
                  ]),
            .init(name: "b3 with a 64-bit id into b3 and w3c", request: requestHeaders2,
                  propagation: ["extract": ["b3"], "inject": ["w3c", "b3"]], update: bumpIDs(parent: true),
                  changes: [
                      "traceparent": "00-\(bump(pad + "f4f26ffab84d4f5e"))-\(bump(spanB3))-01",
                      "x-b3-traceid": bump("f4f26ffab84d4f5e"), "x-b3-spanid": bump(spanB3), "x-b3-sampled": "1",
                      "x-b3-parentspanid": bump(parentB3),
                  ]),
            .init(name: "b3 with a 128-bit id into b3 and w3c", request: requestHeaders1,
                  propagation: ["extract": ["b3"], "inject": ["w3c", "b3"]], update: bumpIDs(parent: true),
                  changes: [
                      "traceparent": "00-\(bump(traceB3))-\(bump(spanB3))-01",
                      "x-b3-traceid": bump(traceB3), "x-b3-spanid": bump(spanB3), "x-b3-sampled": "1",
                      "x-b3-parentspanid": bump(parentB3),
                  ]),
            .init(name: "preserve matches jaeger", request: requestHeaders1,
                  propagation: ["extract": ["datadog", "jaeger", "b3"], "inject": ["preserve"]], update: bumpIDs(parent: true),
                  changes: ["uber-trace-id": "\(bump(traceJaeger)):\(bump(spanJaeger)):\(bump(parentJaeger)):01"]),
            .init(name: "clear b3 and w3c", request: requestHeaders1,
                  propagation: [
                      "extract": ["datadog", "jaeger", "b3", "w3c"], "inject": ["preserve"],
                      "clear": ["x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-parentspanid", "traceparent"],
                  ],
                  update: bumpIDs(parent: true),
                  changes: [
                      "uber-trace-id": "\(bump(traceJaeger)):\(bump(spanJaeger)):\(bump(parentJaeger)):01",
                      "x-b3-traceid": nil, "x-b3-spanid": nil, "x-b3-sampled": nil, "x-b3-parentspanid": nil, "traceparent": nil,
                  ]),
        ]
    }()

    @Test(arguments: propagationCases)
    func propagates(_ c: PropagationCase) {
        let propagation = TracePropagation(config: ["propagation": c.propagation])
        var request = PluginRequest(
            method: "GET", host: "example.test", rawPath: "/", headers: HTTPFields(c.request), forwardedIP: "127.0.0.1")
        var warnings: [String] = []
        let (extracted, format) = propagation.extracted(from: TraceHeaders(request.headers)) { warnings.append($0) }
        let (_, errors) = propagation.apply(c.update(extracted), extractedFrom: format, to: &request)
        #expect(warnings.isEmpty)
        #expect(errors.isEmpty)

        var expected = Dictionary(c.request, uniquingKeysWith: { a, _ in a })
        for (name, value) in c.changes { expected[name] = value }
        #expect(request.headers.count == expected.count)
        #expect(Self.headerTable(request.headers.fields) == expected)
    }

    @Test func propagationReportsTraceIDsAndErrors() {
        let propagation = TracePropagation(config: [
            "propagation": ["extract": ["w3c"], "inject": ["preserve", "b3-single", "datadog", "aws", "gcp"]],
        ])
        var request = PluginRequest(method: "GET", host: "example.test", rawPath: "/", forwardedIP: "127.0.0.1")
        // Nothing extracted, and a context without a span id: aws and gcp refuse it.
        let (extracted, format) = propagation.extracted(from: TraceHeaders(request.headers)) { _ in }
        #expect(extracted.isEmpty && format == nil)
        var context = extracted
        context.traceID = TraceIDs.fromHex(Self.trace16)
        let (ids, errors) = propagation.apply(context, extractedFrom: format, to: &request)
        #expect(ids.map(\.key) == ["b3", "datadog"])
        #expect(errors.contains("aws injector context is invalid: field span_id not found in context"))
        #expect(errors.contains("gcp injector context is invalid: field span_id not found in context"))
        #expect(errors.contains("w3c injector context is invalid: field span_id not found in context"))
        #expect(request.header("b3") == "0")
        #expect(request.header("x-datadog-trace-id") == Self.trace8Dec)
        #expect(ids.first { $0.key == "b3" }?.value == Self.trace16)
    }

    @Test func preserveWritesB3BackInTheFormItCameIn() {
        let propagation = TracePropagation(config: ["header_type": "preserve"])
        let single = [("b3", "\(Self.trace16)-\(Self.span1)-1")]
        let multi = [("x-b3-traceid", Self.trace16), ("x-b3-spanid", Self.span1), ("x-b3-sampled", "1")]
        for (headers, isSingle) in [(single, true), (multi, false)] {
            var request = PluginRequest(
                method: "GET", host: "example.test", rawPath: "/", headers: HTTPFields(headers), forwardedIP: "127.0.0.1")
            var (context, format) = propagation.extracted(from: TraceHeaders(request.headers)) { _ in }
            #expect(format == .b3)
            #expect(context.singleHeader == isSingle)
            context.spanID = TraceIDs.fromHex(Self.span2)
            _ = propagation.apply(context, extractedFrom: format, to: &request)
            if isSingle {
                #expect(request.header("b3") == "\(Self.trace16)-\(Self.span2)-1")
                #expect(request.header("x-b3-spanid") == nil)
            } else {
                #expect(request.header("x-b3-spanid") == Self.span2)
                #expect(request.header("b3") == nil)
            }
        }
    }

    /// The opentelemetry plugin's root span with tracing instrumentations off.
    @Test func rootSpanContinuesTheReceivedTrace() {
        let received = Self.context(trace: Self.trace16, span: Self.span1, sample: true, w3cFlags: 1, size: 16)
        let root = OpenTelemetryPlugin.rootSpanContext(received)
        #expect(root.traceID == received.traceID)
        #expect(root.parentID == received.spanID)
        #expect(root.spanID?.count == 8 && root.spanID != received.spanID)
        #expect(root.shouldSample == false)
        #expect(root.traceIDOriginalSize == 16)

        let fresh = OpenTelemetryPlugin.rootSpanContext(TraceContext())
        #expect(fresh.traceID?.count == 16)
        #expect(fresh.parentID == nil)
    }

    /// Malformed tracing headers are ignored or warned about, never a crash: random values
    /// (hex, separators, digits, multi-byte characters, very long) for every format's headers,
    /// extracted, then injected in every format.
    @Test func randomHeaderValuesNeverCrash() {
        let names = [
            "traceparent", "b3", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
            "x-b3-flags", "uber-trace-id", "uberctx-k", "ot-tracer-traceid", "ot-tracer-spanid", "ot-tracer-sampled",
            "ot-baggage-k", "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
            "x-amzn-trace-id", "x-cloud-trace-context", "x-instana-t", "x-instana-s", "x-instana-l",
        ]
        let pieces = ["0", "1", "d", "a", "f", "F", "-", ":", ";", "=", "/", " ", "00", "ff", "9", "Root", "Parent", "Sampled", "o=", "é", "😀", "%", "b3="]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var fields = HTTPFields()
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let count = Bool.random(using: &generator) ? Int.random(in: 0...40, using: &generator) : Int.random(in: 0...400, using: &generator)
                let value = (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
                fields.add(names.randomElement(using: &generator)!, value)
            }
            for format in TraceFormat.allCases where format != .b3Single {
                guard let context = format.extract(TraceHeaders(fields), warn: { _ in }) else { continue }
                for injector in TraceFormat.allCases {
                    _ = injector.inject(context)
                    _ = injector.inject(OpenTelemetryPlugin.rootSpanContext(context))
                }
            }
        }
    }
}
