import KGateRouter
import KGateSchema
import Logging

/// Everything a plugin phase works with for one request: Kong's PDK (`kong.request`,
/// `kong.service.request`, `kong.response`, `kong.client`, `kong.router`, `kong.ctx`,
/// `kong.log`) as one value the proxy owns and passes `inout` to each phase.
///
/// The proxy makes one per request (``init(request:database:)``), tells it the route after
/// routing (``setRoute(_:)``), and hands it to the `PluginRunner` phases.
public struct PluginContext: Sendable {
    /// The client's request and the changes made for upstream.
    public var request: PluginRequest
    /// The response to the client.
    public var response: PluginResponse
    /// The generation's entities.
    public let db: PluginDatabase
    /// Values shared between plugins for this request (Kong's `kong.ctx.shared`).
    public var shared: [String: any Sendable] = [:]
    /// Values the log serializer adds (Kong's `kong.log.set_serialize_value`).
    public var serializedValues: [String: Value] = [:]
    /// What the proxy served, set before the `log` phase (``LogSerializer``).
    public var served: ServedExchange?
    /// The stream session a stream `log` phase reports (nil for HTTP requests).
    public var session: StreamSession?
    /// The request's spans, when the node records traces (`tracing_instrumentations`).
    public var trace: RequestTrace?

    /// Ends the request's trace once ``served`` is set, before the `log` phase: the root
    /// span's status and route (the matched route's first path), the balancer tries' spans.
    public mutating func endTrace() {
        guard trace != nil, let served else { return }
        let path = routeEntity?["paths"]?.sequenceElements?.first?.stringValue
        trace!.end(served: served, routePath: path)
    }

    /// The matched route's id (nil before routing or when none matched).
    public private(set) var routeID: String?
    /// The matched route's service id.
    public private(set) var serviceID: String?
    /// The matched route's row (Kong's `kong.router.get_route()`).
    public var routeEntity: Object? { routeID.flatMap { db.page.entity("routes", id: $0) } }
    /// The matched service's row (Kong's `kong.router.get_service()`).
    public var serviceEntity: Object? { serviceID.flatMap { db.page.entity("services", id: $0) } }
    /// The regex captures of the matched route path (Kong's `uri_captures`).
    public private(set) var captures: RouteCaptures?
    /// The route path that matched (Kong's `router_matches.uri`: the traditional flavor only).
    public private(set) var matchedPath: String?
    /// The authenticated consumer (Kong's `kong.client.get_consumer`).
    public private(set) var consumer: ConsumerEntity?
    /// The authenticated credential (Kong's `kong.client.get_credential`).
    public private(set) var credential: CredentialEntity?
    /// The response a plugin answered with, if any (`access` stops running plugins then).
    public private(set) var exitResponse: PluginExit?
    /// The answer of a `kong.response.exit` called in `header_filter`: its status and headers
    /// are on ``response`` already; the proxy sends its body (empty unless given) instead of
    /// the upstream's.
    public private(set) var headerFilterExit: PluginExit?
    /// The phase running.
    public internal(set) var phase: PluginPhase = .rewrite

    /// Per-plugin values (Kong's `kong.ctx.plugin`), by plugin name.
    var pluginValues: [String: [String: any Sendable]] = [:]
    /// The plugin running (set by the runner around each call).
    var currentPlugin: String = ""
    /// The plugins `access` collected for the later phases, in priority order.
    var collected: ContiguousArray<any AnyPluginInstance> = []
    /// Phases implemented by the collected plugins.
    var collectedPhases: PluginPhases = []
    /// Whether the collecting phase ran (else later phases use the global configs).
    var accessRan = false
    /// The exit answers as if proxied (Kong's `ngx.ctx.KONG_PROXIED = true`, which
    /// proxy-cache sets for a hit): it gets the proxied-response headers (`Via`, upstream and
    /// proxy latencies), and the `Date` and `Server` it gives are kept.
    public var exitIsProxied = false
    /// How long a plugin that answered itself waited on its own I/O, in milliseconds (Kong's
    /// `ctx.KONG_WAITING_TIME` as aws-lambda sets it): logged as `latencies.proxy` and taken out
    /// of `latencies.kong`.
    public var waitingTime: Int?
    /// A plugin phase threw (Kong's `KONG_UNEXPECTED`).
    public internal(set) var failed = false
    /// The next step of the access plan to run (access resumes there after a suspension).
    var accessStep = 0
    /// The I/O the last plugin's `access` waits for (``wait(for:then:)``).
    var suspension: PluginSuspension?
    /// The plugin whose `access` is suspended.
    var suspendedPlugin: (any AnyPluginInstance)?
    /// The request's Lua tables, once a serverless function ran for it.
    var luaTables: LuaRequestTables?

    /// A context for a new request.
    public init(request: PluginRequest, database: PluginDatabase) {
        self.request = request
        self.db = database
        self.response = PluginResponse()
    }

    // MARK: Router

    /// The upstream target the router made (Kong's `ngx.var.upstream_uri` before plugins, with
    /// the query): the route's `strip_path` and the service's path applied. nil before routing.
    public var routedTarget: String?

    /// ``routedTarget`` without its query.
    public var routedPath: String? {
        routedTarget.map { target in target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target }
    }

    /// Records the router's match (before `access`).
    public mutating func setRoute(_ match: RouteMatch) {
        routeID = match.route.id
        serviceID = match.route.serviceID
        captures = match.captures
        matchedPath = match.matchedPath
    }

