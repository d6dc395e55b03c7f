/// A key in Kong's error table: a field name or a 1-based array index (as in Lua).
public enum ErrorKey: Hashable, Sendable, CustomStringConvertible {
    case field(String)
    /// 1-based, as Kong reports `entry 1 of 'services'`.
    case index(Int)

    public var description: String {
        switch self {
        case .field(let f): return f
        case .index(let i): return String(i)
        }
    }
}

/// One entry of Kong's error table: a message, or a nested table of errors.
public indirect enum ErrorValue: Sendable, Equatable {
    case message(String)
    case node(ErrorNode)

    public var message: String? {
        if case .message(let m) = self { return m } else { return nil }
    }
    public var node: ErrorNode? {
        if case .node(let n) = self { return n } else { return nil }
    }
}

/// Kong's error table (`err_t`): field → message or nested table, `@entity` → list of messages.
///
/// Entries keep insertion order, which is the order kgate renders them in (Kong's own order
/// follows Lua's `pairs` and is not stable).
public struct ErrorNode: Sendable, Equatable {
    public private(set) var entries: [(key: ErrorKey, value: ErrorValue)] = []

    public init() {}

    public init(_ entries: [(ErrorKey, ErrorValue)]) {
        for (k, v) in entries { self[k] = v }
    }

    public static func == (lhs: ErrorNode, rhs: ErrorNode) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// Appends an entry whose key is known not to be present yet (no search).
    public mutating func append(_ key: ErrorKey, _ value: ErrorValue) {
        entries.append((key, value))
    }
    public var count: Int { entries.count }

    public subscript(key: ErrorKey) -> ErrorValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public subscript(field: String) -> ErrorValue? {
        get { self[.field(field)] }
        set { self[.field(field)] = newValue }
    }

    public subscript(index: Int) -> ErrorValue? {
        get { self[.index(index)] }
        set { self[.index(index)] = newValue }
    }

    /// Kong's `insert_entity_error`: appends a message to the `@entity` list.
    public mutating func addEntityError(_ message: String) {
        updateChild(.field("@entity")) { list in list[.index(list.count + 1)] = .message(message) }
    }

    /// Kong's `set_field(errors, "a.b", msg)`: sets a message at a dotted path.
    public mutating func set(path: String, _ message: String) {
        guard let (head, tail) = path.splitAtFirstDot() else {
            self[.field(path)] = .message(message)
            return
        }
        updateChild(.field(head)) { $0.set(path: tail, message) }
    }

    /// Changes the node under `key` in place (an empty one when absent, or replacing a
    /// message). The child is moved out while it changes, so its entries are never copied: a
    /// config with thousands of errors under one key builds its tree in linear copies.
    public mutating func updateChild(_ key: ErrorKey, _ body: (inout ErrorNode) -> Void) {
        guard let i = entries.firstIndex(where: { $0.key == key }) else {
            var child = ErrorNode()
            body(&child)
            entries.append((key, .node(child)))
            return
        }
        var child = entries[i].value.node ?? ErrorNode()
        entries[i].value = .message("")
        body(&child)
        entries[i].value = .node(child)
    }

    /// Deep merge, `other` winning on conflicting messages (Kong's `cycle_aware_deep_merge`).
    public mutating func merge(_ other: ErrorNode) {
        for (k, v) in other.entries {
            if case .node(let theirs) = v, case .node(var mine)? = self[k] {
                mine.merge(theirs)
                self[k] = .node(mine)
            } else {
                self[k] = v
            }
        }
    }

    /// Whether a field has an error (Kong's `errors[fname]` test, dotted paths walk nested tables).
    public func hasError(at path: String) -> Bool {
        guard let (head, tail) = path.splitAtFirstDot() else { return self[.field(path)] != nil }
        guard case .node(let child)? = self[.field(head)] else { return self[.field(path)] != nil }
        return child.hasError(at: tail)
    }
}

extension ErrorNode: CustomStringConvertible {
    /// A compact debugging form: `{host="required field missing",port="..."}`.
    public var description: String {
        "{" + entries.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }
}

extension ErrorValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .message(let m): return "\"\(m)\""
        case .node(let n): return n.description
        }
    }
}

/// Kong's `validation_errors` texts that the engine itself produces.
public enum SchemaMessages {
    public static let unknownField = "unknown field"
    public static let required = "required field missing"
    public static let requiredForEntityCheck = "field required for entity check"
    public static let abstractField = "error in schema definition: abstract field was not specialized"
    public static let missingPrimaryKey = "missing primary key"
    public static let notPrimaryKey = "not a primary key"
    public static let expectedString = "expected a string"
    public static let expectedInteger = "expected an integer"
    public static let expectedNumber = "expected a number"
    public static let expectedBoolean = "expected a boolean"
    public static let expectedArray = "expected an array"
    public static let expectedSet = "expected a set"
    public static let expectedMap = "expected a map"
    public static let expectedRecord = "expected a record"
    public static let expectedUUID = "expected a valid UUID"
    public static let expectedTimestamp = "expected a valid timestamp"
    public static let entityCheckFailed = "entity check failed"

    /// Kong's `quoted_list`: `'a', 'b'`.
    public static func quotedList(_ words: [String]) -> String {
        words.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// Kong's `quoted_list` over a list of lists: `('a', 'b'), ('c')`.
    public static func quotedSets(_ sets: [[String]]) -> String {
        sets.map { "(\(quotedList($0)))" }.joined(separator: ", ")
    }
}
