import KGateSchema
import KGateStore
import Synchronization

/// Kong's `file-log` (PRIORITY 9): appends `kong.log.serialize()` (``LogSerializer``) as one
/// JSON line per request to `path`, opened with `O_WRONLY|O_CREAT|O_APPEND` (mode 0644) and
/// kept open between requests, or closed and opened again for each with `reopen`.
///
/// `custom_fields_by_lua` runs Lua, which kgate does not: a config that sets it is refused
/// when the config loads.
public final class FileLogPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var path: String
        var reopen: Bool
        var customFields: CustomFieldsByLua
    }

    /// `file-log`.
    public static let name = "file-log"
    /// 9.
    public static let priority = 9
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `file-log` config schema.
    public static let schema = ObservabilitySchemas.fileLog(luaCode: Typedefs.luaCode)

    /// Open files by path, shared by the configs naming one (Kong's `file_descriptors`).
    private let files = Mutex<[String: LogFile]>([:])

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`.
    public init(luaMode: LuaCodeMode = .sandbox) { self.luaMode = luaMode }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            path: config.string("path") ?? "", reopen: config.bool("reopen"),
            customFields: CustomFieldsByLua(config, mode: luaMode))
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard config.customFields.applied(&ctx, plugin: Self.name) else { return }
        var line = LogSerializer.json(ctx)
        line.append(0x0A)
        do {
            let file = try file(config)
            line.withUnsafeBytes { file.write($0) }
        } catch {
            ctx.db.logger.error(
                "failed to open the file: \(error.reason)", metadata: ["plugin": "file-log", "path": "\(config.path)"])
        }
    }

    /// The open file of `config.path` (opened again first with `reopen`); a file that cannot
    /// be opened is tried again by the next request.
    private func file(_ config: Config) throws(LogFileError) -> LogFile {
        try files.withLock { files throws(LogFileError) in
            if let file = files[config.path] {
                if config.reopen { try file.reopen() }
                return file
            }
            let file = try LogFile(path: config.path)
            files[config.path] = file
            return file
        }
    }
}
