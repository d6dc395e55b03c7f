import KGateSchema

/// A route as the router sees it: the matching and proxying fields of Kong's `routes` entity.
///
/// A `nil` list means the field is not set (`null` or absent); an empty list is kept apart,
/// because Kong tells them apart in two places (`could not categorize route` in the traditional
/// router; the `PLAIN_HOST_ONLY` priority bit of the ATC flavors, set for `hosts: []`).
public struct RouteDefinition: Sendable, Hashable {
    /// `id` (a UUID in any loaded config).
    public var id: String
    /// `name`.
    public var name: String?
    /// `protocols` (Kong's default `["http", "https"]`).
    public var protocols: [String]
    /// `methods`, upper-case.
    public var methods: [String]?
    /// `hosts`: plain, `*.wildcard`, `wildcard.*`, each with an optional `:port`.
    public var hosts: [String]?
    /// `paths`: prefixes, or regexes when they start with `~`.
    public var paths: [String]?
    /// `headers`, in the order the config lists them.
    public var headers: [HeaderRule]?
    /// `snis`.
    public var snis: [String]?
    /// `sources` (stream routes).
    public var sources: [NetworkEndpoint]?
    /// `destinations` (stream routes).
    public var destinations: [NetworkEndpoint]?
    /// `strip_path`.
    public var stripPath: Bool
    /// `preserve_host`.
    public var preserveHost: Bool
    /// `path_handling` (v1 is honoured by the traditional flavor only).
    public var pathHandling: PathHandling
    /// `regex_priority`.
    public var regexPriority: Int
    /// `https_redirect_status_code`.
    public var httpsRedirectStatusCode: Int
    /// `request_buffering`: the whole request body is read before the request goes upstream.
    public var requestBuffering: Bool
    /// `response_buffering`: a chunked upstream body reaches the client in larger chunks, one
    /// per read burst, not as the upstream framed it.
    public var responseBuffering: Bool
    /// `service.id`, nil for a route without service.
    public var serviceID: String?
    /// `created_at` (seconds), used by the traditional flavor to break ties.
    public var createdAt: Double?
    /// `expression` (expressions flavor only).
    public var expression: String?
    /// `priority` of an expression route (higher first).
    public var priority: Int = 0

    /// Makes a route; every field but `id` has Kong's default.
    public init(
        id: String, name: String? = nil, protocols: [String] = ["http", "https"], methods: [String]? = nil,
        hosts: [String]? = nil, paths: [String]? = nil, headers: [HeaderRule]? = nil, snis: [String]? = nil,
        sources: [NetworkEndpoint]? = nil, destinations: [NetworkEndpoint]? = nil, stripPath: Bool = true,
        preserveHost: Bool = false, pathHandling: PathHandling = .v0, regexPriority: Int = 0,
        httpsRedirectStatusCode: Int = 426, requestBuffering: Bool = true, responseBuffering: Bool = true,
        serviceID: String? = nil, createdAt: Double? = nil, expression: String? = nil
    ) {
        self.id = id
        self.name = name
        self.protocols = protocols
        self.methods = methods
        self.hosts = hosts
        self.paths = paths
        self.headers = headers
        self.snis = snis
        self.sources = sources
        self.destinations = destinations
        self.stripPath = stripPath
        self.preserveHost = preserveHost
        self.pathHandling = pathHandling
        self.regexPriority = regexPriority
        self.httpsRedirectStatusCode = httpsRedirectStatusCode
        self.requestBuffering = requestBuffering
        self.responseBuffering = responseBuffering
        self.serviceID = serviceID
        self.createdAt = createdAt
        self.expression = expression
    }

