/// Hostnames and IP addresses the way Kong checks them (`kong/tools/ip.lua`, which uses
/// `resty.ipmatcher`, i.e. glibc `inet_pton`, for the `is_valid_*` family).
///
/// Two families with different rules, as in Kong:
/// - `normalize*` / ``checkHostname(_:)`` (Lua patterns): used by the `host*`, `sni` and
///   `wildcard_host` typedefs; they accept ports and return Kong's error messages;
/// - `isValid*` (`inet_pton` rules: no leading zeros in IPv4 octets, full IPv6 syntax including
///   embedded IPv4): used by the `ip`, `ip_or_cidr` and `cidr_v4` typedefs.
public enum HostAndIP {
    /// Kong's `hostname_type`: decided by exclusion, not validation.
    public enum HostType: String, Sendable, Hashable {
        case ipv4, ipv6, name
    }

    /// What `normalize_ip` returns: the normalised host (IPv4 without leading zeros, IPv6 fully
    /// expanded in lower case without brackets, names unchanged), its type and optional port.
    public struct Normalized: Sendable, Hashable {
        public var type: HostType
        public var host: String
        public var port: Int?
        public init(type: HostType, host: String, port: Int?) {
            self.type = type
            self.host = host
            self.port = port
        }
    }

    /// A normalisation failure with Kong's message (`invalid hostname: x`, `invalid port number`...).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// `hostname_type`: more than one `:` is IPv6; only digits and dots (colons ignored) is IPv4;
    /// anything else is a name.
    public static func hostnameType(_ name: String) -> HostType {
        var colons = 0
        var onlyDigitsAndDots = true
        var other = 0
        for b in name.utf8 {
            if b == 0x3A {
                colons += 1
            } else {
                other += 1
                if !(LuaMatcher.isDigit(b) || b == 0x2E) { onlyDigitsAndDots = false }
            }
        }
        if colons > 1 { return .ipv6 }
        return onlyDigitsAndDots && other > 0 ? .ipv4 : .name
    }

