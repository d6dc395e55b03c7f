#if canImport(Glibc)
import Glibc
#endif
import KGateConfig
import KGateHTTP
import KGateSchema
import KGateStore
import NIOHTTP1

/// One admin request being answered: the route it matched, its arguments and the generation it
/// reads (loaded once, so a reload during the request changes nothing it sees).
struct AdminContext {
    let request: HTTPRequest
    let match: RouteMatch
    let query: QueryArguments
    let body: RequestBody
    let catalog: EntityCatalog
    /// The live generation when the request came.
    let generation: Generation
    var page: Page { generation.page }

    /// How an item's key names it.
    enum KeyKind: Equatable {
        /// A UUID: the primary key.
        case id
        /// Anything else, for an entity with an endpoint key (`name`, `username`...).
        case endpointKey(String)
    }

    /// What a lookup found.
    enum Found {
        case row(Object)
        case none
        case refused(HTTPResponse)
    }

    func schema(_ entity: String) -> Schema? { catalog.schemas[entity] }

    /// Kong's `select_entity` key handling: a UUID is an id; otherwise the endpoint key (its value
    /// validated: 400 code 10), or 400 code 1 when the entity has none.
    func keyKind(_ entity: String, _ key: String) -> Checked<KeyKind> {
        if UUIDFormat.isValid(key) { return .ok(.id) }
        guard let schema = schema(entity), let endpointKey = schema.endpointKey,
            let field = schema.field(named: endpointKey)
        else {
            return .refused(
                KongDAOError.invalidPrimaryKey(ErrorNode([(.field("id"), .message(SchemaMessages.expectedUUID))])))
        }
        let value = NestedParams.infer(.string(key), field)
        if let error = schema.validateField(field, value) {
            let message: String
            switch error {
            case .message(let m): message = m
            case .node(let n): message = KongErrorBody.penlightText(n)
            }
            return .refused(KongDAOError.invalidUnique(endpointKey, message))
        }
        return .ok(.endpointKey(endpointKey))
    }

    /// The entity a key names (`/services/{id or name}`).
    ///
    /// A certificate may also be named by one of its SNIs (`/certificates/example.com`); an SNI
    /// that does not exist gives 404 `SNI not found`.
    func select(_ entity: String, key: String) -> Found {
        if entity == "certificates", !UUIDFormat.isValid(key) {
            guard let sni = page.entity("snis", endpointKey: key), let id = EntityTable.keyString(sni["certificate"])
            else {
                return .refused(.message(.notFound, "SNI not found"))
            }
            return page.entity(entity, id: id).map(Found.row) ?? .none
        }
        let row: Object?
        switch keyKind(entity, key) {
        case .refused(let response): return .refused(response)
        case .ok(.id): row = page.entity(entity, id: key)
        case .ok(.endpointKey): row = page.entity(entity, endpointKey: key)
        }
        return row.flatMap { unexpired(entity, $0) }.map(Found.row) ?? .none
    }

    /// Kong's DB-less reads of an entity with a `ttl` (key-auth credentials): the stored `ttl` is
    /// when the row expires (epoch seconds); a read shows the seconds left, and an expired row
    /// is not found (Kong's off strategy, `process_ttl_field`).
    func unexpired(_ entity: String, _ row: Object, now: Int = time(nil)) -> Object? {
        guard schema(entity)?.ttl == true, let expiry = row["ttl"]?.doubleValue else { return row }
        let left = expiry - Double(now)
        guard left > 0 else { return nil }
        var row = row
        row["ttl"] = left == left.rounded() ? .integer(Int(left)) : .number(left)
        return row
    }

    /// The entity named by a route parameter (the parameter is the entity's name).
    func select(param entity: String) -> Found {
        select(entity, key: match.params[entity] ?? "")
    }

    /// An entity as the Admin API shows it: certificates with the sorted names of their SNIs,
    /// targets with their port.
    func render(_ entity: String, _ row: Object) -> Value {
        var row = Self.selected(row, schema: schema(entity))
        switch entity {
        case "certificates":
            let id = EntityTable.keyString(row["id"]) ?? ""
            let names = page.children("snis", via: "certificate", of: id).compactMap { $0["name"]?.stringValue }
            row["snis"] = .array(names.sorted().map(Value.string))
        case "targets":
            if case .string(let target)? = row["target"] { row["target"] = .string(Self.targetWithPort(target)) }
        default:
            break
        }
        return .object(row)
    }

    /// A row as a database would hold it: transient fields (a certificate's inline `snis`)
    /// left out.
    static func stored(_ row: Object, schema: Schema?) -> Object {
        guard let schema else { return row }
        var row = row
        for (name, field) in schema.fields where field.transient { row[name] = nil }
        return row
    }

    /// A row as Kong's reads answer it (`process_auto_fields` "select"): stored, with the
    /// deprecated shorthands that name a replacing field (rate-limiting's `redis_host`).
    static func selected(_ row: Object, schema: Schema?) -> Object {
        schema?.withReplacedShorthands(stored(row, schema: schema)) ?? row
    }

    /// Kong's `format_target` (``HostAndIP/formatTarget(_:)``): normalized, with port 8000
    /// when it has none.
    static func targetWithPort(_ target: String) -> String {
        HostAndIP.formatTarget(target) ?? target
    }

    /// The rows of an entity kind with their primary keys, in declaration order.
    /// Expired rows are left out (``unexpired(_:_:now:)``).
    func keyedRows(_ entity: String) -> [(key: String, row: Object)] {
        let now = time(nil)
        return page[entity].map { table in
            table.rows.compactMap { entry in unexpired(entity, entry.value, now: now).map { (key: entry.key, row: $0) } }
        } ?? []
    }

    /// 200 with the entity, or the lookup's refusal / 404.
    func answer(_ entity: String, _ found: Found) -> HTTPResponse {
        switch found {
        case .row(let row): return .kong(.ok, render(entity, row))
        case .none: return .notFound
        case .refused(let response): return response
        }
    }
}
