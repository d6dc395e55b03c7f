/// Query-string (and `application/x-www-form-urlencoded` body) arguments, as Kong's
/// `kong.request.get_query` reads them and `kong.service.request.set_query` writes them.
///
/// Reading follows `ngx.req.get_uri_args`: arguments split on `&`, `+` and `%XX` decoded in
/// names and values, an argument without `=` is a flag (Kong's `true`), `a=` is an empty
/// string, and a repeated name collects its values in order.
public struct QueryArgs: Sendable, Hashable {
    /// One argument; a nil value is a flag (`?debug`).
    public struct Pair: Sendable, Hashable {
        /// The decoded name.
        public var name: String
        /// The decoded value; nil for a flag.
        public var value: String?

        /// Makes an argument.
        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// How Kong's argument table holds a name: `true`, a string, or a list of them.
    public enum Value: Sendable, Hashable {
        /// `?name` (Lua `true`).
        case flag
        /// `?name=value`.
        case string(String)
        /// The name given more than once (nil elements are flags).
        case multiple([String?])

        /// The value when it is exactly one string (what auth plugins accept as a key).
        public var string: String? {
            if case .string(let s) = self { return s }
            return nil
        }
    }

    /// The arguments in order.
    public var pairs: [Pair]

    /// Arguments from pairs.
    public init(_ pairs: [Pair] = []) { self.pairs = pairs }

    /// Parses a raw query (without `?`) or a form body.
    public init(parsing raw: some StringProtocol) {
        var pairs: [Pair] = []
        for part in raw.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                let name = Self.decode(part[part.startIndex..<eq])
                // nginx skips arguments with an empty name (`=x`).
                if name.isEmpty { continue }
                pairs.append(Pair(name: name, value: Self.decode(part[part.index(after: eq)...])))
            } else {
                pairs.append(Pair(name: Self.decode(part[...]), value: nil))
            }
        }
        self.pairs = pairs
    }

    /// True when there is no argument.
    public var isEmpty: Bool { pairs.isEmpty }

    /// The names in first-seen order.
    public var names: [String] {
        var seen: Set<String> = []
        return pairs.compactMap { seen.insert($0.name).inserted ? $0.name : nil }
    }

    /// An argument as Kong's table holds it; nil when absent.
    public subscript(name: String) -> Value? {
        var found: [String?] = []
        for p in pairs where p.name == name { found.append(p.value) }
        switch found.count {
        case 0: return nil
        case 1: return found[0].map(Value.string) ?? .flag
        default: return .multiple(found)
        }
    }

    /// Replaces an argument (at its first place, else at the end); nil removes it.
    public mutating func set(_ name: String, _ value: Value?) {
        let first = pairs.firstIndex { $0.name == name }
        pairs.removeAll { $0.name == name }
        guard let value else { return }
        let new: [Pair]
        switch value {
        case .flag: new = [Pair(name: name, value: nil)]
        case .string(let s): new = [Pair(name: name, value: s)]
        case .multiple(let list): new = list.map { Pair(name: name, value: $0) }
        }
        pairs.insert(contentsOf: new, at: min(first ?? pairs.count, pairs.count))
    }

    /// Encodes as `kong.service.request.set_query` and `set_body` do (Kong's
    /// `make_ordered_args`): each name's arguments encoded together (`a=1&a=2`, `name` alone
    /// for a flag), those pieces sorted by their bytes, names and values percent-encoded except
    /// `A-Z a-z 0-9 - . _ ~`.
    public func encoded() -> String {
        var pieces: [String] = []
        var pieceOfName: [String: Int] = [:]
        for p in pairs {
            let one = Self.encode(p.name) + (p.value.map { "=" + Self.encode($0) } ?? "")
            if let i = pieceOfName[p.name] {
                pieces[i] += "&" + one
            } else {
                pieceOfName[p.name] = pieces.count
                pieces.append(one)
            }
        }
        return pieces.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: "&")
    }

    /// Encodes in the arguments' own order (form bodies).
    public func encodedInOrder() -> String {
        pairs.map { p in Self.encode(p.name) + (p.value.map { "=" + Self.encode($0) } ?? "") }.joined(separator: "&")
    }

    /// `%XX` and `+` decoding; invalid escapes stay as they are.
    public static func decode(_ bytes: Substring.UTF8View.SubSequence) -> String {
        decode(Array(bytes))
    }

    /// `%XX` and `+` decoding of raw bytes.
    public static func decode(_ bytes: some Collection<UInt8>) -> String {
        decode(bytes, plusIsSpace: true)
    }

    /// `%XX` decoding, and `+` as a space when `plusIsSpace` (forms; not URL user info).
    public static func decode(_ bytes: some Collection<UInt8>, plusIsSpace: Bool) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        let b = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let c = b[i]
            if plusIsSpace, c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encodes everything but unreserved characters (`ngx.escape_uri` for components).
    public static func encode(_ s: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for c in s.utf8 {
            if isUnreserved(c) {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(c >> 4)])
                out.append(digits[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// WHATWG `application/x-www-form-urlencoded` serialization, with spaces as `%20` (what
    /// Kong's `clear_query_arg` leaves): keeps `* - . _` and alphanumerics.
    public static func encodeWHATWG(_ s: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in s.utf8 {
            let alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            if alnum || c == 0x2A || c == 0x2D || c == 0x2E || c == 0x5F {
                out.append(c)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(c >> 4)], digits[Int(c & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
