#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema
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
    }

    /// `file-log`.
    public static let name = "file-log"
    /// 9.
    public static let priority = 9
    /// log.
    public static let phases: PluginPhases = [.log]
    /// Kong's `file-log` config schema.
    public static let schema = ObservabilitySchemas.fileLog(luaCode: Typedefs.luaCode)

    /// Open files by path, shared by the configs naming one (Kong's `file_descriptors`).
    private let descriptors = Mutex<[String: Int32]>([:])

    public init() {}

    deinit {
        descriptors.withLock { files in
            for fd in files.values { _ = close(fd) }
        }
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        try CustomFieldsByLuaUnsupported.check(config)
        return Config(path: config.string("path") ?? "", reopen: config.bool("reopen"))
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        var line: [UInt8] = []
        line.reserveCapacity(2048)
        KongJSONEncoderShim.encode(LogSerializer.serialize(ctx), into: &line)
        line.append(0x0A)
        let failure: Int32? = descriptors.withLock { files in
            if config.reopen, let fd = files.removeValue(forKey: config.path) { close(fd) }
            var fd = files[config.path] ?? -1
            if fd < 0 {
                fd = open(config.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { return errno }
                files[config.path] = fd
            }
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else { return }
                    offset += n
                }
            }
            return nil
        }
        if let failure {
            ctx.db.logger.error(
                "failed to open the file: \(String(cString: strerror(failure)))",
                metadata: ["plugin": "file-log", "path": "\(config.path)"])
        }
    }
}
