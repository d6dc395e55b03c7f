import KGateSchema
import OrderedCollections

/// Kong's `flattened_errors` (`errors:declarative_config_flattened`, `kong/db/errors.lua`): the
/// error tree turned into one entry per offending input entity.
///
/// Each entry is `{entity_type, entity_name?, entity_id?, entity_tags?, entity, errors}` where
/// `errors` holds `{type: "field", field: "a.b.3", message}` and `{type: "entity", message}` items,
/// as Kong builds them:
/// - sections, entries and fields are visited in *descending* sorted key order (Kong's `drain`
///   sorts the keys and pops from the end), so `host_header` comes before `healthchecks...` and
///   `tags.4` before `tags.3`; nested children are visited in ascending order;
/// - errors of nested children (`services[i].routes[j]`) and of owned records given inline
///   (`client_certificate: {...}`) are hoisted to entries of their own, which come before their
///   parent's entry; the parent's `entity` loses the nested lists, a nested child gains
///   `<parent_fk>: {id}` when the parent has a valid id;
/// - a string error on an entity (uniqueness) becomes `{type: "entity"}`.
///
/// kgate additions: every entry and every error item carries `source: {file, line, column}` when
/// the document is known. What cannot be attributed to an input entity stays in `remaining` (Kong's
/// `fields`): non-table sections such as `abnormal_extra_field = "unknown field"`, and entries keyed
/// by name or id instead of index (reference errors, non-endpoint uniqueness errors). Kong's
/// `drain` actually drops the latter from both `fields` and `flattened_errors`; kgate keeps them
/// in `fields` so that no error is ever lost.
public struct FlattenedErrors: Sendable {
    /// The `flattened_errors` array.
    public var entries: [Value]
    /// What is left of the tree after draining (Kong's `fields` of the flattened body).
    public var remaining: ErrorNode

    /// Flattens `fields` against the input document (`input` is the parsed config as a `Value`).
    public init(
        fields: ErrorNode, input: Value, positions: ErrorPositions? = nil,
        relationships: EntityRelationships = .kong
    ) {
        var builder = Builder(positions: positions, relationships: relationships)
        remaining = builder.flatten(fields, input: input)
        entries = builder.entries
    }
}

extension KongErrorBody {
    /// The `?flatten_errors=1` body: `code`, `name`, `message` (rendered after draining), `fields`
    /// (what remains) and `flattened_errors`.
    public static func flattenedObject(
        fields: ErrorNode, input: Value, positions: ErrorPositions? = nil,
        relationships: EntityRelationships = .kong
    ) -> Value {
        let flat = FlattenedErrors(fields: fields, input: input, positions: positions, relationships: relationships)
        guard case .object(var body) = object(fields: flat.remaining) else { return .null }
        body["flattened_errors"] = .array(flat.entries)
        return .object(body)
    }
}

/// The foreign-key relationships between entities that `flattened_errors` follows.
public struct EntityRelationships: Sendable {
    /// `entity.field` is a foreign key to `reference` (e.g. `routes.service` → `services`).
    public struct ForeignKey: Sendable, Hashable {
        /// The entity holding the foreign field (`routes`).
        public var entity: String
        /// The foreign field (`service`).
        public var field: String
        /// The entity it points at (`services`).
        public var reference: String

        /// Describes one foreign field.
        public init(entity: String, field: String, reference: String) {
            self.entity = entity
            self.field = field
            self.reference = reference
        }
    }

    private var byEntity: [String: [ForeignKey]] = [:]

    /// Builds the lookup from every foreign field: an entity's own foreign fields come first, then
    /// the entities that may be nested in it, in the given order.
    public init(_ foreignKeys: [ForeignKey]) {
        for fk in foreignKeys { byEntity[fk.entity, default: []].append(fk) }
        for fk in foreignKeys { byEntity[fk.reference, default: []].append(fk) }
    }

    /// Kong's `each_foreign_field(entity_type)`.
    public func foreignFields(of entity: String) -> [ForeignKey] { byEntity[entity] ?? [] }