    private static let ipv4Plain = LuaPattern("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
    private static let ipv4Port = LuaPattern("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?):(%d+)$")
    private static let bracketed = LuaPattern("^(%b[])(.-)$")
    private static let portSuffix = LuaPattern("^:(%d-)$")
    private static let ipv6Groups = LuaPattern(
        "^(" + Array(repeating: "%x%x?%x?%x?", count: 8).joined(separator: "):(") + ")$")
    private static let hostnameChars = LuaPattern("^[%d%a%-%.%_]+$")
    private static let trailingPort = LuaPattern(":(%d+)$")

    /// `normalize_ipv4`: `a.b.c.d` or `a.b.c.d:port`.
    public static func normalizeIPv4(_ address: String) throws(Failure) -> (host: String, port: Int?) {
        let pattern = address.utf8.contains(0x3A) ? ipv4Port : ipv4Plain
        guard let parts = try? pattern.match(address) else { throw Failure("invalid ipv4 address: \(address)") }
        let octets = parts.prefix(4).map { Int($0) ?? 999 }
        guard octets.allSatisfy({ $0 <= 255 }) else { throw Failure("invalid ipv4 address: \(address)") }
        var port: Int?
        if parts.count == 5 {
            port = digitsValue(parts[4])
            if port! > 65535 { throw Failure("invalid port number") }
        }
        return (octets.map(String.init).joined(separator: "."), port)
    }

    /// `normalize_ipv6`: `x:y::z`, `[x:y::z]` or `[x:y::z]:port`; returns the expanded form
    /// (`0000:0000:0000:0000:0000:0000:0000:0001`).
    ///
    /// Kong crashes on an empty port (`[::1]:`); this answers `invalid ipv6 address`.
    public static func normalizeIPv6(_ address: String) throws(Failure) -> (host: String, port: Int?) {
        var check = address
        var port: Int?
        if let m = try? bracketed.match(address) {
            check = String(m[0].dropFirst().dropLast())
            if !m[1].isEmpty {
                guard let digits = try? portSuffix.match(m[1]), !digits[0].isEmpty else {
                    throw Failure("invalid ipv6 address")
                }
                port = digitsValue(digits[0])
                if port! > 65535 { throw Failure("invalid port number") }
            }
        }
        if check.hasPrefix(":") { check = "0" + check }
        if check.hasSuffix(":") { check += "0" }
        if let r = check.firstRange(of: "::") {
            let colons = check.utf8.count(where: { $0 == 0x3A })
            let ins = ":" + String(repeating: "0:", count: max(0, 8 - colons))
            check.replaceSubrange(r, with: ins)
        }
        guard let groups = try? ipv6Groups.match(check) else { throw Failure("invalid ipv6 address: \(address)") }
        let host = groups.map { String(repeating: "0", count: 4 - $0.utf8.count) + $0.lowercased() }
        return (host.joined(separator: ":"), port)
    }

    /// `check_hostname`: `name` or `name:port`; letters, digits, `-`, `.`, `_`; no label may end
    /// with `-`, and only the last label may be empty (a trailing dot).
    public static func checkHostname(_ address: String) throws(Failure) -> (host: String, port: Int?) {
        var name = address
        var port: Int?
        if let digits = try? trailingPort.match(address) {
            name = String(decoding: address.utf8.dropLast(digits[0].utf8.count + 1), as: UTF8.self)
            port = digitsValue(digits[0])
            if port! > 65535 { throw Failure("invalid port number") }
        }
        guard hostnameChars.matches(name) else { throw Failure("invalid hostname: \(address)") }
        let labels = name.utf8.split(separator: 0x2E, omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            if label.last == 0x2D || (label.isEmpty && i != labels.count - 1) {
                throw Failure("invalid hostname: \(address)")
            }
        }
        return (name, port)
    }

    /// `normalize_ip`: picks the parser by ``hostnameType(_:)``.
    public static func normalize(_ address: String) throws(Failure) -> Normalized {
        let type = hostnameType(address)
        let r: (host: String, port: Int?)
        switch type {
        case .ipv4: r = try normalizeIPv4(address)
        case .ipv6: r = try normalizeIPv6(address)
        case .name: r = try checkHostname(address)
        }
        return Normalized(type: type, host: r.host, port: r.port)
    }

    /// `format_host`: `host[:port]`, IPv6 expanded and bracketed.
    public static func formatHost(_ host: String, port: Int? = nil) -> String {
        var h = host
        if hostnameType(host) == .ipv6, !host.contains("["), let n = try? normalizeIPv6(host) {
            h = "[\(n.host)]"
        }
        return port.map { "\(h):\($0)" } ?? h
    }

    /// The targets DAO's `format_target`: the target normalized, with Kong's default port 8000
    /// when it has none (`10.0.0.1:8000`, `[0000:...:0001]:8000`, `name:80`); nil when it is
    /// no valid host or IP. How Kong's Admin API shows, finds and reports the health of a
    /// target.
    public static func formatTarget(_ target: String) -> String? {
        guard let normalized = try? normalize(target) else { return nil }
        return formatHost(normalized.host, port: normalized.port ?? 8000)
    }

    /// Lua's `tonumber` of a `%d+` capture, saturated (any huge value is just "too big").
    private static func digitsValue(_ s: String) -> Int {
        var v = 0
        for b in s.utf8 { v = min(v * 10 + Int(b - 0x30), 10_000_000) }
        return v
    }

    // MARK: - inet_pton rules (resty.ipmatcher)

    /// `ipmatcher.parse_ipv4`: glibc `inet_pton(AF_INET)`: exactly four decimal octets, each at
    /// most 255 and without leading zeros. Returns the address in host order.
    public static func parseIPv4(_ s: String) -> UInt32? { parseIPv4(bytes: cString(s)[...]) }

    static func parseIPv4(bytes: ArraySlice<UInt8>) -> UInt32? {
        var octets: [UInt32] = []
        var cur: UInt32 = 0
        var sawDigit = false
        for ch in bytes {
            if LuaMatcher.isDigit(ch) {
                if sawDigit, cur == 0 { return nil }
                cur = cur * 10 + UInt32(ch - 0x30)
                if cur > 255 { return nil }
                if !sawDigit {
                    if octets.count == 4 { return nil }
                    sawDigit = true
                }
            } else if ch == 0x2E, sawDigit {
                if octets.count == 3 { return nil }
                octets.append(cur)
                cur = 0
                sawDigit = false
            } else {
                return nil
            }
        }
        guard sawDigit, octets.count == 3 else { return nil }
        octets.append(cur)
        return octets.reduce(0) { $0 << 8 | $1 }
    }

    /// `ipmatcher.parse_ipv6`: strips one pair of surrounding brackets, then glibc
    /// `inet_pton(AF_INET6)` (hex groups of at most 4 digits, one `::`, optional trailing IPv4).
    public static func parseIPv6(_ s: String) -> UInt128? {
        var b = s.utf8[...]
        if b.first == 0x5B, b.last == 0x5D, b.count >= 2 { b = b.dropFirst().dropLast() }
        let src = cString(String(decoding: b, as: UTF8.self))
        var words: [UInt16] = []
        var colonAt: Int?
        var i = 0
        if src.isEmpty { return nil }
        if src[0] == 0x3A {
            i = 1
            if i == src.count || src[i] != 0x3A { return nil }
        }
        var curtok = i
        var digits = 0
        var val: UInt32 = 0
        var sawIPv4 = false
        while i < src.count {
            let ch = src[i]
            i += 1
            if let d = PathNormalizer.hexValue(ch) {
                if digits == 4 { return nil }
                val = val << 4 | UInt32(d)
                digits += 1
                continue
            }
            if ch == 0x3A {
                curtok = i
                if digits == 0 {
                    if colonAt != nil { return nil }
                    colonAt = words.count
                    continue
                }
                if i == src.count || words.count == 8 { return nil }
                words.append(UInt16(val))
                digits = 0
                val = 0
                continue
            }
            if ch == 0x2E, words.count <= 6, let v4 = parseIPv4(bytes: src[curtok...]) {
                words.append(UInt16(v4 >> 16))
                words.append(UInt16(v4 & 0xFFFF))
                digits = 0
                sawIPv4 = true
                break
            }
            return nil
        }
        if digits > 0, !sawIPv4 {
            if words.count == 8 { return nil }
            words.append(UInt16(val))
        }
        if let c = colonAt {
            if words.count == 8 { return nil }
            words.insert(contentsOf: Array(repeating: 0, count: 8 - words.count), at: c)
        }
        guard words.count == 8 else { return nil }
        return words.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    /// The bytes C would see: up to the first NUL.
    private static func cString(_ s: String) -> [UInt8] { Array(s.utf8.prefix { $0 != 0 }) }

    /// `is_valid_ipv4`.
    public static func isValidIPv4(_ s: String) -> Bool { parseIPv4(s) != nil }
    /// `is_valid_ipv6` (brackets allowed).
    public static func isValidIPv6(_ s: String) -> Bool { parseIPv6(s) != nil }
    /// `is_valid_ip`.
    public static func isValidIP(_ s: String) -> Bool { isValidIPv4(s) || isValidIPv6(s) }
    /// `is_valid_cidr_v4`: `ipv4/prefix`, prefix written exactly as `0`...`32`.
    public static func isValidCIDRv4(_ s: String) -> Bool { splitCIDR(s, max: 32).map { isValidIPv4($0.ip) } ?? false }
    /// `is_valid_cidr_v6`: `ipv6/prefix`, prefix written exactly as `0`...`128`.
    public static func isValidCIDRv6(_ s: String) -> Bool { splitCIDR(s, max: 128).map { isValidIPv6($0.ip) } ?? false }
    /// `is_valid_cidr`.
    public static func isValidCIDR(_ s: String) -> Bool { isValidCIDRv4(s) || isValidCIDRv6(s) }
    /// `is_valid_ip_or_cidr_v4`.
    public static func isValidIPOrCIDRv4(_ s: String) -> Bool { isValidIPv4(s) || isValidCIDRv4(s) }
    /// `is_valid_ip_or_cidr`.
    public static func isValidIPOrCIDR(_ s: String) -> Bool { isValidIP(s) || isValidCIDR(s) }

    /// `split_cidr`: split at the first `/`; the prefix must be a canonical decimal in 0...max.
    static func splitCIDR(_ s: String, max: Int) -> (ip: String, prefix: Int)? {
        guard let slash = s.firstIndex(of: "/") else { return nil }
        let p = s[s.index(after: slash)...]
        guard let n = Int(p), n >= 0, n <= max, String(n) == p else { return nil }
        return (String(s[..<slash]), n)
    }
}

/// A parsed IP address (for matching `sources` / `destinations` in the router).
public enum IPAddress: Sendable, Hashable {
    /// An IPv4 address, host byte order (`1.2.3.4` is `0x01020304`).
    case v4(UInt32)
    /// An IPv6 address, the first group in the top 16 bits.
    case v6(UInt128)

    /// Parses with Kong's `is_valid_ip` rules (IPv6 may be bracketed).
    public init?(_ s: String) {
        if let v = HostAndIP.parseIPv4(s) {
            self = .v4(v)
        } else if let v = HostAndIP.parseIPv6(s) {
            self = .v6(v)
        } else {
            return nil
        }
    }
}

/// An IP network as in `ip_or_cidr` values: a bare address is a /32 or /128.
public struct CIDR: Sendable, Hashable {
    /// The address as written (host bits are not cleared).
    public let address: IPAddress
    /// The prefix length (32 or 128 for a bare address).
    public let prefixLength: Int

    /// Parses with Kong's `is_valid_ip_or_cidr` rules.
    public init?(_ s: String) {
        if let ip = IPAddress(s) {
            address = ip
            if case .v4 = ip { prefixLength = 32 } else { prefixLength = 128 }
        } else if let (ip, n) = HostAndIP.splitCIDR(s, max: 32), let v = HostAndIP.parseIPv4(ip) {
            address = .v4(v)
            prefixLength = n
        } else if let (ip, n) = HostAndIP.splitCIDR(s, max: 128), let v = HostAndIP.parseIPv6(ip) {
            address = .v6(v)
            prefixLength = n
        } else {
            return nil
        }
    }

    /// Whether `ip` is inside the network (same family, equal under the prefix mask).
    public func contains(_ ip: IPAddress) -> Bool {
        switch (address, ip) {
        case (.v4(let net), .v4(let a)):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~0 << (32 - prefixLength)
            return net & mask == a & mask
        case (.v6(let net), .v6(let a)):
            let mask: UInt128 = prefixLength == 0 ? 0 : ~0 << (128 - prefixLength)
            return net & mask == a & mask
        default:
            return false
        }
    }
}
