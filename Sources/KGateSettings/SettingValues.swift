/// `log_level`: nginx's severities, most verbose first.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warn, error, crit, alert, emerg

    /// Orders by severity (`debug` < `emerg`).
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// `untrusted_lua`: whether plugins may run Lua from their configs (request-transformer's
/// `$(...)` templates).
public enum UntrustedLua: String, Sendable, CaseIterable {
    /// No Lua: a template with an expression fails (500), plain values pass as written.
    case off
    /// Lua in Kong's sandbox (Kong's default).
    case sandbox
    /// Lua without a sandbox (kgate evaluates templates the same way as `sandbox`).
    case on
}

/// `router_flavor`: which router semantics to use.
public enum RouterFlavor: String, Sendable, CaseIterable {
    /// Kong's pre-3.0 matcher.
    case traditional
    /// The traditional semantics with the ATC router's priorities (Kong's default).
    case traditionalCompatible = "traditional_compatible"
    /// Routes written as ATC expressions.
    case expressions
}

/// `error_default_type`: the body format of generated errors when the request has no `Accept`.
public enum ErrorDefaultType: String, Sendable, CaseIterable {
    /// `application/json`.
    case json = "application/json"
    /// `application/xml`.
    case xml = "application/xml"
    /// `text/html`.
    case html = "text/html"
    /// `text/plain` (the default).
    case plain = "text/plain"
}

/// `database`: kgate is DB-less, so `off` is the only storage there is.
public enum Database: String, Sendable, CaseIterable {
    /// In-memory entities loaded from declarative configuration.
    case off
}

/// `nginx_worker_processes`: how many event loops serve traffic.
public enum WorkerProcesses: Sendable, Hashable, CustomStringConvertible {
    /// One per CPU core.
    case auto
    /// A fixed number, at least 1.
    case count(Int)

    /// The number to run, given the machine's core count (`auto` = `coreCount`, at least 1).
    public func resolved(coreCount: Int) -> Int {
        switch self {
        case .auto: max(1, coreCount)
        case .count(let n): n
        }
    }

    /// `auto` or the number.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .count(let n): String(n)
        }
    }

    static func parse(_ text: String, property: String) throws(InvalidValue) -> WorkerProcesses {
        if text == "auto" { return .auto }
        let n = try ValueSyntax.integer(
            text, property: property, minimum: 1, expectation: "expected 'auto' or a positive integer")
        return .count(n)
    }
}

/// An nginx size (`client_max_body_size`): a number of bytes with an optional `k`, `m` or `g`
/// suffix (powers of 1024). `0` means unlimited.
public struct ByteSize: Sendable, Hashable, CustomStringConvertible {
    /// The size as written (`10m`).
    public let text: String
    /// The size in bytes (`10m` = 10,485,760); 0 when unlimited.
    public let bytes: Int

    /// Parses `512`, `8k`, `10m`, `1g` (suffix in either case); nil when malformed or too large.
    public init?(_ text: String) {
        var digits = Substring(text)
        var unit = 1
        switch text.last.map({ Character($0.lowercased()) }) {
        case "k": unit = 1 << 10
        case "m": unit = 1 << 20
        case "g": unit = 1 << 30
        default: break
        }
        if unit != 1 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy(\.isASCIIDigit), let n = Int(digits) else {
            return nil
        }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        self.text = text
        self.bytes = bytes
    }

    /// Whether there is no limit (`0`).
    public var isUnlimited: Bool { bytes == 0 }

    /// The size as written.
    public var description: String { text }
}

/// nginx's `large_client_header_buffers`: `count size` (`4 8k`). A request line longer than
/// `size` is 414, a header line longer than it 400, and the whole head holds at most `count`
/// buffers.
public struct HeaderBuffers: Sendable, Hashable, CustomStringConvertible {
    /// nginx's default, `4 8k`.
    public static let nginxDefault = HeaderBuffers("4 8k")!
    /// The value as written.
    public let text: String
    /// How many buffers a request head may fill.
    public let count: Int
    /// One buffer, in bytes.
    public let size: Int

    /// Parses `count size`; nil when malformed, either is 0, or the size is below nginx's
    /// `connection_pool_size` (512 bytes), which nginx refuses at start-up.
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, parts[0].count <= 6, parts[0].allSatisfy(\.isASCIIDigit), let count = Int(parts[0]),
            count > 0, let size = ByteSize(String(parts[1])), size.bytes >= 512,
            case (let total, false) = count.multipliedReportingOverflow(by: size.bytes), total <= 1 << 30
        else { return nil }
        self.text = text
        self.count = count
        self.size = size.bytes
    }

    /// The largest request head: every buffer full.
    public var total: Int { count * size }

    /// The value as written.
    public var description: String { text }
}

