import KGateConfig
import KGateHTTP
import KGateSchema
import KGateStore
import Logging
import NIOHTTP1

/// `POST /config` and `GET /config` (`kong/api/routes/config.lua`).
///
/// A posted config is loaded by the node's `ReloadCoordinator`, the same path as a file reload:
/// parse, validate, build, one atomic flip. The answer comes after the flip (Kong answers once
/// the new config is committed, before its workers rebuild).
///
/// After a `POST /config` the posted config stays live until the declarative config file is
/// loaded again: on its next change (the watcher), on SIGHUP / `kgate reload`, or on restart. The
/// file then wins, as in Kong, where the file wins on restart and on `kong reload`. `/status`
/// `reload.source` tells which one is live (`admin` or `file:<path>`).
///
/// `flattened_errors` is Kong's body exactly (Kong's own tests compare every key of every entry).
/// kgate's `source: {line, column}` positions are added only on request, with
/// `?source_positions=1` (the CLI's `config parse --json` always has them).
extension AdminAPI {
    /// Kong's `truthy()` for `flatten_errors`: `true`, `1`, `on`, `yes` (any case), true or 1.
    static func truthy(_ value: Value?) -> Bool {
        switch value {
        case .string(let s)?: return ["true", "1", "on", "yes"].contains(s.lowercased())
        case .bool(let b)?: return b
        case .integer(let i)?: return i == 1
        case .number(let d)?: return d == 1
        default: return false
        }
    }

    /// What a `POST /config` body holds.
    struct PostedConfig {
        /// The config text (or JSON written from the posted object).
        var bytes: [UInt8]
        /// Whether the body was the config itself as JSON (Kong then hashes the parsed entities,
        /// so `check_hash` never answers 304).
        var isObject: Bool
        var flattenErrors: Bool
        var checkHash: Bool
        /// kgate's `?source_positions=1`: `source` positions in `flattened_errors`.
        var sourcePositions = false
    }

    /// Kong's `hydrate_config_from_request` and `parse_config_post_opts` over Lapis's
    /// `self.params`: the query arguments, overlaid by the form or multipart fields or the JSON
    /// body's keys (the body wins, as Lapis adds the query first). `flatten_errors` and
    /// `check_hash` are taken out of them, wherever they were given.
    ///
    /// Then the config is those params when they have a truthy `_format_version` (query
    /// arguments included, as Kong keeps them), else their `config` (from the body or the query)
    /// when it is not `false`, else the raw body. A `config` that is text (or a number, which Lua
    /// reads as its text) is parsed; any other value (an object, an array, `true`, `null`) fails
    /// as it does in Kong, where `cjson.decode` and `lyaml.load` are given a table:
    /// `failed parsing declarative configuration: bad argument #1 to 'parser' (must provide a
    /// string argument)`.
    ///
    /// kgate's own `?source_positions=1` is read from the query only, and never part of a config.
    static func postedConfig(_ request: HTTPRequest) -> Checked<PostedConfig> {
        let body: RequestBody
        switch RequestBody.read(request) {
        case .refused(let response): return .refused(response)
        case .ok(let b): body = b
        }
        let queryText = request.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        let fromQuery = RequestBody.urlencodedPairs(queryText).filter { $0.name != "source_positions" }
        var params = NestedParams.expand(fromQuery.map { ($0.name, $0.value.map(Value.string) ?? .bool(true)) })
        for (key, value) in body.params { params[key] = value }
        let sourcePositions = truthy(QueryArguments(queryText)["source_positions"].map(Value.string))
        let flatten = truthy(params.removeValue(forKey: "flatten_errors"))
        let checkHash = luaText(params.removeValue(forKey: "check_hash")) == "1"
        func posted(_ bytes: [UInt8], isObject: Bool) -> Checked<PostedConfig> {
            .ok(
                PostedConfig(
                    bytes: bytes, isObject: isObject, flattenErrors: flatten, checkHash: checkHash,
                    sourcePositions: sourcePositions))
        }

        if isTruthy(params["_format_version"]) {
            // The JSON body as sent (its positions kept) when nothing was added or taken out.
            let verbatim =
                body.form == .json && body.params["flatten_errors"] == nil && body.params["check_hash"] == nil
                && params.count == body.params.count
            return posted(verbatim ? body.raw : Array(Value.object(params).jsonText.utf8), isObject: true)
        }
        switch params["config"] {
        case nil, .bool(false)?:
            // Kong tests `params.config` for presence (an empty string is present, and fails to
            // parse), the raw body for emptiness.
            guard !body.raw.isEmpty else {
                return .refused(.message(.badRequest, "expected a declarative configuration"))
            }
            return posted(body.raw, isObject: false)
        case .string(let text)?:
            return posted(Array(text.utf8), isObject: false)
        case let number? where number.doubleValue != nil:
            return posted(Array(number.jsonText.utf8), isObject: false)
        case _?:
            return .refused(unparsableConfig(notTextError))
        }
    }

