import NIOCore

/// What Kong's PDK reads from nginx's request line (`$request`) for a request nginx refused
/// before its head was parsed (`ctx.KONG_UNEXPECTED`: 400, 414, 494, ...): the method is
/// the line up to its first space (`kong.request.get_method`), and the target is what follows
/// up to the next space. A line cut short by a too-long URI has no next space, hence no
/// target: no query arguments (`kong.request.get_query`) and no `$request_uri`.
struct RefusedRequestLine {
    /// nil when the line has no space (the placeholder's `GET` stands).
    var method: String?
    /// The request target (`$request_uri`), nil when the line stops inside it.
    var target: String?

    init(_ line: ByteBuffer) {
        let bytes = line.readableBytesView
        guard let space = bytes.firstIndex(of: 0x20) else { return }
        method = String(decoding: bytes[..<space], as: UTF8.self)
        let rest = bytes[(space + 1)...]
        guard let end = rest.firstIndex(of: 0x20) else { return }
        target = String(decoding: rest[..<end], as: UTF8.self)
    }
}
