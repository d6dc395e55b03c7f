#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CZlib
import Crypto
import KGateLua
import KGateSchema

/// OpenResty's request-independent `ngx` functions (`ngx.re`, encodings, hashes, time) and the
/// `cjson` module, for ``LuaPDK``.
enum LuaNgxLibrary {
    static let functions: [(name: String, function: LuaPDK.Function)] =
        LuaNgxRegex.functions + encodings + hashes + time + LuaCJSON.functions

    // MARK: Encodings

    static let encodings: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.encode_base64", { c in
            guard let s = c.text(1) else { return c.raise("string argument only") }
            var encoded = Base64.encode(s)
            if c.stack.bool(at: 2) { encoded.removeAll { $0 == "=" } }
            return c.returning(encoded)
        }),
        ("ngx.decode_base64", { c in
            guard c.type(1) == .string, let s = c.stack.bytes(at: 1) else { return c.raise("string argument only") }
            return c.returning(bytes: Base64.decode(s))
        }),
        ("ngx.escape_uri", { c in
            guard let s = c.text(1) else { return c.raise("string argument only") }
            let kind = c.type(2) == .nil || c.type(2) == .none ? 2 : c.stack.integer(at: 2)
            guard let kind, let table = URIEscape(kind: kind) else {
                return c.raise("\"type\" \(c.string(2) ?? c.stack.typeName(at: 2)) is not supported")
            }
            return c.returning(bytes: table.escape(s))
        }),
        ("ngx.unescape_uri", { c in
            guard let s = c.text(1) else { return c.raise("string argument only") }
            return c.returning(bytes: URIEscape.unescape(s))
        }),
        ("ngx.encode_args", { c in
            guard c.type(1) == .table, let args = c.value(1) else {
                return c.raise("bad argument #1 to 'encode_args' (table expected, got \(c.stack.typeName(at: 1)))")
            }
            switch encodeArgs(args) {
            case .success(let text): return c.returning(text)
            case .failure(let error): return c.raise(error.message)
            }
        }),
        ("ngx.decode_args", { c in
            guard c.type(1) == .string || c.type(1) == .number, let s = c.string(1) else {
                return c.raise("bad argument #1 to 'decode_args' (string expected, got \(c.stack.typeName(at: 1)))")
            }
            let max = c.stack.integer(at: 2) ?? 100
            let args = QueryArgs(parsing: s)
            return c.returning(LogSerializer.queryTable(max > 0 ? QueryArgs(Array(args.pairs.prefix(max))) : args))
        }),
        ("ngx.quote_sql_str", { c in
            guard let s = c.text(1) else { return c.raise("string argument only") }
            return c.returning(bytes: quoteSQL(s))
        }),
    ]

    /// `ngx.encode_args`: `name=value` pieces joined by `&`, names sorted (OpenResty follows
    /// `pairs`), `true` a bare name, `false` left out, an array's elements as repeated names;
    /// names and values escaped as URI components.
    static func encodeArgs(_ args: Value) -> Result<String, LuaMessage> {
        let entries: [(String, Value)]
        switch args {
        case .object(let object): entries = object.map { ($0.key, $0.value) }
        case .array(let list): entries = list.enumerated().map { (String($0.offset + 1), $0.element) }
        default: entries = []
        }
        var pieces: [String] = []
        for (name, value) in entries.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) {
            let key = URIEscape.component.escape(name)
            for element in value.arrayValue ?? [value] {
                switch element {
                case .bool(true): pieces.append(key)
                case .bool(false), .object, .array: continue
                case .null: return .failure(LuaMessage("attempt to use userdata as query arg value"))
                default: pieces.append(key + "=" + URIEscape.component.escape(element.luaString))
                }
            }
        }
        return .success(pieces.joined(separator: "&"))
    }

    /// `ngx.quote_sql_str`: a MySQL string literal.
    static func quoteSQL(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "'")]
        for b in s {
            switch b {
            case 0: out += Array("\\0".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x1A: out += Array("\\Z".utf8)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), b]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "'"))
        return out
    }

    // MARK: Hashes

    static let hashes: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.md5", { c in digest(c) { hex(Insecure.MD5.hash(data: $0)) } }),
        ("ngx.md5_bin", { c in digest(c) { Array(Insecure.MD5.hash(data: $0)) } }),
        ("ngx.sha1_bin", { c in digest(c) { Array(Insecure.SHA1.hash(data: $0)) } }),
        ("ngx.hmac_sha1", { c in
            guard let key = c.text(1), let data = c.text(2) else { return c.raise("string argument only") }
            return c.returning(bytes: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: SymmetricKey(data: key))))
        }),
        ("ngx.crc32_short", { c in digest(c, crc32) }),
        ("ngx.crc32_long", { c in digest(c, crc32) }),
    ]

    /// Applies `hash` to the string argument and returns its bytes.
    private static func digest(_ c: LuaCall, _ hash: ([UInt8]) -> [UInt8]) -> Int32 {
        guard let s = c.text(1) else { return c.raise("string argument only") }
        return c.returning(bytes: hash(s))
    }

    /// Applies `hash` to the string argument and returns it as a number.
    private static func digest(_ c: LuaCall, _ hash: ([UInt8]) -> Int) -> Int32 {
        guard let s = c.text(1) else { return c.raise("string argument only") }
        return c.returning(hash(s))
    }

    /// CRC-32 (IEEE), zlib's.
    private static func crc32(_ s: [UInt8]) -> Int {
        Int(s.withUnsafeBufferPointer { CZlib.crc32(0, $0.baseAddress, uInt($0.count)) })
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }
    }

    // MARK: Time

    static let time: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.time", { c in c.returning(Int(WallClock.now())) }),
        ("ngx.now", { c in c.returning((WallClock.now() * 1000).rounded(.down) / 1000) }),
        ("ngx.update_time", { c in c.nothing }),
        ("ngx.today", { c in c.returning(format(Int(WallClock.now()), "%Y-%m-%d", utc: false)) }),
        ("ngx.localtime", { c in c.returning(format(Int(WallClock.now()), "%Y-%m-%d %H:%M:%S", utc: false)) }),
        ("ngx.utctime", { c in c.returning(format(Int(WallClock.now()), "%Y-%m-%d %H:%M:%S", utc: true)) }),
        ("ngx.http_time", { c in
            guard c.type(1) == .number, let seconds = c.stack.number(at: 1) else { return c.raise("number argument only") }
            return c.returning(HTTPTime.format(Int(seconds)))
        }),
        ("ngx.cookie_time", { c in
            guard c.type(1) == .number, let seconds = c.stack.number(at: 1) else { return c.raise("number argument only") }
            // nginx writes 2-digit years up to 2037, as old browsers read them.
            let year = Int(seconds) >= 2_145_916_800 ? "%Y" : "%y"
            return c.returning(format(Int(seconds), "%a, %d-%b-\(year) %H:%M:%S GMT", utc: true))
        }),
        ("ngx.parse_http_time", { c in
            guard c.type(1) == .string, let text = c.string(1) else { return c.raise("string argument only") }
            guard let seconds = HTTPTime.parse(text) else { return c.returning(nil as String?) }
            return c.returning(seconds)
        }),
    ]

    /// A Unix time with a `strftime` format (C locale), in UTC or local time.
    static func format(_ epochSeconds: Int, _ format: String, utc: Bool) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var text = [CChar](repeating: 0, count: 64)
        let n = strftime(&text, text.count, format, &parts)
        return String(decoding: text[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An error message for a Lua caller.
struct LuaMessage: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// nginx's `ngx_escape_uri` tables that `ngx.escape_uri` offers, and `ngx.unescape_uri`.
struct URIEscape {
    /// Whether each byte is escaped.
    private let escaped: [Bool]

    /// Type 0, a whole URI: space, `#`, `%`, `?`, controls and bytes over 0x7E.
    static let uri = URIEscape { b in b <= 0x20 || b >= 0x7F || "#%?".utf8.contains(b) }
    /// Type 2 (the default), a URI component: all but alphanumerics and `-._~!*'()` (what
    /// lua-nginx-module's table keeps, the documented set plus RFC 3986 sub-delimiters).
    static let component = URIEscape { b in
        !((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-._~!*'()".utf8.contains(b))
    }

    private init(_ escapes: (UInt8) -> Bool) { escaped = (0...255).map { escapes(UInt8($0)) } }

    /// The table of an `ngx.escape_uri` type (0 or 2), else nil.
    init?(kind: Int) {
        switch kind {
        case 0: self = .uri
        case 2: self = .component
        default: return nil
        }
    }

    /// `%XX` (upper-case hex) for each escaped byte.
    func escape(_ s: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        for b in s {
            if escaped[Int(b)] { out += [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 0xF)]] } else { out.append(b) }
        }
        return out
    }

    /// ``escape(_:)`` of a string's bytes.
    func escape(_ s: String) -> String { String(decoding: escape(Array(s.utf8)), as: UTF8.self) }

    /// `ngx.unescape_uri`: `%XX` decoded and `+` as a space; a `%` not followed by two hex
    /// digits is kept with the (up to two) bytes nginx consumed after it.
    static func unescape(_ s: [UInt8]) -> [UInt8] {
        func hex(_ i: Int) -> UInt8? {
            guard i < s.count else { return nil }
            switch s[i] {
            case 0x30...0x39: return s[i] - 0x30
            case 0x41...0x46: return s[i] - 0x41 + 10
            case 0x61...0x66: return s[i] - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "+"):
                out.append(0x20)
                i += 1
            case UInt8(ascii: "%"):
                if let high = hex(i + 1), let low = hex(i + 2) {
                    out.append(high << 4 | low)
                    i += 3
                } else {
                    let end = min(s.count, i + (hex(i + 1) == nil ? 2 : 3))
                    out += s[i..<end]
                    i = end
                }
            default:
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}

extension LuaCall {
    /// A string argument as OpenResty's `tostring` coercion reads it: strings and numbers,
    /// nil as `""`, booleans as `true`/`false`; nil for other types.
    func text(_ index: Int32) -> [UInt8]? {
        switch type(index) {
        case .string, .number: return stack.bytes(at: index)
        case .nil, .none: return []
        case .boolean: return Array((stack.bool(at: index) ? "true" : "false").utf8)
        default: return nil
        }
    }

    /// Pushes bytes as a string (nil when absent) and returns 1.
    func returning(bytes: [UInt8]?) -> Int32 {
        if let bytes { stack.push(bytes: bytes) } else { stack.pushNil() }
        return 1
    }
}
