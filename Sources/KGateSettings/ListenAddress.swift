/// One listening socket of a `*_listen` property, in Kong's (nginx's) syntax:
/// `<host>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] [reuseport] [backlog=N]
/// [ipv6only=on|off] [so_keepalive=on|off|<idle>:<interval>:<count>]`.
///
/// A property holds a comma-separated list of these; `off` (alone) means no listener at all,
/// which is an empty array. IPv6 hosts are written in brackets (`[::1]:8001`) and stored without.
/// Port `0` is accepted (an ephemeral port, useful in tests).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host: an IPv4 address, an IPv6 address without brackets, `*`, or a host name.
    public var host: String
    /// The TCP port, 0–65535.
    public var port: Int
    /// `ssl`: TLS on this socket.
    public var ssl: Bool
    /// `http2`: HTTP/2 accepted on this socket.
    public var http2: Bool
    /// `proxy_protocol`: the PROXY protocol header is expected before the request.
    public var proxyProtocol: Bool
    /// `deferred`: accept only once data arrives (`TCP_DEFER_ACCEPT`).
    public var deferred: Bool
    /// `bind`: bind this address separately.
    public var bind: Bool
    /// `reuseport`: one socket per event loop (`SO_REUSEPORT`).
    public var reuseport: Bool
    /// `backlog=N`: the listen queue length; `nil` for the system default.
    public var backlog: Int?
    /// `ipv6only=on|off`; `nil` when not given.
    public var ipv6only: Bool?
    /// `so_keepalive=…` as written (`on`, `off`, or `<idle>:<interval>:<count>`); `nil` when not given.
    public var soKeepalive: String?
    /// `udp` (`stream_listen` only): a UDP listener.
    public var udp = false

    /// Creates a listen address; every flag defaults to off.
    public init(
        host: String, port: Int, ssl: Bool = false, http2: Bool = false, proxyProtocol: Bool = false,
        deferred: Bool = false, bind: Bool = false, reuseport: Bool = false, backlog: Int? = nil,
        ipv6only: Bool? = nil, soKeepalive: String? = nil, udp: Bool = false
    ) {
        self.host = host
        self.port = port
        self.ssl = ssl
        self.http2 = http2
        self.proxyProtocol = proxyProtocol
        self.deferred = deferred
        self.bind = bind
        self.reuseport = reuseport
        self.backlog = backlog
        self.ipv6only = ipv6only
        self.soKeepalive = soKeepalive
        self.udp = udp
    }

    /// Whether the host is an IPv6 address.
    public var isIPv6: Bool { host.contains(":") }

    /// `host:port`, with brackets around an IPv6 host.
    public var hostAndPort: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The entry in kong.conf syntax, flags in the order Kong's defaults write them
    /// (`0.0.0.0:8443 http2 ssl reuseport backlog=16384`).
    public var description: String {
        var parts = [hostAndPort]
        if udp { parts.append("udp") }
        if http2 { parts.append("http2") }
        if ssl { parts.append("ssl") }
        if proxyProtocol { parts.append("proxy_protocol") }
        if deferred { parts.append("deferred") }
        if bind { parts.append("bind") }
        if reuseport { parts.append("reuseport") }
        if let backlog { parts.append("backlog=\(backlog)") }
        if let ipv6only { parts.append("ipv6only=\(ipv6only ? "on" : "off")") }
        if let soKeepalive { parts.append("so_keepalive=\(soKeepalive)") }
        return parts.joined(separator: " ")
    }

    /// The accepted flags, as error messages list them.
    static let flagUsage =
        "ssl, http2, proxy_protocol, deferred, bind, reuseport, backlog=<n>, ipv6only=on|off, "
        + "so_keepalive=on|off|<idle>:<interval>:<count>"

    /// Parses a whole property value: `off`, or comma-separated entries.
    ///
    /// Every bad entry is reported (one message each), named after `property`.
    /// With `stream`, the entries are `stream_listen`'s: `udp` is a flag, `http2` and `deferred`
    /// are not.
    public static func parseList(_ text: String, property: String, stream: Bool = false) throws(InvalidValue) -> [ListenAddress] {
        let entries = ValueSyntax.list(text)
        guard let first = entries.first else {
            throw InvalidValue(
                ValueSyntax.invalidValue(property, text, "expected 'off' or <host>:<port> [flags], [...]"))
        }
        if first.lowercased() == "off" {
            guard entries.count == 1 else {
                throw InvalidValue(
                    ValueSyntax.invalidValue(property, text, "'off' cannot be combined with other entries"))
            }
            return []
        }
        var addresses: [ListenAddress] = []
        var messages: [String] = []
        for entry in entries {
            do {
                let address = try parse(entry, stream: stream)
                if addresses.contains(where: { $0.host == address.host && $0.port == address.port && $0.port != 0 }) {
                    messages.append(
                        ValueSyntax.invalidEntry(property, entry, "duplicate address \(address.hostAndPort)"))
                } else {
                    addresses.append(address)
                }
            } catch {
                messages.append(ValueSyntax.invalidEntry(property, entry, error.reason))
            }
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return addresses
    }

    /// Why one entry was refused (the text inside the parentheses of the message).
    struct EntryError: Error {
        var reason: String
    }

    /// Parses one entry (`127.0.0.1:8001 reuseport backlog=16384`).
    static func parse(_ entry: String, stream: Bool = false) throws(EntryError) -> ListenAddress {
        let tokens = entry.split(whereSeparator: ValueSyntax.isSpace)
        guard let addressToken = tokens.first else { throw EntryError(reason: "empty entry") }
        var address = try parseHostAndPort(addressToken)
        for token in tokens.dropFirst() {
            switch (token, stream) {
            case ("udp", true): address.udp = true
            case ("http2", true), ("deferred", true), ("udp", false):
                throw EntryError(reason: "unknown flag '\(token)'; accepted flags: \(stream ? streamFlagUsage : flagUsage)")
            default: try address.apply(flag: token)
            }
        }
        return address
    }

    /// The flags `stream_listen` accepts, as error messages list them.
    static let streamFlagUsage =
        "udp, ssl, proxy_protocol, bind, reuseport, backlog=<n>, ipv6only=on|off, "
        + "so_keepalive=on|off|<idle>:<interval>:<count>"

    /// `1.2.3.4:80`, `[::1]:80`, `*:80`, `example.test:80`.
    private static func parseHostAndPort(_ text: Substring) throws(EntryError) -> ListenAddress {
        let example = "expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000"
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw EntryError(reason: "missing ']' after IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw EntryError(reason: "missing port; \(example)") }
            portText = rest.dropFirst()
            guard ValueSyntax.isIPv6(host) else { throw EntryError(reason: "invalid IPv6 address '\(host)'") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw EntryError(reason: "missing port; \(example)") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw EntryError(reason: "IPv6 addresses must be written in brackets, e.g. [::1]:8000")
            }
            try checkHost(host)
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
            port <= 65535
        else {
            throw EntryError(reason: "invalid port '\(portText)'; expected an integer from 0 to 65535")
        }
        return ListenAddress(host: String(host), port: port)
    }

    /// An IPv4 address, `*`, or a host name (letters, digits, `-`, `_`, `.`).
    private static func checkHost(_ host: Substring) throws(EntryError) {
        if host.isEmpty { throw EntryError(reason: "missing host; expected <host>:<port>, e.g. 0.0.0.0:8000") }
        if host == "*" { return }
        if host.allSatisfy({ $0.isASCIIDigit || $0 == "." }) {
            guard ValueSyntax.isIPv4(host) else { throw EntryError(reason: "invalid IPv4 address '\(host)'") }
            return
        }
        let nameCharacters = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        guard nameCharacters, !host.hasPrefix("."), !host.contains("..") else {
            throw EntryError(reason: "invalid host '\(host)'")
        }
    }

    /// Applies one flag token.
    private mutating func apply(flag token: Substring) throws(EntryError) {
        let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0]
        let value = parts.count == 2 ? String(parts[1]) : nil
        switch (name, value) {
        case ("ssl", nil): ssl = true
        case ("http2", nil): http2 = true
        case ("proxy_protocol", nil): proxyProtocol = true
        case ("deferred", nil): deferred = true
        case ("bind", nil): bind = true
        case ("reuseport", nil): reuseport = true
        case ("backlog", let value?):
            guard !value.isEmpty, value.count <= 9, value.allSatisfy(\.isASCIIDigit), let n = Int(value) else {
                throw EntryError(
                    reason: "invalid backlog '\(value)'; expected backlog=<n> with n an integer, 0 or greater")
            }
            backlog = n
        case ("ipv6only", "on"): ipv6only = true
        case ("ipv6only", "off"): ipv6only = false
        case ("ipv6only", let value?):
            throw EntryError(reason: "invalid ipv6only '\(value)'; expected ipv6only=on or ipv6only=off")
        case ("so_keepalive", let value?):
            guard Self.isKeepalive(value) else {
                throw EntryError(
                    reason: "invalid so_keepalive '\(value)'; "
                        + "expected on, off or <idle>:<interval>:<count> (e.g. 30m::10)")
            }
            soKeepalive = value
        default:
            throw EntryError(reason: "unknown flag '\(token)'; accepted flags: \(Self.flagUsage)")
        }
    }

    /// `on`, `off`, or nginx's `[idle]:[interval]:[count]` (each part optional; idle and
    /// interval may carry a time unit, count is a number).
    private static func isKeepalive(_ value: String) -> Bool {
        if value == "on" || value == "off" { return true }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        let timed = parts[0...1].allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        return timed && parts[2].allSatisfy(\.isASCIIDigit)
    }
}

/// A listen address that could not be bound, in nginx's words (`bind() to 0.0.0.0:8000 failed`).
public struct BindError: Error, CustomStringConvertible {
    /// Which setting the address came from (`proxy_listen`, `admin_listen`, `status_listen`).
    public let setting: String
    /// The host as configured.
    public let host: String
    /// The port.
    public let port: Int
    /// What the socket layer said.
    public let underlying: any Error

    /// Describes the failure.
    public init(setting: String, host: String, port: Int, underlying: any Error) {
        self.setting = setting
        self.host = host
        self.port = port
        self.underlying = underlying
    }

    public var description: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(setting): bind() to \(shown):\(port) failed (\(underlying))"
    }
}
