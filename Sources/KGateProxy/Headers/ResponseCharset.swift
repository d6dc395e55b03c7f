import KGatePlugins

/// nginx's charset filter as Kong configures it (`charset <nginx_http_charset>;` in the http
/// block, `UTF-8` by default): a response whose `Content-Type` is one of nginx's default
/// `charset_types` with no parameters gets `; charset=<name>` appended, whether it was proxied
/// (`text/plain` from an upstream) or made by Kong (a plugin's `kong.response.exit`). A type with
/// any parameter is left as it is, and so are 301 and 302 responses (`ngx_http_set_charset`).
struct ResponseCharset: Sendable {
    /// `; charset=<name>`, written after the type.
    let suffix: String

    /// The filter for `nginx_http_charset`; nil for `off`.
    init?(_ name: String?) {
        guard let name else { return nil }
        suffix = "; charset=" + name
    }

    /// `ngx_http_charset_default_types`.
    private static let types: [StaticString] = [
        "text/html", "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml",
    ]

    /// Whether the `Content-Type` value at `start..<start + length` of `raw` gets the charset in
    /// a response of `status`: it is one of ``types`` (any case) and nothing more.
    static func applies(_ raw: UnsafeRawBufferPointer, _ start: Int, _ length: Int, status: Int) -> Bool {
        guard status != 301, status != 302, (8...22).contains(length) else { return false }
        for type in types where MessageHead.equalsLower(raw, start, length, type) { return true }
        return false
    }

    /// ``applies(_:_:_:status:)`` for a value held as a string.
    static func applies(to contentType: String, status: Int) -> Bool {
        var value = contentType
        return value.withUTF8 { applies(UnsafeRawBufferPointer($0), 0, $0.count, status: status) }
    }

    /// Takes off the charset this filter added to the `Content-Type` of `fields`: for a
    /// proxied response, when the upstream's type (`upstreamType`, `.some(nil)` without one)
    /// was one it applies to; for a generated one, when the type ends with the suffix after a
    /// type it applies to.
    func remove(from fields: inout HTTPFields, upstreamType: String??, status: Int) {
        guard let value = fields.tableValue("content-type")?.value, value.hasSuffix(suffix) else { return }
        let bare = String(value.dropLast(suffix.count))
        switch upstreamType {
        case .some(let upstream):
            guard let upstream, upstream == bare, Self.applies(to: upstream, status: status) else { return }
        case .none:
            guard Self.applies(to: bare, status: status) else { return }
        }
        fields.set("Content-Type", bare)
    }

    /// Appends the charset to the response's `Content-Type` when it applies (after plugins).
    func add(to response: inout PluginResponse) {
        guard let value = response.headers.tableValue("content-type")?.value, Self.applies(to: value, status: response.status)
        else { return }
        response.setHeader("Content-Type", value + suffix)
    }
}
