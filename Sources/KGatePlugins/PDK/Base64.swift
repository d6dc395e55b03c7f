/// `ngx.decode_base64` (nginx's `ngx_decode_base64`): the standard alphabet up to the first
/// `=`, whatever follows it unread; nil for another character before it or a length of 4n+1.
/// With `url`, the URL-safe alphabet (`ngx.base64.decode_base64url`: `-` and `_`).
enum Base64 {
    static func decode(_ input: some Collection<UInt8>, url: Bool = false) -> [UInt8]? {
        let data = input.prefix { $0 != UInt8(ascii: "=") }
        if data.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in data {
            guard let v = value(c, url: url) else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Standard base64 with padding; with `url`, the URL-safe alphabet without padding
    /// (`ngx.base64.encode_base64url`).
    static func encode(_ input: [UInt8], url: Bool = false) -> String {
        let table = url ? urlAlphabet : standardAlphabet
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            let n = min(3, input.count - i)
            var chunk: UInt32 = 0
            for k in 0..<3 { chunk = chunk << 8 | (k < n ? UInt32(input[i + k]) : 0) }
            for k in 0..<4 {
                if k <= n {
                    out.append(table[Int((chunk >> UInt32(18 - 6 * k)) & 63)])
                } else if !url {
                    out.append(UInt8(ascii: "="))
                }
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func value(_ c: UInt8, url: Bool) -> UInt8? {
        switch c {
        case 0x41...0x5A: return c - 0x41
        case 0x61...0x7A: return c - 0x61 + 26
        case 0x30...0x39: return c - 0x30 + 52
        case UInt8(ascii: "+") where !url, UInt8(ascii: "-") where url: return 62
        case UInt8(ascii: "/") where !url, UInt8(ascii: "_") where url: return 63
        default: return nil
        }
    }
}
