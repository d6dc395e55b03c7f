/// A media type (`type/subtype; name=value`) as Kong's `mime_type.parse_mime_type` reads it
/// (RFC 2045's grammar): type and subtype tokens around a `/` (or `*` alone), then `; name=value`
/// parameters whose values are tokens or quoted strings, spaces only around the `;`. Type,
/// subtype and parameter names are in lower case. Anything else (`application/json; charset=`,
/// `text /html`) is not a media type. Spaces around the whole text are dropped, as Kong's
/// callers strip it.
struct MediaType: Sendable, Equatable {
    var type: String
    var subtype: String
    var parameters: [String: String]

    init?(_ text: String) {
        var reader = Reader(bytes: Array(text.utf8))
        reader.trimSpaces()
        if reader.bytes[reader.position..<reader.end].elementsEqual("*".utf8) {
            (type, subtype, parameters) = ("*", "*", [:])
            return
        }
        guard let type = reader.token(), reader.take(UInt8(ascii: "/")), let subtype = reader.token() else { return nil }
        var parameters: [String: String] = [:]
        while !reader.atEnd {
            reader.skipSpacing()
            guard reader.take(UInt8(ascii: ";")) else { return nil }
            reader.skipSpacing()
            guard let name = reader.token(), reader.take(UInt8(ascii: "=")), let value = reader.token() ?? reader.quoted()
            else { return nil }
            parameters[name.lowercased()] = value
        }
        (self.type, self.subtype, self.parameters) = (type.lowercased(), subtype.lowercased(), parameters)
    }

    /// A cursor over the text's bytes.
    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        var end: Int

        init(bytes: [UInt8]) {
            self.bytes = bytes
            end = bytes.count
        }

        var atEnd: Bool { position >= end }

        mutating func trimSpaces() {
            while position < end, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
            while end > position, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        }

        mutating func skipSpacing() {
            while position < end, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < end, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// RFC 2045's token: one or more ASCII characters that are neither controls nor separators.
        mutating func token() -> String? {
            let start = position
            while position < end, Self.isTokenByte(bytes[position]) { position += 1 }
            return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
        }

        /// A quoted string's content (quoted pairs kept as written, as Kong's capture has them).
        mutating func quoted() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while position < end, bytes[position] != UInt8(ascii: "\"") {
                if bytes[position] < 0x20 || bytes[position] == 0x7F { return nil }
                position += bytes[position] == UInt8(ascii: "\\") && position + 1 < end ? 2 : 1
            }
            guard position < end else { return nil }
            let content = String(decoding: bytes[start..<position], as: UTF8.self)
            position += 1
            return content
        }

        static func isTokenByte(_ b: UInt8) -> Bool {
            guard b > 0x20, b < 0x7F else { return false }
            return !#"()<>@,;:\"/[]?={}"#.utf8.contains(b)
        }
    }

    /// proxy-cache's exact match: `*` matches any type or subtype; the parameters must be the
    /// same.
    func accepts(_ other: MediaType) -> Bool {
        (type == "*" || type == other.type) && (subtype == "*" || subtype == other.subtype)
            && parameters == other.parameters
    }

    /// `application/json` or `application/<something>+json` (Kong's `is_json_body` match).
    var isJSON: Bool { type == "application" && (subtype == "json" || subtype.hasSuffix("+json")) }
}
