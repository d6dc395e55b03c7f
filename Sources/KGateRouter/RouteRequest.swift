import KGateSchema

/// What the router looks at in a request (or, for stream routes, a connection).
///
/// All fields are the raw values as received: the router strips the query and normalises the
/// path itself (kong-reference §5.2), and splits the port off `host`. Nothing here is copied
/// while matching: the router reads the strings' UTF-8 storage in place.
public struct RouteRequest: Sendable {
    /// The request scheme, Kong's `ngx.var.scheme` (or the stream protocol).
    public enum Scheme: String, Sendable, Hashable {
        /// Plain HTTP.
        case http
        /// HTTP over TLS.
        case https
        /// Stream: TCP.
        case tcp
        /// Stream: TLS (terminated or passed through).
        case tls
        /// Stream: UDP.
        case udp
    }

    /// One request header as received (names compare case-insensitively, `-` and `_` alike).
    public struct Header: Sendable, Hashable {
        /// The name as received.
        public var name: String
        /// The value as received.
        public var value: String

        /// Makes a header.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The method (`GET`), compared as is.
    public var method: String
    /// The request target as received (`/v1/users/7?x=1`); `ngx.var.request_uri`.
    public var target: String
    /// The `Host` header, with its port if any; nil when the request has none (HTTP/1.0).
    public var host: String?
    /// `http` or `https` for HTTP requests.
    public var scheme: Scheme
    /// The TLS SNI, if any.
    public var sni: String?
    /// Request headers (only read when some route matches on headers; see
    /// ``Router/usesHeaders``).
    public var headers: [Header]
    /// The client address (`net.src.ip`).
    public var sourceIP: IPAddress?
    /// The client port (`net.src.port`).
    public var sourcePort: Int?
    /// The local address the request arrived on (`net.dst.ip`).
    public var destinationIP: IPAddress?
    /// The local port the request arrived on (`net.dst.port` when `Host` has no port).
    public var destinationPort: Int?
    /// When true, `target` is used as the routing path as is: no query stripping, no
    /// normalisation (what Kong's `router:select()` does in its unit tests).
    public var isNormalized: Bool

    /// Makes a request.
    public init(
        method: String = "GET", target: String = "/", host: String? = nil, scheme: Scheme = .http,
        sni: String? = nil, headers: [Header] = [], sourceIP: IPAddress? = nil, sourcePort: Int? = nil,
        destinationIP: IPAddress? = nil, destinationPort: Int? = nil, isNormalized: Bool = false
    ) {
        self.method = method
        self.target = target
        self.host = host
        self.scheme = scheme
        self.sni = sni
        self.headers = headers
        self.sourceIP = sourceIP
        self.sourcePort = sourcePort
        self.destinationIP = destinationIP
        self.destinationPort = destinationPort
        self.isNormalized = isNormalized
    }
}

/// The routing path of a request: the target without its query, normalised as Kong does.
/// Only offsets into the target, unless normalisation changed something.
struct RoutingPath: Sendable {
    /// The normalised path when it differs from the target's path.
    let normalized: String?
    /// Length in bytes of the target's path part (used when `normalized` is nil).
    let pathEnd: Int
    /// Byte offset in the target just after the first `?`; nil when there is none.
    let queryStart: Int?
    /// Whether percent-decoding produced bytes that are not UTF-8 (`normalized` then holds
    /// U+FFFD in their place); the ATC flavors match no route for such a path.
    let invalidUTF8: Bool

    init(_ request: borrowing RouteRequest) {
        let isNormalized = request.isNormalized
        (normalized, pathEnd, queryStart, invalidUTF8) = Bytes.with(request.target) { t in
            let q = t.firstIndex(of: 0x3F)
            let queryStart = q.map { $0 + 1 }
            if isNormalized { return (nil, t.count, queryStart, false) }
            // strip_uri_args: cut at a `?` found from the second byte on.
            var end = t.count
            if let q {
                if q > 0 {
                    end = q
                } else if let q2 = t[1...].firstIndex(of: 0x3F) {
                    end = q2
                }
            }
            let raw = UnsafeBufferPointer(rebasing: t[..<end])
            if RoutingPath.isNormal(raw) { return (nil, end, queryStart, false) }
            let normalized = PathNormalizer.normalize(bytes: Array(raw), mergeSlashes: true)
            let valid = normalized.withUnsafeBufferPointer { Bytes.isValidUTF8($0) }
            return (String(decoding: normalized, as: UTF8.self), end, queryStart, !valid)
        }
    }

    /// No path (stream connections).
    init(empty: ()) {
        normalized = ""
        pathEnd = 0
        queryStart = nil
        invalidUTF8 = false
    }

    /// Runs `body` with the path's bytes.
    @inline(__always)
    func withBytes<R>(of target: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let normalized { return Bytes.with(normalized, body) }
        return Bytes.with(target) { body(UnsafeBufferPointer(rebasing: $0[..<min(pathEnd, $0.count)])) }
    }

    /// The path as a substring of the target (or of the normalised copy).
    func path(of target: String) -> Substring {
        if let normalized { return normalized[...] }
        let u = target.utf8
        return target[u.startIndex..<u.index(u.startIndex, offsetBy: min(pathEnd, u.count))]
    }

    /// The query as a substring of the target.
    func query(of target: String) -> Substring? {
        guard let queryStart else { return nil }
        let u = target.utf8
        return target[u.index(u.startIndex, offsetBy: min(queryStart, u.count))...]
    }

    /// True when Kong's normalisation would leave the path unchanged: it starts with `/`, has
    /// no `%`, no `//` and no `.` or `..` segment.
    static func isNormal(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        if p.isEmpty { return true }
        if p[0] != 0x2F { return false }
        var i = 0
        while i < p.count {
            let b = p[i]
            if b == 0x25 { return false }
            if b == 0x2F {
                let n = i + 1 < p.count ? p[i + 1] : 0
                if n == 0x2F { return false }
                if n == 0x2E {
                    let n2 = i + 2 < p.count ? p[i + 2] : 0x2F
                    if n2 == 0x2F { return false }
                    if n2 == 0x2E, i + 3 >= p.count || p[i + 3] == 0x2F { return false }
                }
            }
            i += 1
        }
        return true
    }
}
