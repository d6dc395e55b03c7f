import KGatePlugins
import KGateSettings
import NIOCore

/// nginx's headers filter (`add_header`) on the proxy's responses: Kong's
/// `nginx_http_add_header`, `nginx_proxy_add_header` and `nginx_location_add_header`.
///
/// nginx runs it after Kong's `header_filter` (Lua's header filter comes first in the chain),
/// on the final status. A level with `add_header` of its own inherits none from the levels
/// above it: the proxy server's directives replace the http block's, `location /`'s replace
/// both. Kong's own answers (router, plugins) and proxied responses are `location /`'s; nginx's
/// error pages (`/kong_error_handler`, and heads refused before any location) the server's.
public struct AddedResponseHeaders: Sendable, Hashable {
    /// Which block a response comes from.
    enum Scope {
        /// `location /`: proxied responses, Kong's router and plugin answers.
        case location
        /// The server: nginx's error pages.
        case server
    }

    /// The directives in force in `location /`.
    let location: [AddHeaderDirective]
    /// The directives in force for the server's error pages.
    let server: [AddHeaderDirective]

    /// None.
    public init() {
        location = []
        server = []
    }

    /// The directives of each block, resolved by nginx's inheritance.
    public init(http: [AddHeaderDirective], proxy: [AddHeaderDirective], location: [AddHeaderDirective]) {
        server = proxy.isEmpty ? http : proxy
        self.location = location.isEmpty ? server : location
    }

    /// No directive anywhere: nothing to do for any response.
    var isEmpty: Bool { location.isEmpty && server.isEmpty }

    /// Adds to a response head (its bytes, ending with the blank line) the directives in
    /// force for `scope` that apply to `status`. A name is appended as another field, except
    /// `ETag` and `Last-Modified`, which replace the head's (an empty value removes it), as
    /// nginx's headers filter sets them.
    func apply(to head: inout ByteBuffer, status: Int, scope: Scope) {
        let directives = scope == .location ? location : server
        guard directives.contains(where: { $0.applies(toStatus: status) }) else { return }
        var lines: [HTTPFields.Field] = []
        var replaced: [String] = []
        for d in directives where d.applies(toStatus: status) {
            if Self.replaces(d.name) {
                replaced.append(d.name)
                lines.removeAll { HTTPFields.sameName($0.name, d.name) }
            }
            if !d.value.isEmpty { lines.append(HTTPFields.Field(name: d.name, value: d.value)) }
        }
        if !replaced.isEmpty { Self.removeFields(named: replaced, from: &head) }
        guard !lines.isEmpty else { return }
        PluginHeads.write(lines[...], beforeEndOf: &head)
    }

    /// ``apply(to:status:scope:)`` on a whole generated response (head and body in one buffer).
    func apply(toResponse bytes: ByteBuffer, status: Int, scope: Scope) -> ByteBuffer {
        let directives = scope == .location ? location : server
        guard directives.contains(where: { $0.applies(toStatus: status) }),
            var (head, body) = PluginHeads.splitHead(bytes)
        else { return bytes }
        apply(to: &head, status: status, scope: scope)
        head.writeBuffer(&body)
        return head
    }

    /// The fields nginx keeps a single one of (`headers_out.etag`, `last_modified`).
    private static func replaces(_ name: String) -> Bool {
        HTTPFields.sameName(name, "etag") || HTTPFields.sameName(name, "last-modified")
    }

    /// Drops the head's fields with one of these names (the status line is kept).
    private static func removeFields(named names: [String], from head: inout ByteBuffer) {
        let bytes = Array(head.readableBytesView)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var start = 0
        var first = true
        while start < bytes.count {
            var end = start
            while end + 1 < bytes.count, !(bytes[end] == 0x0D && bytes[end + 1] == 0x0A) { end += 1 }
            let next = min(end + 2, bytes.count)
            let line = bytes[start..<end]
            let colon = line.firstIndex(of: UInt8(ascii: ":"))
            let dropped = !first && colon.map { c in
                names.contains { HTTPFields.sameName(String(decoding: line[..<c], as: UTF8.self), $0) }
            } ?? false
            if !dropped { out += bytes[start..<next] }
            first = false
            start = next
        }
        head.clear()
        head.writeBytes(out)
    }
}
