import KGateConfig
import KGateHTTP
import KGateSchema
import KGateStore
import NIOHTTP1

/// Writes on entity endpoints, refused as DB-less Kong refuses them: the DAO reads and validates
/// first (404, 400 code 2, a delete of nothing is 204), then the "off" strategy answers 405 code
/// 12 `cannot <create|update|create or update|remove> '<entity>' entities when not using a
/// database` (with ` by '<field>'` when the key was an endpoint key). Nothing is ever changed.
extension AdminContext {
    /// The body's arguments for an entity, form strings typed by its schema.
    func params(for entity: String) -> Object {
        guard let schema = schema(entity) else { return body.params }
        return body.inferred(by: schema)
    }

    // MARK: - Validation (the DAO's checks before the storage call)

    func validateInsert(_ entity: String, _ input: Object) -> HTTPResponse? {
        validateWhole(entity, input, context: .insert)
    }

    func validateUpsert(_ entity: String, _ input: Object) -> HTTPResponse? {
        validateWhole(entity, input, context: .upsert)
    }

    /// Kong's `check_insert` / `check_upsert`: auto fields, foreign keys resolved, then the
    /// whole entity validated.
    private func validateWhole(_ entity: String, _ input: Object, context: Schema.Context) -> HTTPResponse? {
        guard let schema = schema(entity) else { return nil }
        switch schema.processAutoFields(input, context: context) {
        case .failure(let errors): return KongDAOError.schemaViolation(errors)
        case .success(var processed):
            if let refusal = resolveForeignKeys(entity, &processed) { return refusal }
            return schema.validate(processed).map(KongDAOError.schemaViolation)
        }
    }

    func validateUpdate(_ entity: String, existing: Object, _ input: Object) -> HTTPResponse? {
        guard let schema = schema(entity) else { return nil }
        switch schema.processAutoFields(input, context: .update) {
        case .failure(let errors): return KongDAOError.schemaViolation(errors)
        case .success(var processed):
            if let refusal = resolveForeignKeys(entity, &processed) { return refusal }
            let merged = Self.merge(existing, processed, schema: schema)
            return schema.validate(merged).map(KongDAOError.schemaViolation)
        }
    }

    /// Kong's `merge_values`: records merged field by field, anything else replaced.
    static func merge(_ base: Object, _ patch: Object, schema: Schema?) -> Object {
        var out = base
        for (key, value) in patch {
            if let field = schema?.field(named: key), field.type == .record, case .object(let old)? = base[key],
                case .object(let new) = value
            {
                out[key] = .object(merge(old, new, schema: field.record))
            } else {
                out[key] = value
            }
        }
        return out
    }

    private func byField(_ kind: KeyKind) -> String? {
        if case .endpointKey(let field) = kind { return field }
        return nil
    }

    // MARK: - Endpoints

    /// `POST /services` (and `POST /services/{s}/routes` with the parent's key set).
    func create(_ entity: String, setting extra: Object = [:]) -> HTTPResponse {
        if entity == "tags" { return Self.tagsRefusal }
        var input = params(for: entity)
        for (k, v) in extra { input[k] = v }
        return validateInsert(entity, input) ?? KongDAOError.unsupported("create", entity)
    }

    /// `PUT|PATCH|DELETE /services/{id or name}`.
    func writeItem(_ entity: String, method: HTTPMethod, key: String, setting extra: Object = [:]) -> HTTPResponse {
        if entity == "tags" { return Self.tagsRefusal }
        var input = params(for: entity)
        for (k, v) in extra { input[k] = v }
        if entity == "certificates", !UUIDFormat.isValid(key), method == .PUT {
            input["id"] = .string(EntityID.random())
            var snis = input["snis"]?.arrayValue ?? input["snis"].map { [$0] } ?? []
            if !snis.contains(.string(key)) { snis.append(.string(key)) }
            input["snis"] = .array(snis)
            return validateUpsert(entity, input) ?? KongDAOError.unsupported("create or update", entity)
        }
        let kind: KeyKind
        if entity == "certificates", !UUIDFormat.isValid(key) {
            kind = .id  // named by an SNI: Kong resolves it to the certificate's id first
        } else {
            switch keyKind(entity, key) {
            case .refused(let response): return response
            case .ok(let k): kind = k
            }
        }
        switch method {
        case .PUT:
            switch kind {
            case .id: input["id"] = .string(key)
            case .endpointKey(let field): input[field] = .string(key)
            }
            return validateUpsert(entity, input)
                ?? KongDAOError.unsupported("create or update", entity, byField: byField(kind))
        case .PATCH:
            switch select(entity, key: key) {
            case .none: return .notFound
            case .refused(let response): return response
            case .row(let existing):
                return validateUpdate(entity, existing: existing, input)
                    ?? KongDAOError.unsupported("update", entity, byField: byField(kind))
            }
        default:
            switch select(entity, key: key) {
            case .none: return .empty(.noContent)
            case .refused(let response): return response
            case .row: return KongDAOError.unsupported("remove", entity, byField: byField(kind))
            }
        }
    }

