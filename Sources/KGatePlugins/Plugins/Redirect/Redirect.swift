import KGateSchema

/// Kong's `redirect` (PRIORITY 779, `kong/plugins/redirect`): answers `status_code` (301 by
/// default) with `Location: location` and the body `redirecting`, without proxying. With
/// `keep_incoming_path`, the location's path and query are the request's (its fragment stays),
/// as Kong's `ada` URL setters write them.
public struct RedirectPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var status: Int
        var location: String
        var keepIncomingPath: Bool
    }

    /// `redirect`.
    public static let name = "redirect"
    /// 779.
    public static let priority = 779
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's `redirect` config schema.
    public static let schema = Schema.record([
        ("status_code", Field.integer.with {
            $0.required = true
            $0.defaultValue = 301
            $0.between = 100...599
        }),
        ("location", Typedefs.url.isRequired),
        ("keep_incoming_path", Field.boolean.defaulting(false)),
    ])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            status: Int(config.number("status_code") ?? 301), location: config.string("location") ?? "",
            keepIncomingPath: config.bool("keep_incoming_path"))
    }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var location = config.location
        if config.keepIncomingPath { location = Self.location(config.location, path: ctx.request.path, query: ctx.request.rawQuery) }
        try ctx.exit(config.status, body: .bytes(Array("redirecting".utf8)), headers: ["Location": location])
    }

    /// WHATWG's special schemes' default ports, which `href` leaves out.
    static let defaultPorts = ["http": ":80", "https": ":443", "ws": ":80", "wss": ":443", "ftp": ":21"]

    /// The location with the request's path and query in place of its own (WHATWG's
    /// `pathname` and `search` setters, then `href`): scheme and host in lower case, the
    /// scheme's default port dropped, the fragment kept.
    static func location(_ base: String, path: String, query: String?) -> String {
        let bytes = Array(base.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) else {
            return base
        }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        let authorityStart = colon + 3
        let delimiters: Set<UInt8> = [UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#")]
        let authorityEnd = bytes[authorityStart...].firstIndex { delimiters.contains($0) } ?? bytes.count
        let fragment = bytes[authorityEnd...].firstIndex(of: UInt8(ascii: "#")).map { bytes[$0...] } ?? []
        // User info stays as written; the host goes to lower case, without the default port.
        let hostStart = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")).map { $0 + 1 } ?? authorityStart
        var host = String(decoding: bytes[hostStart..<authorityEnd], as: UTF8.self).lowercased()
        if let port = Self.defaultPorts[scheme], host.hasSuffix(port) { host.removeLast(port.count) }
        let userInfo = String(decoding: bytes[authorityStart..<hostStart], as: UTF8.self)
        let pathname = path.hasPrefix("/") ? path : "/" + path
        let search = query.map { $0.isEmpty ? "" : "?" + $0 } ?? ""
        return scheme + "://" + userInfo + host + pathname + search + String(decoding: fragment, as: UTF8.self)
    }
}
