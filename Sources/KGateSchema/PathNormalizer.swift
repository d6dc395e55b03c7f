/// Kong's URI path normalisation (`kong/tools/uri.lua`), its router helpers
/// (`kong/router/utils.lua`) and the pre-3.0 route path migration
/// (`kong/db/migrations/migrate_path_280_300.lua`).
///
/// Everything works on bytes: decoding `%FF` yields the byte 0xFF, which is not valid UTF-8.
/// The `[UInt8]` entry points are exact; the `String` ones decode the result as UTF-8, turning
/// such bytes into U+FFFD.
public enum PathNormalizer {
    /// Kong's reserved characters (`!*'();:@&=+$,/?%#[]`): their percent-escapes stay encoded.
    static let reserved: Set<UInt8> = Set("!*'();:@&=+$,/?%#[]".utf8)

    /// `kong.tools.uri.normalize(path, mergeSlashes)`.
    ///
    /// 1. Percent-triplets (hex in any case) of non-reserved bytes are decoded; reserved ones stay
    ///    encoded with upper-case hex (`%2f` becomes `%2F`).
    /// 2. Dot segments are removed (RFC 3986 5.2.4, as Kong does it; `%2E` counts as `.`).
    /// 3. With `mergeSlashes`, runs of `/` become one.
    ///
    /// `mergeSlashes` defaults to true because every Kong call site (router, `router_path`
    /// typedef, route path migration) passes true; Kong's own default is false.
    public static func normalize(_ path: String, mergeSlashes: Bool = true) -> String {
        // The usual path (no escape, no dot, no double slash) is already normal: kept as it
        // is, with no copy of its bytes.
        let plain = path.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var previous: UInt8 = 0
            for b in bytes {
                if b == 0x25 || b == 0x2E || (mergeSlashes && b == 0x2F && previous == 0x2F) { return false }
                previous = b
            }
            return true
        }
        if plain == true { return path }
        return String(decoding: normalize(bytes: Array(path.utf8), mergeSlashes: mergeSlashes), as: UTF8.self)
    }

    /// nginx's `$uri` of a request path: every percent-escape decoded once (reserved
    /// characters too), then dot segments removed and slashes merged.
    public static func nginxURI(_ path: String) -> String {
        let decoded = decodePercent(Array(path.utf8)) { [$0] }
        return String(decoding: normalize(bytes: decoded, mergeSlashes: true, decoding: false), as: UTF8.self)
    }

    /// ``normalize(_:mergeSlashes:)`` on raw bytes (`decoding`: false leaves escapes alone).
    public static func normalize(bytes input: [UInt8], mergeSlashes: Bool = true, decoding: Bool = true) -> [UInt8] {
        if input.isEmpty || input == [0x2F] { return input }
        var uri = input
        if decoding, uri.contains(0x25) { uri = decodePercent(uri) { reserved.contains($0) ? nil : [$0] } }
        if !uri.contains(0x2E) {
            if !mergeSlashes || !containsDoubleSlash(uri) { return uri }
        }
        // The remaining input is uri[i..<end]; "replacing" it with a suffix of itself (Kong's
        // `uri = "/"` for "/." and "/..") only moves `end`, as "/" is its first byte.
        var i = 0
        var end = uri.count
        var segments: [Range<Int>] = []
        var n = 0
        func at(_ k: Int) -> UInt8? { i + k < end ? uri[i + k] : nil }
        let dot: UInt8 = 0x2E, slash: UInt8 = 0x2F
        while i < end {
            let len = end - i
            let (c1, c2, c3, c4) = (at(0), at(1), at(2), at(3))
            if len == 2, c1 == slash, c2 == dot {  // "/."
                end = i + 1
            } else if len == 3, c1 == slash, c2 == dot, c3 == dot {  // "/.."
                end = i + 1
                if n > 0 { n -= 1 }
            } else if (len == 1 && c1 == dot) || (len == 2 && c1 == dot && c2 == dot) {  // "." or ".."
                i = end
            } else if c1 == dot, c2 == dot, c3 == slash {  // "../"
                i += 3
            } else if c1 == dot, c2 == slash {  // "./"
                i += 2
            } else if c1 == slash, c2 == dot, c3 == slash {  // "/./"
                i += 2
            } else if c1 == slash, c2 == dot, c3 == dot, c4 == slash {  // "/../"
                i += 3
                if n > 0 { n -= 1 }
            } else if mergeSlashes, c1 == slash, c2 == slash {  // "//"
                i += 1
            } else {
                var j = i + 1
                while j < end, uri[j] != slash { j += 1 }
                if n < segments.count { segments[n] = i..<j } else { segments.append(i..<j) }
                n += 1
                i = j
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(uri.count)
        for r in segments.prefix(n) { out.append(contentsOf: uri[r]) }
        return out
    }

    /// `kong.tools.uri.escape`: percent-encodes (upper-case hex) every byte that is neither
    /// reserved, unreserved, nor `%`, so the path can be forwarded as is.
    public static func escape(_ path: String) -> String {
        var out = ""
        for b in path.utf8 {
            if isSafeToForward(b) {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "%" + hex2(b)
            }
        }
        return out
    }

    /// `router_utils.strip_uri_args`: drops the query (a `?` at or after the second byte) and
    /// normalises with merged slashes. This is the path the router matches.
    public static func routingPath(_ requestURI: String) -> String {
        var bytes = Array(requestURI.utf8)
        if bytes.count > 1, let q = bytes[1...].firstIndex(of: 0x3F) { bytes.removeSubrange(q...) }
        return String(decoding: normalize(bytes: bytes, mergeSlashes: true), as: UTF8.self)
    }

    /// `router_utils.sanitize_uri_postfix`: `.`/`..` become empty, a leading `./` or `../` is
    /// removed (the postfix a regex route's `uri_postfix` capture hands to the upstream path).
    public static func sanitizeURIPostfix(_ postfix: String) -> String {
        if postfix.isEmpty { return postfix }
        if postfix == "." || postfix == ".." { return "" }
        if postfix.hasPrefix("./") { return String(postfix.dropFirst(2)) }
        if postfix.hasPrefix("../") { return String(postfix.dropFirst(3)) }
        return postfix
    }

    /// `migrate_path_280_300`: how a pre-3.0 (`_format_version` 1.1/2.1) route path is rewritten.
    /// A path made only of `[a-zA-Z0-9.\-_~/%]` (PCRE `$`, so a single trailing newline is also
    /// allowed) is a prefix and gets normalised; anything else is a regex: it gets the `~` prefix
    /// and its percent-escapes decoded (reserved ones kept, upper-cased; regex metacharacters
    /// decoded to their escaped form, `%2E` to `\.`). Returns the new path and whether it changed.
    public static func migrateLegacyPath(_ path: String) -> (path: String, changed: Bool) {
        let bytes = Array(path.utf8)
        if isLegacyPlainPath(bytes) {
            let normalized = String(decoding: normalize(bytes: bytes, mergeSlashes: true), as: UTF8.self)
            return (normalized, normalized != path)
        }
        var regex = bytes
        if regex.contains(0x25) {
            regex = decodePercent(regex) { b in
                if legacyReserved.contains(b) { return nil }
                if let meta = regexMeta[b] { return Array(meta.utf8) }
                return [b]
            }
        }
        return ("~" + String(decoding: regex, as: UTF8.self), true)
    }

    /// `is_not_regex` of the migration: `^[a-zA-Z0-9\.\-_~/%]*$` with PCRE's `$`.
    static func isLegacyPlainPath(_ bytes: [UInt8]) -> Bool {
        var body = bytes[...]
        if body.last == 0x0A { body = body.dropLast() }
        return body.allSatisfy { b in
            LuaMatcher.isAlpha(b) || LuaMatcher.isDigit(b) || "._~/%-".utf8.contains(b)
        }
    }

    /// The migration's reserved set (`!#$%&'()*+,/:;=?@[]`).
    static let legacyReserved: Set<UInt8> = [0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C,
                                             0x2F, 0x3A, 0x3B, 0x3D, 0x3F, 0x40, 0x5B, 0x5D]
    static let regexMeta: [UInt8: String] = [0x2E: #"\."#, 0x5E: #"\^"#, 0x2D: #"\-"#, 0x7B: #"\{"#,
                                             0x7D: #"\}"#, 0x5C: #"\\"#, 0x7C: #"\|"#]

    /// Replaces each `%XX` (hex in any case, left to right, non-overlapping) by `decode(byte)`,
    /// or by the triplet upper-cased when `decode` answers nil.
    public static func decodePercent(_ input: [UInt8], _ decode: (UInt8) -> [UInt8]?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            if input[i] == 0x25, i + 2 < input.count, let hi = hexValue(input[i + 1]), let lo = hexValue(input[i + 2]) {
                let b = hi << 4 | lo
                if let d = decode(b) {
                    out.append(contentsOf: d)
                } else {
                    out.append(0x25)
                    out.append(upper(input[i + 1]))
                    out.append(upper(input[i + 2]))
                }
                i += 3
            } else {
                out.append(input[i])
                i += 1
            }
        }
        return out
    }

    /// The value of a hexadecimal digit, either case.
    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    private static func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7A ? c - 0x20 : c }

    private static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
    }

    private static func containsDoubleSlash(_ b: [UInt8]) -> Bool {
        b.indices.dropLast().contains { b[$0] == 0x2F && b[$0 + 1] == 0x2F }
    }

    private static func isSafeToForward(_ b: UInt8) -> Bool {
        LuaMatcher.isAlpha(b) || LuaMatcher.isDigit(b) || "!#$&'()*+,/:;=?@[]-_.~%".utf8.contains(b)
    }
}
