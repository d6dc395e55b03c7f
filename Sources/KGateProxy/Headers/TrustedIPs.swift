import NIOCore

/// `trusted_ips`: the peers whose `X-Forwarded-*` and real-IP headers are believed (nginx's
/// `set_real_ip_from`). Entries are IPv4/IPv6 addresses or CIDR blocks; `0.0.0.0/0` and `::/0`
/// trust everyone; `unix:` trusts Unix-socket peers.
public struct TrustedIPs: Sendable, Hashable {
    struct Block: Sendable, Hashable {
        /// The network address, IPv4 in the low 32 bits of `low` (`high` = 0).
        var high: UInt64
        var low: UInt64
        var prefix: Int
        var isIPv6: Bool
    }

    var blocks: [Block]
    var trustsUnix: Bool

    /// Parses the entries; malformed ones are ignored (the settings loader validates them).
    public init(_ entries: [String]) {
        var blocks: [Block] = []
        var unix = false
        for entry in entries {
            if entry == "unix:" {
                unix = true
                continue
            }
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let address = IPBytes(parsing: String(first)) else { continue }
            let maxPrefix = address.isIPv6 ? 128 : 32
            var prefix = maxPrefix
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { continue }
                prefix = p
            }
            blocks.append(Block(high: address.high, low: address.low, prefix: prefix, isIPv6: address.isIPv6))
        }
        self.blocks = blocks
        self.trustsUnix = unix
    }

    /// Whether nobody is trusted (the default): the hot path then skips the lookup.
    public var isEmpty: Bool { blocks.isEmpty && !trustsUnix }

    /// Whether a peer address is trusted.
    public func contains(_ address: SocketAddress?) -> Bool {
        guard let address, !isEmpty else { return false }
        if case .unixDomainSocket = address { return trustsUnix }
        guard let ip = IPBytes(address) else { return false }
        return contains(ip)
    }

    /// Whether an address written as text is trusted.
    public func contains(text: String) -> Bool {
        guard !isEmpty, let ip = IPBytes(parsing: text) else { return false }
        return contains(ip)
    }

    func contains(_ ip: IPBytes) -> Bool {
        for block in blocks where block.isIPv6 == ip.isIPv6 {
            if Self.matches(ip, block) { return true }
        }
        return false
    }

    private static func matches(_ ip: IPBytes, _ block: Block) -> Bool {
        if !ip.isIPv6 {
            let mask: UInt64 = block.prefix == 0 ? 0 : (0xFFFF_FFFF << UInt64(32 - block.prefix)) & 0xFFFF_FFFF
            return ip.low & mask == block.low & mask
        }
        let highBits = min(block.prefix, 64)
        let lowBits = max(block.prefix - 64, 0)
        let highMask: UInt64 = highBits == 0 ? 0 : ~0 << UInt64(64 - highBits)
        let lowMask: UInt64 = lowBits == 0 ? 0 : ~0 << UInt64(64 - lowBits)
        return ip.high & highMask == block.high & highMask && ip.low & lowMask == block.low & lowMask
    }
}

extension TrustedIPs {
    /// nginx's realip module (`ngx_http_get_forwarded_addr`): the client address a trusted
    /// peer's header names, or nil to keep the peer's address.
    ///
    /// The comma-separated value is read from the right. While the current address (the
    /// peer's, trusted by the caller, at first) is trusted, the last entry not read yet becomes
    /// the address. An entry is an IPv4 or IPv6 address, with or without a port
    /// (`10.0.0.1:80`, `[2001:db8::1]:80`). Reading stops at an untrusted address, at an entry
    /// that is not an address (`unknown`, `garbage`), at the start of the value, and after the
    /// first entry unless `recursive`.
    func realAddress(in value: String, recursive: Bool) -> String? {
        let bytes = Array(value.utf8)
        var end = bytes.count
        var found: (ip: IPBytes, text: String)?
        repeat {
            if let found, !contains(found.ip) { break }
            while end > 0, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x2C { end -= 1 }
            var start = end
            while start > 0, bytes[start - 1] != 0x20, bytes[start - 1] != 0x2C { start -= 1 }
            guard start < end, let entry = IPBytes.parse(addressWithPort: bytes[start..<end]) else { break }
            found = entry
            end = start
        } while recursive && end > 0
        return found?.text
    }
}

/// An IP address as two 64-bit words (IPv4 in the low 32 bits).
struct IPBytes: Sendable, Hashable {
    var high: UInt64
    var low: UInt64
    var isIPv6: Bool

    init(high: UInt64, low: UInt64, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.isIPv6 = isIPv6
    }

    /// The address of an IPv4 or IPv6 socket address.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let a):
            self.init(high: 0, low: UInt64(UInt32(bigEndian: a.address.sin_addr.s_addr)), isIPv6: false)
        case .v6(let a):
            var high: UInt64 = 0
            var low: UInt64 = 0
            withUnsafeBytes(of: a.address.sin6_addr) { raw in
                for i in 0..<8 { high = high << 8 | UInt64(raw[i]) }
                for i in 8..<16 { low = low << 8 | UInt64(raw[i]) }
            }
            // IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address.
            if high == 0, low >> 32 == 0xFFFF {
                self.init(high: 0, low: low & 0xFFFF_FFFF, isIPv6: false)
            } else {
                self.init(high: high, low: low, isIPv6: true)
            }
        case .unixDomainSocket:
            return nil
        }
    }

    /// nginx's `ngx_parse_addr_port`: an IPv4 or IPv6 address, or one with a port
    /// (`a.b.c.d:port`, `[v6]:port`, port 1 to 65535). Returns the address and its text (IPv6 in
    /// its canonical form, as nginx prints `$remote_addr`).
    static func parse(addressWithPort bytes: ArraySlice<UInt8>) -> (ip: IPBytes, text: String)? {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.first != "[", let plain = address(text) { return plain }
        let host: Substring
        let port: Substring
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let after = text[text.index(after: close)...]
            guard after.first == ":" else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = after.dropFirst()
        } else {
            guard let colon = text.firstIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(port), (1...65535).contains(n) else {
            return nil
        }
        return address(String(host))
    }

    /// A bare address (no brackets, no port) and its canonical text.
    private static func address(_ text: String) -> (ip: IPBytes, text: String)? {
        guard text.first != "[", let ip = IPBytes(parsing: text) else { return nil }
        return (ip, ip.text)
    }

    /// Parses dotted IPv4 or IPv6 text (brackets allowed).
    init?(parsing text: String) {
        var t = Substring(text)
        if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        if t.contains(":") {
            guard let address = try? SocketAddress(ipAddress: String(t), port: 0), let ip = IPBytes(address) else {
                return nil
            }
            self = ip
            return
        }
        let octets = t.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt64 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, let n = UInt64(octet), n <= 255 else { return nil }
            value = value << 8 | n
        }
        self.init(high: 0, low: value, isIPv6: false)
    }
}
