import KGateSchema

/// Finds where in the source file an error of Kong's error tree points.
///
/// An error path is the chain of `ErrorKey`s from the root of `err_t` to a message, e.g.
/// `services, 1, routes, 2, paths, 3` (indexes 1-based, as in Kong). The position is:
/// - the node the path names, when it exists: for a scalar its value, for a mapping or sequence
///   reached through a key the key itself (`routes:`), for a sequence element the element;
/// - for a missing field (`required field missing`), the closest node that exists: its entity, or
///   the record (`config:`) that lacks it;
/// - `@entity` stands for the entity itself;
/// - an entry keyed by name or id instead of index (reference and some uniqueness errors, e.g.
///   `routes["my-route"]`) is the element of that list whose id or endpoint key (`name`,
///   `username`, `key`, ...) has that value.
public struct ErrorPositions: Sendable {
    /// The parsed document the errors refer to.
    public let document: SourceDocument

    /// Creates a resolver for one document.
    public init(document: SourceDocument) {
        self.document = document
    }

    /// The file name errors should cite (the document's).
    public var fileName: String? { document.fileName }

    /// Endpoint keys by entity name: what Kong uses to key errors that are not by index.
    public static let endpointKeys: [String: [String]] = [
        "services": ["name"], "routes": ["name"], "consumers": ["username", "custom_id"],
        "upstreams": ["name"], "targets": ["target"], "snis": ["name"], "plugins": ["instance_name", "name"],
        "vaults": ["prefix"], "keys": ["name", "kid"], "key_sets": ["name"], "workspaces": ["name"],
        "keyauth_credentials": ["key"], "basicauth_credentials": ["username"],
        "hmacauth_credentials": ["username"], "jwt_secrets": ["key"], "acls": ["group"],
        "oauth2_credentials": ["client_id", "name"], "filter_chains": ["name"],
    ]

    /// The mark for an error path: its node, or the closest ancestor that exists.
    ///
    /// With the `message`, a reference error (`invalid reference 'service: ghost' ...`) points at
    /// the field it names rather than at its entity.
    public func mark(for path: [ErrorKey], message: String? = nil) -> SourceMark? {
        guard let message, let field = Self.referencedField(message) else { return walk(path) }
        var entityPath = path
        if case .index? = entityPath.last { entityPath.removeLast() }
        return walk(entityPath + [.field(field)])
    }

    /// The field named by Kong's `invalid reference '<field>: <value>' ...` message.
    static func referencedField(_ message: String) -> String? {
        let prefix = "invalid reference '"
        guard message.hasPrefix(prefix) else { return nil }
        let rest = message.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let field = String(rest[..<colon])
        return field.isEmpty || field.contains(" ") ? nil : field
    }

    private func walk(_ path: [ErrorKey]) -> SourceMark? {
        var node = document.root
        var value: Value? = document.value
        var lastKey: String?
        var reachedByKey = false
        for key in path {
            switch key {
            case .field("@entity"):
                return Self.mark(of: node, reachedByKey: reachedByKey)
            case .field(let name):
                if let next = node.child(key: name) {
                    node = next
                    value = value?[name]
                    reachedByKey = true
                } else if case .sequence = node.children,
                    let i = Self.element(named: name, in: value, entity: lastKey), let next = node.child(index: i)
                {
                    node = next
                    value = value?.arrayValue?[i]
                    reachedByKey = false
                } else {
                    return Self.mark(of: node, reachedByKey: reachedByKey)
                }
                lastKey = name
            case .index(let i):
                guard let next = node.child(index: i - 1) else {
                    return Self.mark(of: node, reachedByKey: reachedByKey)
                }
                node = next
                if case .array(let items)? = value, i - 1 < items.count { value = items[i - 1] } else { value = nil }
                reachedByKey = false
            }
        }
        return Self.mark(of: node, reachedByKey: reachedByKey)
    }

    /// The mark for a path given as document steps (used for entities while flattening).
    public func mark(for path: [SourceNode.PathComponent]) -> SourceMark? {
        walk(path.map { step -> ErrorKey in
            switch step {
            case .key(let k): return .field(k)
            case .index(let i): return .index(i + 1)
            }
        })
    }

    /// A `{file, line, column}` object for JSON output (`file` only when the name is known).
    public func sourceValue(_ mark: SourceMark) -> Value {
        var object = Object()
        if let fileName { object["file"] = .string(fileName) }
        object["line"] = .integer(mark.line)
        object["column"] = .integer(mark.column)
        return .object(object)
    }

    /// ` (kong.yml:12:7)`: the suffix the CLI text puts after a line.
    public func suffix(_ mark: SourceMark) -> String {
        " (\(fileName.map { "\($0):" } ?? "")\(mark.line):\(mark.column))"
    }

    private static func mark(of node: SourceNode, reachedByKey: Bool) -> SourceMark {
        if reachedByKey, let keyMark = node.keyMark, isContainer(node) {
            return keyMark
        }
        return node.mark
    }

    private static func isContainer(_ node: SourceNode) -> Bool {
        if case .none = node.children { return false }
        return true
    }

    /// The index of the element of an entity list whose id or endpoint key equals `name`.
    private static func element(named name: String, in list: Value?, entity: String?) -> Int? {
        guard case .array(let items)? = list else { return nil }
        let keys = ["id"] + (entity.flatMap { endpointKeys[$0] } ?? ["name", "username"])
        for key in keys {
            if let i = items.firstIndex(where: { $0[key]?.stringValue == name }) { return i }
        }
        return nil
    }
}