    /// What Kong says of a `config` that is neither text nor a number (`lyaml`'s check of its
    /// argument).
    static let notTextError =
        "failed parsing declarative configuration: bad argument #1 to 'parser' (must provide a string argument)"

    /// Lua's truthiness: anything but nil and `false` (`null` is `ngx.null`, a value).
    static func isTruthy(_ value: Value?) -> Bool {
        switch value {
        case nil, .bool(false)?: return false
        default: return true
        }
    }

    /// Lua's `tostring` of a parameter, for `check_hash` (`tostring(params.check_hash) == "1"`).
    static func luaText(_ value: Value?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .integer(let i)?: return String(i)
        case .number(let d)?: return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        default: return nil
        }
    }

    /// 400 code 14 for a config that does not parse: `fields: {"error": message}`, never
    /// flattened (Kong answers it before validating).
    static func unparsableConfig(_ message: String) -> HTTPResponse {
        .kong(.badRequest, KongErrorBody.object(fields: ErrorNode([(.field("error"), .message(message))])))
    }

    /// `POST /config`: 201 with the flattened entities, 304 (`check_hash=1`, unchanged), 400
    /// code 14, 429 while another admin load runs, 503 while the node stops.
    func postConfig(_ request: HTTPRequest) async -> HTTPResponse {
        let posted: PostedConfig
        switch Self.postedConfig(request) {
        case .refused(let response): return response
        case .ok(let p): posted = p
        }
        guard loadsInFlight.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else {
            return busy()
        }
        defer { loadsInFlight.store(0, ordering: .releasing) }

        let force = !(posted.checkHash && !posted.isObject)
        let previous = coordinator.store.current.source
        let outcome = await coordinator.reload(.bytes(posted.bytes, source: .admin, fileName: nil, force: force))
        switch outcome {
        case .flipped(let event):
            if case .file(let path) = previous {
                logger.notice(
                    "configuration replaced through the Admin API; the declarative config file is loaded again on its next change, SIGHUP or restart",
                    metadata: ["config.file": "\(path)", "config.generation": "\(event.generation)"])
            }
            return .kong(.created, loadedEntities(generation: event.generation))
        case .skipped:
            return .empty(.notModified)
        case .rejected(let error, let declarative):
            guard let declarative else { return Self.unparsableConfig(error.message) }
            if posted.flattenErrors, let document = declarative.document, case .object = document.value {
                return .kong(
                    .badRequest,
                    KongErrorBody.flattenedObject(
                        fields: declarative.fields, input: declarative.inputWithIDs.map(Value.object) ?? document.value,
                        positions: posted.sourcePositions ? ErrorPositions(document: document) : nil,
                        relationships: relationships))
            }
            return .kong(.badRequest, KongErrorBody.object(fields: declarative.fields))
        case .superseded:
            return busy()
        case .shutdown:
            return .message(.serviceUnavailable, "Kong currently exiting")
        }
    }

    /// 429 `Currently loading previous configuration`, `Retry-After` from the last load's
    /// duration (1 to 10 seconds).
    func busy() -> HTTPResponse {
        let seconds = coordinator.status.durations.total.milliseconds / 1000
        var response = HTTPResponse.message(.tooManyRequests, "Currently loading previous configuration")
        response.headers.add(name: "Retry-After", value: String(min(10, max(1, Int(seconds.rounded(.up))))))
        return response
    }

    /// The 201 body: `{"<entity>": {"<id>": {...}}}` of the generation just published
    /// (workspaces left out, as Kong's `sanitize_output` does).
    func loadedEntities(generation number: Int) -> Value {
        let store = coordinator.store
        let candidates = [store.current, store.inactiveGeneration].compactMap { $0 }
        let generation = candidates.first { $0.number == number } ?? store.current
        var body = Object()
        for name in catalog.order where name != "workspaces" {
            guard let table = generation.page[name] else { continue }
            let schema = catalog.schemas[name]
            body[name] = .object(table.rows.mapValues { .object(AdminContext.stored($0, schema: schema)) })
        }
        return .object(body)
    }

    /// `GET /config`: `{"config": "<YAML>"}` with `_format_version: "3.0"`, `_transform: false`,
    /// one list per exported entity in Kong's order, foreign keys as plain ids.
    func exportedConfig(_ page: Page) -> HTTPResponse {
        .kong(.ok, ["config": .string(YAMLWriter.document(.object(Self.export(page, catalog: catalog))))])
    }

    /// The export document as a value.
    static func export(_ page: Page, catalog: EntityCatalog) -> Object {
        var document: Object = ["_format_version": "3.0", "_transform": false]
        for name in catalog.order where name != "workspaces" {
            guard let schema = catalog.schemas[name], schema.dbExport, let table = page[name] else { continue }
            let foreign = schema.fields.filter { $0.field.type == .foreign }.map(\.name)
            let rows = table.rows.values.map { row -> Value in
                var row = AdminContext.selected(row, schema: schema)
                for field in foreign {
                    if case .object(let key)? = row[field], let id = key["id"] { row[field] = id }
                }
                return .object(row)
            }
            document[name] = .array(rows)
        }
        return document
    }
}
