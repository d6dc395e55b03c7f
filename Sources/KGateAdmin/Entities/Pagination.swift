import KGateHTTP
import KGateSchema

/// A page of a collection as asked by `?size=` and `?offset=`.
///
/// kgate's offsets are opaque tokens (base64 of the position of the next row), as Kong's are
/// (base64 of an LMDB key). Rows are listed in declaration order.
struct PageRequest: Sendable, Equatable {
    /// Kong's default page size.
    static let defaultSize = 100
    /// Kong's `max_page_size`.
    static let maxSize = 1000

    /// Rows per page.
    var size: Int
    /// The position of the first row of the page.
    var start: Int
    /// `?size=` as given (Kong repeats it in `next`).
    var sizeText: String?

    /// Reads `size` (`size must be a number`, `size must be an integer between 1 and 1000`).
    static func size(_ query: QueryArguments) -> Checked<(Int, String?)> {
        guard query.has("size") else { return .ok((defaultSize, nil)) }
        guard let text = query["size"], let value = Double(text.trimmingSpaces) else {
            return .refused(KongDAOError.invalidSize("size must be a number"))
        }
        guard value == value.rounded(), value >= 1, value <= Double(maxSize) else {
            return .refused(KongDAOError.invalidSize("size must be an integer between 1 and \(maxSize)"))
        }
        return .ok((Int(value), text))
    }

    /// Reads `offset` (`'x' is not a valid offset: bad base64 encoding`).
    static func start(_ query: QueryArguments) -> Checked<Int> {
        guard let text = query["offset"], !text.isEmpty else { return .ok(0) }
        guard let bytes = Base64.decode(text) else {
            return .refused(KongDAOError.invalidOffset(text, "bad base64 encoding"))
        }
        guard let start = Int(String(decoding: bytes, as: UTF8.self)), start >= 0 else {
            return .refused(KongDAOError.invalidOffset(text, "bad offset string"))
        }
        return .ok(start)
    }

    /// The token for a page starting at `position`.
    static func token(_ position: Int) -> String { Base64.encode(Array(String(position).utf8)) }
}

/// `?tags=a,b` (all of them) or `?tags=a/b` (any of them), checked as Kong checks it.
struct TagFilter: Sendable, Equatable {
    /// How the tags combine.
    enum Mode: Sendable, Equatable { case all, any }

    var tags: [String]
    var mode: Mode
    /// The decoded `?tags=` value (Kong repeats it, escaped, in `next`).
    var text: String

    /// Kong's `TAGS_AND_REGEX` / `TAGS_OR_REGEX` bytes: printable ASCII but `,` and `/`, and
    /// UTF-8 lead and continuation bytes.
    static func isTagByte(_ b: UInt8) -> Bool {
        (0x20...0x2B).contains(b) || b == 0x2D || b == 0x2E || (0x30...0x7E).contains(b) || (0x80...0xF4).contains(b)
    }

    /// The filter of a request, nil without `?tags=`; 400 code 11 for `cannot be null`,
    /// `invalid filter syntax` and `cannot query more than 5 tags`.
    static func parse(_ query: QueryArguments) -> Checked<TagFilter?> {
        guard query.has("tags") else { return .ok(nil) }
        guard let bytes = query.bytes("tags") else {
            return .refused(KongDAOError.invalidOption("tags", "invalid filter syntax"))
        }
        if bytes.isEmpty { return .refused(KongDAOError.invalidOption("tags", "cannot be null")) }
        let mode: Mode
        if let parts = split(bytes, UInt8(ascii: ",")) {
            mode = .all
            return finish(parts, mode, bytes)
        } else if let parts = split(bytes, UInt8(ascii: "/")) {
            mode = .any
            return finish(parts, mode, bytes)
        }
        return .refused(KongDAOError.invalidOption("tags", "invalid filter syntax"))
    }

    private static func finish(_ parts: [[UInt8]], _ mode: Mode, _ bytes: [UInt8]) -> Checked<TagFilter?> {
        if parts.count > 5 { return .refused(KongDAOError.invalidOption("tags", "cannot query more than 5 tags")) }
        let tags = parts.map { String(decoding: $0, as: UTF8.self) }
        return .ok(TagFilter(tags: tags, mode: mode, text: String(decoding: bytes, as: UTF8.self)))
    }

    /// `a,b,` → `a`, `b`, `` when every token is made of tag bytes (a trailing separator is
    /// accepted, as by Kong's regex); nil otherwise. A U+FFFD (an invalid byte of the request
    /// line) is refused.
    private static func split(_ bytes: [UInt8], _ separator: UInt8) -> [[UInt8]]? {
        if URIText.invalidUTF8Position(bytes) != nil { return nil }
        let parts = bytes.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
        for (i, part) in parts.enumerated() {
            if part.isEmpty, i != parts.count - 1 || parts.count == 1 { return nil }
            if !part.allSatisfy(isTagByte) { return nil }
        }
        return parts
    }

    /// Whether a row's `tags` satisfy the filter.
    func matches(_ row: Object) -> Bool {
        guard case .array(let values)? = row["tags"] else { return false }
        let present = Set(values.compactMap(\.stringValue))
        switch mode {
        case .all: return tags.allSatisfy(present.contains)
        case .any: return tags.contains(where: present.contains)
        }
    }
}

/// Kong's collection body: `{"data": [...], "offset": "...", "next": "/services?offset=..."}`,
/// `offset` left out and `next` null on the last page.
enum Listing {
    /// The page of `rows` a request asks for.
    ///
    /// - Parameter next: builds the `next` link from the escaped offset token.
    static func body(_ rows: [Value], page: PageRequest, next: (String) -> String) -> Value {
        let start = min(page.start, rows.count)
        let end = min(start + page.size, rows.count)
        var body: Object = ["data": .array(Array(rows[start..<end]))]
        if end < rows.count {
            let token = PageRequest.token(end)
            body["offset"] = .string(token)
            body["next"] = .string(next(URIText.escape(token)))
        } else {
            body["next"] = .null
        }
        return .object(body)
    }
}