    /// Kong 3.x core entities and bundled plugin DAOs (`ws_id` left out: it is never input).
    public static let kong = EntityRelationships([
        .init(entity: "services", field: "client_certificate", reference: "certificates"),
        .init(entity: "routes", field: "service", reference: "services"),
        .init(entity: "plugins", field: "route", reference: "routes"),
        .init(entity: "plugins", field: "service", reference: "services"),
        .init(entity: "plugins", field: "consumer", reference: "consumers"),
        .init(entity: "filter_chains", field: "route", reference: "routes"),
        .init(entity: "filter_chains", field: "service", reference: "services"),
        .init(entity: "upstreams", field: "client_certificate", reference: "certificates"),
        .init(entity: "targets", field: "upstream", reference: "upstreams"),
        .init(entity: "snis", field: "certificate", reference: "certificates"),
        .init(entity: "keys", field: "set", reference: "key_sets"),
        .init(entity: "keyauth_credentials", field: "consumer", reference: "consumers"),
        .init(entity: "basicauth_credentials", field: "consumer", reference: "consumers"),
        .init(entity: "hmacauth_credentials", field: "consumer", reference: "consumers"),
        .init(entity: "jwt_secrets", field: "consumer", reference: "consumers"),
        .init(entity: "acls", field: "consumer", reference: "consumers"),
        .init(entity: "oauth2_credentials", field: "consumer", reference: "consumers"),
        .init(entity: "oauth2_authorization_codes", field: "service", reference: "services"),
        .init(entity: "oauth2_authorization_codes", field: "credential", reference: "oauth2_credentials"),
        .init(entity: "oauth2_authorization_codes", field: "plugin", reference: "plugins"),
        .init(entity: "oauth2_tokens", field: "service", reference: "services"),
        .init(entity: "oauth2_tokens", field: "credential", reference: "oauth2_credentials"),
        .init(entity: "session_metadatas", field: "session", reference: "sessions"),
    ])
}

// MARK: - The walk

private struct Builder {
    let positions: ErrorPositions?
    let relationships: EntityRelationships
    var entries: [Value] = []

    init(positions: ErrorPositions?, relationships: EntityRelationships) {
        self.positions = positions
        self.relationships = relationships
    }

    /// Kong's `flatten_errors`; returns what stays in `fields`.
    mutating func flatten(_ errT: ErrorNode, input: Value) -> ErrorNode {
        var kept: [ErrorKey: ErrorValue] = [:]
        for (sectionKey, sectionErrors) in drainOrder(errT) {
            guard case .field(let section) = sectionKey, case .node(let sectionNode) = sectionErrors,
                case .array(let items)? = input[section]
            else {
                kept[sectionKey] = sectionErrors
                continue
            }
            var leftover: [ErrorKey: ErrorValue] = [:]
            for (key, errI) in drainOrder(sectionNode) {
                guard case .index(let i) = key, i >= 1, i <= items.count,
                    addEntityErrors(section, items[i - 1], path: [.field(section), .index(i)], errI)
                else {
                    leftover[key] = errI
                    continue
                }
            }
            if !leftover.isEmpty { kept[sectionKey] = .node(sectionNode.filtered(keeping: leftover)) }
        }
        return errT.filtered(keeping: kept)
    }

    /// Kong's `add_entity_errors`. Returns false when the errors could not be attributed to
    /// `entity` (not an object), so that the caller keeps them.
    mutating func addEntityErrors(_ entityType: String, _ entity: Value, path: [ErrorKey], _ err: ErrorValue?) -> Bool {
        var errT: ErrorNode
        switch err {
        case nil: return true
        case .message(let m)?: errT = ErrorNode([(.field("@entity"), .message(m))])
        case .node(let n)?:
            guard !n.isEmpty else { return true }
            errT = n
        }
        guard case .object(var object) = entity else { return false }
        let pk = makePK(entity)

        for ref in relationships.foreignFields(of: entityType) {
            if ref.entity == entityType {
                // An owned record given inline (`client_certificate: {cert: ..., key: ...}`).
                guard let fieldValue = object[ref.field], fieldValue.isTable else { continue }
                object[ref.field] = makePK(fieldValue)
                let fieldErr = errT[.field(ref.field)]
                errT[.field(ref.field)] = nil
                if !addEntityErrors(ref.reference, fieldValue, path: path + [.field(ref.field)], fieldErr) {
                    errT[.field(ref.field)] = fieldErr
                }
            } else {
                // Children nested under this entity (`routes:` of a service).
                let name = ref.entity
                guard let fieldValue = object[name], fieldValue.isTable else { continue }
                object[name] = nil
                guard let fieldErr = errT[.field(name)] else { continue }
                errT[.field(name)] = nil
                guard case .node(let childErrors) = fieldErr else {
                    errT[.field(name)] = fieldErr
                    continue
                }
                let items = fieldValue.arrayValue ?? []
                var leftover: [ErrorKey: ErrorValue] = [:]
                var done = Set<ErrorKey>()
                for (offset, item) in items.enumerated() {
                    let key = ErrorKey.index(offset + 1)
                    guard let childErr = childErrors[key] else { continue }
                    var child = item
                    if case .object(var childObject) = item, childObject[ref.field] == nil, let pk {
                        childObject[ref.field] = pk
                        child = .object(childObject)
                    }
                    if !addEntityErrors(name, child, path: path + [.field(name), key], childErr) {
                        leftover[key] = childErr
                    }
                    done.insert(key)
                }
                for entry in childErrors.entries where !done.contains(entry.key) { leftover[entry.key] = entry.value }
                if !leftover.isEmpty { errT[.field(name)] = .node(childErrors.filtered(keeping: leftover)) }
            }
        }

        guard !errT.isEmpty else { return true }
        var items: [Value] = []
        categorize(errT, ns: nil, path: path, into: &items)
        guard !items.isEmpty else { return true }

        var entry = Object()
        entry["entity_type"] = .string(singular(entityType))
        if let name = object["name"]?.stringValue, !name.isEmpty { entry["entity_name"] = .string(name) }
        if let id = object["id"]?.stringValue, UUIDFormat.isValid(id) { entry["entity_id"] = .string(id) }
        if let tags = validTags(object["tags"]) { entry["entity_tags"] = tags }
        entry["entity"] = .object(object)
        entry["errors"] = .array(items)
        if let positions, let mark = positions.mark(for: path) { entry["source"] = positions.sourceValue(mark) }
        entries.append(.object(entry))
        return true
    }

