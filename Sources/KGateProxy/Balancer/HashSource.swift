import KGateConfig
import KGateSchema

/// What consistent hashing hashes: an upstream's `hash_on` or `hash_fallback` with its field.
enum HashSource: Sendable, Equatable {
    case none
    /// The authenticated consumer's id, else the credential's.
    case consumer
    /// The client address (`$remote_addr`).
    case ip
    /// A request header's value (nginx's `$http_<name>`: repeated fields joined by ", ").
    case header(String)
    /// A cookie's value; when absent one is made and set on the response (`path`).
    case cookie(name: String, path: String)
    /// The request path as nginx's `$uri` has it (every escape decoded, dot segments removed).
    case path
    /// A query argument (several values sorted and joined by ",").
    case queryArg(String)
    /// A regex capture of the route's path (by number or name).
    case uriCapture(String)

    /// `hash_on` then `hash_fallback`.
    struct Pair: Sendable, Equatable {
        var primary: HashSource
        var fallback: HashSource

        static let none = Pair(primary: .none, fallback: .none)

        /// Reads an upstream row.
        init(upstream row: Object) {
            primary = HashSource(row, "hash_on", header: "hash_on_header", query: "hash_on_query_arg", capture: "hash_on_uri_capture")
            fallback = HashSource(
                row, "hash_fallback", header: "hash_fallback_header", query: "hash_fallback_query_arg",
                capture: "hash_fallback_uri_capture")
        }

        init(primary: HashSource, fallback: HashSource) {
            self.primary = primary
            self.fallback = fallback
        }

        /// Kong's `get_value_to_hash`: the primary source's value, else the fallback's, else
        /// "" (every request without one lands on the same point). `newCookie` receives the
        /// value made for a missing cookie.
        func value(from request: some HashableRequest, newCookie: (String) -> Void) -> String {
            primary.value(from: request, newCookie: newCookie) ?? fallback.value(from: request, newCookie: newCookie) ?? ""
        }
    }

    private init(_ row: Object, _ key: String, header: String, query: String, capture: String) {
        switch row[key]?.stringValue ?? "none" {
        case "consumer": self = .consumer
        case "ip": self = .ip
        case "header": self = .header(row[header]?.stringValue ?? "")
        case "cookie":
            self = .cookie(name: row["hash_on_cookie"]?.stringValue ?? "", path: row["hash_on_cookie_path"]?.stringValue ?? "/")
        case "path": self = .path
        case "query_arg": self = .queryArg(row[query]?.stringValue ?? "")
        case "uri_capture": self = .uriCapture(row[capture]?.stringValue ?? "")
        default: self = .none
        }
    }

    private func value(from request: some HashableRequest, newCookie: (String) -> Void) -> String? {
        switch self {
        case .none: return nil
        case .consumer: return request.consumerID
        case .ip: return request.remoteAddress
        case .header(let name): return request.header(name)
        case .cookie(let name, _):
            if let value = request.cookie(name) { return value }
            let made = EntityID.random()
            newCookie(made)
            return made
        case .path: return request.uri
        case .queryArg(let name): return request.queryArgument(name)
        case .uriCapture(let group): return request.uriCapture(group)
        }
    }

    /// The `Set-Cookie` value Kong sends for a cookie it made (`balancer.set_cookie`).
    static func setCookie(name: String, value: String, path: String) -> String {
        "\(name)=\(value); Path=\(path); Same-Site=Lax; HttpOnly"
    }
}

/// What consistent hashing can read of a request.
protocol HashableRequest {
    var consumerID: String? { get }
    var remoteAddress: String { get }
    /// nginx's `$http_<name>` (fields of that name joined by ", "); nil when absent.
    func header(_ name: String) -> String?
    /// nginx's `$cookie_<name>`.
    func cookie(_ name: String) -> String?
    /// nginx's `$uri`: the path fully percent-decoded, dot segments removed, slashes merged.
    var uri: String { get }
    /// Kong's `get_query_arg`: a repeated argument's values sorted and joined by ","; a flag
    /// is "true".
    func queryArgument(_ name: String) -> String?
    /// The route's named path capture `group`.
    func uriCapture(_ group: String) -> String?
}
