#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema

/// The client's request as plugins read it (Kong's `kong.request` and `kong.client`), and the
/// changes they make to the request sent upstream (Kong's `kong.service.request`).
///
/// As in Kong, header, query, method and body changes are visible to the plugins that run
/// later (nginx edits the request in place); `setPath` only changes the upstream path, not
/// ``path``. ``changes`` tells the proxy what to rebuild.
public struct PluginRequest: Sendable {
    /// What plugins changed, for the proxy.
    public struct Changes: OptionSet, Sendable, Hashable {
        /// The raw value.
        public let rawValue: UInt8
        /// Makes a set.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Headers were set, added or removed.
        public static let headers = Changes(rawValue: 1)
        /// The query string was replaced.
        public static let query = Changes(rawValue: 2)
        /// The method was replaced.
        public static let method = Changes(rawValue: 4)
        /// The upstream path was set (``upstreamPath``).
        public static let path = Changes(rawValue: 8)
        /// The body was replaced (send ``body`` with a matching `Content-Length`).
        public static let body = Changes(rawValue: 16)
    }

    /// The method (`GET`); changed by ``setMethod(_:)``.
    public private(set) var method: String
    /// `http` or `https`.
    public let scheme: String
    /// The host the client asked for (`Host` without port, lower-case).
    public let host: String
    /// The port the client connected to.
    public let port: Int
    /// The normalized path without query (Kong's `get_path`).
    public let path: String
    /// The path as received (Kong's `get_raw_path`).
    public let rawPath: String
    /// The query string without `?` (nil when the target had none); changed by
    /// ``setRawQuery(_:)`` and ``setQuery(_:)``.
    public private(set) var rawQuery: String?
    /// The headers; changed by the header setters.
    public private(set) var headers: HTTPFields
    /// The raw body, when the proxy read it (see `PluginRunner.needsRequestBody`); changed by
    /// ``setRawBody(_:)``.
    public private(set) var body: [UInt8]?
    /// The size of a body the proxy read but did not keep in memory (larger than
    /// `client_body_buffer_size`): the size of nginx's body file (`ngx.req.get_body_file()`),
    /// ``body`` then being nil as Kong's `get_raw_body()`.
    public private(set) var bodyFileSize: Int?
    /// The bytes of nginx's body file (a body larger than `client_body_buffer_size`), given
    /// only to routes with a plugin that reads them (``RequestBodyNeed/alwaysWithSpooled``).
    public private(set) var spooledBody: [UInt8]?
    /// The client address after `real_ip_header` / `trusted_ips` (Kong's
    /// `kong.client.get_forwarded_ip`; what ip-restriction and rate-limiting use).
    public let forwardedIP: String
    /// The address of the peer connected to kgate (Kong's `kong.client.get_ip`).
    public let ip: String
    /// The TLS SNI, if any.
    public let serverName: String?
    /// The local address the client connected to (nginx's `$server_addr`); 127.0.0.1 until
    /// the proxy sets it.
    public var serverIP: IPAddress = .v4(0x7F00_0001)
    /// ``serverIP`` as nginx prints it, made when asked for.
    public var serverAddress: String { serverIP.nginxText }
    /// The connection's serial number (nginx's `$connection`: the node counts the connections
    /// it accepts, across event loops, from 1).
    public var connectionID: Int = 0
    /// The port of the connected peer (Kong's `kong.client.get_port`), 0 when unknown.
    public var clientPort: Int = 0
    /// The number of requests made on the connection so far (nginx's `connection_requests`).
    public var connectionRequests: Int = 1
    /// The request's HTTP version as a number (`kong.request.get_http_version`: 1.0, 1.1).
    public var httpVersion = 1.1
    /// Kong's request id (`X-Kong-Request-Id`).
    public var requestID: String {
        get { requestIDText ?? RequestIDText.string(high: requestIDWords.high, low: requestIDWords.low) }
        set { requestIDText = newValue }
    }
    /// The id as given (tests, or after a plugin set it).
    private var requestIDText: String?
    /// The id as the proxy keeps it, made text only when asked for.
    private var requestIDWords: (high: UInt64, low: UInt64) = (0, 0)
    /// When the request started, seconds since 1970 (Kong's `ngx.req.start_time`).
    public var startTime: Double
    /// The upstream path set by ``setPath(_:)`` (Kong's `upstream_uri` before the query).
    public private(set) var upstreamPath: String?
    /// What plugins changed.
    public private(set) var changes: Changes = []

