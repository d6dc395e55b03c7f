
/// Percent-encoding as nginx does it (`ngx.unescape_uri`, `ngx.escape_uri`) and the query string
/// as `ngx.req.get_uri_args` reads it.
enum URIText {
    /// `ngx.unescape_uri`: `%XX` decoded, a malformed escape kept as is; with `plusAsSpace`
    /// (as `ngx.unescape_uri` itself: query strings and Admin API path segments) `+` is a
    /// space.
    static func unescape(_ text: Substring, plusAsSpace: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusAsSpace && c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
                i += 1
            }
        }
        return out
    }

    /// `ngx.escape_uri` (component): everything but `A-Z a-z 0-9 - . _ ~` as `%XX`.
    static func escape(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(c)
            default:
                out += [UInt8(ascii: "%"), digits[Int(c >> 4)], digits[Int(c & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// The query arguments of a request, decoded (`?a=1&b&a=2`): the first value of a repeated name
/// wins, a name without `=` is present with no value (Lua's `true`).
struct QueryArguments: Sendable {
    /// Name → decoded bytes (nil for a bare `?name`), in order of first appearance.
    private(set) var entries: [(name: String, value: [UInt8]?)] = []

    /// Parses the part of a request target after `?`.
    init(_ query: Substring?) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: URIText.unescape(parts[0], plusAsSpace: true), as: UTF8.self)
            guard !name.isEmpty, !entries.contains(where: { $0.name == name }) else { continue }
            entries.append((name, parts.count > 1 ? URIText.unescape(parts[1], plusAsSpace: true) : nil))
        }
    }

    /// Whether the name was given at all.
    func has(_ name: String) -> Bool { entries.contains { $0.name == name } }

    /// The decoded bytes of a value; nil when absent or given without `=`.
    func bytes(_ name: String) -> [UInt8]? { entries.first { $0.name == name }?.value }

    /// The value as text; nil when absent or given without `=`.
    subscript(name: String) -> String? { bytes(name).map { String(decoding: $0, as: UTF8.self) } }
}

/// Base64 with the standard alphabet, written without padding (`ngx.encode_base64(s, true)`),
/// read with or without it.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var chunk = UInt32(bytes[i]) << 16
            if n > 1 { chunk |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { chunk |= UInt32(bytes[i + 2]) }
            for k in 0...n { out.append(alphabet[Int((chunk >> UInt32(18 - 6 * k)) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil when the text is not base64 (a bad character, or a length of 4n+1).
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(v))
        }
        guard values.count % 4 != 1, padding <= 2 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let n = min(4, values.count - i)
            var chunk: UInt32 = 0
            for k in 0..<4 { chunk = chunk << 6 | UInt32(k < n ? values[i + k] : 0) }
            for k in 0..<(n - 1) { out.append(UInt8((chunk >> UInt32(16 - 8 * k)) & 0xFF)) }
            i += 4
        }
        return out
    }
}
