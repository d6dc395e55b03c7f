#if canImport(Glibc)
import Glibc
#endif
import KGateConfig
import KGateHTTP
import KGateSchema
import KGateStore
import NIOHTTP1

/// GET on entity endpoints: collections, items, nested forms, tags and upstream targets.
extension AdminContext {
    /// The page arguments shared by every collection: `tags` (checked even where it is not
    /// applied), `size`, `offset`, in Kong's order of checks. With `decodeOffset` false the
    /// offset is left as sent (Kong's targets DAO reads a plain number).
    func pageArguments(
        tagsApply: Bool, decodeOffset: Bool = true, boundedSize: Bool = true
    ) -> Checked<(PageRequest, TagFilter?)> {
        if tagsApply, query.has("tags"), query.bytes("tags")?.isEmpty == true {
            return .refused(KongDAOError.invalidOption("tags", "cannot be null"))
        }
        let size: (Int, String?)
        switch PageRequest.size(query, bounded: boundedSize) {
        case .refused(let response): return .refused(response)
        case .ok(let s): size = s
        }
        var filter: TagFilter?
        if tagsApply {
            switch TagFilter.parse(query) {
            case .refused(let response): return .refused(response)
            case .ok(let f): filter = f
            }
        }
        var request = PageRequest(size: size.0, offset: nil, offsetText: query["offset"], sizeText: size.1)
        guard decodeOffset else { return .ok((request, filter)) }
        switch PageRequest.offset(query) {
        case .refused(let response): return .refused(response)
        case .ok(let offset): request.offset = offset
        }
        return .ok((request, filter))
    }

    /// `GET /services`: the rows, filtered by `?tags=`, a page at a time.
    func collection(_ entity: String) -> HTTPResponse {
        if entity == "consumers", query.has("custom_id") { return consumerByCustomID() }
        let hasTags = schema(entity)?.field(named: "tags") != nil
        let (request, filter): (PageRequest, TagFilter?)
        switch pageArguments(tagsApply: hasTags) {
        case .refused(let response): return response
        case .ok(let args): (request, filter) = args
        }
        let path = schema(entity)?.adminAPIName ?? entity
        var suffix = ""
        if let filter { suffix += "&tags=" + URIText.escape(filter.text) }
        if let size = request.sizeText { suffix += "&size=" + size }
        let body = Listing.keyed(
            keyedRows(entity), page: request, filter: filter.map { f in { f.matches($0) } },
            render: { render(entity, $0) }, next: { "/\(path)?offset=\($0)\(suffix)" })
        return .kong(.ok, body)
    }

    /// `GET /consumers?custom_id=x`: `{"data": [consumer], "next": null}`.
    private func consumerByCustomID() -> HTTPResponse {
        guard let id = query["custom_id"], !id.isEmpty else {
            return .message(.badRequest, "custom_id must be an unempty string")
        }
        let found = page["consumers"]?.row(unique: "custom_id", id)
        return .kong(.ok, ["data": .array(found.map { [render("consumers", $0)] } ?? []), "next": .null])
    }

    /// `GET /services/{service}/routes`: the children of one parent (`?tags=` is checked but not
    /// applied, as in Kong); `next` keeps the parent key as sent.
    func nestedCollection(parent: String, child: String, field: String) -> HTTPResponse {
        let parentRow: Object
        switch select(param: parent) {
        case .row(let row): parentRow = row
        case .none: return .notFound
        case .refused(let response): return response
        }
        let request: PageRequest
        switch pageArguments(tagsApply: schema(child)?.field(named: "tags") != nil) {
        case .refused(let response): return response
        case .ok(let args): request = args.0
        }
        let id = EntityTable.keyString(parentRow["id"]) ?? ""
        let now = time(nil)
        let rows = Self.keyed(page.children(child, via: field, of: id).compactMap { unexpired(child, $0, now: now) })
        let base =
            "/\(schema(parent)?.adminAPIName ?? parent)/\(match.rawParams[parent] ?? "")/"
            + (schema(child)?.adminAPINestedName ?? schema(child)?.adminAPIName ?? child)
        let body = Listing.keyed(
            rows, page: request, render: { render(child, $0) }, next: { "\(base)?offset=\($0)" })
        return .kong(.ok, body)
    }

