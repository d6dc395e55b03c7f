/// Route ids as atc-router orders them: a UUID compared byte by byte (`uuid::Uuid`'s `Ord`),
/// and Kong's ids for the pieces of a split route (`transform.lua`):
/// `uuid_v5("7f145bf9-0dce-4f91-98eb-debbce4b9f6b", "<route id>#<group index>")`.
enum RouteUUID {
    /// The namespace of split route ids.
    static let splitNamespace = "7f145bf9-0dce-4f91-98eb-debbce4b9f6b"

    /// The 128-bit value of a UUID in its canonical text form (hex digits, dashes ignored;
    /// case-insensitive), nil when it is not 32 hex digits.
    static func parse(_ text: String) -> UInt128? {
        var v: UInt128 = 0
        var digits = 0
        for b in text.utf8 {
            if b == 0x2D { continue }
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: return nil
            }
            digits += 1
            if digits > 32 { return nil }
            v = v << 4 | UInt128(d)
        }
        return digits == 32 ? v : nil
    }

    /// Canonical lower-case text (`8-4-4-4-12`).
    static func format(_ v: UInt128) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for i in 0..<32 {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(0x2D) }
            out.append(hex[Int((v >> UInt128(124 - 4 * i)) & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 4122 version 5 (SHA-1) UUID of `name` in `namespace`.
    static func v5(namespace: String, name: String) -> String {
        let ns = parse(namespace) ?? 0
        var bytes: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: ns >> UInt128(120 - 8 * $0)) }
        bytes += Array(name.utf8)
        var digest = SHA1.hash(bytes)
        digest[6] = digest[6] & 0x0F | 0x50
        digest[8] = digest[8] & 0x3F | 0x80
        let v = digest.prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return format(v)
    }
}

/// SHA-1, only for the UUID v5 ids above (not a security primitive).
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * i))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + 4 * i
                w[i] =
                    UInt32(data[j]) << 24 | UInt32(data[j + 1]) << 16 | UInt32(data[j + 2]) << 8 | UInt32(data[j + 3])
            }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * $0)) } }
    }

    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
