import KGateConfig
import KGateSchema
import NIOHTTP1

/// One Admin API endpoint: its path template (`/services/:services/routes`), the methods it
/// defines and what answers it.
struct AdminRoute: Sendable {
    /// A path segment of the template.
    enum Segment: Sendable, Equatable {
        case literal(String)
        case param(String)
    }

    /// What answers the endpoint.
    enum Kind: Sendable {
        case root, endpoints, status, config, timers, statusDNS
        /// A plugin's endpoint (``PluginAPIRoute``), by its index among the API's plugin routes.
        case plugin(Int)
        /// `/status/ready`, on the Status API only.
        case statusReady
        case pluginsEnabled, legacyPluginSchema
        case entitySchema, pluginSchema, vaultSchema, filterSchema
        case validateEntity, validatePlugin, validateVault
        case tags, tagsByTag
        case cache, cacheKey
        case logLevel, setLogLevel, controlPlaneOnly
        /// Deactivated in Kong (`/targets`, `/snis/:snis/certificate`): 404 for every method.
        case disabled
        /// The wasm endpoints (`/filter-chains...`, `/routes/:routes/filters/...`): kgate runs no
        /// wasm, so Kong's answer with `wasm = off`, 400.
        case wasmDisabled
        /// `/services`.
        case collection(entity: String)
        /// `/services/:services`.
        case item(entity: String)
        /// `/routes/:routes/service`: the entity a foreign key points at.
        case foreignEntity(entity: String, field: String, target: String)
        /// `/services/:services/routes`.
        case nestedCollection(parent: String, child: String, field: String)
        /// `/services/:services/routes/:routes`.
        case nestedItem(parent: String, child: String, field: String)
        case upstreamTargets, upstreamTargetsAll, upstreamTarget, upstreamHealth, targetHealth

        /// Whether Kong answers the endpoint as a "new DB" route (`attach_new_db_routes`): its
        /// arguments are read by `kong.api.arguments.load`, which refuses more than 1000 query
        /// or form arguments. Kong's core routes (`/`, `/status`, `/config`, `/schemas`...) do not.
        var readsArguments: Bool {
            switch self {
            case .collection, .item, .foreignEntity, .nestedCollection, .nestedItem, .upstreamTargets,
                .upstreamTargetsAll, .upstreamTarget, .upstreamHealth, .targetHealth, .tags, .tagsByTag,
                .pluginsEnabled, .legacyPluginSchema, .controlPlaneOnly:
                return true
            default:
                return false
            }
        }
    }

    let segments: [Segment]
    /// The methods the endpoint defines (HEAD follows GET; OPTIONS is answered for all).
    let methods: [HTTPMethod]
    let kind: Kind

    /// `/services/:services`.
    var template: String { path { ":" + $0 } }

    /// The template with each parameter written by `param` (`{services}` for `/endpoints`).
    func path(_ param: (String) -> String) -> String {
        "/"
            + segments.map { segment in
                switch segment {
                case .literal(let s): return s
                case .param(let p): return param(p)
                }
            }.joined(separator: "/")
    }

    /// `GET, HEAD, OPTIONS`: Kong's `Allow` header (sorted, with HEAD when GET is defined).
    var allowHeader: String {
        var names = methods.map(\.rawValue)
        if methods.contains(.GET) { names.append("HEAD") }
        names.append("OPTIONS")
        return Set(names).sorted().joined(separator: ", ")
    }

    /// Whether the endpoint answers this method (HEAD where GET is defined).
    func allows(_ method: HTTPMethod) -> Bool {
        methods.contains(method) || (method == .HEAD && methods.contains(.GET))
    }
}

/// A route matched against a request path, with its decoded parameters.
struct RouteMatch: Sendable {
    let route: AdminRoute
    /// Parameter → decoded value (`ngx.unescape_uri`), as UTF-8 text.
    let params: [String: String]
    /// Parameter → decoded bytes (for UTF-8 validation).
    let paramBytes: [String: [UInt8]]
    /// Parameter → the segment as sent (Kong's `next` links reuse it).
    let rawParams: [String: String]
}

/// Kong's Admin API routes for an entity catalogue: the generated entity endpoints
/// (`kong/api/endpoints.lua`) with Kong's custom routes laid over them, built once.
struct AdminRouteTable: Sendable {
    /// The wasm entities: kgate runs no wasm, so their endpoints answer as Kong's with
    /// `wasm = off` (`kong/api/routes/filter_chains.lua`).
    static let wasmEntities: Set<String> = ["filter_chains"]

    /// Entities Kong generates no endpoints for (`generate_admin_api = false`).
    static let withoutAdminAPI: Set<String> = [
        "workspaces", "clustering_data_planes", "parameters", "oauth2_authorization_codes", "session_metadatas",
        "ratelimiting_metrics",
    ]