    /// Describes a request.
    ///
    /// - Parameters:
    ///   - path: the normalized path; computed from `rawPath` when nil.
    ///   - rawQuery: the query without `?`; nil when the target has no `?`.
    ///   - forwardedIP: the client address after real-IP processing.
    ///   - ip: the connected peer's address; `forwardedIP` when nil.
    ///   - startTime: seconds since 1970; now when nil.
    ///   - requestIDWords: Kong's request id as the proxy keeps it (see
    ///     ``setRequestID(high:low:)``); `requestID` when nil.
    ///   - connection: the connection's serial number and its requests so far, the HTTP version,
    ///     the local address and the client's port (the proxy's facts; a request built whole is
    ///     not copied).
    public init(
        method: String, scheme: String = "http", host: String, port: Int = 80, rawPath: String,
        path: String? = nil, rawQuery: String? = nil, headers: HTTPFields = HTTPFields(),
        body: [UInt8]? = nil, forwardedIP: String, ip: String? = nil, serverName: String? = nil,
        requestID: String = "", startTime: Double? = nil, requestIDWords: (high: UInt64, low: UInt64)? = nil,
        connection: (id: Int, requests: Int, httpVersion: Double, serverIP: IPAddress?, clientPort: Int)? = nil
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port
        self.rawPath = rawPath
        self.path = path ?? PathNormalizer.normalize(rawPath)
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
        self.forwardedIP = forwardedIP
        self.ip = ip ?? forwardedIP
        self.serverName = serverName
        self.requestIDText = requestID
        self.startTime = startTime ?? WallClock.now()
        if let requestIDWords {
            self.requestIDText = nil
            self.requestIDWords = requestIDWords
        }
        if let connection {
            connectionID = connection.id
            connectionRequests = connection.requests
            httpVersion = connection.httpVersion
            if let ip = connection.serverIP { serverIP = ip }
            clientPort = connection.clientPort
        }
    }

    /// Sets Kong's request id from its two 64-bit words (32 hex digits, made only when a plugin
    /// reads ``requestID``).
    public mutating func setRequestID(high: UInt64, low: UInt64) {
        requestIDText = nil
        requestIDWords = (high, low)
    }

    // MARK: Reading

    /// A header as Kong's `kong.request.get_header` finds it: nginx's `$http_*` variable
    /// (``HTTPFields/variable(_:)``: case-insensitive, `-` and `_` alike), unless that holds
    /// `, ` (several fields, or a comma in the value): then the first value of the
    /// `get_headers()` table (``HTTPFields/tableValue(_:)``), where `x-foo` does not find
    /// `x_foo`.
    public func header(_ name: String) -> String? {
        guard let value = headers.variable(name) else { return nil }
        guard Self.hasCommaSpace(value) else { return value }
        return headers.tableValue(name)?.value
    }

    private static func hasCommaSpace(_ value: String) -> Bool {
        var previous: UInt8 = 0
        for c in value.utf8 {
            if previous == 0x2C, c == 0x20 { return true }
            previous = c
        }
        return false
    }

    /// All values of a header as Kong's `get_headers()[name]` holds them (more than one: a
    /// table); see ``HTTPFields/tableValue(_:)``.
    public func headerValues(_ name: String) -> [String] { headers.tableValues(name) }

    /// The query arguments (Kong's `get_query`).
    public var query: QueryArgs { rawQuery.map { QueryArgs(parsing: $0) } ?? QueryArgs() }

    /// One query argument as Kong's table holds it.
    public func queryArgument(_ name: String) -> QueryArgs.Value? {
        guard let rawQuery, !rawQuery.isEmpty else { return nil }
        return QueryArgs(parsing: rawQuery)[name]
    }

    /// The body decoded by `Content-Type` (Kong's `get_body`); an unread body counts as empty.
    public func decodedBody() -> Result<RequestBody, RequestBody.Failure> {
        RequestBody.decode(body ?? [], contentType: header("content-type"))
    }

    // MARK: Changing the upstream request

