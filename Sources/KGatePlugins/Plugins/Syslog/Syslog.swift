#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema

/// Kong's `syslog` (PRIORITY 4): `kong.log.serialize()` (``LogSerializer``) as JSON to the
/// local syslog (`openlog("kong", facility)`), at `successful_severity`, `client_errors_severity`
/// (4xx) or `server_errors_severity` (5xx), when that severity is at or above `log_level`.
public final class SyslogPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var severities: StatusSeverities
        var facility: Int32
        var customFields: CustomFieldsByLua
    }

    /// `syslog`.
    public static let name = "syslog"
    /// 4.
    public static let priority = 4
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `syslog` config schema.
    public static let schema = ObservabilitySchemas.syslog(luaCode: Typedefs.luaCode)

    /// Where messages go: `(priority, message)`; the system's syslog unless a test says.
    let sink: @Sendable (Int32, String) -> Void

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`, logging to the system's syslog.
    public init(luaMode: LuaCodeMode = .sandbox) {
        sink = Self.systemLog
        self.luaMode = luaMode
    }

    init(sink: @escaping @Sendable (Int32, String) -> Void) {
        self.sink = sink
        luaMode = .sandbox
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let facility = Self.facilities[config.string("facility") ?? "user"] ?? LOG_USER
        return Config(
            severities: StatusSeverities(config), facility: facility, customFields: CustomFieldsByLua(config, mode: luaMode))
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard let severity = config.severities.severity(ctx),
            config.customFields.applied(&ctx, plugin: Self.name)
        else { return }
        sink(config.facility | severity, String(decoding: LogSerializer.json(ctx), as: UTF8.self))
    }

    /// `openlog` keeps the pointer to its ident: one C string for the process's life.
    /// `nonisolated(unsafe)`: set once, only read after (never written through).
    private nonisolated(unsafe) static let ident = strdup("kong")

    /// lsyslog's `open("kong", facility)` then `log(level, message)`.
    private static let systemLog: @Sendable (Int32, String) -> Void = { priority, message in
        openlog(ident, LOG_PID | LOG_NDELAY, priority & ~0x07)
        message.withCString { text in withVaList([text]) { vsyslog(priority, "%s", $0) } }
    }

    static let facilities: [String: Int32] = [
        "auth": LOG_AUTH, "authpriv": LOG_AUTHPRIV, "cron": LOG_CRON, "daemon": LOG_DAEMON, "ftp": LOG_FTP,
        "kern": LOG_KERN, "lpr": LOG_LPR, "mail": LOG_MAIL, "news": LOG_NEWS, "syslog": LOG_SYSLOG,
        "user": LOG_USER, "uucp": LOG_UUCP, "local0": LOG_LOCAL0, "local1": LOG_LOCAL1, "local2": LOG_LOCAL2,
        "local3": LOG_LOCAL3, "local4": LOG_LOCAL4, "local5": LOG_LOCAL5, "local6": LOG_LOCAL6, "local7": LOG_LOCAL7,
    ]
}
