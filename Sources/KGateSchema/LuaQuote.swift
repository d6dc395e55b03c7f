/// Lua's string quoting as Kong's messages show it.
public enum LuaQuote {
    /// LuaJIT's `string.format("%q", s)`: in double quotes; `"`, `\` and newlines escaped with a
    /// backslash; other control characters and DEL as decimal escapes (three digits when a
    /// digit follows).
    public static func percentQ(_ s: String) -> String {
        let bytes = Array(s.utf8)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for (i, c) in bytes.enumerated() {
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == 0x0A {
                out.append(UInt8(ascii: "\\"))
                out.append(c)
            } else if c < 0x20 || c == 0x7F {
                out.append(UInt8(ascii: "\\"))
                let nextIsDigit = i + 1 < bytes.count && (0x30...0x39).contains(bytes[i + 1])
                var n = Int(c)
                if n >= 100 || nextIsDigit {
                    out.append(UInt8(ascii: n >= 100 ? "1" : "0"))
                    if n >= 100 { n -= 100 }
                    out.append(UInt8(0x30 + n / 10))
                } else if n >= 10 {
                    out.append(UInt8(0x30 + n / 10))
                }
                out.append(UInt8(0x30 + n % 10))
            } else {
                out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }
}
