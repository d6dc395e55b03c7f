import KGateConfig
import KGateSchema

/// Writes a `Value` as a block-style YAML document that kgate's reader (libyaml with Kong's
/// scalar rules) reads back as the same value:
/// - strings are plain only when they cannot be read as anything else (`name: my-service`),
///   otherwise double-quoted with escapes; multi-line text such as PEM blocks is written as a
///   literal block (`|` / `|-`) when that keeps every character, double-quoted otherwise;
/// - integers in decimal, doubles always with a `.` or an exponent (`1.0`), so they stay doubles;
/// - `null`, `true`, `false`, `[]` and `{}` as such; object keys in the value's order.
enum YAMLWriter {
    /// The document text, ending with a newline.
    static func document(_ value: Value) -> String {
        var out = ""
        switch value {
        case .object(let o) where !o.isEmpty: writeMapping(o, indent: 0, into: &out)
        case .array(let a) where !a.isEmpty: writeSequence(a, indent: 0, into: &out)
        default: out = scalar(value, indent: 0) + "\n"
        }
        return out
    }

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    private static func writeMapping(_ o: Object, indent: Int, into out: inout String) {
        for (key, value) in o {
            out += pad(indent) + quotedIfNeeded(key) + ":"
            writeValue(value, indent: indent, into: &out)
        }
    }

    private static func writeSequence(_ items: [Value], indent: Int, into out: inout String) {
        for item in items {
            out += pad(indent) + "-"
            switch item {
            case .object(let o) where !o.isEmpty:
                // The first member on the dash line, the others aligned under it.
                var nested = ""
                writeMapping(o, indent: indent + 2, into: &nested)
                out += " " + nested.dropFirst(indent + 2)
            case .array(let a) where !a.isEmpty:
                out += "\n"
                writeSequence(a, indent: indent + 2, into: &out)
            default:
                out += " " + scalar(item, indent: indent + 2) + "\n"
            }
        }
    }

    /// After `key:`: a nested block on the next lines, or ` scalar` on the same line.
    private static func writeValue(_ value: Value, indent: Int, into out: inout String) {
        switch value {
        case .object(let o) where !o.isEmpty:
            out += "\n"
            writeMapping(o, indent: indent + 2, into: &out)
        case .array(let a) where !a.isEmpty:
            out += "\n"
            writeSequence(a, indent: indent, into: &out)
        default:
            out += " " + scalar(value, indent: indent + 2) + "\n"
        }
    }

    /// A scalar (or an empty collection) in flow form; a literal block header and its lines for
    /// multi-line text.
    static func scalar(_ value: Value, indent: Int) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return number(d)
        case .string(let s):
            if let block = literalBlock(s, indent: indent) { return block }
            return quotedIfNeeded(s)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// A double that reads back as a double.
    static func number(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        let text = "\(d)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }

    /// Words YAML 1.1 (as Kong's lyaml reads it) turns into booleans, nulls or numbers.
    private static let reserved: Set<String> = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "infinity", "~",
    ]

    /// Whether a string can be written plain and read back as the same string.
    static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.utf8.first else { return false }
        let isLetter = (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z")
        guard isLetter || first == UInt8(ascii: "/") else { return false }
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"),
                UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        if reserved.contains(s.lowercased()) { return false }
        return Double(s.replacingUnderscores) == nil
    }

    /// The string plain when that is safe, double-quoted otherwise.
    static func quotedIfNeeded(_ s: String) -> String {
        isPlainSafe(s) ? s : doubleQuoted(s)
    }

    /// A double-quoted scalar: `"`, `\`, control characters and YAML's own line breaks escaped.
    static func doubleQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}":
                out += "\\u" + hex4(scalar.value)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(hex4(scalar.value).suffix(2))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// `|` (one final newline) or `|-` (none) followed by the lines, when the text is plain
    /// printable lines: no tabs or control characters, no trailing spaces, no leading space on
    /// the first line, at most one final newline.
    static func literalBlock(_ s: String, indent: Int) -> String? {
        guard s.contains("\n") else { return nil }
        var body = Substring(s)
        let chomp: String
        if body.hasSuffix("\n") {
            body = body.dropLast()
            chomp = "|"
        } else {
            chomp = "|-"
        }
        guard !body.hasSuffix("\n"), !body.isEmpty, !body.hasPrefix(" "), !body.hasPrefix("\n") else { return nil }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines {
            if line.hasSuffix(" ") { return nil }
            for scalar in line.unicodeScalars
            where scalar.value < 0x20 || scalar.value == 0x7F
                || [0x85, 0x2028, 0x2029, 0xFEFF].contains(scalar.value)
            {
                return nil
            }
        }
        return chomp + "\n" + lines.map { $0.isEmpty ? "" : pad(indent) + $0 }.joined(separator: "\n")
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
