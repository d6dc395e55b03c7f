import KGateConfig
import KGateHTTP
import KGateSchema
import KGateSettings
import KGateStore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Kong's Admin API as DB-less Kong answers it: node information, schemas, read-only entities,
/// `POST /config` and `GET /config`, with Kong's status codes and bodies.
///
/// Every request reads the live generation once (`ConfigStore.current`); nothing an admin
/// request sends changes the live configuration except a valid `POST /config`, which goes
/// through the node's `ReloadCoordinator` like a file reload.
///
/// Two entry points:
/// - `respond(to:)` answers synchronously without blocking (safe on an event loop), and returns
///   nil only for `POST /config`, which must be answered by `handle(_:)`;
/// - `handle(_:)` answers everything, awaiting the load for `POST /config`.
///
/// With `admin_token` set, every request but a CORS preflight (`OPTIONS`) must carry
/// `Authorization: Bearer <token>`; otherwise 401 `{"message":"Unauthorized"}`.
///
/// The same type answers the Status API (`surface: .status`), as Kong serves both Lapis
/// applications with the same helpers: the status routes only, no token, no CORS filter.
public final class AdminAPI: Sendable {
    /// Which of Kong's two HTTP APIs an instance answers.
    public enum Surface: Sendable {
        /// `kong.api` on `admin_listen`.
        case admin
        /// `kong.status` on `status_listen`: `/status`, `/status/ready`, `/status/dns` and the
        /// read-only upstream health and target routes.
        case status
    }

    let surface: Surface
    let settings: NodeSettings
    let catalog: EntityCatalog
    let coordinator: ReloadCoordinator
    let statusBody: @Sendable () -> Value
    /// The loaded plugins' endpoints on this API (`/metrics`, `/proxy-cache`...).
    let pluginRoutes: [PluginAPIRoute]
    /// The balancers' health (nil: every target reports `HEALTHCHECKS_OFF`).
    let upstreamHealth: UpstreamHealthProvider?
    /// The node's caches for `/cache` (none: every key is unknown).
    let cache: NodeCache?
    let logger: Logger
    /// The Kong version reported by `GET /` and in `Server` (`kong/<version>`).
    let version: String
    /// `node_id` of `GET /`.
    let nodeID: String
    let routes: AdminRouteTable
    let relationships: EntityRelationships
    let enabledHeaders: Set<String>
    /// The CORS headers of every answer (`admin_gui_url`).
    let cors: AdminCORS
    /// `GET /` `configuration` (the Admin API's; empty for the Status API, which has no `/`).
    let configuration: Object
    /// The largest request body its listener reads, in bytes: `nginx_admin_client_max_body_size`
    /// for the Admin API, nginx's default `client_max_body_size` (1m) for the Status API (Kong's
    /// status server sets none).
    public let maxBodySize: Int
    /// 1 while a `POST /config` load runs.
    let loadsInFlight = Atomic<Int>(0)
    /// `/status/ready` (Status API).
    let readiness = Readiness()

    /// Creates the API.
    ///
    /// - Parameters:
    ///   - settings: the node settings (`admin_token`, `nginx_admin_client_max_body_size`,
    ///     `headers`, `admin_gui_url`, the redacted `configuration` of `GET /`).
    ///   - catalog: the entity schemas the node loads configs with.
    ///   - coordinator: the node's reload coordinator; its store is read for every request.
    ///   - statusBody: the body of `GET /status` (shared with the Status API).
    ///   - logger: receives a notice when a posted config replaces the file's.
    ///   - version: the Kong version kgate is compatible with (`GET /` `version`).
    ///   - nodeID: `GET /` `node_id`; a random UUID when nil.
    ///   - surface: the Admin API, or the Status API.
    ///   - pluginRoutes: the loaded plugins' endpoints on this API (prometheus's `/metrics`);
    ///     a plugin that is not loaded has none, as in Kong.
    ///   - cache: what `/cache` probes and drops (the plugins' caches).
    public init(
        settings: NodeSettings, catalog: EntityCatalog, coordinator: ReloadCoordinator,
        statusBody: @escaping @Sendable () -> Value, logger: Logger, version: String = "3.10.0", nodeID: String? = nil,
        surface: Surface = .admin, pluginRoutes: [PluginAPIRoute] = [], upstreamHealth: UpstreamHealthProvider? = nil,
        cache: NodeCache? = nil
    ) {
        self.surface = surface
        self.cache = cache
        self.upstreamHealth = upstreamHealth
        self.settings = settings
        self.catalog = catalog
        self.coordinator = coordinator
        self.statusBody = statusBody
        self.pluginRoutes = pluginRoutes
        self.logger = logger
        self.version = version
        self.nodeID = nodeID ?? EntityID.random()
        self.routes =
            surface == .admin
            ? AdminRouteTable(catalog: catalog, plugins: pluginRoutes) : .statusAPI(plugins: pluginRoutes)
        self.relationships = EntityRelationships(catalog: catalog)
        self.enabledHeaders = settings.enabledHeaders
        self.cors = surface == .admin ? AdminCORS(allowedOrigins: settings.adminGUIOrigins) : .statusAPI
        self.configuration =
            surface == .admin
            ? NodeConfiguration.object(
                settings: settings, loadedPlugins: catalog.enabledPlugins,
                workingDirectory: NodeConfiguration.workingDirectory()) : [:]
        self.maxBodySize = surface == .admin ? Int(clamping: settings.nginxAdminClientMaxBodySize.bytes) : 1024 * 1024
    }

