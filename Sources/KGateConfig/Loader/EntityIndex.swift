import KGateSchema
import OrderedCollections

/// Kong's `validate_references` and the flat tables of `flatten`: entities by id and by endpoint
/// key, reference checks, and uniqueness checks, with Kong's messages and error placement.
struct EntityIndex {
    private let schema: DeclarativeSchema
    /// entity → id → item, in Kong's registration order.
    private var byID: [String: OrderedDictionary<String, DeclarativeSchema.Item>] = [:]
    /// workspace → entity → endpoint-key value → item.
    private var byKey: [String: [String: [String: Object]]] = [:]
    private(set) var errors: ErrorNode?

    init(schema: DeclarativeSchema, items: [DeclarativeSchema.Item]) {
        self.schema = schema
        var errs = ErrorNode()
        var expected: [(entity: String, at: ErrorKey, field: String, target: String, value: Value, ws: String)] = []

        for item in items {
            guard let entitySchema = schema.entities[item.entity] else { continue }
            let ws = schema.workspace(of: item.object)
            let endpointKey = entitySchema.endpointKey.flatMap { ek in entitySchema.field(named: ek)?.unique == true ? ek : nil }
            var key: Value?
            if let endpointKey, let v = item.object[endpointKey], !v.isNull { key = v }
            let id = Self.pkString(entitySchema, item.object)

            var failed = false
            if let key, let endpointKey {
                let scope = entitySchema.field(named: endpointKey)?.uniqueAcrossWorkspaces == true ? "*" : ws
                let k = key.luaString
                if byKey[scope]?[item.entity]?[k] != nil {
                    errs.setValue(
                        .message("uniqueness violation: '\(item.entity)' entity with \(endpointKey) set to '\(k)' already declared"),
                        at: item.errorPath)
                    failed = true
                } else {
                    byKey[scope, default: [:]][item.entity, default: [:]][k] = item.object
                }
            }
            if let id {
                if !failed, byID[item.entity]?[id] != nil {
                    errs.setValue(
                        .message("uniqueness violation: '\(item.entity)' entity with primary key set to '\(id)' already declared"),
                        at: item.errorPath)
                } else {
                    byID[item.entity, default: [:]][id] = item
                }
            }
            let at: ErrorKey = key.map { .field($0.luaString) } ?? id.map { .field($0) } ?? item.errorPath.last ?? .index(0)
            for (field, target) in schema.foreignReferences[item.entity] ?? [:] {
                guard let v = item.object[field], v != .null, field != item.nestedChildKey else { continue }
                expected.append((item.entity, at, field, target, v, ws))
            }
        }

        for ref in expected {
            var key = ref.value
            if case .object(let o) = ref.value, let id = o["id"] { key = id }
            if find(ws: ref.ws, key: key.luaString, entity: ref.target, isString: key.stringValue != nil) != nil { continue }
            let shown = ref.value.stringValue ?? ref.value.jsonText
            let message = "invalid reference '\(ref.field): \(shown)' (no such entry in '\(ref.target)')"
            var entityErrs = errs[.field(ref.entity)]?.node ?? ErrorNode()
            var list = entityErrs[ref.at]?.node ?? ErrorNode()
            list[.index(list.count + 1)] = .message(message)
            entityErrs[ref.at] = .node(list)
            errs[.field(ref.entity)] = .node(entityErrs)
        }
        errors = errs.isEmpty ? nil : errs
    }

    /// Kong's `find_entity`: endpoint key first, then primary key.
    private func find(ws: String, key: String, entity: String, isString: Bool) -> Object? {
        if let hit = byKey[ws]?[entity]?[key] ?? byKey["*"]?[entity]?[key] { return hit }
        return byID[entity]?[key]?.object
    }

    static func pkString(_ schema: Schema, _ item: Object) -> String? {
        let parts = schema.primaryKey.compactMap { item[$0].map { $0.luaString } }
        guard parts.count == schema.primaryKey.count, !parts.isEmpty else { return nil }
        return parts.joined(separator: ":")
    }

    /// The flat entity tables: schema fields only, foreign keys as primary-key objects, unique
    /// fields checked, transformations applied when `_transform` is on.
    func flatEntities(transform: Bool) -> Result<[String: OrderedDictionary<String, Object>], ErrorNode> {
        var out: [String: OrderedDictionary<String, Object>] = [:]
        var errs = ErrorNode()
        for entity in schema.order {
            guard let entries = byID[entity], let entitySchema = schema.entities[entity] else { continue }
            var uniques: [String: Set<String>] = [:]
            var table = OrderedDictionary<String, Object>()
            table.reserveCapacity(entries.count)
            for (id, item) in entries {
                let entry = item.object
                let sub = entitySchema.subschema(for: entry)
                var flat = Object()
                flat.reserveCapacity(entitySchema.fields.count + 1)
                for (name, base) in entitySchema.fields {
                    let field = sub?.field(named: name) ?? base
                    var value = entry[name]
                    if base.type == .foreign, case .string(let ref)? = value {
                        let ws = schema.workspace(of: entry)
                        let target = base.reference ?? ""
                        value = find(ws: ws, key: ref, entity: target, isString: true).map {
                            .object(schema.primaryKey(of: target, $0))
                        }
                    }
                    if let value { flat[name] = value }
                    if field.unique, let v = flat[name], v != .null {
                        let shown = v.luaString
                        var uniqueKey = shown
                        if case .object(let o) = v { uniqueKey = o["id"]?.luaString ?? shown }
                        if entitySchema.workspaceable && !field.uniqueAcrossWorkspaces {
                            uniqueKey = schema.workspace(of: entry) + ":" + uniqueKey
                        }
                        if uniques[name, default: []].insert(uniqueKey).inserted == false {
                            let at = entitySchema.endpointKey.flatMap { flat[$0]?.stringValue } ?? id
                            // Kong keeps only the last such error per entity type.
                            errs[.field(entity)] = .node(ErrorNode([(
                                .field(at),
                                .message("uniqueness violation: '\(entity)' entity with \(name) set to '\(shown)' already declared")
                            )]))
                        }
                    }
                }
                if entitySchema.ttl, let ttl = entry["ttl"], ttl != .null { flat["ttl"] = ttl }
                if transform {
                    for t in entitySchema.transformations + (sub?.transformations ?? []) { flat = t.transform(flat) }
                }
                table[id] = flat
            }
            out[entity] = table
        }
        return errs.isEmpty ? .success(out) : .failure(errs)
    }
}

extension DeclarativeSchema.Item {
    /// For a nested item, the foreign field that holds its parent's key (not a user reference).
    var nestedChildKey: String? { nestedUnder }
}

extension ErrorNode {
    /// Sets a value at a path of keys, creating nested tables as needed.
    mutating func setValue(_ value: ErrorValue, at path: [ErrorKey]) {
        guard let first = path.first else { return }
        if path.count == 1 {
            self[first] = value
            return
        }
        updateChild(first) { $0.setValue(value, at: Array(path.dropFirst())) }
    }
}