    let routes: [AdminRoute]
    private let bySegmentCount: [Int: [AdminRoute]]

    /// Builds the Admin API's table for the catalogue's entities and the loaded plugins'
    /// endpoints.
    init(catalog: EntityCatalog, plugins: [PluginAPIRoute] = []) {
        var templates: [Template] = []
        let collection: [HTTPMethod] = [.GET, .POST]
        let item: [HTTPMethod] = [.GET, .PUT, .PATCH, .DELETE]
        for name in catalog.order where !Self.withoutAdminAPI.contains(name) {
            guard let schema = catalog.schemas[name] else { continue }
            /// Every endpoint of a wasm entity answers Kong's `wasm = off` refusal.
            func add(_ template: String, _ methods: [HTTPMethod], _ kind: AdminRoute.Kind) {
                templates.append((template, methods, Self.wasmEntities.contains(name) ? .wasmDisabled : kind))
            }
            let path = schema.adminAPIName ?? name
            add("/\(path)", collection, .collection(entity: name))
            add("/\(path)/:\(name)", item, .item(entity: name))
            for (field, definition) in schema.fields where definition.type == .foreign {
                guard let target = definition.reference, let parent = catalog.schemas[target] else { continue }
                let parentPath = parent.adminAPIName ?? target
                let nested = schema.adminAPINestedName ?? path
                add("/\(path)/:\(name)/\(field)", item, .foreignEntity(entity: name, field: field, target: target))
                add(
                    "/\(parentPath)/:\(target)/\(nested)", collection,
                    .nestedCollection(parent: target, child: name, field: field))
                add(
                    "/\(parentPath)/:\(target)/\(nested)/:\(name)", item,
                    .nestedItem(parent: target, child: name, field: field))
            }
        }
        self.init(templates + Self.custom + Self.templates(of: plugins))
    }

    /// A route's template, the methods it defines and its kind.
    typealias Template = (template: String, methods: [HTTPMethod], kind: AdminRoute.Kind)

    /// The table of these templates, in their order; a template given again replaces the
    /// earlier one's methods and kind (Kong's custom routes over the generated ones).
    private init(_ templates: [Template]) {
        var table: [String: AdminRoute] = [:]
        var order: [String] = []
        for (template, methods, kind) in templates {
            let segments = template.split(separator: "/").map { part -> AdminRoute.Segment in
                part.hasPrefix(":") ? .param(String(part.dropFirst())) : .literal(String(part))
            }
            if table[template] == nil { order.append(template) }
            table[template] = AdminRoute(segments: segments, methods: methods, kind: kind)
        }
        routes = order.map { table[$0]! }
        bySegmentCount = Dictionary(grouping: routes, by: \.segments.count)
    }

    /// The Status API's table (`kong/status/init.lua`): `/status`, `/status/ready`,
    /// `/status/dns`, in DB-less mode the GET handlers of Kong's upstream routes (their other
    /// methods, and routes with no GET, are left out: 405 and 404), and the loaded plugins'
    /// status endpoints (`status_api.lua`).
    static func statusAPI(plugins: [PluginAPIRoute] = []) -> AdminRouteTable {
        AdminRouteTable(
            [("/status", [.GET], .status), ("/status/ready", [.GET, .POST], .statusReady), ("/status/dns", [.GET], .statusDNS)]
                + custom.filter { $0.template.hasPrefix("/upstreams/") && $0.methods.contains(.GET) }
                .map { ($0.template, [.GET], $0.kind) } + templates(of: plugins))
    }

    /// The plugins' endpoints as table entries.
    private static func templates(of plugins: [PluginAPIRoute]) -> [Template] {
        plugins.enumerated().map { index, route in (route.template, route.methods, .plugin(index)) }
    }

