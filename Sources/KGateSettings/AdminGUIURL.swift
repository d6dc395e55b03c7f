/// One entry of `admin_gui_url`: a URL Kong Manager is served from, and the origin the Admin
/// API's CORS headers allow for it.
///
/// Kong keeps only `scheme://authority` of each URL (`admin_gui_origin`, built with LuaSocket's
/// `url.parse`), so `http://manager.example:8002/manager` allows `http://manager.example:8002`.
public struct AdminGUIURL: Sendable, Hashable, CustomStringConvertible {
    /// The URL as written.
    public var text: String
    /// `scheme://authority`: what `Access-Control-Allow-Origin` may name.
    public var origin: String

    /// Parses a URL as LuaSocket 3.0 does: the fragment (from `#`) is cut off, the scheme is a
    /// letter or digit followed by letters, digits, `+`, `-` or `.` before `:`, and the authority
    /// is what follows `//` up to the next `/`. Nil when there is no scheme or no authority
    /// (where Kong fails to start).
    public init?(_ text: String) {
        let withoutFragment = text.prefix { $0 != "#" }
        guard let colon = withoutFragment.firstIndex(of: ":") else { return nil }
        let scheme = withoutFragment[..<colon]
        guard let first = scheme.first, Self.isSchemeStart(first), scheme.allSatisfy(Self.isSchemeCharacter)
        else { return nil }
        let rest = withoutFragment[withoutFragment.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let authority = rest.dropFirst(2).prefix { $0 != "/" }
        guard !authority.isEmpty else { return nil }
        self.text = text
        self.origin = "\(scheme)://\(authority)"
    }

    /// The URL as written.
    public var description: String { text }

    private static func isSchemeStart(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber)
    }

    private static func isSchemeCharacter(_ c: Character) -> Bool {
        isSchemeStart(c) || c == "+" || c == "-" || c == "."
    }

    /// `admin_gui_url`: a comma-separated list (empty for none); every bad entry is reported.
    static func parseList(_ text: String, property: String) throws(InvalidValue) -> [AdminGUIURL] {
        var urls: [AdminGUIURL] = []
        var messages: [String] = []
        for entry in ValueSyntax.list(text) {
            guard let url = AdminGUIURL(entry) else {
                messages.append(ValueSyntax.invalidEntry(
                    property, entry, "expected a URL such as http://localhost:8002 or https://example.com/manager"))
                continue
            }
            urls.append(url)
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return urls
    }
}