    /// Records the matched route by ids (tests, or a proxy without a `RouteMatch`).
    public mutating func setRoute(id: String, serviceID: String?, captures: RouteCaptures? = nil) {
        routeID = id
        self.serviceID = serviceID
        self.captures = captures
    }

    // MARK: Client

    /// The authenticated consumer's id, else the credential's consumer id (ACL's
    /// `get_current_consumer_id`).
    public var consumerID: String? {
        consumer?.id ?? credential?.consumerID
    }

    /// Sets the authenticated consumer and credential (Kong's `kong.client.authenticate`);
    /// plugins that run later pick up consumer-scoped configs.
    public mutating func authenticate(consumer: ConsumerEntity?, credential: CredentialEntity?) {
        self.consumer = consumer
        self.credential = credential
    }

    // MARK: Answering

    /// Answers with a response instead of proxying (Kong's `kong.response.exit`); the first
    /// exit wins. A status outside 100-599 throws, as Kong's raises (the plugin fails: 500).
    public mutating func exit(
        _ status: Int, body: PluginExit.Body = .empty, headers: HTTPFields = HTTPFields()
    ) throws(InvalidExitStatus) {
        guard (100...599).contains(status) else { throw InvalidExitStatus(status: status, range: 100...599) }
        answer(status, body: body, headers: headers)
    }

    /// Answers with `{"message": message}` as JSON (`kong.response.exit(status, {message=...})`).
    public mutating func exit(_ status: Int, message: String, headers: HTTPFields = HTTPFields()) throws(InvalidExitStatus) {
        try exit(status, body: .json(["message": .string(message)]), headers: headers)
    }

    /// Answers with Kong's error page (Kong's `kong.response.error`); a nil message is Kong's
    /// default text for the status. A status outside 400-599 throws, as Kong's raises.
    public mutating func error(
        _ status: Int, message: String? = nil, headers: HTTPFields = HTTPFields()
    ) throws(InvalidExitStatus) {
        guard (400...599).contains(status) else { throw InvalidExitStatus(status: status, range: 400...599) }
        answer(status, body: .kongError(message: message ?? PluginExit.defaultMessage(for: status)), headers: headers)
    }

    /// Records an exit whose status was checked. In `header_filter` it replaces the response
    /// being sent (Kong's `send` sets `ngx.status`, the headers and `Content-Length`, then ends
    /// the phase).
    mutating func answer(_ status: Int, body: PluginExit.Body, headers: HTTPFields = HTTPFields()) {
        if phase == .headerFilter {
            guard headerFilterExit == nil else { return }
            // The error page goes as JSON here: the response's negotiation is over.
            var body = body
            if case .kongError(let message) = body { body = .json(["message": .string(message)]) }
            let exit = PluginExit(status: status, body: body, headers: headers)
            headerFilterExit = exit
            response.apply(exit)
            return
        }
        guard exitResponse == nil else { return }
        exitResponse = PluginExit(status: status, body: body, headers: headers)
    }

    /// Kong's `code must be a number between 400 and 599` (or 100 and 599 for `exit`).
    public struct InvalidExitStatus: Error, CustomStringConvertible {
        public let status: Int
        public let range: ClosedRange<Int>
        public var description: String { "code must be a number between \(range.lowerBound) and \(range.upperBound)" }
    }

    /// Drops an exit (the proxy, after sending it, or a later phase replacing it).
    public mutating func clearExit() { exitResponse = nil }

    // MARK: Per-plugin values

    /// Values of the running plugin for this request (Kong's `kong.ctx.plugin`).
    public var plugin: [String: any Sendable] {
        get { pluginValues[currentPlugin] ?? [:] }
        set { pluginValues[currentPlugin] = newValue }
    }

    /// The node logger with the running plugin's name as metadata (Kong's `kong.log`).
    public var logger: Logger {
        var l = db.logger
        l[metadataKey: "plugin"] = .string(currentPlugin)
        return l
    }

    // MARK: For the proxy

    /// Names of the plugins collected by `access`, in the order they run (diagnostics, tests).
    public var collectedPluginNames: [String] { collected.map(\.descriptor.name) }

    /// The scopes of the collected plugins (which config of each plugin applied).
    public var collectedScopes: [PluginScope] { collected.map(\.scope) }

    /// The connected peer is in `trusted_ips` (Kong's `kong.ip.is_trusted` of it): its
    /// `X-Forwarded-*` headers are believed (`kong.request.get_forwarded_*`).
    public var peerTrusted = false
    /// The port clients reach after `port_maps` (Kong's `ngx.ctx.host_port`), when mapped.
    public var hostPort: Int?
    /// The `X-Forwarded-Prefix` the proxy sends (the stripped route prefix), if any.
    public var forwardedPrefix: String?

    /// How the request reaches its service, when plugins changed it (Kong's `kong.service`).
    public var serviceOverride = ServiceOverride()

    /// A plugin asked for the whole upstream response before the response phases (Kong's
    /// `kong.service.request.enable_buffering()`, which sets `ngx.ctx.buffered_proxying`).
    public var bufferedProxying = false

    /// Whether a `response` phase plugin was collected, or a plugin asked for buffering: the
    /// proxy must buffer the response.
    public var needsBufferedResponse: Bool { bufferedProxying || collectedPhases.contains(.response) }
}
