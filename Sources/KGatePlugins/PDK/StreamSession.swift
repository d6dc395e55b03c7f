/// What the stream proxy reports to the `log` phase about a session it served (TCP, TLS or
/// UDP): the nginx stream variables and Kong `ngx.ctx` values of Kong's stream serializer.
/// Set on ``PluginContext/session``; ``LogSerializer`` then writes Kong's stream shape.
public struct StreamSession: Sendable {
    /// The terminated TLS session (`session.tls`), nil for plain and passed-through sessions.
    public var tls: ClientTLS?
    /// `$bytes_received` and `$bytes_sent`: from and to the client.
    public var received: Int
    public var sent: Int
    /// `$status`: 200, or why the session ended early (403, 500, 502).
    public var status: Int
    /// The port the client reached (after `port_maps`).
    public var serverPort: Int?
    /// `$upstream_bytes_received` and `$upstream_bytes_sent`.
    public var upstreamReceived: Int
    public var upstreamSent: Int
    /// Kong's latency before proxying, and `$session_time`, in ms.
    public var kongLatency: Int
    public var sessionLatency: Int
    /// The upstream tries, in order (empty when the session ended before one, as ip-restriction
    /// ends it: Kong's `balancer_data` is made when the session is routed).
    public var tries: [ServedExchange.Try]
    /// `$remote_addr`.
    public var clientIP: String
    /// `$remote_port`.
    public var clientPort: Int

    public init(
        tls: ClientTLS?, received: Int, sent: Int, status: Int, serverPort: Int?, upstreamReceived: Int,
        upstreamSent: Int, kongLatency: Int, sessionLatency: Int, tries: [ServedExchange.Try], clientIP: String,
        clientPort: Int = 0
    ) {
        self.tls = tls
        self.received = received
        self.sent = sent
        self.status = status
        self.serverPort = serverPort
        self.upstreamReceived = upstreamReceived
        self.upstreamSent = upstreamSent
        self.kongLatency = kongLatency
        self.sessionLatency = sessionLatency
        self.tries = tries
        self.clientIP = clientIP
        self.clientPort = clientPort
    }
}
