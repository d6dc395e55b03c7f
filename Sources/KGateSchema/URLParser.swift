/// A URL split the way LuaSocket's `socket.url.parse` (version 3.0-rc1, the one Kong pins) does
/// it: the `url` typedef and the `services.url` shorthand use it.
///
/// The parser is lenient and purely syntactic: the fragment is cut at the first `#`, then the
/// scheme (`^[%w][%w+.-]*:`), the authority (`//` up to the next `/`; a `?` does not end it in
/// this version), the query (first `?`), the params (first `;`); what remains is the path. The
/// authority then gives userinfo (up to `@`), port (after the last `:` when no `:` or `]`
/// follows) and host (brackets of an IPv6 literal removed). Every part is the raw text, with no
/// percent-decoding; a part that is absent is nil, a present but empty one is `""`.
public struct ParsedURL: Sendable, Hashable {
    /// `http` in `http://h/`.
    public var scheme: String?
    /// Everything between `//` and the next `/` (`user:pw@host:port`).
    public var authority: String?
    public var userinfo: String?
    public var user: String?
    public var password: String?
    public var host: String?
    /// The port text as written (may be empty or non-numeric: `http://h:x` has port `x`).
    public var port: String?
    public var path: String?
    public var params: String?
    public var query: String?
    public var fragment: String?

    /// LuaSocket's only error, for an empty URL (Kong then says `could not parse url. invalid url`).
    public static let invalidURLMessage = "invalid url"

    /// Parses `url`; nil for the empty string (LuaSocket's `nil, "invalid url"`).
    public init?(_ url: String) {
        if url.isEmpty { return nil }
        var rest = Array(url.utf8)
        fragment = ParsedURL.cut(&rest, ParsedURL.fragmentPattern)
        scheme = ParsedURL.cut(&rest, ParsedURL.schemePattern)
        authority = ParsedURL.cut(&rest, ParsedURL.authorityPattern)
        query = ParsedURL.cut(&rest, ParsedURL.queryPattern)
        params = ParsedURL.cut(&rest, ParsedURL.paramsPattern)
        if !rest.isEmpty { path = String(decoding: rest, as: UTF8.self) }
        guard let authority else { return }
        var auth = Array(authority.utf8)
        userinfo = ParsedURL.cut(&auth, ParsedURL.userinfoPattern)
        port = ParsedURL.cut(&auth, ParsedURL.portPattern)
        if !auth.isEmpty {
            let a = String(decoding: auth, as: UTF8.self)
            host = (try? ParsedURL.ipv6Pattern.match(a))?.first ?? a
        }
        guard let userinfo else { return }
        var info = Array(userinfo.utf8)
        password = ParsedURL.cut(&info, ParsedURL.passwordPattern)
        user = String(decoding: info, as: UTF8.self)
    }

    /// The port as Lua's `tonumber(port)` sees it (decimal, with optional fraction/exponent,
    /// or `0x` hex; surrounding whitespace allowed), or nil.
    public var portNumber: Double? { port.flatMap(ParsedURL.luaToNumber) }

    /// The port as an integer when `tonumber` gives an integral value (`80`, `0x50`, `8e1`).
    public var portInteger: Int? {
        guard let d = portNumber, d.isFinite, d == d.rounded(), abs(d) < 9.2e18 else { return nil }
        return Int(d)
    }

    static let fragmentPattern = LuaPattern("#(.*)$")
    static let schemePattern = LuaPattern("^([%w][%w%+%-%.]*)%:")
    static let authorityPattern = LuaPattern("^//([^/]*)")
    static let queryPattern = LuaPattern("%?(.*)")
    static let paramsPattern = LuaPattern("%;(.*)")
    static let userinfoPattern = LuaPattern("^([^@]*)@")
    static let portPattern = LuaPattern(":([^:%]]*)$")
    static let ipv6Pattern = LuaPattern("^%[(.+)%]$")
    static let passwordPattern = LuaPattern(":([^:]*)$")

    /// `s = gsub(s, pattern, function(c) part = c; return "" end)` for patterns that match at
    /// most once: removes the match and returns its first capture.
    private static func cut(_ s: inout [UInt8], _ pattern: LuaPattern) -> String? {
        guard let m = try? pattern.find(inBytes: s), case .range(let r)? = m.captures.first else { return nil }
        let part = String(decoding: s[r], as: UTF8.self)
        s.removeSubrange(m.range)
        return part
    }

    /// Lua's `tonumber` for strings (without `inf`/`nan`).
    public static func luaToNumber(_ text: String) -> Double? {
        let ws: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
        var b = text.utf8[...]
        while let f = b.first, ws.contains(f) { b = b.dropFirst() }
        while let l = b.last, ws.contains(l) { b = b.dropLast() }
        var negative = false
        var body = b
        if body.first == 0x2D || body.first == 0x2B {
            negative = body.first == 0x2D
            body = body.dropFirst()
        }
        if body.count > 2, body.first == 0x30, body.dropFirst().first.map({ $0 | 0x20 }) == 0x78 {
            var v = 0.0
            for c in body.dropFirst(2) {
                guard let d = PathNormalizer.hexValue(c) else { return nil }
                v = v * 16 + Double(d)
            }
            return negative ? -v : v
        }
        guard !body.isEmpty, body.allSatisfy({ LuaMatcher.isDigit($0) || "eE+-.".utf8.contains($0) }),
              body.contains(where: LuaMatcher.isDigit)
        else { return nil }
        return Double(String(decoding: b, as: UTF8.self))
    }
}