    /// Kong's `categorize_errors`: field errors with dotted paths, `@entity` lists (of the entity
    /// or of a record inside it) as entity errors. `path` locates `errs` in the document.
    func categorize(_ errs: ErrorNode, ns: String?, path: [ErrorKey], into items: inout [Value]) {
        for (key, err) in drainOrder(errs) {
            let fieldPath = path + [key]
            if key == .field("@entity") {
                addEntityError(err, entityPath: path, into: &items)
                continue
            }
            let joined = ns.map { "\($0).\(key)" } ?? key.description
            switch err {
            case .message(let m):
                var item = Object()
                item["type"] = "field"
                // Kong's `join` gives a bare number for an index at the top of the tree.
                if ns == nil, case .index(let i) = key {
                    item["field"] = .integer(i)
                } else {
                    item["field"] = .string(joined)
                }
                item["message"] = .string(m)
                addSource(to: &item, path: fieldPath)
                items.append(.object(item))
            case .node(let n):
                categorize(n, ns: joined, path: fieldPath, into: &items)
            }
        }
    }

    /// Kong's `add_entity_error`: a message, or the messages of a list (in order).
    func addEntityError(_ err: ErrorValue, entityPath: [ErrorKey], into items: inout [Value]) {
        switch err {
        case .message(let m):
            var item = Object()
            item["type"] = "entity"
            item["message"] = .string(m)
            addSource(to: &item, path: entityPath)
            items.append(.object(item))
        case .node(let n):
            var i = 1
            while let v = n[.index(i)] {
                addEntityError(v, entityPath: entityPath, into: &items)
                i += 1
            }
        }
    }

    func addSource(to item: inout Object, path: [ErrorKey]) {
        if let positions, let mark = positions.mark(for: path) { item["source"] = positions.sourceValue(mark) }
    }
}

// MARK: - Kong's helpers

/// Kong's `drain`: keys sorted, then popped from the end (descending). Indexes sort before names.
private func drainOrder(_ node: ErrorNode) -> [(ErrorKey, ErrorValue)] {
    node.entries.sorted { a, b in
        switch (a.key, b.key) {
        case (.index(let x), .index(let y)): return x > y
        case (.field(let x), .field(let y)): return Array(y.utf8).lexicographicallyPrecedes(Array(x.utf8))
        case (.field, .index): return true
        case (.index, .field): return false
        }
    }.map { ($0.key, $0.value) }
}

private func singular(_ noun: String) -> String {
    noun.hasSuffix("s") ? String(noun.dropLast()) : noun
}

private func makePK(_ value: Value) -> Value? {
    guard let id = value["id"]?.stringValue, UUIDFormat.isValid(id) else { return nil }
    return .object(["id": .string(id)])
}


/// Kong's `validate_tags`: an array (or empty table) of strings only.
private func validTags(_ tags: Value?) -> Value? {
    switch tags {
    case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }): return tags
    case .object(let o)? where o.isEmpty: return tags
    default: return nil
    }
}

extension ErrorNode {
    /// This node with only the given entries, in the node's original order.
    fileprivate func filtered(keeping kept: [ErrorKey: ErrorValue]) -> ErrorNode {
        ErrorNode(entries.compactMap { entry in kept[entry.key].map { (entry.key, $0) } })
    }
}
