import KGateSchema

/// The request headers as `ngx.req.get_headers()` hands them to Kong's extractors: names in
/// lower case, a header sent once is a string and one sent more often a table.
struct TraceHeaders {
    /// One header's value in that table.
    enum Entry: Equatable {
        case absent
        case one(String)
        /// Sent more than once (a Lua table), with every value.
        case many([String])

        /// The value when it is a string.
        var string: String? { if case .one(let s) = self { return s } else { return nil } }
        /// Whether the header was sent (`headers[name] ~= nil`).
        var isPresent: Bool { self != .absent }
    }

    let fields: HTTPFields

    init(_ fields: HTTPFields) { self.fields = fields }

    subscript(_ name: String) -> Entry {
        let values = fields.tableValues(name)
        switch values.count {
        case 0: return .absent
        case 1: return .one(values[0])
        default: return .many(values)
        }
    }

    /// Kong's `parse_baggage_headers`: the headers named `prefix` + key, by key, values
    /// URI-decoded; nil when there is none.
    func baggage(prefix: String) -> [String: String]? {
        var items: [String: String] = [:]
        for field in fields {
            let name = HTTPFields.lowercased(field.name)
            guard name.hasPrefix(prefix) else { continue }
            items[String(name.dropFirst(prefix.count))] = QueryArgs.decode(field.value.utf8)
        }
        return items.isEmpty ? nil : items
    }
}

extension TraceFormat {
    /// The headers whose presence makes the extractor look (`headers_validate.any`).
    private var extractionHeaders: [String] {
        switch self {
        case .w3c: ["traceparent"]
        case .b3, .b3Single: ["b3", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]
        case .jaeger: ["uber-trace-id"]
        case .ot: ["ot-tracer-sampled", "ot-tracer-traceid", "ot-tracer-spanid"]
        case .datadog: ["x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority"]
        case .aws: ["x-amzn-trace-id"]
        case .gcp: ["x-cloud-trace-context"]
        case .instana: ["x-instana-t", "x-instana-s", "x-instana-l"]
        }
    }

    /// Kong's extractor of this format (`_EXTRACTOR:extract`): the context with ids sized to
    /// 16 and 8 bytes, or nil when its headers are absent or invalid. Kong's warnings about
    /// invalid headers go to `warn`.
    func extract(_ headers: TraceHeaders, warn: (String) -> Void) -> TraceContext? {
        guard extractionHeaders.contains(where: { headers[$0].isPresent }) else { return nil }
        let found: TraceContext?
        switch self {
        case .w3c: found = TraceExtractors.w3c(headers, warn)
        case .b3, .b3Single: found = TraceExtractors.b3(headers, warn)
        case .jaeger: found = TraceExtractors.jaeger(headers, warn)
        case .ot: found = TraceExtractors.ot(headers, warn)
        case .datadog: found = TraceExtractors.datadog(headers, warn)
        case .aws: found = TraceExtractors.aws(headers, warn)
        case .gcp: found = TraceExtractors.gcp(headers, warn)
        case .instana: found = TraceExtractors.instana(headers, warn)
        }
        guard var context = found else { return nil }
        if let id = context.traceID { context.traceIDOriginalSize = id.count }
        context.traceID = TraceIDs.sized(context.traceID, 16)
        context.spanID = TraceIDs.sized(context.spanID, 8)
        context.parentID = TraceIDs.sized(context.parentID, 8)
        return context
    }
}

/// Each format's `get_context` (`kong/observability/tracing/propagation/extractors/`).
enum TraceExtractors {
    typealias Warn = (String) -> Void

    static func w3c(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        guard let traceparent = headers["traceparent"].string, !traceparent.isEmpty else { return nil }
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy(TraceIDs.isHex) else {
            warn("invalid W3C traceparent header; ignoring.")
            return nil
        }
        let (version, traceID, parentID, flags) = (parts[0], parts[1], parts[2], parts[3])
        guard version == "00" else {
            warn("invalid W3C Trace Context version; ignoring.")
            return nil
        }
        guard traceID.utf8.count == 32, !TraceIDs.isZero(traceID) else {
            warn("invalid W3C trace context trace ID; ignoring.")
            return nil
        }
        guard parentID.utf8.count == 16, !TraceIDs.isZero(parentID) else {
            warn("invalid W3C trace context parent ID; ignoring.")
            return nil
        }
        guard flags.utf8.count == 2, let number = Int(flags, radix: 16) else {
            warn("invalid W3C trace context flags; ignoring.")
            return nil
        }
        return TraceContext(
            traceID: TraceIDs.fromHex(String(traceID)), spanID: TraceIDs.fromHex(String(parentID)),
            shouldSample: number % 2 == 1, w3cFlags: number)
    }

