import KGateSchema

extension IPAddress {
    /// The address as nginx prints it (`$server_addr`, `ngx_sock_ntop`): dotted IPv4; IPv6 in
    /// lower-case hex with the first longest run of two or more zero groups as `::`, and the
    /// last 32 bits dotted for `::a.b.c.d` and `::ffff:a.b.c.d`. IPv4 text is written in place
    /// (at most 15 bytes: a small string, no allocation), as it is made per connection.
    public var nginxText: String {
        switch self {
        case .v4(let a):
            return String(unsafeUninitializedCapacity: 15) { out in
                var n = 0
                for shift: UInt32 in [24, 16, 8, 0] {
                    let octet = Int(a >> shift & 0xFF)
                    if octet >= 100 { out[n] = UInt8(ascii: "0") + UInt8(octet / 100); n += 1 }
                    if octet >= 10 { out[n] = UInt8(ascii: "0") + UInt8(octet / 10 % 10); n += 1 }
                    out[n] = UInt8(ascii: "0") + UInt8(octet % 10)
                    n += 1
                    if shift > 0 { out[n] = UInt8(ascii: "."); n += 1 }
                }
                return n
            }
        case .v6(let a):
            let groups = (0..<8).map { Int(truncatingIfNeeded: a >> (112 - 16 * UInt128($0))) & 0xFFFF }
            // The first longest run of zero groups, if at least two long.
            var (zero, longest, run) = (-1, 1, 0)
            for (i, g) in groups.enumerated() {
                run = g == 0 ? run + 1 : 0
                if run > longest { (zero, longest) = (i - run + 1, run) }
            }
            let b14 = groups[7] >> 8
            let b15 = groups[7] & 0xFF
            let mapped = longest == 5 && groups[5] == 0xFFFF
            let dotted = zero == 0 && (mapped || longest == 6 || (longest == 7 && b14 != 0 && b15 != 1))
            let hexGroups = dotted ? 6 : 8
            var out = zero == 0 ? ":" : ""
            var i = 0
            while i < hexGroups {
                if i == zero {
                    out += ":"
                    i += longest
                    continue
                }
                out += String(groups[i], radix: 16)
                if i < 7 { out += ":" }
                i += 1
            }
            if dotted { out += "\(groups[6] >> 8).\(groups[6] & 0xFF).\(b14).\(b15)" }
            return out
        }
    }
}