    /// `GET /routes/{route}/service`: the entity a foreign key points at.
    func foreignEntity(entity: String, field: String, target: String) -> HTTPResponse {
        switch select(param: entity) {
        case .none: return .notFound
        case .refused(let response): return response
        case .row(let row):
            guard let id = EntityTable.keyString(row[field]), let referenced = page.entity(target, id: id) else {
                return .notFound
            }
            return .kong(.ok, render(target, referenced))
        }
    }

    /// `GET /services/{service}/routes/{route}`: the child, when it belongs to the parent.
    func nestedItem(parent: String, child: String, field: String) -> HTTPResponse {
        switch nestedRow(parent: parent, child: child, field: field) {
        case .row(let row): return .kong(.ok, render(child, row))
        case .none: return .notFound
        case .refused(let response): return response
        }
    }

    /// The child of a nested item route, `.none` when either is missing or they do not belong
    /// together. `/consumers/{c}/acls/{group}` also finds an ACL by its group.
    func nestedRow(parent: String, child: String, field: String) -> Found {
        let parentRow: Object
        switch select(param: parent) {
        case .row(let row): parentRow = row
        case .none: return .none
        case .refused(let response): return .refused(response)
        }
        let parentID = EntityTable.keyString(parentRow["id"]) ?? ""
        let key = match.params[child] ?? ""
        let found: Found
        if child == "acls", !UUIDFormat.isValid(key) {
            found = page.entity("acls", cacheKey: EntityTable.cacheKey([parentID, key])).map(Found.row) ?? .none
        } else {
            found = select(child, key: key)
        }
        guard case .row(let row) = found else { return found }
        return EntityTable.keyString(row[field]) == parentID ? .row(row) : .none
    }

    /// Rows with their primary keys, for `Listing.keyed`.
    static func keyed(_ rows: [Object]) -> [(key: String, row: Object)] {
        rows.map { (key: EntityTable.keyString($0["id"]) ?? "", row: $0) }
    }

    /// Primary keys in Kong's LMDB order: byte by byte.
    static func keyOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    // MARK: - Tags

    /// `GET /tags`: every tag of every entity (`?tags=` ignored, as in Kong), a page of one
    /// entity type at a time (see `tagPage`).
    func allTags() -> HTTPResponse {
        let request: PageRequest
        switch pageArguments(tagsApply: false, decodeOffset: false) {
        case .refused(let response): return response
        case .ok(let args): request = args.0
        }
        var suffix = ""
        if let tags = query["tags"] { suffix += "&tags=" + URIText.escape(tags) }
        if let size = request.sizeText { suffix += "&size=" + size }
        return tagPage(request, only: nil) { "/tags?offset=\($0)\(suffix)" }
    }

    /// `GET /tags/{tag}`: the entities carrying one tag. Kong reads `size` first (a number, with
    /// no upper bound: the tags DAO checks none), then checks the tag, then the offset.
    func entitiesTagged() -> HTTPResponse {
        let request: PageRequest
        switch pageArguments(tagsApply: false, decodeOffset: false, boundedSize: false) {
        case .refused(let response): return response
        case .ok(let args): request = args.0
        }
        let bytes = match.paramBytes["tags"] ?? []
        let tag = match.params["tags"] ?? ""
        if let position = TypedefValidators.decodedUTF8ErrorPosition(bytes) {
            return KongDAOError.invalidUnique(
                "tag", "invalid utf-8 character sequence detected at position \(position)")
        }
        if let error = Typedefs.tag.customValidator?(.string(tag)) { return KongDAOError.invalidUnique("tag", error) }
        let raw = match.rawParams["tags"] ?? ""
        return tagPage(request, only: tag) { "/tags/\(raw)?offset=\($0)" }
    }