    /// What one B3 form (single or multiple headers) says.
    private struct B3Reading {
        var traceID: String?
        var spanID: String?
        var parentID: String?
        var shouldSample: Bool?
        var flags: String?
        var invalidID = false
    }

    static func b3(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        var context = TraceContext(reuseSpanID: true)
        var traceID: String?
        var spanID: String?
        var parentID: String?
        if let single = b3Single(headers, warn) {
            context.singleHeader = true
            context.shouldSample = single.shouldSample
            context.flags = single.flags
            if !single.invalidID { (traceID, spanID, parentID) = (single.traceID, single.spanID, single.parentID) }
        }
        let multi = b3Multi(headers, warn)
        if context.shouldSample == nil { context.shouldSample = multi.shouldSample }
        context.flags = context.flags ?? multi.flags
        if !multi.invalidID {
            traceID = traceID ?? multi.traceID
            spanID = spanID ?? multi.spanID
            parentID = parentID ?? multi.parentID
        }
        if let traceID {
            context.traceID = TraceIDs.fromHex(traceID)
            context.spanID = spanID.map(TraceIDs.fromHex)
            context.parentID = parentID.map(TraceIDs.fromHex)
        }
        return context
    }

    /// `b3`, else a `b3=` entry of `tracestate`.
    private static func b3Single(_ headers: TraceHeaders, _ warn: Warn) -> B3Reading? {
        let header: String?
        switch headers["b3"] {
        case .one(let value): header = value
        case .many: return nil
        case .absent:
            switch headers["tracestate"] {
            case .one(let value): header = tracestateB3(value)
            case .many(let values): header = values.lazy.compactMap(tracestateB3).first
            case .absent: header = nil
            }
        }
        guard let header else { return nil }
        var reading = B3Reading()
        switch header {
        case "1", "d":
            reading.shouldSample = true
            if header == "d" { reading.flags = "1" }
        case "0":
            reading.shouldSample = false
        default:
            if let parsed = parseB3Single(header), [16, 32].contains(parsed.trace.utf8.count),
                parsed.parent.isEmpty || parsed.parent.utf8.count == 16
            {
                switch parsed.sampled {
                case "1", "d":
                    reading.shouldSample = true
                    if parsed.sampled == "d" { reading.flags = "1" }
                case "0": reading.shouldSample = false
                default: break
                }
                reading.traceID = String(parsed.trace)
                reading.spanID = String(parsed.span)
                reading.parentID = parsed.parent.isEmpty ? nil : String(parsed.parent)
            } else {
                warn("b3 single header invalid; ignoring.")
                reading.invalidID = true
            }
        }
        return reading
    }

    private static func tracestateB3(_ value: String) -> String? {
        guard value.hasPrefix("b3="), value.utf8.count > 3 else { return nil }
        return String(value.dropFirst(3))
    }

    /// Lua's `^(%x+)%-(%x{16})%-?([01d]?)%-?(%x*)$`, with its preference order: the optional
    /// parts are taken when they can be.
    private static func parseB3Single(_ header: String) -> (trace: Substring, span: Substring, sampled: Substring, parent: Substring)? {
        guard let dash = header.firstIndex(of: "-") else { return nil }
        let trace = header[..<dash]
        let afterTrace = header.index(after: dash)
        guard TraceIDs.isHex(trace), header.utf8.distance(from: afterTrace, to: header.endIndex) >= 16 else { return nil }
        let spanEnd = header.utf8.index(afterTrace, offsetBy: 16)
        let span = header[afterTrace..<spanEnd]
        guard TraceIDs.isHex(span) else { return nil }
        let rest = header[spanEnd...]
        for firstDash in [true, false] {
            if firstDash, rest.first != "-" { continue }
            let afterDash = firstDash ? rest.dropFirst() : rest
            for takesSampled in [true, false] {
                if takesSampled, !(afterDash.first.map { "01d".contains($0) } ?? false) { continue }
                let sampled = takesSampled ? afterDash.prefix(1) : afterDash.prefix(0)
                let afterSampled = afterDash.dropFirst(sampled.count)
                for secondDash in [true, false] {
                    if secondDash, afterSampled.first != "-" { continue }
                    let parent = secondDash ? afterSampled.dropFirst() : afterSampled
                    if parent.isEmpty || TraceIDs.isHex(parent) { return (trace, span, sampled, parent) }
                }
            }
        }
        return nil
    }

