import KGateSchema

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

    /// Parses a URL with LuaSocket 3.0's `url.parse` (``ParsedURL``) and keeps its scheme and
    /// authority. Nil when there is no scheme or no authority (where Kong fails to start).
    public init?(_ text: String) {
        guard let url = ParsedURL(text), let scheme = url.scheme, let authority = url.authority, !authority.isEmpty
        else { return nil }
        self.text = text
        self.origin = "\(scheme)://\(authority)"
    }

    /// The URL as written.
    public var description: String { text }

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