    /// Whether a request needs `handle(_:)` (an asynchronous load): `POST /config`.
    public static func needsAsyncHandling(_ request: HTTPRequest) -> Bool {
        request.method == .POST && AdminRouteTable.segments(request.path) == ["config"]
    }

    /// Answers a request without blocking; nil for a `POST /config` that passed the checks
    /// (authorization, body size, content type), which `handle(_:)` must answer.
    public func respond(to request: HTTPRequest) -> HTTPResponse? {
        if let robots = Self.robots(request) { return robots }
        let start = ContinuousClock.now
        switch prepare(request) {
        case .answered(let response): return decorate(response, request, since: start)
        case .configPost: return nil
        }
    }

    /// Answers any request; `POST /config` waits for its load (never on an event loop thread).
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if let robots = Self.robots(request) { return robots }
        let start = ContinuousClock.now
        switch prepare(request) {
        case .answered(let response): return decorate(response, request, since: start)
        case .configPost: return decorate(await postConfig(request), request, since: start)
        }
    }

    enum Prepared {
        case answered(HTTPResponse)
        case configPost
    }

    /// Authorization, size, routing, method and content checks, then the answer (all but the
    /// `POST /config` load).
    func prepare(_ request: HTTPRequest) -> Prepared {
        if let refusal = authorize(request) { return .answered(refusal) }
        if request.body.readableBytes > maxBodySize {
            return .answered(.message(.payloadTooLarge, "Payload too large"))
        }
        guard let match = routes.match(path: request.path) else { return .answered(.notFound) }
        let kind = match.route.kind
        if case .disabled = kind { return .answered(.notFound) }
        if request.method == .OPTIONS { return .answered(options(match.route)) }
        var isConfig = false
        if case .config = kind { isConfig = true }
        if let refusal = RequestBody.contentTypeRefusal(request, acceptsYAML: isConfig) { return .answered(refusal) }
        guard match.route.allows(request.method) else { return .answered(.methodNotAllowed) }
        if isConfig, request.method == .POST { return .configPost }
        let body: RequestBody
        switch RequestBody.read(request) {
        case .refused(let response): return .answered(response)
        case .ok(let b): body = b
        }
        let queryText = request.uri.split(separator: "?", maxSplits: 1).dropFirst().first
        if kind.readsArguments, Self.exceedsArgumentLimit(queryText, body) {
            return .answered(.message(.badRequest, "Too many arguments"))
        }
        let query = QueryArguments(queryText)
        let context = AdminContext(
            request: request, match: match, query: query, body: body, catalog: catalog,
            generation: coordinator.store.current)
        return .answered(dispatch(context))
    }

    /// Kong's `arguments.load` limits (`max_uri_args`, `max_post_args`): more than 1000 query
    /// arguments, or form fields, make the request a 400 `Too many arguments`.
    static let maxArguments = 1000

    /// Whether the query string or an `application/x-www-form-urlencoded` body has more
    /// arguments than `ngx.req.get_uri_args` / `get_post_args` read before they say "truncated".
    static func exceedsArgumentLimit(_ query: Substring?, _ body: RequestBody) -> Bool {
        func count<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
            bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).count
        }
        if let query, count(query.utf8) > maxArguments { return true }
        return body.form == .form && count(body.raw) > maxArguments
    }

    /// nginx's `location /robots.txt` of Kong's admin server: answered before any Lua (no CORS,
    /// no token), for every method.
    static func robots(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.path == "/robots.txt" else { return nil }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: "User-agent: *\nDisallow: /"))
    }

    /// `Authorization: Bearer <admin_token>` when a token is set (compared in constant time);
    /// the Status API asks for none.
    func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        guard surface == .admin, let token = settings.adminToken, !token.isEmpty, request.method != .OPTIONS else { return nil }
        let header = request.headers.first(name: "Authorization") ?? ""
        let scheme = header.prefix(7).lowercased()
        let presented = scheme == "bearer " ? header.dropFirst(7).trimmingSpaces : ""
        if Self.constantTimeEquals(Array(presented.utf8), Array(token.utf8)) { return nil }
        var response = HTTPResponse.message(.unauthorized, "Unauthorized")
        response.headers.add(name: "WWW-Authenticate", value: "Bearer")
        return response
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// Kong's OPTIONS answer: 204 with the allowed methods.
    func options(_ route: AdminRoute) -> HTTPResponse {
        var response = HTTPResponse.empty(.noContent)
        response.headers.add(name: "Allow", value: route.allowHeader)
        response.headers.add(name: "Access-Control-Allow-Methods", value: route.allowHeader)
        response.headers.add(name: "Access-Control-Allow-Headers", value: "Content-Type")
        return response
    }

    /// Kong's `Access-Control-Allow-Origin` (both APIs), the Admin API's CORS filter
    /// (`cors_filter`), `Server` and `X-Kong-Admin-Latency` as `headers` asks.
    func decorate(_ response: HTTPResponse, _ request: HTTPRequest, since start: ContinuousClock.Instant)
        -> HTTPResponse
    {
        var response = response
        cors.apply(to: &response.headers, for: request)
        if enabledHeaders.contains("Server") { response.headers.replaceOrAdd(name: "Server", value: "kong/\(version)") }
        if enabledHeaders.contains("X-Kong-Admin-Latency") {
            let ms = Int((ContinuousClock.now - start).milliseconds.rounded())
            response.headers.replaceOrAdd(name: "X-Kong-Admin-Latency", value: String(ms))
        }
        return response
    }
}