    private static func b3Multi(_ headers: TraceHeaders, _ warn: Warn) -> B3Reading {
        var reading = B3Reading()
        reading.shouldSample = sampledFlag(headers["x-b3-sampled"], "x-b3-sampled", warn)
        let debug = headers["x-b3-flags"]
        if debug == .one("1") {
            reading.shouldSample = true
        } else if debug.isPresent {
            warn("x-b3-flags header invalid; ignoring.")
        }
        reading.flags = debug.string
        reading.traceID = hexID(headers["x-b3-traceid"], sizes: [16, 32], "x-b3-traceid", &reading.invalidID, warn)
        reading.spanID = hexID(headers["x-b3-spanid"], sizes: [16], "x-b3-spanid", &reading.invalidID, warn)
        reading.parentID = hexID(headers["x-b3-parentspanid"], sizes: [16], "x-b3-parentspanid", &reading.invalidID, warn)
        return reading
    }

    /// `1`/`true` or `0`/`false`; anything else is warned about and ignored.
    private static func sampledFlag(_ entry: TraceHeaders.Entry, _ name: String, _ warn: Warn) -> Bool? {
        switch entry.string {
        case "1", "true": return true
        case "0", "false": return false
        default:
            if entry.isPresent { warn("\(name) header invalid; ignoring.") }
            return nil
        }
    }

    /// A hex id header of one of `sizes` (in digits); another is warned about and marks the
    /// reading invalid.
    private static func hexID(
        _ entry: TraceHeaders.Entry, sizes: [Int], _ name: String, _ invalid: inout Bool, _ warn: Warn
    ) -> String? {
        guard entry.isPresent else { return nil }
        if let value = entry.string, sizes.contains(value.utf8.count), TraceIDs.isHex(value[...]) { return value }
        warn("\(name) header invalid; ignoring.")
        invalid = true
        return nil
    }

    static func jaeger(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        guard let header = headers["uber-trace-id"].string, !header.isEmpty else { return nil }
        let parts = header.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy(TraceIDs.isHex) else {
            warn("invalid jaeger uber-trace-id header; ignoring.")
            return nil
        }
        let (traceID, spanID, parentID, flags) = (parts[0], parts[1], parts[2], parts[3])
        guard traceID.utf8.count <= 32, !TraceIDs.isZero(traceID) else {
            warn("invalid jaeger trace ID; ignoring.")
            return nil
        }
        if parentID.utf8.count != 16, !TraceIDs.isZero(parentID) { warn("invalid jaeger parent ID; ignoring.") }
        guard spanID.utf8.count <= 16, !TraceIDs.isZero(spanID) else {
            warn("invalid jaeger span ID; ignoring.")
            return nil
        }
        guard flags.utf8.count == 1 || flags.utf8.count == 2, let number = Int(flags, radix: 16) else {
            warn("invalid jaeger flags; ignoring.")
            return nil
        }
        return TraceContext(
            traceID: TraceIDs.fromHex(String(traceID)), spanID: TraceIDs.fromHex(String(spanID)),
            parentID: TraceIDs.fromHex(String(parentID)), shouldSample: number % 2 == 1, reuseSpanID: true,
            baggage: headers.baggage(prefix: "uberctx-"))
    }

    static func ot(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        var context = TraceContext()
        context.shouldSample = sampledFlag(headers["ot-tracer-sampled"], "ot-tracer-sampled", warn)
        var invalid = false
        let traceID = hexID(headers["ot-tracer-traceid"], sizes: [16, 32], "ot-tracer-traceid", &invalid, warn)
        let spanID = hexID(headers["ot-tracer-spanid"], sizes: [16], "ot-tracer-spanid", &invalid, warn)
        if let traceID, !invalid {
            context.traceID = TraceIDs.fromHex(traceID)
            context.spanID = spanID.map(TraceIDs.fromHex)
        }
        context.baggage = headers.baggage(prefix: "ot-baggage-")
        return context
    }

    static func datadog(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        var context = TraceContext()
        let priority = headers["x-datadog-sampling-priority"]
        switch priority.string {
        case "1", "2": context.shouldSample = true
        case "0", "-1": context.shouldSample = false
        default:
            if priority.isPresent {
                warn("x-datadog-sampling-priority header invalid; ignoring.")
                return nil
            }
        }
        let traceID = decimalID(headers["x-datadog-trace-id"], "x-datadog-trace-id", warn)
        let parentID = decimalID(headers["x-datadog-parent-id"], "x-datadog-parent-id", warn)
        if let traceID {
            context.traceID = TraceIDs.fromDecimal(traceID)
            context.spanID = parentID.map(TraceIDs.fromDecimal)
        }
        return context
    }

