#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema

/// Turns a `Value` into JSON text the way Kong's lua-cjson does.
///
/// Kong answers with `cjson.encode` (configured in `kong/tools/cjson.lua`), and tools compare those
/// bytes, so the compact style reproduces it:
/// - no whitespace at all: `{"a":1,"b":[true,null]}`;
/// - strings escape `"`, `\`, `/` (as `\/`), `\b \f \n \r \t`, other control characters and DEL as
///   `\u00XX`; everything else, including non-ASCII UTF-8, is written as is;
/// - `.integer` is written in decimal; `.number` with `%.16g` (Kong's `CJSON_MAX_PRECISION`), so
///   `3.0` is `3` and `0.1` is `0.1`; NaN and infinities (which cjson refuses) are written `null`;
/// - object keys keep the `Value`'s order (cjson follows Lua's hash order, which is arbitrary).
///
/// Empty containers: a Lua table has no array/object distinction, and cjson writes an empty table
/// as `{}` unless it carries `cjson.array_mt`. A `Value` does know: `.array([])` is written `[]` and
/// `.object([:])` is written `{}`, so whoever builds the value decides (Kong's `fields` of a
/// drained error is `{}`, its `flattened_errors` is `[]`).
public struct KongJSONEncoder: Sendable {
    /// How the text is laid out.
    public enum Style: Sendable, Equatable {
        /// cjson's bytes: no spaces, no newlines.
        case compact
        /// One member per line, `indent` spaces per level, `"key": value`; empty containers stay
        /// `{}` / `[]`. For people, not for byte comparison.
        case pretty(indent: Int)
    }

    /// The layout; `.compact` by default.
    public var style: Style
    /// Whether `/` is escaped as `\/` (cjson's default, `encode_escape_forward_slash`).
    public var escapesForwardSlash: Bool
    /// Significant digits of numbers (`encode_number_precision`): 16 as Kong sets it on its
    /// cjson, 14 for a `cjson.new()` instance, which keeps cjson's default.
    public var numberPrecision: Int

    /// Makes an encoder; the defaults give Kong's cjson's exact output.
    public init(style: Style = .compact, escapesForwardSlash: Bool = true, numberPrecision: Int = 16) {
        self.style = style
        self.escapesForwardSlash = escapesForwardSlash
        self.numberPrecision = numberPrecision
    }

    /// Encodes a value to JSON text.
    public func encode(_ value: Value) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, depth: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes a value, appending UTF-8 bytes to `out`.
    public func encode(_ value: Value, into out: inout [UInt8]) {
        write(value, into: &out, depth: 0)
    }

    private func write(_ value: Value, into out: inout [UInt8], depth: Int) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i):
            // Lua numbers are doubles: an integer past the precision prints as cjson prints it.
            if numberPrecision < 16, i.magnitude >= Self.powersOfTen[numberPrecision] {
                out.append(contentsOf: Self.formatNumber(Double(i), precision: numberPrecision).utf8)
            } else {
                out.append(contentsOf: String(i).utf8)
            }
        case .number(let d):
            out.append(contentsOf: Self.formatNumber(d, precision: numberPrecision).utf8)
        case .string(let s):
            writeString(s, into: &out)
        case .array(let items):
            guard !items.isEmpty else {
                out.append(contentsOf: "[]".utf8)
                return
            }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, depth: depth + 1)
                write(item, into: &out, depth: depth + 1)
            }
            newline(into: &out, depth: depth)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else {
                out.append(contentsOf: "{}".utf8)
                return
            }
            out.append(UInt8(ascii: "{"))
            for (i, (key, member)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, depth: depth + 1)
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                if case .pretty = style { out.append(UInt8(ascii: " ")) }
                write(member, into: &out, depth: depth + 1)
            }
            newline(into: &out, depth: depth)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(into out: inout [UInt8], depth: Int) {
        guard case .pretty(let indent) = style else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * depth))
    }

    private func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "/") where escapesForwardSlash: out.append(contentsOf: [0x5C, 0x2F])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x00..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// 10^0 ... 10^16.
    static let powersOfTen: [UInt64] = (0...16).map { (0..<$0).reduce(UInt64(1)) { r, _ in r * 10 } }

    /// cjson's number text: `%.16g` (or `precision` digits), with `null` for NaN and infinities.
    public static func formatNumber(_ d: Double, precision: Int = 16) -> String {
        guard d.isFinite else { return "null" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        if d == d.rounded(), abs(d) < min(1e15, Double(powersOfTen[min(precision, 15)])) { return String(Int(d)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
            let n = withVaList([Int32(precision), d]) { vsnprintf(buffer.baseAddress!, 40, "%.*g", $0) }
            let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(max(0, min(n, 39))))
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension Value {
    /// Compact JSON text as Kong's cjson writes it (see `KongJSONEncoder`).
    public var jsonText: String { KongJSONEncoder().encode(self) }
}
