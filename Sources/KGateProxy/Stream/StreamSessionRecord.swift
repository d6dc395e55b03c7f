import KGatePlugins
import NIOCore

/// What a stream session records for its access-log line and its log plugins: when it began,
/// how it ended (nginx's `$status`), its upstream tries and its client's TLS session.
struct StreamSessionRecord {
    /// When the session began (monotonic, and wall-clock seconds for `started_at`).
    var started = NIODeadline.uptimeNanoseconds(0)
    var startedWall = 0.0
    /// nginx's `$status`: 200, 403 (ip-restriction), 500 without a route, 502 without an upstream.
    var status = 200
    /// When the first upstream try began (Kong's proxy latency ends there).
    var proxyingStarted: NIODeadline?
    /// The upstream tries (Kong's `balancer_data.tries`).
    var tries: [ServedExchange.Try] = []
    /// The terminated TLS session's version and cipher.
    var clientTLS: ClientTLS?
    /// Kong's preread collected the route's plugins, so its log phase runs them: not when the
    /// session ended first (no route, a refused protocol, an `ip-restriction` refusal, whose
    /// `ngx.exit` stops the collecting before any logging plugin).
    var pluginsCollected = false

    mutating func begin(at now: NIODeadline, wall: Double) {
        started = now
        startedWall = wall
    }

    /// A try of `ip:port` begins now.
    mutating func beginTry(ip: String, port: Int, at now: NIODeadline, wall: Double) {
        if proxyingStarted == nil { proxyingStarted = now }
        let ns = Int(wall * 1_000_000_000)
        tries.append(.init(ip: ip, port: port, balancerStart: ns / 1_000_000, balancerStartNanoseconds: ns))
    }

    /// The last try could not connect (or complete its TLS handshake).
    mutating func lastTryFailed() {
        guard !tries.isEmpty else { return }
        tries[tries.count - 1].state = "failed"
    }

    /// The session as Kong's stream serializer reports it.
    func session(
        received: Int, sent: Int, relayed: Bool, serverPort: Int?, clientIP: String, now: NIODeadline
    ) -> StreamSession {
        func ms(_ from: NIODeadline, _ to: NIODeadline) -> Int { max(0, Int((to - from).nanoseconds / 1_000_000)) }
        return StreamSession(
            tls: clientTLS, received: received, sent: sent, status: status, serverPort: serverPort,
            upstreamReceived: relayed ? sent : 0, upstreamSent: relayed ? received : 0,
            kongLatency: ms(started, proxyingStarted ?? now), sessionLatency: ms(started, now), tries: tries,
            clientIP: clientIP)
    }
}
