/// An ordered list of HTTP header fields, as plugins see request and response headers.
///
/// Names keep the case they were given. The plain lookups and changes (`subscript`, ``values(_:)``,
/// ``set(_:_:)``, ``remove(_:)``) compare names as nginx does when Lua sets or clears a header:
/// ASCII case-insensitive and otherwise exact, so `X-Api-Key` is not `x_api_key` (Kong's
/// nginx keeps `underscores_in_headers on`, so a client may send either). Kong's own lookups
/// by name are ``tableValue(_:)`` (the `get_headers()` table) and ``variable(_:)`` (the
/// `$http_*` variable behind `kong.request.get_header`). Repeated fields stay separate
/// entries, in order.
public struct HTTPFields: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One field.
    public struct Field: Sendable, Hashable {
        /// The name as received or set.
        public var name: String
        /// The value.
        public var value: String

        /// Makes a field.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The fields in order.
    public internal(set) var fields: [Field]

    /// An empty list.
    public init() { fields = [] }

    /// These fields, in order.
    public init(fields: [Field]) { self.fields = fields }

    /// Fields from `(name, value)` pairs, in order.
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// Fields from header lines (`name: value`, each ended by LF or CRLF), as a chunked body's
    /// trailer section carries them; lines without a colon are skipped.
    public init(trailerLines bytes: [UInt8]) {
        self.init()
        for line in bytes.split(separator: 0x0A) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x0D || last == 0x20 || last == 0x09 { value = value.dropLast() }
            fields.append(Field(name: name, value: String(decoding: value, as: UTF8.self)))
        }
    }

    /// Fields from a literal (`["Content-Type": "text/plain"]`), in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of fields (repeated names count once per field).
    public var count: Int { fields.count }
    /// True when there is no field.
    public var isEmpty: Bool { fields.isEmpty }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of a field, nil when absent.
    public subscript(name: String) -> String? {
        index(of: name).map { fields[$0].value }
    }

    /// Every value of a field, in order.
    public func values(_ name: String) -> [String] {
        fields.lazy.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// The first value of a field and how many fields have that name, without allocating.
    public func firstValue(_ name: String) -> (value: String, count: Int)? {
        guard let i = index(of: name) else { return nil }
        var count = 1
        for j in (i + 1)..<fields.count where Self.sameName(fields[j].name, name) { count += 1 }
        return (fields[i].value, count)
    }

    /// Whether a field is present.
    public func contains(_ name: String) -> Bool { index(of: name) != nil }

    /// Replaces every field of that name with one field (the first one, keeping its name as
    /// nginx does, else a new one at the end): nginx's `set_header`.
    public mutating func set(_ name: String, _ value: String) {
        guard let first = index(of: name) else {
            append(Field(name: name, value: value))
            return
        }
        fields[first].value = value
        var i = fields.count - 1
        while i > first {
            if Self.sameName(fields[i].name, name) { fields.remove(at: i) }
            i -= 1
        }
    }

    /// Replaces a field with several values (one field per value); removes it when empty.
    public mutating func set(_ name: String, values: [String]) {
        guard let first = values.first else {
            remove(name)
            return
        }
        set(name, first)
        for v in values.dropFirst() { add(name, v) }
    }

    /// Appends a field (`ngx.resp.add_header`).
    public mutating func add(_ name: String, _ value: String) {
        append(Field(name: name, value: value))
    }

    /// Appends, growing by several fields at once (plugins usually add a few).
    private mutating func append(_ field: Field) {
        if fields.capacity == fields.count { fields.reserveCapacity(fields.count + 8) }
        fields.append(field)
    }

    /// Removes every field of that name (nginx's `clear_header`).
    public mutating func remove(_ name: String) {
        guard index(of: name) != nil else { return }
        fields.removeAll { Self.sameName($0.name, name) }
    }

    /// Applies recorded edits in order.
    public mutating func apply(_ edits: [HeaderEdit]) {
        for edit in edits {
            switch edit {
            case .set(let n, let v): set(n, v)
            case .add(let n, let v): add(n, v)
            case .remove(let n): remove(n)
            }
        }
    }

    // MARK: Kong's lookups

    /// Kong's `get_headers()[name]` (`kong.request.get_headers`, `kong.response.get_headers`):
    /// a Lua table keyed by lower-cased field names, whose `__index` retries a missing key
    /// lower-cased with `_` as `-`. So `x_api_key` finds a field sent as `x_api_key` (its own
    /// key) or as `X-Api-Key` (through `__index`), but `x-api-key` or `X_API_KEY` never find
    /// `x_api_key`. The first value and how many fields the key holds; nil when absent.
    public func tableValue(_ name: String) -> (value: String, count: Int)? {
        guard let (first, rule) = tableMatch(name) else { return nil }
        var count = 1
        for j in (first + 1)..<fields.count where Self.matches(fields[j].name, name, rule) { count += 1 }
        return (fields[first].value, count)
    }

    /// Every value of ``tableValue(_:)``'s key, in order (empty when absent).
    public func tableValues(_ name: String) -> [String] {
        guard let (first, rule) = tableMatch(name) else { return [] }
        return fields[first...].lazy.filter { Self.matches($0.name, name, rule) }.map(\.value)
    }

    /// The first field the table holds under `name` itself, else under its `__index` key.
    private func tableMatch(_ name: String) -> (Int, NameRule)? {
        if let i = index(of: name, .lowered) { return (i, .lowered) }
        if let i = index(of: name, .tableKey) { return (i, .tableKey) }
        return nil
    }

    /// nginx's `$http_<name>`, which `kong.request.get_header` reads first: the fields whose
    /// names equal `name` ignoring ASCII case with `-` and `_` alike, their values joined with
    /// `, `. For the headers nginx parses itself (`Host`, `User-Agent`, `Referer`, `Via`,
    /// `X-Forwarded-For`, `Cookie`) only fields of exactly that name count, and cookies join
    /// with `; `. Nil when no field matches.
    public func variable(_ name: String) -> String? {
        let builtin = Self.builtinVariables.first { Self.matches($0.variable, name, .variable) }
        var first: String?
        var joined: String?
        for field in fields {
            let match = builtin.map { Self.sameName(field.name, $0.field) } ?? Self.matches(field.name, name, .variable)
            guard match else { continue }
            if let head = joined ?? first {
                joined = head + (builtin?.separator ?? ", ") + field.value
            } else {
                first = field.value
            }
        }
        return joined ?? first
    }

    /// nginx's variables for headers it parses itself (others go through the generic
    /// `$http_*` lookup).
    private static let builtinVariables: [(variable: String, field: String, separator: String)] = [
        ("host", "host", ", "), ("user_agent", "user-agent", ", "), ("referer", "referer", ", "),
        ("via", "via", ", "), ("x_forwarded_for", "x-forwarded-for", ", "), ("cookie", "cookie", "; "),
    ]

    /// A response header's name as nginx stores it when Lua sets it
    /// (`lua_transform_underscores_in_response_headers`, on in Kong): `_` becomes `-`.
    public static func responseName(_ name: String) -> String {
        guard hasByte(name, where: { $0 == 0x5F }) else { return name }
        return String(decoding: name.utf8.map { $0 == 0x5F ? 0x2D : $0 }, as: UTF8.self)
    }

    /// A name lower-cased (ASCII): the key Kong's `get_headers()` table files a field under.
    public static func lowercased(_ name: String) -> String {
        guard hasByte(name, where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        return String(decoding: name.utf8.map(lower), as: UTF8.self)
    }

    /// Whether a byte of `s` passes `test`: a loop over its contiguous UTF-8 (every native
    /// string has it), several times faster than iterating `utf8` on plugin hot paths.
    @inline(__always)
    static func hasByte(_ s: String, where test: (UInt8) -> Bool) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { $0.contains(where: test) } ?? s.utf8.contains(where: test)
    }

    /// The key the `get_headers()` table's `__index` retries: lower-cased, `_` as `-`.
    public static func tableKey(_ name: String) -> String {
        String(decoding: name.utf8.map { $0 == 0x5F ? 0x2D : lower($0) }, as: UTF8.self)
    }

    // MARK: Comparing names

    /// Whether two header names are the same field for nginx's `set_header` and
    /// `clear_header`: equal ignoring ASCII case (`-` and `_` differ).
    @inlinable
    public static func sameName(_ a: String, _ b: String) -> Bool { matches(a, b, .caseless) }

    /// How a lookup compares a field's name with the name asked for.
    @usableFromInline
    enum NameRule {
        /// Equal ignoring ASCII case.
        case caseless
        /// The field's name lower-cased is the name as given (a Lua table's own key).
        case lowered
        /// The field's name lower-cased is the name lower-cased with `_` as `-` (the
        /// table's `__index`).
        case tableKey
        /// Equal ignoring ASCII case, `-` equal to `_` (nginx's `$http_*`).
        case variable
    }

    /// Whether a field's name matches a name under a rule.
    @inlinable
    static func matches(_ field: String, _ name: String, _ rule: NameRule) -> Bool {
        let x = field.utf8
        let y = name.utf8
        guard x.count == y.count else { return false }
        let fast = x.withContiguousStorageIfAvailable { xp in
            y.withContiguousStorageIfAvailable { yp in
                for i in 0..<xp.count where !same(xp[i], yp[i], rule) { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        for (p, q) in zip(x, y) where !same(p, q, rule) { return false }
        return true
    }

    @inlinable @inline(__always)
    static func same(_ f: UInt8, _ n: UInt8, _ rule: NameRule) -> Bool {
        switch rule {
        case .caseless: return f == n || lower(f) == lower(n)
        case .lowered: return lower(f) == n
        case .tableKey: return lower(f) == (n == 0x5F ? 0x2D : lower(n))
        case .variable: return f == n || underscored(f) == underscored(n)
        }
    }

    /// The index of the first field matching a name.
    @inlinable
    func index(of name: String, _ rule: NameRule = .caseless) -> Int? {
        // Lengths first: a name of another length is not read (nor retained).
        let length = name.utf8.count
        return fields.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i].name.utf8.count == length && Self.matches(buffer[i].name, name, rule) {
                return i
            }
            return nil
        }
    }

    /// Lower-cases an ASCII letter.
    @inlinable @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    /// Lower-cases an ASCII letter and maps `-` to `_` (nginx's `$http_*` comparison).
    @inlinable @inline(__always)
    static func underscored(_ c: UInt8) -> UInt8 { c == 0x2D ? 0x5F : lower(c) }
}

/// A change to a header list, recorded before the list exists (response headers set during
/// `access` apply to the response sent later).
public enum HeaderEdit: Sendable, Hashable {
    /// Replace every field of that name with one.
    case set(String, String)
    /// Append a field.
    case add(String, String)
    /// Remove every field of that name.
    case remove(String)
}