    /// One page of Kong's DB-less tag listing (`page_for_tags` of the off strategy): the entity
    /// types are walked one at a time, a page holding the tags (only `tag`, when given) of up to
    /// `size` rows of one type, rows in key order. The offset names the type and where its page
    /// stopped: `services|<token>` while rows of that type are left, `services|nil` when the
    /// next page starts the next type; the last type's last page has none. A page may so be
    /// empty, and still have a `next`.
    ///
    /// Kong walks its DAOs in Lua's hash order, which no client can count on; kgate walks the
    /// entity types that have `tags`, in catalogue order. An offset that names no such type is
    /// `bad offset string` (Kong fails with a 500 there), a token that is not base64 `bad base64
    /// encoding`.
    func tagPage(_ request: PageRequest, only tag: String?, next: (String) -> String) -> HTTPResponse {
        let types = catalog.order.filter { schema($0)?.field(named: "tags") != nil }
        var index = 0
        var start: [UInt8]?
        if let text = request.offsetText {
            // Kong's `^([^|]+)|(.+)`: a type name, `|`, and a token of at least one byte.
            let parts = text.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                let position = types.firstIndex(of: String(parts[0]))
            else { return KongDAOError.invalidOffset(text, "bad offset string") }
            if parts[1] == "nil" {
                index = position + 1
            } else {
                guard let token = Base64.decode(String(parts[1])) else {
                    return KongDAOError.invalidOffset(String(parts[1]), "bad base64 encoding")
                }
                (index, start) = (position, token)
            }
        }
        guard index < types.count else { return .kong(.ok, Listing.body([], offset: nil, next: next)) }
        let entity = types[index]
        let (rows, token) = Listing.keyedSlice(keyedRows(entity), size: request.size, from: start)
        var items: [Value] = []
        for (key, row) in rows {
            guard case .array(let tags)? = row["tags"] else { continue }
            let id = String(decoding: key, as: UTF8.self)
            for case .string(let name) in tags where tag == nil || name == tag {
                items.append(Self.tagItem(name, entity, id))
            }
        }
        let offset = token == nil && index == types.count - 1 ? nil : "\(entity)|\(token ?? "nil")"
        return .kong(.ok, Listing.body(items, offset: offset, next: next))
    }

    static func tagItem(_ tag: String, _ entity: String, _ id: String) -> Value {
        ["tag": .string(tag), "entity_name": .string(entity), "entity_id": .string(id)]
    }

    // MARK: - Upstream targets

    /// `GET /upstreams/{u}/targets` (the latest entry of each target, newest first) and
    /// `/targets/all` (every entry, by id), ports filled in.
    func upstreamTargets(all: Bool) -> HTTPResponse {
        let upstream: Object
        switch select(param: "upstreams") {
        case .row(let row): upstream = row
        case .none: return .notFound
        case .refused(let response): return response
        }
        let request: PageRequest
        switch pageArguments(tagsApply: true, decodeOffset: all) {
        case .refused(let response): return response
        case .ok(let args): request = args.0
        }
        let base = "/upstreams/\(match.rawParams["upstreams"] ?? "")"
        if all {
            // The DAO's generic `page_for_upstream`: every entry, keyed by id.
            let rows = Self.keyed(targets(of: upstream, latestOnly: false))
            let body = Listing.keyed(
                rows, page: request, render: { render("targets", $0) }, next: { "\(base)/targets/all?offset=\($0)" })
            return .kong(.ok, body)
        }
        let start: Int
        switch request.position() {
        case .refused(let response): return response
        case .ok(let s): start = s
        }
        let rows = targets(of: upstream, latestOnly: true).map { render("targets", $0) }
        let body = Listing.positional(rows, page: request, start: start) {
            "\(base)/targets?offset=\($0)"
        }
        return .kong(.ok, body)
    }

    /// The targets of an upstream; with `latestOnly`, Kong's `page_for_upstream`: sorted by
    /// creation time then id, newest first, one entry per target address.
    func targets(of upstream: Object, latestOnly: Bool) -> [Object] {
        let rows = page.children("targets", via: "upstream", of: EntityTable.keyString(upstream["id"]) ?? "")
        guard latestOnly else { return rows }
        let sorted = rows.sorted { a, b in
            let ca = a["created_at"]?.doubleValue ?? 0
            let cb = b["created_at"]?.doubleValue ?? 0
            return ca != cb ? ca < cb : (a["id"]?.stringValue ?? "") < (b["id"]?.stringValue ?? "")
        }
        var seen: Set<String> = []
        var latest: [Object] = []
        for row in sorted.reversed() {
            let target = Self.targetWithPort(row["target"]?.stringValue ?? "")
            if seen.insert(target).inserted { latest.append(row) }
        }
        return latest
    }

