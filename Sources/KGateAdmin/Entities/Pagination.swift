import KGateHTTP
import KGateSchema

/// A page of a collection as asked by `?size=` and `?offset=`.
///
/// Kong's DB-less offsets are the base64 of an LMDB key: entities are listed in the order of
/// their keys (primary keys, byte by byte) and a page starts at the first key at or after the
/// decoded offset, so a listing carries on correctly across reloads. kgate lists the same way
/// (`Listing.keyed`). `/tags` pages one entity type at a time, its offset naming the type
/// (`AdminContext.tagPage`), and targets by a plain decimal offset as Kong's targets DAO does
/// (`Listing.positional`).
struct PageRequest: Sendable, Equatable {
    /// Kong's default page size.
    static let defaultSize = 100
    /// Kong's `max_page_size`.
    static let maxSize = 1000

    /// Rows per page.
    var size: Int
    /// The decoded `offset`, nil on the first page.
    var offset: [UInt8]?
    /// `?offset=` as given (Kong's targets DAO reads it as a number).
    var offsetText: String?
    /// `?size=` as given (Kong repeats it in `next`).
    var sizeText: String?

    /// Reads `size`: `size must be a number`, then the DAO's `size must be an integer between 1
    /// and 1000`. With `bounded` false (`/tags/{tag}`, whose DAO method checks no size) any
    /// whole number from 1 is taken; below 1, where Kong's LMDB paging fails its assertion, or
    /// with a fraction, `size must be an integer greater than 0`.
    static func size(_ query: QueryArguments, bounded: Bool = true) -> Checked<(Int, String?)> {
        guard query.has("size") else { return .ok((defaultSize, nil)) }
        guard let text = query["size"], let value = Double(text.trimmingSpaces) else {
            return .refused(KongDAOError.invalidSize("size must be a number"))
        }
        let range = "size must be an integer between 1 and \(maxSize)"
        guard value == value.rounded(), value >= 1 else {
            return .refused(KongDAOError.invalidSize(bounded ? range : "size must be an integer greater than 0"))
        }
        guard value <= Double(maxSize) || !bounded else { return .refused(KongDAOError.invalidSize(range)) }
        return .ok((Int(min(value, Double(Int32.max))), text))
    }

    /// Reads `offset` (`'x' is not a valid offset: bad base64 encoding`).
    static func offset(_ query: QueryArguments) -> Checked<[UInt8]?> {
        guard let text = query["offset"], !text.isEmpty else { return .ok(nil) }
        guard let bytes = Base64.decode(text) else {
            return .refused(KongDAOError.invalidOffset(text, "bad base64 encoding"))
        }
        return .ok(bytes)
    }

    /// The position a positional offset names: the offset as sent, a plain number (Kong's
    /// targets DAO); `bad offset string` when it names none.
    func position() -> Checked<Int> {
        guard let text = offsetText, !text.isEmpty else { return .ok(0) }
        guard let start = Int(text.trimmingSpaces), start >= 0 else {
            return .refused(KongDAOError.invalidOffset(text, "bad offset string"))
        }
        return .ok(start)
    }

    /// The token of the keyed page after `key`: the smallest key greater than it (`key .. "\0"`,
    /// as Kong's off strategy writes it).
    static func token(after key: [UInt8]) -> String { Base64.encode(key + [0]) }
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
        if TypedefValidators.decodedUTF8ErrorPosition(bytes) != nil { return nil }
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

/// Kong's collection bodies: `{"data": [...], "offset": "...", "next": "/services?offset=..."}`,
/// `offset` left out and `next` null on the last page.
enum Listing {
    /// Kong's DB-less listing (`page_for_prefix` of the off strategy): rows in key order, the
    /// page starting at the first key at or after the offset. With a `filter` (`?tags=`), the page
    /// of `size` rows is taken first and filtered afterwards, as Kong does: a page may hold fewer
    /// rows than asked, even none, and still have a `next`.
    ///
    /// As LMDB's prefix paging (`resty.lmdb.prefix.page`) cannot tell a full page from the last
    /// one, every full page has an offset: when the rows end with a full page, the next page is
    /// empty and has none.
    ///
    /// - Parameters:
    ///   - rows: the rows with their keys (primary keys), in any order.
    ///   - next: builds the `next` link from the escaped offset token.
    static func keyed(
        _ rows: [(key: String, row: Object)], page: PageRequest, filter: ((Object) -> Bool)? = nil,
        render: (Object) -> Value, next: (String) -> String
    ) -> Value {
        let (slice, token) = keyedSlice(rows, size: page.size, from: page.offset)
        var data: [Value] = []
        for entry in slice where filter?(entry.row) ?? true { data.append(render(entry.row)) }
        return body(data, offset: token, next: next)
    }

    /// The rows of one keyed page: `size` rows in key order from the first key at or after
    /// `offset`, and the next page's token when the page is full.
    static func keyedSlice(
        _ rows: [(key: String, row: Object)], size: Int, from offset: [UInt8]?
    ) -> (rows: ArraySlice<(key: [UInt8], row: Object)>, token: String?) {
        let sorted = rows.map { (key: Array($0.key.utf8), row: $0.row) }.sorted {
            $0.key.lexicographicallyPrecedes($1.key)
        }
        var start = 0
        if let offset {
            var high = sorted.count
            while start < high {
                let mid = (start + high) / 2
                if sorted[mid].key.lexicographicallyPrecedes(offset) { start = mid + 1 } else { high = mid }
            }
        }
        let end = min(start + size, sorted.count)
        let token = end - start == size ? PageRequest.token(after: sorted[end - 1].key) : nil
        return (sorted[start..<end], token)
    }

    /// A page of items listed by position, from `start`; the offset is the next position itself
    /// (`"3"`, Kong's targets DAO, `page_for_upstream`).
    static func positional(_ items: [Value], page: PageRequest, start: Int, next: (String) -> String) -> Value {
        let start = min(start, items.count)
        let end = min(start + page.size, items.count)
        return body(Array(items[start..<end]), offset: end < items.count ? String(end) : nil, next: next)
    }

    /// `{"data": [...], "offset": token, "next": link}`, or `"next": null` without a token.
    static func body(_ data: [Value], offset token: String?, next: (String) -> String) -> Value {
        var body: Object = ["data": .array(data)]
        if let token {
            body["offset"] = .string(token)
            body["next"] = .string(next(URIText.escape(token)))
        } else {
            body["next"] = .null
        }
        return .object(body)
    }
}
