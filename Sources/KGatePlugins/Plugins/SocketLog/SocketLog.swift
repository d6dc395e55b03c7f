import KGateSchema
import NIOCore
import Synchronization

/// Kong's `tcp-log` (PRIORITY 7): `kong.log.serialize()` (``LogSerializer``) as one JSON line
/// per request to `host:port` over TCP, with TLS (no verification, `tls_sni`) when `tls`; the
/// connection is kept for `keepalive` ms between lines.
public final class TCPLogPlugin: Plugin {
    public typealias Config = SocketLogConfig

    /// `tcp-log`.
    public static let name = "tcp-log"
    /// 7.
    public static let priority = 7
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `tcp-log` config schema.
    public static let schema = ObservabilitySchemas.tcpLog(luaCode: Typedefs.luaCode)

    private let sockets = LogSockets()

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`.
    public init(luaMode: LuaCodeMode = .sandbox) { self.luaMode = luaMode }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let tls = config.bool("tls")
        return SocketLogConfig(
            config, transport: .tcp(tls: tls, serverName: tls ? config.string("tls_sni") : nil),
            keepalive: config.number("keepalive") ?? 60000, luaMode: luaMode)
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard config.customFields.applied(&ctx, plugin: Self.name) else { return }
        var line = LogSerializer.json(ctx)
        line.append(0x0A)
        sockets.socket(for: config).send(line, logger: ctx.db.logger)
    }
}

/// Kong's `udp-log` (PRIORITY 8): `kong.log.serialize()` as one JSON datagram per request to
/// `host:port`.
public final class UDPLogPlugin: Plugin {
    public typealias Config = SocketLogConfig

    /// `udp-log`.
    public static let name = "udp-log"
    /// 8.
    public static let priority = 8
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `udp-log` config schema.
    public static let schema = ObservabilitySchemas.udpLog(luaCode: Typedefs.luaCode)

    private let sockets = LogSockets()

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`.
    public init(luaMode: LuaCodeMode = .sandbox) { self.luaMode = luaMode }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        SocketLogConfig(config, transport: .udp, keepalive: 0, luaMode: luaMode)
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard config.customFields.applied(&ctx, plugin: Self.name) else { return }
        sockets.socket(for: config).send(LogSerializer.json(ctx), logger: ctx.db.logger)
    }
}

/// The config of tcp-log and udp-log.
public struct SocketLogConfig: Sendable {
    var destination: LogSocket.Destination
    var timeout: TimeAmount
    var keepalive: TimeAmount
    var customFields: CustomFieldsByLua

    init(_ config: Object, transport: LogSocket.Destination.Transport, keepalive: Double, luaMode: LuaCodeMode) {
        customFields = CustomFieldsByLua(config, mode: luaMode)
        destination = LogSocket.Destination(
            host: config.string("host") ?? "", port: Int(config.number("port") ?? 0), transport: transport)
        timeout = .milliseconds(Int64(config.number("timeout") ?? 10000))
        self.keepalive = .milliseconds(Int64(keepalive))
    }

}

/// One ``LogSocket`` per destination, shared by the configs naming it.
final class LogSockets: Sendable {
    private let sockets = Mutex<[LogSocket.Destination: LogSocket]>([:])

    func socket(for config: SocketLogConfig) -> LogSocket {
        socket(for: config.destination, connectTimeout: config.timeout, keepalive: config.keepalive)
    }

    /// The socket of a destination, made with these settings on first use.
    func socket(for destination: LogSocket.Destination, connectTimeout: TimeAmount = .seconds(10), keepalive: TimeAmount = .zero)
        -> LogSocket
    {
        sockets.withLock { sockets in
            if let socket = sockets[destination] { return socket }
            let socket = LogSocket(destination: destination, connectTimeout: connectTimeout, keepalive: keepalive)
            sockets[destination] = socket
            return socket
        }
    }
}