    /// `POST /services/{s}/routes`: the parent must exist; the child gets its key.
    func createNested(parent: String, child: String, field: String) -> HTTPResponse {
        switch select(param: parent) {
        case .none: return .notFound
        case .refused(let response): return response
        case .row(let row): return create(child, setting: [field: ["id": row["id"] ?? .null]])
        }
    }

    /// `PUT|PATCH|DELETE /services/{s}/routes/{r}`.
    func writeNestedItem(parent: String, child: String, field: String, method: HTTPMethod) -> HTTPResponse {
        let parentRow: Object
        switch select(param: parent) {
        case .row(let row): parentRow = row
        case .none: return .notFound
        case .refused(let response): return response
        }
        let link: Object = [field: ["id": parentRow["id"] ?? .null]]
        let key = match.params[child] ?? ""
        if method == .PUT {
            // `/consumers/{c}/acls/{group}` names an ACL by its group (Kong's acl `before`): the
            // existing one's id, or a new id with the group set.
            if child == "acls", !UUIDFormat.isValid(key) {
                let cacheKey = EntityTable.cacheKey([EntityTable.keyString(parentRow["id"]), key])
                var extra = link
                extra["group"] = .string(key)
                let id = page.entity("acls", cacheKey: cacheKey)?["id"]?.stringValue ?? EntityID.random()
                return writeItem(child, method: .PUT, key: id, setting: extra)
            }
            return writeItem(child, method: .PUT, key: key, setting: link)
        }
        switch nestedRow(parent: parent, child: child, field: field) {
        case .none: return .notFound
        case .refused(let response): return response
        case .row(let row):
            if method == .PATCH {
                var input = params(for: child)
                if input[field] == nil { input[field] = link[field] }
                let by = UUIDFormat.isValid(key) ? nil : schema(child)?.endpointKey
                return validateUpdate(child, existing: row, input)
                    ?? KongDAOError.unsupported("update", child, byField: by)
            }
            let by = UUIDFormat.isValid(key) || child == "acls" ? nil : schema(child)?.endpointKey
            return KongDAOError.unsupported("remove", child, byField: by)
        }
    }

    /// `PUT|PATCH|DELETE /routes/{r}/service`.
    func writeForeignEntity(entity: String, field: String, target: String, method: HTTPMethod) -> HTTPResponse {
        let row: Object
        switch select(param: entity) {
        case .row(let r): row = r
        case .none: return .notFound
        case .refused(let response): return response
        }
        let id = EntityTable.keyString(row[field])
        switch method {
        case .PUT:
            var input = params(for: target)
            input["id"] = .string(id ?? EntityID.random())
            return validateUpsert(target, input) ?? KongDAOError.unsupported("create or update", target)
        case .PATCH:
            guard let id, let existing = page.entity(target, id: id) else { return .notFound }
            return validateUpdate(target, existing: existing, params(for: target))
                ?? KongDAOError.unsupported("update", target)
        default:
            return id == nil ? .notFound : .methodNotAllowed
        }
    }

    /// `POST /upstreams/{u}/targets`.
    func createTarget() -> HTTPResponse {
        createNested(parent: "upstreams", child: "targets", field: "upstream")
    }

    /// `PUT|PATCH|DELETE /upstreams/{u}/targets/{target}`: Kong updates (PUT too) or removes the
    /// target by its id.
    func writeTarget(method: HTTPMethod) -> HTTPResponse {
        switch upstreamTarget() {
        case .none: return .notFound
        case .refused(let response): return response
        case .row(let row):
            if method == .DELETE { return KongDAOError.unsupported("remove", "targets") }
            return validateUpdate("targets", existing: row, params(for: "targets"))
                ?? KongDAOError.unsupported("update", "targets")
        }
    }

    /// Kong's tags DAO refuses every write with a schema violation.
    static var tagsRefusal: HTTPResponse {
        KongDAOError.schemaViolation(
            ErrorNode([(.field("tags"), .message("does not support insert/upsert/update/delete operations"))]))
    }
}