    /// `/upstreams/{u}/targets/{target}`: a target by id, or by its address as Kong shows it
    /// (`10.0.0.1:8000`: `select_by_upstream_filter` compares the formatted target with the
    /// key as given, so `10.0.0.1` finds nothing).
    func upstreamTarget() -> Found {
        let upstream: Object
        switch select(param: "upstreams") {
        case .row(let row): upstream = row
        case .none: return .none
        case .refused(let response): return .refused(response)
        }
        let key = match.params["targets"] ?? ""
        let all = targets(of: upstream, latestOnly: false)
        let row = all.last {
            $0["id"]?.stringValue == key || Self.targetWithPort($0["target"]?.stringValue ?? "") == key
        }
        return row.map(Found.row) ?? .none
    }

    /// `GET /upstreams/{u}/health`: each target with its `health` (`HEALTHY` when one of its
    /// addresses is, `UNHEALTHY`, `HEALTHCHECKS_OFF`, or `DNS_ERROR` when it has no address)
    /// and its balancer status as `data`; `?balancer_health=1` the upstream's own health.
    func upstreamHealth(nodeID: String, provider: UpstreamHealthProvider?) -> HTTPResponse {
        let upstream: Object
        switch select(param: "upstreams") {
        case .row(let row): upstream = row
        case .none: return .notFound
        case .refused(let response): return response
        }
        let id = upstream["id"]?.stringValue ?? ""
        if query["balancer_health"] == "1" {
            let data: Value = provider?.balancer(id) ?? ["health": "HEALTHCHECKS_OFF", "id": upstream["id"] ?? .null]
            return .kong(.ok, ["data": data, "next": .null, "node_id": .string(nodeID)])
        }
        let health = provider?.targets(id)
        let request: PageRequest
        switch pageArguments(tagsApply: true, decodeOffset: false) {
        case .refused(let response): return response
        case .ok(let args): request = args.0
        }
        let start: Int
        switch request.position() {
        case .refused(let response): return response
        case .ok(let s): start = s
        }
        let rows = targets(of: upstream, latestOnly: true).map { row -> Value in
            guard case .object(var rendered) = render("targets", row) else { return .null }
            guard let health else {
                rendered["health"] = "HEALTHCHECKS_OFF"
                return .object(rendered)
            }
            let status = health.byTarget[Self.targetWithPort(row["target"]?.stringValue ?? "")]
            let addresses = status?["addresses"]?.arrayValue ?? []
            var verdict = addresses.isEmpty ? "DNS_ERROR" : "HEALTHCHECKS_OFF"
            for address in addresses {
                let state = address["health"]?.stringValue
                if state == "HEALTHY" {
                    verdict = "HEALTHY"
                    break
                }
                if state == "UNHEALTHY" { verdict = "UNHEALTHY" }
            }
            rendered["health"] = .string(verdict)
            if let status { rendered["data"] = status }
            return .object(rendered)
        }
        let base = "/upstreams/\(match.rawParams["upstreams"] ?? "")/health"
        let listing = Listing.positional(rows, page: request, start: start) { "\(base)?offset=\($0)" }
        guard case .object(var body) = listing else { return .notFound }
        body["node_id"] = .string(nodeID)
        return .kong(.ok, .object(body))
    }

    /// `PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`: sets the target's
    /// health in the balancer (204), or Kong's 400 when the upstream runs no health checks.
    func setTargetHealth(provider: UpstreamHealthProvider?) -> HTTPResponse {
        guard case .row(let target) = upstreamTarget(), case .row(let row) = select(param: "upstreams"),
            let upstream = row["id"]?.stringValue
        else { return .notFound }
        let healthy = !request.path.hasSuffix("/unhealthy")
        let name = target["target"]?.stringValue ?? ""
        let message: String? =
            provider.map { $0.set(upstream, name, match.params["address"], healthy) }
            ?? "no healthchecker found for \(row["name"]?.stringValue ?? upstream)"
        if let message { return .message(.badRequest, message) }
        return .empty(.noContent)
    }
}
