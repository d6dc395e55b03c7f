import KGatePlugins
import KGateRouter
import KGateSchema

/// The request as consistent hashing reads it (Kong's `get_value_to_hash` reads nginx
/// variables and the request context).
struct HashedRequestView: HashableRequest {
    let handler: ProxyHandler
    let captures: RouteCaptures?

    var consumerID: String? { handler.x.plugins?.consumerID }

    var remoteAddress: String { handler.remoteIP }

    /// nginx's `$http_<name>`: the name lower-cased with `-` as `_`, fields joined by ", ".
    func header(_ name: String) -> String? {
        let wanted = Self.variableName(name)
        let head = handler.request
        var joined: String?
        for field in head.fields where Self.variableName(head.name(field)) == wanted {
            joined = joined.map { $0 + ", " + head.value(field) } ?? head.value(field)
        }
        return joined
    }

    func cookie(_ name: String) -> String? {
        let head = handler.request
        let fields = head.fields.filter { head.nameEquals($0, "cookie") }.map(head.value)
        return NginxCookie.value(name, in: fields)
    }

    var uri: String {
        let target = handler.request.target
        return PathNormalizer.nginxURI(String(target.prefix { $0 != "?" }))
    }

    func queryArgument(_ name: String) -> String? {
        let target = handler.request.target
        guard let mark = target.firstIndex(of: "?") else { return nil }
        switch QueryArgs(parsing: target[target.index(after: mark)...])[name] {
        case nil: return nil
        case .flag: return "true"
        case .string(let value): return value
        case .multiple(let values): return values.map { $0 ?? "true" }.sorted().joined(separator: ",")
        }
    }

    /// Kong indexes the route's captures with the configured text, a string key: only a named
    /// group is found ("1" is not the first positional group, which Lua keys by the number 1).
    func uriCapture(_ group: String) -> String? {
        captures?[group]
    }

    private static func variableName(_ name: String) -> String {
        String(name.lowercased().map { $0 == "-" ? "_" : $0 })
    }
}
