import KGateHTTP
import KGateSchema

/// What the status endpoints report about the node, read without locks.
public protocol NodeStatusSource: Sendable {
    /// Kong's `configuration_hash`: md5 of the live config, 32 zeros before any.
    var configurationHash: String { get }
    /// kgate's `reload` block: generation, loaded-at, source, durations, counts, last error.
    func reloadReport() -> Value
}

/// The node's part of `GET /status` (Admin API and Status API): the connection counters of
/// every listener (proxy, admin, status, as nginx's `stub_status` counts its whole process),
/// `configuration_hash` and kgate's `reload` block (``AdminAPI`` adds Kong's `memory` block).
public final class StatusReport: Sendable {
    private let source: any NodeStatusSource
    private let counters: ServerCounters
    private let proxy: (@Sendable () -> ServerCounters.Snapshot)?

    /// - Parameters:
    ///   - counters: the admin and status listeners' counters.
    ///   - proxy: the proxy listeners' counters, if the node proxies.
    public init(
        source: any NodeStatusSource, counters: ServerCounters, proxy: (@Sendable () -> ServerCounters.Snapshot)? = nil
    ) {
        self.source = source
        self.counters = counters
        self.proxy = proxy
    }

    /// Every listener's counters together.
    public func connections() -> ServerCounters.Snapshot {
        counters.snapshot() + (proxy?() ?? ServerCounters.Snapshot())
    }

    /// The `GET /status` body: Kong's `server` counters and `configuration_hash`, plus `reload`.
    public func statusBody() -> Value {
        let c = connections()
        return [
            "configuration_hash": .string(source.configurationHash),
            "server": [
                "connections_accepted": .integer(c.accepted),
                "connections_active": .integer(c.active),
                "connections_handled": .integer(c.handled),
                "connections_reading": .integer(0),
                "connections_waiting": .integer(max(0, c.active - c.writing)),
                "connections_writing": .integer(c.writing),
                "total_requests": .integer(c.requests),
            ],
            "reload": source.reloadReport(),
        ]
    }
}