    /// Reads a flat route entity (as the declarative loader produces it). Missing or mistyped
    /// fields get Kong's defaults; nothing here throws, as the loader has validated the route.
    public init(entity: Object) {
        func strings(_ key: String) -> [String]? {
            guard let v = entity[key], let array = v.sequenceElements else { return nil }
            return array.compactMap(\.stringValue)
        }
        func endpoints(_ key: String) -> [NetworkEndpoint]? {
            guard let array = entity[key]?.sequenceElements else { return nil }
            return array.compactMap { element in
                guard case .object(let o) = element else { return nil }
                return NetworkEndpoint(ip: o["ip"]?.stringValue, port: o["port"]?.integerValue)
            }
        }
        var headers: [HeaderRule]?
        if case .object(let map) = entity["headers"] {
            headers = map.map { name, values in
                HeaderRule(
                    name: name,
                    values: values.sequenceElements?.compactMap(\.stringValue) ?? values.stringValue.map { [$0] } ?? [])
            }
        }
        var serviceID: String?
        if case .object(let service) = entity["service"] { serviceID = service["id"]?.stringValue }
        self.init(
            id: entity["id"]?.stringValue ?? "",
            name: entity["name"]?.stringValue,
            protocols: strings("protocols") ?? ["http", "https"],
            methods: strings("methods"),
            hosts: strings("hosts"),
            paths: strings("paths"),
            headers: headers,
            snis: strings("snis"),
            sources: endpoints("sources"),
            destinations: endpoints("destinations"),
            stripPath: entity["strip_path"]?.boolValue ?? true,
            preserveHost: entity["preserve_host"]?.boolValue ?? false,
            pathHandling: entity["path_handling"]?.stringValue.flatMap(PathHandling.init(rawValue:)) ?? .v0,
            regexPriority: entity["regex_priority"]?.integerValue ?? 0,
            httpsRedirectStatusCode: entity["https_redirect_status_code"]?.integerValue ?? 426,
            requestBuffering: entity["request_buffering"]?.boolValue ?? true,
            responseBuffering: entity["response_buffering"]?.boolValue ?? true,
            serviceID: serviceID,
            createdAt: entity["created_at"]?.doubleValue,
            expression: entity["expression"]?.stringValue)
        priority = entity["priority"]?.integerValue ?? 0
    }
}

/// One entry of a route's `headers`: a header name and the values it may have.
public struct HeaderRule: Sendable, Hashable {
    /// The header name as configured.
    public var name: String
    /// Accepted values; a single value starting with `~*` is a regex.
    public var values: [String]

    /// Makes a header rule.
    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }
}

/// One entry of `sources` / `destinations`: an IP or CIDR and/or a port.
public struct NetworkEndpoint: Sendable, Hashable {
    /// An address or CIDR, as configured.
    public var ip: String?
    /// A port.
    public var port: Int?

    /// Makes an endpoint.
    public init(ip: String? = nil, port: Int? = nil) {
        self.ip = ip
        self.port = port
    }
}

/// `path_handling`: how the service path and the request path are joined (kong-reference §5.5).
public enum PathHandling: String, Sendable, Hashable {
    /// The default (and the only one the ATC flavors use).
    case v0
    /// Deprecated; traditional flavor only.
    case v1
}

/// A service as the router needs it: where matched requests go.
public struct ServiceDefinition: Sendable, Hashable {
    /// `id`.
    public var id: String
    /// `name`.
    public var name: String?
    /// `protocol` (`http`, `https`, `grpc`, `grpcs`, `tcp`, `tls`, `udp`, ...).
    public var `protocol`: String
    /// `host`.
    public var host: String
    /// `port`; nil uses the protocol's default (443 for https, 80 for http).
    public var port: Int?
    /// `path`; nil means `/` for HTTP services.
    public var path: String?
    /// `enabled`: routes of a disabled service are left out of the router.
    public var enabled: Bool

    /// Makes a service.
    public init(
        id: String, name: String? = nil, protocol: String = "http", host: String = "", port: Int? = nil,
        path: String? = nil, enabled: Bool = true
    ) {
        self.id = id
        self.name = name
        self.protocol = `protocol`
        self.host = host
        self.port = port
        self.path = path
        self.enabled = enabled
    }

    /// Reads a flat service entity.
    public init(entity: Object) {
        self.init(
            id: entity["id"]?.stringValue ?? "",
            name: entity["name"]?.stringValue,
            protocol: entity["protocol"]?.stringValue ?? "http",
            host: entity["host"]?.stringValue ?? "",
            port: entity["port"]?.integerValue,
            path: entity["path"]?.stringValue,
            enabled: entity["enabled"]?.boolValue ?? true)
    }

    /// `get_service_info`'s port: the configured one, else 443 for https and 80 for http.
    public var effectivePort: Int? {
        if let port { return port }
        switch self.protocol {
        case "https": return 443
        case "http": return 80
        default: return nil
        }
    }

    /// Whether this is an HTTP-subsystem service (http, https, grpc, grpcs), which has a path.
    public var isHTTP: Bool { ["http", "https", "grpc", "grpcs"].contains(self.protocol) }

    /// The upstream base path (`service.path`, or `/`), for HTTP services.
    public var basePath: String { path ?? "/" }
}
