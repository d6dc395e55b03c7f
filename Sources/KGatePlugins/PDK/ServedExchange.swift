/// What the proxy reports to the `log` phase about the exchange it served: the nginx variables
/// and Kong `ngx.ctx` values `kong.log.serialize()` reads that plugins cannot see otherwise.
public struct ServedExchange: Sendable {
    /// One upstream try (Kong's `balancer_data.tries` entries).
    public struct Try: Sendable {
        public var ip: String
        public var port: Int
        /// The peer's host name: the target's or the service's host (Kong's
        /// `balancer_data.hostname`).
        public var hostname: String?
        /// When the try began, ms since 1970, and how long choosing its peer took (ms).
        public var balancerStart: Int
        public var balancerLatency: Int
        /// A failed try's `state` (`failed`, `next`) and status code.
        public var state: String?
        public var code: Int?
        /// `balancer_start` in nanoseconds (Kong's `balancer_start_ns`).
        public var balancerStartNanoseconds: Int

        public init(
            ip: String, port: Int, hostname: String? = nil, balancerStart: Int, balancerLatency: Int = 0, state: String? = nil,
            code: Int? = nil, balancerStartNanoseconds: Int? = nil
        ) {
            self.ip = ip
            self.port = port
            self.hostname = hostname
            self.balancerStart = balancerStart
            self.balancerStartNanoseconds = balancerStartNanoseconds ?? balancerStart * 1_000_000
            self.balancerLatency = balancerLatency
            self.state = state
            self.code = code
        }
    }

    /// Kong's `kong.response.get_source()`, as the serializer names it
    /// (`RESPONSE_SOURCE.NAMES`).
    public enum Source: String, Sendable {
        /// The request was proxied (`service`), whatever the upstream did.
        case upstream
        /// Kong answered: a plugin's exit, routing, an error before proxying.
        case kong
    }

    /// `$request_uri`: the target as the client sent it.
    public var requestURI: String
    /// `$request_length`: the request's head and body bytes.
    public var requestSize: Int
    /// `$upstream_uri` (empty when nothing was proxied).
    public var upstreamURI: String
    /// `$upstream_status` (empty when no upstream answered).
    public var upstreamStatus: String
    /// The status sent to the client.
    public var status: Int
    /// The response head's fields, as sent.
    public var responseHeaders: HTTPFields
    /// `$bytes_sent`: head and body.
    public var responseSize: Int
    /// Kong's latencies, ms: before proxying (or of the whole answer Kong gave), waiting for
    /// the upstream's head (nil: none), receiving its body, and the whole request.
    public var kongLatency: Int
    public var proxyLatency: Int?
    public var receiveLatency: Int
    public var requestLatency: Int
    /// The upstream tries, in order: empty when the request was routed but not proxied (a
    /// plugin answered), nil when it never got that far (no route, a protocol refusal), as
    /// Kong's `balancer_data` is made only for routed requests.
    public var tries: [Try]?
    /// `$remote_addr` (after `trusted_ips` and `real_ip_header`).
    public var clientIP: String
    /// The port the client reached (after `port_maps`), for `request.url`.
    public var hostPort: Int?
    public var source: Source
    /// The client's TLS session (`request.tls`), nil on plain connections.
    public var tls: ClientTLS?

    public init(
        requestURI: String, requestSize: Int, upstreamURI: String, upstreamStatus: String, status: Int,
        responseHeaders: HTTPFields, responseSize: Int, kongLatency: Int, proxyLatency: Int?, receiveLatency: Int,
        requestLatency: Int, tries: [Try]?, clientIP: String, hostPort: Int?, source: Source, tls: ClientTLS? = nil
    ) {
        self.requestURI = requestURI
        self.requestSize = requestSize
        self.upstreamURI = upstreamURI
        self.upstreamStatus = upstreamStatus
        self.status = status
        self.responseHeaders = responseHeaders
        self.responseSize = responseSize
        self.kongLatency = kongLatency
        self.proxyLatency = proxyLatency
        self.receiveLatency = receiveLatency
        self.requestLatency = requestLatency
        self.tries = tries
        self.clientIP = clientIP
        self.hostPort = hostPort
        self.source = source
        self.tls = tls
    }
}
