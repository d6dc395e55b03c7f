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
        let special = Self.defaultPorts[scheme] != nil || scheme == "file"
        let pathname = Self.percentEncoded(path.hasPrefix("/") ? path : "/" + path, Self.pathSet, backslashIsSlash: special)
        let search = query.map { $0.isEmpty ? "" : "?" + Self.percentEncoded($0, special ? Self.specialQuerySet : Self.querySet) } ?? ""
        return scheme + "://" + userInfo + host + pathname + search + String(decoding: fragment, as: UTF8.self)
    }

    /// WHATWG's query percent-encode set (beyond C0 controls and non-ASCII): space `"` `#` `<` `>`.
    static let querySet: Set<UInt8> = Set(" \"#<>".utf8)
    /// The special-query set (http, https, ws, wss, ftp, file): the query set and `'`.
    static let specialQuerySet = querySet.union("'".utf8)
    /// The path percent-encode set: the query set and `?` `` ` `` `{` `}`.
    static let pathSet = querySet.union("?`{}".utf8)

    /// `text` with the bytes of `set`, C0 controls and non-ASCII bytes percent-encoded (the
    /// request's path is decoded, so a space or `é` in it must be encoded again); `%` stays.
    /// In a special URL's path a `\` is a `/`, as WHATWG's path parser reads it.
    static func percentEncoded(_ text: String, _ set: Set<UInt8>, backslashIsSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\\"), backslashIsSlash {
                out.append(UInt8(ascii: "/"))
            } else if byte < 0x20 || byte > 0x7E || set.contains(byte) {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
