/// An ordered list of HTTP header fields with case-insensitive lookup, as plugins see request
/// and response headers.
///
/// Names keep the case they were given; lookups ignore ASCII case and, like nginx's `$http_*`
/// variables that Kong's `kong.request.get_header` reads, treat `-` and `_` as the same
/// character. Repeated fields stay separate entries, in order.
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

    /// Fields from `(name, value)` pairs, in order.
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
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

    /// The first value of a field (Kong's `get_header`), nil when absent.
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

    /// Replaces every field of that name with one field (at the first one's place, else at
    /// the end): Kong's `set_header`.
    public mutating func set(_ name: String, _ value: String) {
        guard let first = index(of: name) else {
            append(Field(name: name, value: value))
            return
        }
        fields[first] = Field(name: name, value: value)
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

    /// Appends a field (Kong's `add_header`).
    public mutating func add(_ name: String, _ value: String) {
        append(Field(name: name, value: value))
    }

    /// Appends, growing by several fields at once (plugins usually add a few).
    private mutating func append(_ field: Field) {
        if fields.capacity == fields.count { fields.reserveCapacity(fields.count + 8) }
        fields.append(field)
    }

    /// Removes every field of that name (Kong's `clear_header`).
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

    /// Whether two header names are the same field: ASCII case-insensitive, `-` equal to `_`.
    @inlinable
    public static func sameName(_ a: String, _ b: String) -> Bool {
        let x = a.utf8
        let y = b.utf8
        guard x.count == y.count else { return false }
        let fast = x.withContiguousStorageIfAvailable { xp in
            y.withContiguousStorageIfAvailable { yp in
                for i in 0..<xp.count where xp[i] != yp[i] && fold(xp[i]) != fold(yp[i]) { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        for (p, q) in zip(x, y) where p != q && fold(p) != fold(q) { return false }
        return true
    }

    /// The index of the first field with that name.
    @inlinable
    func index(of name: String) -> Int? {
        for i in fields.indices where Self.sameName(fields[i].name, name) { return i }
        return nil
    }

    /// Lower-cases ASCII letters and maps `_` to `-`.
    @inlinable
    public static func fold(_ c: UInt8) -> UInt8 {
        if c >= 0x41 && c <= 0x5A { return c | 0x20 }
        if c == 0x5F { return 0x2D }
        return c
    }
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
