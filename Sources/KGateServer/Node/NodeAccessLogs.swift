import KGateHTTP
import KGateSettings
import KGateStore

/// The node's access logs, opened at start as nginx opens them (a log that cannot be opened
/// refuses the start): `proxy_access_log` in Kong's `kong_log_format`, `admin_access_log` and
/// `status_access_log` in nginx's `combined`, unless the value names a format.
struct NodeAccessLogs: Sendable {
    var proxy: AccessLog?
    var stream: AccessLog?
    var admin: AccessLog?
    var status: AccessLog?

    init(settings: NodeSettings) throws(NodeStartError) {
        // Two properties naming one file share its descriptor.
        var opened: [String: LogFile] = [:]
        func open(_ setting: AccessLogSetting?, property: String, default format: AccessLogFormat)
            throws(NodeStartError) -> AccessLog?
        {
            guard let setting else { return nil }
            let path = settings.inPrefix(setting.path)
            if let file = opened[path] { return AccessLog(file: file, format: setting.format(default: format)) }
            do {
                let file = try LogFile(path: path, makingDirectory: true)
                opened[path] = file
                return AccessLog(file: file, format: setting.format(default: format))
            } catch {
                throw NodeStartError("\(property): \(error)")
            }
        }
        proxy = try open(settings.proxyAccessLog, property: "proxy_access_log", default: .kong)
        stream =
            settings.streamListen.isEmpty
            ? nil : try open(settings.proxyStreamAccessLog, property: "proxy_stream_access_log", default: .basic)
        admin = try open(settings.adminAccessLog, property: "admin_access_log", default: .combined)
        status = try open(settings.statusAccessLog, property: "status_access_log", default: .combined)
    }

    /// Each open file once (for SIGUSR1's reopen).
    var files: [LogFile] {
        var seen: Set<ObjectIdentifier> = []
        return [proxy, stream, admin, status].compactMap { $0?.file }.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }
}