    /// Kong's routes from `kong/api/routes/*.lua` that kgate answers.
    private static let custom: [Template] = [
        ("/", [.GET], .root),
        ("/endpoints", [.GET], .endpoints),
        ("/status", [.GET], .status),
        ("/config", [.GET, .POST], .config),
        ("/timers", [.GET], .timers),
        ("/status/dns", [.GET], .statusDNS),
        ("/schemas/:name", [.GET], .entitySchema),
        ("/schemas/plugins/validate", [.POST], .validatePlugin),
        ("/schemas/vaults/validate", [.POST], .validateVault),
        ("/schemas/:db_entity_name/validate", [.POST], .validateEntity),
        ("/schemas/vaults/:name", [.GET], .vaultSchema),
        ("/schemas/plugins/:name", [.GET], .pluginSchema),
        ("/schemas/filters/:name", [.GET], .filterSchema),
        ("/routes/:routes/filters/enabled", [.GET], .wasmDisabled),
        ("/routes/:routes/filters/disabled", [.GET], .wasmDisabled),
        ("/routes/:routes/filters/all", [.GET], .wasmDisabled),
        ("/plugins/enabled", [.GET], .pluginsEnabled),
        ("/plugins/schema/:name", [.GET], .legacyPluginSchema),
        ("/tags", [.GET, .POST], .tags),
        ("/tags/:tags", [.GET, .PUT, .PATCH, .DELETE], .tagsByTag),
        ("/cache", [.DELETE], .cache),
        ("/cache/:key", [.GET, .DELETE], .cacheKey),
        ("/debug/node/log-level", [.GET], .logLevel),
        ("/debug/node/log-level/:log_level", [.PUT], .setLogLevel),
        ("/debug/cluster/log-level/:log_level", [.PUT], .setLogLevel),
        ("/clustering/data-planes", [.GET], .controlPlaneOnly),
        ("/clustering/status", [.GET], .controlPlaneOnly),
        ("/targets", [.GET, .POST], .disabled),
        ("/targets/:targets", [.GET, .PUT, .PATCH, .DELETE], .disabled),
        ("/targets/:targets/upstream", [.GET, .PUT, .PATCH, .DELETE], .disabled),
        ("/snis/:snis/certificate", [.GET, .PUT, .PATCH, .DELETE], .disabled),
        ("/upstreams/:upstreams/health", [.GET], .upstreamHealth),
        ("/upstreams/:upstreams/targets", [.GET, .POST], .upstreamTargets),
        ("/upstreams/:upstreams/targets/all", [.GET], .upstreamTargetsAll),
        ("/upstreams/:upstreams/targets/:targets", [.GET, .PUT, .PATCH, .DELETE], .upstreamTarget),
        ("/upstreams/:upstreams/targets/:targets/healthy", [.PUT], .targetHealth),
        ("/upstreams/:upstreams/targets/:targets/unhealthy", [.PUT], .targetHealth),
        ("/upstreams/:upstreams/targets/:targets/:address/healthy", [.PUT], .targetHealth),
        ("/upstreams/:upstreams/targets/:targets/:address/unhealthy", [.PUT], .targetHealth),
    ]

    /// The route for a path (`/services/my-svc/routes`), one trailing slash ignored.
    ///
    /// Lapis matches the path as sent, and its parameters are never empty; Kong's
    /// `default_route` then retries once without a final `/`. So `/services/` is `/services`
    /// (and `//` is `/`), but an empty segment anywhere else (`//services`, `/services//`,
    /// `/services//routes`) matches nothing: 404 `Not found`, as in Kong.
    ///
    /// Literal segments win over parameters (`/plugins/enabled` over `/plugins/:plugins`), the
    /// earliest literal first, as Lapis orders its routes.
    func match(path: Substring) -> RouteMatch? {
        guard let parts = Self.segments(path) else { return nil }
        var best: AdminRoute?
        for route in bySegmentCount[parts.count] ?? [] {
            guard
                zip(route.segments, parts).allSatisfy({ segment, part in
                    if case .literal(let l) = segment { return l == part }
                    return true
                })
            else { continue }
            if let current = best, !Self.precedes(route, current) { continue }
            best = route
        }
        guard let route = best else { return nil }
        var params: [String: String] = [:]
        var bytes: [String: [UInt8]] = [:]
        var raw: [String: String] = [:]
        for (segment, part) in zip(route.segments, parts) {
            guard case .param(let name) = segment else { continue }
            // Kong unescapes each raw segment with `ngx.unescape_uri`, which reads `+` as a space.
            let decoded = URIText.unescape(part, plusAsSpace: true)
            bytes[name] = decoded
            params[name] = String(decoding: decoded, as: UTF8.self)
            raw[name] = String(part)
        }
        return RouteMatch(route: route, params: params, paramBytes: bytes, rawParams: raw)
    }

    /// The segments of a path, after dropping one trailing `/` (not that of `/` itself); nil
    /// when the path does not start with `/` or has an empty segment.
    static func segments(_ path: Substring) -> [Substring]? {
        var path = path
        if path.count > 1, path.last == "/" { path = path.dropLast() }
        guard path.first == "/" else { return nil }
        let rest = path.dropFirst()
        if rest.isEmpty { return [] }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        return parts.contains(where: \.isEmpty) ? nil : parts
    }

    private static func precedes(_ a: AdminRoute, _ b: AdminRoute) -> Bool {
        for (x, y) in zip(a.segments, b.segments) {
            switch (x, y) {
            case (.literal, .param): return true
            case (.param, .literal): return false
            default: continue
            }
        }
        return false
    }

    /// Kong's `/endpoints` list: templates with `{param}`, sorted segment by segment.
    var endpointList: [String] {
        let templates = routes.map { route in route.path { "{\($0)}" } }
        func key(_ s: String) -> [UInt8] { s.utf8.map { $0 == UInt8(ascii: "/") ? 0 : $0 } }
        return templates.sorted { key($0).lexicographicallyPrecedes(key($1)) }
    }
}
