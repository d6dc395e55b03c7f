import KGateSchema

/// Kong's `generate_ids` / `get_key_for_uuid_gen` / `build_cache_key`.
extension DeclarativeSchema {
    /// The parent an item is nested under: its entity, primary key, and the child's fk field name.
    struct Parent {
        var entity: String
        var pk: Object
        var childKey: String
    }

    /// The key string a v5 id is made from, or nil when Kong would use a random id.
    /// Returns `(pkName, key)`; `pkName` is nil when no id may be generated at all.
    func idKey(entity: String, item: Object, parent: Parent?) -> (pkName: String?, key: String?) {
        guard let schema = entities[entity], schema.primaryKey.count == 1 else { return (nil, nil) }
        let pkName = schema.primaryKey[0]
        if item[pkName] != nil { return (nil, nil) }
        guard schema.field(named: pkName)?.uuid == true else { return (nil, nil) }

        if let cacheKey = schema.cacheKey {
            var parts = [entity, workspace(of: item)]
            for k in cacheKey {
                let field = schema.field(named: k)
                if field?.auto == true { return (pkName, nil) }
                switch item[k] {
                case .string(let s)?: parts.append(s)
                case nil:
                    if let parent, k == parent.childKey {
                        guard parent.pk.count == 1, case .string(let id)? = parent.pk["id"] else { return (pkName, nil) }
                        parts.append(id)
                    } else if field?.required == true {
                        return (pkName, nil)
                    } else {
                        parts.append("")
                    }
                default:
                    break  // tables (`{id = ...}`) and other values contribute nothing
                }
            }
            return (pkName, parts.joined(separator: ":"))
        }

        if let endpointKey = schema.endpointKey, let value = item[endpointKey] {
            var key = value.luaString
            let field = schema.field(named: endpointKey)
            if field?.unique != true {
                for (fname, f) in schema.fields where f.type == .foreign && f.onDelete == "cascade" && item[fname] != nil {
                    if let parent {
                        for pkField in entities[f.reference ?? ""]?.primaryKey ?? ["id"] {
                            key += ":" + (parent.pk[pkField]?.luaString ?? "")
                        }
                    } else {
                        key += ":" + (item[fname]?.luaString ?? "")
                    }
                }
                if field?.uniqueAcrossWorkspaces != true { key += ":" + workspace(of: item) }
            }
            return (pkName, key)
        }
        return (pkName, nil)
    }

    func workspace(of item: Object) -> String {
        if case .string(let ws)? = item["ws_id"] { return ws }
        return "*"
    }

    /// Kong's `generate_ids`: sets v5 ids on items whose key can be derived, recursively.
    func generateIDs(_ input: inout Object, parent outer: Parent? = nil) {
        for entity in order {
            guard case .array(var items)? = input[entity] else { continue }
            if let outer, isOwnField(outer.entity, entity) { continue }
            let parent = outer.map { Parent(entity: $0.entity, pk: $0.pk, childKey: childKey(parent: $0.entity, child: entity) ?? "") }
            input[entity] = .null  // release the array so it is mutated in place
            for i in items.indices {
                guard case .object(var item) = items[i] else { continue }
                items[i] = .null
                let (pkName, key) = idKey(entity: entity, item: item, parent: parent)
                if let pkName, let key { item[pkName] = .string(EntityID.generate(entity: entity, key: key)) }
                if let childKeys = foreignChildren[entity], !childKeys.isEmpty {
                    generateIDs(&item, parent: childParent(entity, item))
                }
                items[i] = .object(item)
            }
            input[entity] = .array(items)
        }
    }

    /// Whether a parent's own (non-transient) field carries this name, so it is not a nested child.
    func isOwnField(_ parent: String, _ child: String) -> Bool {
        guard let f = entities[parent]?.field(named: child) else { return false }
        return !f.transient
    }

    /// The parent descriptor handed to children nested in `item` of `entity` (child key filled per child).
    func childParent(_ entity: String, _ item: Object) -> Parent {
        Parent(entity: entity, pk: primaryKey(of: entity, item), childKey: "")
    }

    /// The child's fk field that points at `parent`.
    func childKey(parent: String, child: String) -> String? {
        foreignChildren[parent]?[child]
    }
}
