import KGateSchema
import OrderedCollections

/// Kong's `flatten`: validate, generate ids, fill defaults, resolve references, check uniqueness.
extension DeclarativeSchema {
    /// One entity found while walking the (possibly nested) input.
    struct Item {
        var entity: String
        var object: Object
        /// Where the item sits in the error tree: `[.field("services"), .index(1), .field("routes"), .index(2)]`.
        var errorPath: [ErrorKey]
        /// For nested items: the foreign field that was filled with the parent's key.
        var nestedUnder: String? = nil
    }

    typealias Flat = (entities: [String: OrderedDictionary<String, Object>], meta: Object)

    /// Why a flatten failed: Kong's error tree, and whether Kong had generated the ids on the
    /// input by then (reference and uniqueness errors come after `generate_ids`, validation
    /// errors before it; `flattened_errors` shows the input as it was at that point).
    struct Failure: Error {
        var errors: ErrorNode
        var afterIDs: Bool
    }

    /// Flattens an input into entity tables, or Kong's error tree.
    ///
    /// Kong validates, then generates ids, then fills defaults. kgate generates the ids first and
    /// processes the input once; validating the processed input gives the same answer, because
    /// Kong processes every record before validating it anyway.
    ///
    /// `reread` gives the raw input again for the error path, so the raw tree is released as soon
    /// as it has been processed.
    func flatten(
        _ raw: consuming Object, full: DeclarativeSchema, auto: Schema.AutoValues, reread: () -> Object
    ) -> Result<Flat, Failure> {
        var input = raw
        Self.prepare(&input)
        generateIDs(&input)
        let processed: Object
        switch schema.processAutoFields(consume input, context: .insert, auto: auto) {
        case .failure(let e): return .failure(Failure(errors: e, afterIDs: false))
        case .success(let p): processed = p
        }

        if let errors = schema.validate(processed, preprocessed: true) {
            // Validation may fail only because nested records name their parent; Kong retries with
            // the full schema after resolving names, keeping the `value must be null` errors.
            var copy = reread()
            Self.prepare(&copy)
            generateIDs(&copy)
            full.populateIDsForValidation(&copy)
            guard var second = full.schema.validate(copy) else { return proceed(consume processed) }
            second.merge(Self.nullErrors(errors))
            return .failure(Failure(errors: second, afterIDs: false))
        }
        return proceed(consume processed)
    }

    /// `_transform` defaults to true before validation (Kong sets it on the input).
    static func prepare(_ input: inout Object) {
        if input["_transform"] == nil { input["_transform"] = .bool(true) }
    }

    private func proceed(_ processed: consuming Object) -> Result<Flat, Failure> {
        var meta = Object()
        for (k, v) in processed where k.hasPrefix("_") { meta[k] = v }
        if let format = meta["_format_version"], format != .string("3.0") { meta["_format_version"] = "3.0" }
        let transform = meta["_transform"] != .bool(false)

        var items: [Item] = []
        collect(processed, parent: nil, path: [], into: &items)
        _ = consume processed  // the items share its entities; the tree itself is no longer needed
        let index = EntityIndex(schema: self, items: consume items)
        if let errors = index.errors { return .failure(Failure(errors: errors, afterIDs: true)) }

        switch index.flatEntities(transform: transform) {
        case .failure(let e): return .failure(Failure(errors: e, afterIDs: true))
        case .success(let entities): return .success((entities, meta))
        }
    }

    /// Kong's `populate_references` walk order: children first, then the item; nested items get
    /// their parent's primary key in their foreign field.
    func collect(_ input: Object, parent: (entity: String, pk: Object)?, path: [ErrorKey], into items: inout [Item]) {
        for entity in order {
            guard case .array(let list)? = input[entity] else { continue }
            if let parent, isOwnField(parent.entity, entity) { continue }
            let nestedKey = parent.flatMap { self.childKey(parent: $0.entity, child: entity) }
            for (i, value) in list.enumerated() {
                guard case .object(var item) = value else { continue }
                let itemPath = path + [.field(entity), .index(i + 1)]
                if foreignChildren[entity] != nil {
                    collect(item, parent: (entity, primaryKey(of: entity, item)), path: itemPath, into: &items)
                }
                if let parent, let nestedKey { item[nestedKey] = .object(parent.pk) }
                items.append(Item(entity: entity, object: item, errorPath: itemPath, nestedUnder: nestedKey))
            }
        }
    }

    /// Kong's `extract_null_errors`: only the `value must be null` messages of a tree.
    static func nullErrors(_ node: ErrorNode) -> ErrorNode {
        var out = ErrorNode()
        for (k, v) in node.entries {
            switch v {
            case .message(let m) where m == "value must be null": out[k] = v
            case .node(let n):
                let sub = nullErrors(n)
                if !sub.isEmpty { out[k] = .node(sub) }
            default: break
            }
        }
        return out
    }

    /// Kong's `populate_ids_for_validation`: ids for every item, parent keys for nested items,
    /// and foreign names resolved to primary keys, so the full schema can validate them.
    func populateIDsForValidation(_ input: inout Object) {
        var byID: [String: [String: Object]] = [:]
        var byKey: [String: [String: Object]] = [:]
        assignIDs(&input, parent: nil, byID: &byID, byKey: &byKey)
        resolveNames(&input, parent: nil, byID: byID, byKey: byKey)
    }

    private func assignIDs(
        _ input: inout Object, parent: Parent?, byID: inout [String: [String: Object]], byKey: inout [String: [String: Object]]
    ) {
        for entity in order {
            guard case .array(var list)? = input[entity], let schema = entities[entity] else { continue }
            if let parent, isOwnField(parent.entity, entity) { continue }
            let p = parent.map { Parent(entity: $0.entity, pk: $0.pk, childKey: childKey(parent: $0.entity, child: entity) ?? "") }
            input[entity] = .null
            for i in list.indices {
                guard case .object(var item) = list[i] else { continue }
                let (pkName, key) = idKey(entity: entity, item: item, parent: p)
                if let pkName, item[pkName] == nil {
                    item[pkName] = .string(key.map { EntityID.generate(entity: entity, key: $0) } ?? EntityID.random())
                }
                assignIDs(&item, parent: Parent(entity: entity, pk: primaryKey(of: entity, item), childKey: ""), byID: &byID, byKey: &byKey)
                if let id = item["id"]?.stringValue { byID[entity, default: [:]][id] = item }
                if let ek = schema.endpointKey, let k = item[ek]?.stringValue { byKey[entity, default: [:]][k] = item }
                if let p, item[p.childKey] == nil { item[p.childKey] = .object(p.pk) }
                list[i] = .object(item)
            }
            input[entity] = .array(list)
        }
    }

    private func resolveNames(
        _ input: inout Object, parent: String?, byID: [String: [String: Object]], byKey: [String: [String: Object]]
    ) {
        for entity in order {
            guard case .array(var list)? = input[entity] else { continue }
            if let parent, isOwnField(parent, entity) { continue }
            input[entity] = .null
            for i in list.indices {
                guard case .object(var item) = list[i] else { continue }
                for (field, target) in foreignReferences[entity] ?? [:] {
                    guard case .string(let ref)? = item[field] else { continue }
                    if let found = byKey[target]?[ref] ?? byID[target]?[ref] {
                        item[field] = .object(primaryKey(of: target, found))
                    }
                }
                resolveNames(&item, parent: entity, byID: byID, byKey: byKey)
                list[i] = .object(item)
            }
            input[entity] = .array(list)
        }
    }
}
