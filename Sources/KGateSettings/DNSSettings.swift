/// A nameserver of `dns_resolver`: an IPv4 or IPv6 address and a port (53 unless given).
public struct Nameserver: Sendable, Equatable, CustomStringConvertible {
    /// The address as written, without brackets.
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int = 53) {
        self.ip = ip
        self.port = port
    }

    public var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    /// Parses `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`.
    public static func parse(_ text: String) -> Nameserver? {
        var host = text
        var port = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { return nil }
            port = p
        }
        guard (1...65535).contains(port), isIPv4(host) || isIPv6(host) else { return nil }
        return Nameserver(ip: host, port: port)
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && Int(part).map { (0...255).contains($0) } == true
        }
    }

    private static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

/// A record type of `dns_order`.
public enum DNSRecordOrder: String, Sendable, CaseIterable {
    /// The type that answered last time (kgate asks in the listed order each time).
    case last = "LAST"
    case a = "A"
    case aaaa = "AAAA"
    case cname = "CNAME"
    case srv = "SRV"

    /// Parses Kong's comma-separated list (any case).
    static func parseList(_ text: String) throws(InvalidValue) -> [DNSRecordOrder] {
        var order: [DNSRecordOrder] = []
        for entry in ValueSyntax.list(text) {
            guard let type = DNSRecordOrder(rawValue: entry.uppercased()) else {
                throw InvalidValue("dns_order: invalid entry '\(entry)'")
            }
            order.append(type)
        }
        return order
    }
}