    /// Replaces a header (Kong's `kong.service.request.set_header`: fields of that name,
    /// ignoring ASCII case only).
    /// An empty value is sent as an empty header (acl's `X-Consumer-Groups` for a consumer
    /// without groups, in Kong's 18-acl spec), unlike a response header's.
    public mutating func setHeader(_ name: String, _ value: String) {
        headers.set(name, value)
        changes.insert(.headers)
    }

    /// Replaces a header with several values (one field each); an empty list removes it.
    public mutating func setHeader(_ name: String, values: [String]) {
        headers.set(name, values: values)
        changes.insert(.headers)
    }

    /// Adds a header value (Kong's `add_header`: the values `get_headers()[name]` finds, then
    /// this one, set under `name`).
    public mutating func addHeader(_ name: String, _ value: String) {
        let current = headers.tableValues(name)
        if current.isEmpty { headers.add(name, value) } else { headers.set(name, values: current + [value]) }
        changes.insert(.headers)
    }

    /// Removes a header (Kong's `clear_header`: fields of that name, ignoring ASCII case
    /// only); no change when absent.
    public mutating func clearHeader(_ name: String) {
        guard headers.contains(name) else { return }
        headers.remove(name)
        changes.insert(.headers)
    }

    /// Replaces every header (Kong's `set_headers` sets the given ones; use with a full list).
    public mutating func setHeaders(_ fields: HTTPFields) {
        headers = fields
        changes.insert(.headers)
    }

    /// Replaces the method (Kong's `set_method`).
    public mutating func setMethod(_ method: String) {
        self.method = method
        changes.insert(.method)
    }

    /// Sets the upstream path (Kong's `set_path`); ``path`` keeps the client's. A path that
    /// does not start with `/` throws, as Kong's raises (the plugin fails: 500).
    public mutating func setPath(_ path: String) throws(InvalidPath) {
        guard path.utf8.first == UInt8(ascii: "/") else { throw InvalidPath() }
        upstreamPath = path
        changes.insert(.path)
    }

    /// Kong's `path must start with /`.
    public struct InvalidPath: Error, CustomStringConvertible {
        public var description: String { "path must start with /" }
    }

    /// Replaces the query string (Kong's `set_raw_query`).
    public mutating func setRawQuery(_ query: String) {
        rawQuery = query
        changes.insert(.query)
    }

    /// Removes a query argument (Kong's `clear_query_arg`, which goes through WHATWG
    /// `URLSearchParams`): the rest keeps its order, decoded and re-encoded (`%20` for spaces,
    /// `name=` for a flag).
    public mutating func clearQueryArgument(_ name: String) {
        guard let raw = rawQuery, !raw.isEmpty else { return }
        var args = QueryArgs(parsing: raw)
        args.pairs.removeAll { $0.name == name }
        setRawQuery(args.pairs.map { QueryArgs.encodeWHATWG($0.name) + "=" + QueryArgs.encodeWHATWG($0.value ?? "") }
            .joined(separator: "&"))
    }

    /// Replaces the query arguments (Kong's `set_query`: names sorted, values encoded).
    public mutating func setQuery(_ args: QueryArgs) {
        setRawQuery(args.encoded())
    }

    /// Replaces the body (Kong's `set_raw_body`); the proxy sends a matching `Content-Length`.
    public mutating func setRawBody(_ bytes: [UInt8]) {
        body = bytes
        changes.insert(.body)
    }

    /// Replaces the body with an encoded one and sets its `Content-Type` (Kong's `set_body`).
    public mutating func setBody(_ body: RequestBody) {
        let (bytes, contentType) = body.encoded()
        setRawBody(bytes)
        if RequestBody.mediaType(header("content-type") ?? "") != RequestBody.mediaType(contentType) {
            setHeader("Content-Type", contentType)
        }
    }

    /// Gives the proxy-read body to the plugins (before `access`), without marking a change.
    public mutating func attachBody(_ bytes: [UInt8]) { body = bytes }

    /// Tells the plugins the size of a body read but too large to keep (``bodyFileSize``), and
    /// its bytes when a plugin reads them (``spooledBody``).
    public mutating func attachBodyFile(size: Int, bytes: [UInt8]? = nil) {
        bodyFileSize = size
        spooledBody = bytes
    }
}

/// The wall clock, since 1970.
public enum WallClock {
    /// Now in seconds, with sub-second precision.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Now in nanoseconds (Kong's `time_ns`, what spans are timed with).
    public static func nowNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
