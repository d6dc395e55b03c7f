import KGateRegex
import KGateSchema

/// Why a route does or does not match a request, field by field (for `kgate route test`).
public struct RouteExplanation: Sendable {
    /// One field of the route checked on its own.
    public struct Field: Sendable, Hashable {
        /// The route field (`hosts`, `paths`, ...).
        public var name: String
        /// Whether the request satisfies it.
        public var matched: Bool
        /// What was compared.
        public var detail: String
    }

    /// The route.
    public let route: RouteDefinition
    /// The fields the route sets, in Kong's evaluation order.
    public let fields: [Field]

    /// The fields the request does not satisfy.
    public var failed: [Field] { fields.filter { !$0.matched } }
}

extension Router {
    /// Each route's fields checked one by one against `request`, closest routes first (fewest
    /// failing fields, then most matching ones); at most `limit` routes.
    ///
    /// This is a diagnostic, not the matcher: fields are judged separately (hosts with the
    /// ATC rules), and priorities are not considered.
    public func explain(_ request: RouteRequest, limit: Int = 5) -> [RouteExplanation] {
        let routing = RoutingPath(request)
        let path = String(routing.path(of: request.target))
        var out: [RouteExplanation] = []
        for route in routes {
            var fields: [RouteExplanation.Field] = []
            if let methods = route.methods, !methods.isEmpty {
                fields.append(
                    .init(
                        name: "methods", matched: methods.contains(request.method),
                        detail: "\(request.method) in \(methods)"))
            }
            if let hosts = route.hosts, !hosts.isEmpty {
                let host = request.host ?? ""
                let ok = Bytes.with(host) { raw in
                    let split = HostSplit.compat(raw)
                    let port = split.port ?? request.destinationPort
                    return hosts.contains { CompatHost($0).matches(host: split.host, port: port) }
                }
                fields.append(
                    .init(
                        name: "hosts", matched: request.host != nil && ok,
                        detail: "\(request.host.map { "'\($0)'" } ?? "no Host") in \(hosts)"))
            }
            if let paths = route.paths, !paths.isEmpty {
                let ok = paths.contains { p in
                    if p.hasPrefix("~") {
                        return (try? PCRERegex("^" + p.dropFirst()))?.matches(path) ?? false
                    }
                    return path.utf8.starts(with: p.utf8)
                }
                fields.append(.init(name: "paths", matched: ok, detail: "'\(path)' against \(paths)"))
            }
            for rule in route.headers ?? [] {
                let ok = (try? CompatHeader(rule))?.matches(request.headers) ?? false
                let sent = request.headers.filter { h in
                    Bytes.with(h.name) { CompatHeader.sameName($0, rule.name.utf8.map(ByteTable.fold)) }
                }.map(\.value)
                fields.append(
                    .init(name: "headers.\(rule.name)", matched: ok, detail: "\(sent) against \(rule.values)"))
            }
            if let snis = route.snis, !snis.isEmpty {
                let ignored = request.scheme == .http
                let ok =
                    ignored
                    || Bytes.with(request.sni ?? "") { s in
                        request.sni != nil && snis.contains { CompatSNI($0).matches(s) }
                    }
                fields.append(
                    .init(
                        name: "snis", matched: ok,
                        detail: ignored
                            ? "ignored for plain http" : "\(request.sni.map { "'\($0)'" } ?? "no SNI") in \(snis)"))
            }
            if let sources = route.sources, !sources.isEmpty {
                let ok = sources.contains { NetRule($0).matches(ip: request.sourceIP, port: request.sourcePort) }
                fields.append(.init(name: "sources", matched: ok, detail: "\(sources.count) entries"))
            }
            if let destinations = route.destinations, !destinations.isEmpty {
                let ok = destinations.contains {
                    NetRule($0).matches(ip: request.destinationIP, port: request.destinationPort)
                }
                fields.append(.init(name: "destinations", matched: ok, detail: "\(destinations.count) entries"))
            }
            if let source = route.expression, let expression = try? ATCExpression.compile(ExpressionEngine.amended(source)) {
                // Each predicate on its own (the expression's logic is not applied).
                RequestView.with(request, routing, stream: false) { v in
                    var values = ExpressionFields(v, target: request.target)
                    var found = ExpressionFields.Found()
                    for p in expression.predicates {
                        fields.append(.init(name: "expression", matched: p.evaluate(&values, &found), detail: "\(p)"))
                    }
                }
            }
            out.append(RouteExplanation(route: route, fields: fields))
        }
        out.sort { a, b in
            let fa = a.failed.count
            let fb = b.failed.count
            if fa != fb { return fa < fb }
            return a.fields.count - fa > b.fields.count - fb
        }
        return Array(out.prefix(limit))
    }

    /// The traditional_compatible priority of a route (the first matcher of a split route),
    /// for display; nil with the traditional flavor or for a route not in the router.
    public func priority(ofRoute id: String) -> UInt64? {
        guard case .compat(let engine) = engine else { return nil }
        return engine.matchers.first { entries[$0.entry].route.id == id }?.priority
    }
}
