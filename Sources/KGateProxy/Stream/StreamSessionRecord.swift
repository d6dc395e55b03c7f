import KGatePlugins
import NIOCore

/// What a stream session records for its access-log line and its log plugins: when it began,
/// how it ended (nginx's `$status`), its upstream tries, its client's TLS session and the
/// plugins its route collected; ``finish(on:client:received:sent:relayed:serverPort:udp:)``
/// writes both at its end, for TCP and UDP sessions alike.
struct StreamSessionRecord {
    /// When the session began (monotonic, and wall-clock seconds for `started_at`).
    var started = NIODeadline.uptimeNanoseconds(0)
    var startedWall = 0.0
    /// The client's port (Kong's `kong.client.get_port`).
    var clientPort = 0
    /// nginx's `$status`: 200, 403 (ip-restriction), 500 without a route, 502 without an upstream.
    var status = 200
    /// When the first upstream try began (Kong's proxy latency ends there).
    var proxyingStarted: NIODeadline?
    /// The upstream tries (Kong's `balancer_data.tries`).
    var tries: [ServedExchange.Try] = []
    /// The terminated TLS session's version and cipher.
    var clientTLS: ClientTLS?
    /// The route's plugins once Kong's preread collected them, which its log phase runs; nil
    /// when the session ended first (no route, a refused protocol, an `ip-restriction` refusal,
    /// whose `ngx.exit` stops the collecting before any logging plugin).
    private var collected: (plugins: PluginRunner, route: String, service: String?)?

    mutating func begin(at now: NIODeadline, wall: Double, clientPort: Int) {
        started = now
        startedWall = wall
        self.clientPort = clientPort
    }

    /// Preread collected the plugins of the session's route (a generation without plugins has none).
    mutating func collect(_ plugins: PluginRunner?, route: String, service: String?) {
        collected = plugins.map { ($0, route, service) }
    }

    /// A try of `ip:port` (the target or service host `hostname`) begins now.
    mutating func beginTry(ip: String, port: Int, hostname: String, at now: NIODeadline, wall: Double) {
        if proxyingStarted == nil { proxyingStarted = now }
        let ns = Int(wall * 1_000_000_000)
        tries.append(.init(ip: ip, port: port, hostname: hostname, balancerStart: ns / 1_000_000, balancerStartNanoseconds: ns))
    }

    /// The last try could not connect (or complete its TLS handshake).
    mutating func lastTryFailed() {
        guard !tries.isEmpty else { return }
        tries[tries.count - 1].state = "failed"
    }

    /// The session's end: its line in `proxy_stream_access_log` (Kong's `basic` format), then
    /// Kong's stream `log` phase for the plugins its route collected. `received` and `sent` are
    /// the client's bytes; `relayed`, whether an upstream connection carried them; `serverPort`,
    /// the port the client reached (after `port_maps`), asked only when a plugin logs.
    func finish(
        on loop: LoopContext, client: String, received: Int, sent: Int, relayed: Bool, serverPort: () -> Int?,
        udp: Bool = false
    ) {
        loop.logStreamSession(client: client, status: status, bytesSent: sent, bytesReceived: received, since: started, udp: udp)
        guard let (plugins, route, service) = collected, plugins.logsStreams(route: route) else { return }
        let now = loop.now
        let session = StreamSession(
            tls: clientTLS, received: received, sent: sent, status: status, serverPort: serverPort(),
            upstreamReceived: relayed ? sent : 0, upstreamSent: relayed ? received : 0,
            kongLatency: (proxyingStarted ?? now).milliseconds(since: started), sessionLatency: now.milliseconds(since: started),
            tries: tries, clientIP: client, clientPort: clientPort)
        plugins.logStream(session, route: route, service: service, startTime: startedWall)
    }
}