    /// `^%s*(%d+)%s*$`.
    private static func decimalID(_ entry: TraceHeaders.Entry, _ name: String, _ warn: Warn) -> String? {
        guard entry.isPresent else { return nil }
        if let digits = entry.string?.kongStripped, !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return digits
        }
        warn("\(name) header invalid; ignoring.")
        return nil
    }

    static func aws(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        guard let header = headers["x-amzn-trace-id"].string else { return nil }
        var context = TraceContext()
        for pair in header.split(separator: ";", omittingEmptySubsequences: false) {
            let equals = pair.firstIndex(of: "=")
            let key = String(equals.map { pair[..<$0] } ?? pair).kongStripped
            let value = String(equals.map { pair[pair.index(after: $0)...] } ?? "").kongStripped
            switch key {
            case "Root":
                let parts = value.split(separator: "-", omittingEmptySubsequences: false)
                guard value.utf8.count == 35, parts.count == 3, parts.allSatisfy(TraceIDs.isHex), parts[0] == "1",
                    parts[1].utf8.count == 8, parts[2].utf8.count == 24
                else {
                    warn("invalid aws header trace id; ignoring.")
                    return nil
                }
                context.traceID = TraceIDs.fromHex(String(parts[1] + parts[2]))
            case "Parent":
                guard value.utf8.count == 16 else {
                    warn("invalid aws header parent id; ignoring.")
                    return nil
                }
                context.spanID = TraceIDs.fromHex(String(value))
            case "Sampled":
                guard value == "0" || value == "1" else {
                    warn("invalid aws header sampled flag; ignoring.")
                    return nil
                }
                context.shouldSample = value == "1"
            default: break
            }
        }
        return context
    }

    static func gcp(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        guard let header = headers["x-cloud-trace-context"].string else { return nil }
        // ^([0-9a-f]{32})/([0-9]{1,20})(;o=([0-9]))?$
        let bytes = Array(header.utf8)
        let isLowerHex = { (c: UInt8) in (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
        let isDigit = { (c: UInt8) in c >= 0x30 && c <= 0x39 }
        var valid = bytes.count > 33 && bytes[..<32].allSatisfy(isLowerHex) && bytes[32] == UInt8(ascii: "/")
        var spanEnd = 33
        while valid, spanEnd < bytes.count, isDigit(bytes[spanEnd]) { spanEnd += 1 }
        valid = valid && spanEnd > 33 && spanEnd - 33 <= 20
        var flag: UInt8?
        if valid, spanEnd < bytes.count {
            valid = bytes.count == spanEnd + 4 && bytes[spanEnd..<(spanEnd + 3)].elementsEqual(";o=".utf8) && isDigit(bytes[spanEnd + 3])
            flag = valid ? bytes[spanEnd + 3] : nil
        }
        guard valid else {
            warn("invalid GCP header; ignoring.")
            return nil
        }
        return TraceContext(
            traceID: TraceIDs.fromHex(String(decoding: bytes[..<32], as: UTF8.self)),
            spanID: TraceIDs.fromDecimal(String(decoding: bytes[33..<spanEnd], as: UTF8.self)),
            shouldSample: flag == UInt8(ascii: "1"))
    }

    static func instana(_ headers: TraceHeaders, _ warn: Warn) -> TraceContext? {
        guard let traceHeader = headers["x-instana-t"].string else { return nil }
        let traceID = leadingHex(traceHeader)
        if traceID.map({ $0.utf8.count != 16 && $0.utf8.count != 32 }) ?? true { warn("x-instana-t header invalid; ignoring.") }
        guard let spanHeader = headers["x-instana-s"].string else { return nil }
        let spanID = leadingHex(spanHeader)
        if spanID == nil { warn("x-instana-s header invalid; ignoring.") }
        let level = headers["x-instana-l"].string?.prefix(1)
        return TraceContext(
            traceID: traceID.map { TraceIDs.fromHex(String($0)) }, spanID: spanID.map { TraceIDs.fromHex(String($0)) },
            shouldSample: level == "1")
    }

    /// Lua's `^(%x+)`.
    private static func leadingHex(_ text: String) -> Substring? {
        let end = text.utf8.firstIndex { PathNormalizer.hexValue($0) == nil } ?? text.endIndex
        return end == text.startIndex ? nil : text[..<end]
    }
}
