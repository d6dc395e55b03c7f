import KGateSchema

extension IPAddress {
    /// The address as nginx prints it (`$server_addr`, `ngx_sock_ntop`): dotted IPv4; IPv6 in
    /// lower-case hex with the first longest run of two or more zero groups as `::`, and the
    /// last 32 bits dotted for `::a.b.c.d` and `::ffff:a.b.c.d`.
    public var nginxText: String {
        switch self {
        case .v4(let a):
            return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
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
