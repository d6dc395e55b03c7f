#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema
import NIOCore

/// Kong's `loggly` (PRIORITY 6): `kong.log.serialize()` (``LogSerializer``) in a syslog line
/// (RFC 5424, with the customer `key` and `tags` as structured data) sent as one UDP datagram
/// to `host:port`, at the severity of the status class when it is at or above `log_level`:
///
/// ```
/// <14>1 2026-11-22T04:53:10Z gateway-1 kong - - [KEY@41058 tag="kong"] {"request":...}
/// ```
public final class LogglyPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var socket: SocketLogConfig
        var severities: StatusSeverities
        /// `[<key>@41058 tag="a" tag="b"]`.
        var structuredData: String
    }

    /// `loggly`.
    public static let name = "loggly"
    /// 6.
    public static let priority = 6
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `loggly` config schema.
    public static let schema = ObservabilitySchemas.loggly(luaCode: Typedefs.luaCode)

    private let sockets = LogSockets()
    /// `kong.node.get_hostname()`.
    private let hostname = NodeHostname.read() ?? "localhost"

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`.
    public init(luaMode: LuaCodeMode = .sandbox) { self.luaMode = luaMode }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let tags = config["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let tagList = tags.map { "tag=\"\($0)\"" }.joined(separator: " ")
        return Config(
            socket: SocketLogConfig(config, transport: .udp, keepalive: 0, luaMode: luaMode),
            severities: StatusSeverities(config),
            structuredData: "[\(config.string("key") ?? "")@41058 \(tagList)]")
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard let severity = config.severities.severity(ctx),
            config.socket.customFields.applied(&ctx, plugin: Self.name)
        else { return }
        let header = "<\(8 + severity)>1 \(Self.timestamp()) \(hostname) kong - - \(config.structuredData) "
        var line = Array(header.utf8)
        line += LogSerializer.json(ctx)
        sockets.socket(for: config.socket).send(line, logger: ctx.db.logger)
    }

    /// Lua's `os.date("!%Y-%m-%dT%XZ")`.
    static func timestamp() -> String { HTTPTime.utc(time(nil), "%Y-%m-%dT%XZ") }
}

/// The syslog severities of syslog and loggly: one per status class, sent only at or above
/// `log_level` (lower numbers are more severe: emerg 0 ... debug 7).
struct StatusSeverities: Sendable {
    var logLevel: Int32
    var successful: Int32
    var clientErrors: Int32
    var serverErrors: Int32

    init(_ config: Object) {
        func level(_ key: String) -> Int32 { Self.levels[config.string(key) ?? "info"] ?? LOG_INFO }
        logLevel = level("log_level")
        successful = level("successful_severity")
        clientErrors = level("client_errors_severity")
        serverErrors = level("server_errors_severity")
    }

    /// The severity of the response's status class; nil when below `log_level`.
    func severity(_ ctx: PluginContext) -> Int32? {
        let status = ctx.served?.status ?? ctx.response.status
        let severity = status >= 500 ? serverErrors : status >= 400 ? clientErrors : successful
        return severity <= logLevel ? severity : nil
    }

    static let levels: [String: Int32] = [
        "debug": LOG_DEBUG, "info": LOG_INFO, "notice": LOG_NOTICE, "warning": LOG_WARNING, "err": LOG_ERR,
        "crit": LOG_CRIT, "alert": LOG_ALERT, "emerg": LOG_EMERG,
    ]
}