/// An nginx time value: `60`, `60s`, `500ms`, `1m`, `1h30m` (units ms, s, m, h, d; none = seconds).
public struct NginxTime: Sendable, Hashable, CustomStringConvertible {
    /// The time as written.
    public let text: String
    /// The time in milliseconds.
    public let milliseconds: Int

    /// Parses an nginx time; nil when malformed or too large.
    public init?(_ text: String) {
        var total = 0
        var rest = Substring(text.lowercased())
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            guard !digits.isEmpty, digits.count <= 9, let n = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit: Int
            if rest.hasPrefix("ms") {
                unit = 1
                rest = rest.dropFirst(2)
            } else if let c = rest.first, let u = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000][c] {
                unit = u
                rest = rest.dropFirst()
            } else if rest.isEmpty {
                unit = 1000
            } else {
                return nil
            }
            total += n * unit
        }
        guard total <= 365 * 86_400_000 else { return nil }
        self.text = text
        self.milliseconds = total
    }

    /// The time as written.
    public var description: String { text }
}

/// The header tokens of `headers` and `headers_upstream`, with Kong's spelling.
public enum HeaderTokens {
    /// `server_tokens`: `Server` and `Via`.
    public static let serverTokens = "server_tokens"
    /// `latency_tokens`: the four latency headers.
    public static let latencyTokens = "latency_tokens"
    /// Headers `server_tokens` stands for.
    public static let serverTokenHeaders = ["Server", "Via"]
    /// Headers `latency_tokens` stands for.
    public static let latencyTokenHeaders = [
        "X-Kong-Proxy-Latency", "X-Kong-Response-Latency", "X-Kong-Admin-Latency", "X-Kong-Upstream-Latency",
    ]
    /// Every token `headers` accepts (besides `off`), case-insensitively.
    public static let downstream =
        [serverTokens, latencyTokens] + serverTokenHeaders + latencyTokenHeaders
        + ["X-Kong-Upstream-Status", "X-Kong-Request-Id"]
    /// Every token `headers_upstream` accepts (besides `off`).
    public static let upstream = ["X-Kong-Request-Id"]

    /// Parses a token list: `off` first means none; other `off`s are skipped (as Kong); each token
    /// is matched case-insensitively and stored in Kong's spelling; duplicates are dropped.
    static func parse(_ text: String, property: String, accepted: [String]) throws(InvalidValue) -> [String] {
        let tokens = ValueSyntax.list(text)
        if tokens.first?.lowercased() == "off" { return [] }
        var result: [String] = []
        var messages: [String] = []
        for token in tokens where token.lowercased() != "off" {
            guard let canonical = accepted.first(where: { $0.lowercased() == token.lowercased() }) else {
                let expected = (["off"] + accepted).joined(separator: ", ")
                messages.append(ValueSyntax.invalidEntry(property, token, "expected any of: \(expected)"))
                continue
            }
            if !result.contains(canonical) { result.append(canonical) }
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return result
    }
}

/// One entry of `port_maps`: `<host port>:<kong port>`, the port clients reach (on the host, a
/// load balancer or a container's published port) for a port kgate listens on.
public struct PortMap: Sendable, Hashable, CustomStringConvertible {
    /// The port traffic arrives on before it is forwarded to kgate (`80` in `80:8000`).
    public var hostPort: Int
    /// The port kgate listens on (`8000` in `80:8000`).
    public var kongPort: Int

    /// Creates a mapping.
    public init(hostPort: Int, kongPort: Int) {
        self.hostPort = hostPort
        self.kongPort = kongPort
    }

    /// `hostPort:kongPort`.
    public var description: String { "\(hostPort):\(kongPort)" }

    /// Kong's `port_maps` parsing (`kong/conf_loader/parse.lua`): a list of `host:kong` with
    /// both ports from 1 to 65535 in decimal; every bad entry is reported.
    static func parseList(_ text: String, property: String) throws(InvalidValue) -> [PortMap] {
        var maps: [PortMap] = []
        var messages: [String] = []
        for entry in ValueSyntax.list(text) {
            let halves = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard halves.count == 2, let host = port(halves[0]), let kong = port(halves[1]) else {
                messages.append(ValueSyntax.invalidEntry(
                    property, entry,
                    "invalid port mapping: expected <host port>:<kong port>, each from 1 to 65535, "
                        + "separated by commas"))
                continue
            }
            maps.append(PortMap(hostPort: host, kongPort: kong))
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return maps
    }

    /// A port in decimal, spaces around it allowed (as Lua's `tonumber`).
    private static func port(_ raw: Substring) -> Int? {
        let text = ValueSyntax.trim(raw)
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCIIDigit), let n = Int(text),
            (1...65535).contains(n)
        else { return nil }
        return n
    }
}
