import KGateConfig
import KGateSchema

/// Kong's tracing header formats (`kong/observability/tracing/propagation/utils.lua`).
public enum TraceFormat: String, Sendable, CaseIterable {
    /// W3C Trace Context: `traceparent`.
    case w3c
    /// Zipkin's B3: `x-b3-*`, or the single `b3` header.
    case b3
    /// B3 in the single `b3` header (inject only).
    case b3Single = "b3-single"
    /// Jaeger: `uber-trace-id` and `uberctx-*` baggage.
    case jaeger
    /// OpenTracing: `ot-tracer-*` and `ot-baggage-*`.
    case ot
    /// Datadog: `x-datadog-*`, decimal ids.
    case datadog
    /// AWS X-Ray: `x-amzn-trace-id`.
    case aws
    /// Google Cloud: `x-cloud-trace-context`.
    case gcp
    /// Instana: `x-instana-*`.
    case instana
}

/// A trace context as Kong's propagation passes it on: what an extractor read from the
/// request's headers, then, changed by the tracing plugin, what the injectors write upstream.
/// Ids are raw bytes; extraction sizes them as Kong does (16-byte trace ids, 8-byte span ids).
struct TraceContext: Sendable, Equatable {
    var traceID: [UInt8]?
    var spanID: [UInt8]?
    var parentID: [UInt8]?
    var shouldSample: Bool?
    /// B3's debug flag as received (`x-b3-flags`, or `1` for `d` in `b3`).
    var flags: String?
    /// The flags of `traceparent`.
    var w3cFlags: Int?
    /// The B3 context came in the single `b3` header: `preserve` writes it back that way.
    var singleHeader = false
    /// The format shares span ids between client and server (B3, Jaeger).
    var reuseSpanID = false
    /// Jaeger's `uberctx-*` or OpenTracing's `ot-baggage-*` items, decoded, by key.
    var baggage: [String: String]?
    /// The size in bytes of the trace id as received, before it was sized to 16.
    var traceIDOriginalSize: Int?

    /// Whether Lua would see the extractor's table as empty (`next(ctx) == nil`): then the
    /// next extractor is tried.
    var isEmpty: Bool {
        traceID == nil && spanID == nil && parentID == nil && shouldSample == nil && flags == nil && w3cFlags == nil
            && !singleHeader && !reuseSpanID && baggage == nil
    }
}

/// Trace and span ids: Kong's `from_hex`, `to_hex`, `to_id_size` and the decimal forms of
/// `resty.openssl.bn`.
enum TraceIDs {
    /// Kong's `from_hex`: each pair of hex digits becomes a byte, other characters stay as
    /// they are; an odd length gets a leading `0`.
    static func fromHex(_ text: String) -> [UInt8] {
        var digits = Array(text.utf8)
        if digits.count % 2 != 0 { digits.insert(UInt8(ascii: "0"), at: 0) }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            if i + 1 < digits.count, let high = PathNormalizer.hexValue(digits[i]), let low = PathNormalizer.hexValue(digits[i + 1]) {
                out.append(high << 4 | low)
                i += 2
            } else {
                out.append(digits[i])
                i += 1
            }
        }
        return out
    }

    /// Lower-case hex.
    static func hex(_ id: [UInt8]) -> String { ConfigHash.hex(id) }

    /// Kong's `to_id_size`: the last `size` bytes, or zeros in front up to `size`.
    static func sized(_ id: [UInt8]?, _ size: Int) -> [UInt8]? {
        guard let id else { return nil }
        if id.count > size { return Array(id.suffix(size)) }
        if id.count < size { return [UInt8](repeating: 0, count: size - id.count) + id }
        return id
    }

    /// `bn.from_dec(text):to_binary()`: the big-endian bytes of a decimal number, none for 0.
    /// Nine digits are taken at a time into 32-bit limbs, so a header of thousands of digits
    /// costs little.
    static func fromDecimal(_ text: String) -> [UInt8] {
        var limbs: [UInt32] = []  // little-endian
        let digits = Array(text.utf8)
        var start = 0
        while start < digits.count {
            let end = min(start + 9, digits.count)
            var chunk: UInt64 = 0
            var scale: UInt64 = 1
            for c in digits[start..<end] {
                chunk = chunk * 10 + UInt64(c &- UInt8(ascii: "0"))
                scale *= 10
            }
            var carry = chunk
            for i in limbs.indices {
                let v = UInt64(limbs[i]) * scale + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
            start = end
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(limbs.count * 4)
        for limb in limbs.reversed() {
            for shift in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: limb >> UInt32(shift))) }
        }
        return Array(bytes.drop { $0 == 0 })
    }

    /// `bn.from_binary(id):to_dec()`: the decimal text of big-endian bytes.
    static func decimal(_ id: [UInt8]) -> String {
        var number = Array(id.drop { $0 == 0 })
        guard !number.isEmpty else { return "0" }
        var digits: [UInt8] = []
        while !number.isEmpty {
            var remainder = 0
            var quotient: [UInt8] = []
            quotient.reserveCapacity(number.count)
            for byte in number {
                let v = remainder << 8 | Int(byte)
                let q = v / 10
                remainder = v % 10
                if !quotient.isEmpty || q != 0 { quotient.append(UInt8(q)) }
            }
            digits.append(UInt8(ascii: "0") + UInt8(remainder))
            number = quotient
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// Whether every byte is a hex digit (and there is one): Lua's `%x+`.
    static func isHex(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { PathNormalizer.hexValue($0) != nil }
    }

    /// Whether a hex text is all zeros (Lua's `tonumber(text, 16) == 0`).
    static func isZero(_ text: Substring) -> Bool { text.utf8.allSatisfy { $0 == UInt8(ascii: "0") } }

    /// A random id of `count` bytes (Kong's `get_rand_bytes`).
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) where out.count < count { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }
}
