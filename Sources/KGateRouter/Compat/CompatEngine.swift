import KGateRegex
import KGateSchema

/// The `traditional_compatible` (and `expressions`, for routes without an expression) router:
/// every route compiled to ATC matchers, tried by descending (priority, UUID), the first that
/// matches wins (atc-router's `BTreeMap<MatcherKey(priority, uuid), _>` iterated in reverse).
final class CompatEngine: Sendable {
    /// Matchers in evaluation order: rank 0 first.
    let matchers: [CompatMatcher]
    let index: CandidateIndex
    let usesHeaders: Bool

    /// Compiles the routes; `diagnostics` receives the routes left out and why.
    ///
    /// - Parameter expressions: the `expressions` flavor, whose expression routes are the
    ///   `ExpressionEngine`'s (the `traditional_compatible` flavor ignores `expression`).
    init(entries: [RouteEntry], stream: Bool, luajit: Bool, expressions: Bool = false, diagnostics: inout [String]) {
        var matchers: [(matcher: CompatMatcher, order: Int)] = []
        for (i, entry) in entries.enumerated() {
            let route = entry.route
            if expressions, route.expression != nil {
                if stream { diagnostics.append("route \(route.id): stream expression routes are not supported; route skipped") }
                continue
            }
            if !CompatEngine.hasExpression(route, stream: stream) {
                diagnostics.append("route \(route.id): could not add route: empty expression; route skipped")
                continue
            }
            let uuid = RouteUUID.parse(route.id)
            if uuid == nil {
                diagnostics.append("route \(route.id): id is not a UUID; ties with it are broken by config order")
            }
            let groups = stream ? [[]] : CompatEngine.pathGroups(route.paths ?? [])
            for (g, paths) in groups.enumerated() {
                let id: UInt128
                if groups.count > 1 {
                    id =
                        RouteUUID.parse(RouteUUID.v5(namespace: RouteUUID.splitNamespace, name: "\(route.id)#\(g + 1)"))
                        ?? 0
                } else {
                    id = uuid ?? 0
                }
                do {
                    let m = try CompatMatcher(
                        entry: i, route: route, paths: paths, uuid: id, stream: stream, luajit: luajit)
                    matchers.append((m, matchers.count))
                } catch {
                    diagnostics.append("route \(route.id): could not add route: \(error)")
                }
            }
        }
        matchers.sort { a, b in
            if a.matcher.priority != b.matcher.priority { return a.matcher.priority > b.matcher.priority }
            if a.matcher.uuid != b.matcher.uuid { return a.matcher.uuid > b.matcher.uuid }
            return a.order < b.order
        }
        self.matchers = matchers.map(\.matcher)
        index = CandidateIndex(self.matchers.map(\.indexKeys))
        usesHeaders = self.matchers.contains { !$0.headers.isEmpty }
    }

    /// Whether `get_expression` would produce anything: an empty expression does not parse,
    /// and Kong leaves the route out.
    static func hasExpression(_ r: RouteDefinition, stream: Bool) -> Bool {
        func set<T>(_ a: [T]?) -> Bool { !(a ?? []).isEmpty }
        if set(r.snis) || set(r.sources) || set(r.destinations) { return true }
        return !stream && (set(r.methods) || set(r.hosts) || set(r.paths) || set(r.headers))
    }

    /// `group_by_regex_or_length`: all regexes together, prefixes by length, in order of first
    /// appearance. A route without paths is one group without paths.
    static func pathGroups(_ paths: [String]) -> [[String]] {
        if paths.isEmpty { return [[]] }
        var keys: [Int] = []
        var groups: [[String]] = []
        for p in paths {
            let key = p.hasPrefix("~") ? 0 : p.utf8.count
            if let i = keys.firstIndex(of: key) {
                groups[i].append(p)
            } else {
                keys.append(key)
                groups.append([p])
            }
        }
        return groups
    }

    /// What a matcher matched: the path length it consumed and the regex captures.
    struct Hit {
        var prefixLength: Int?
        var pathMatch: PCREMatch?
    }

    /// Runs matchers for ``CandidateIndex`` and keeps what the last accepted one matched.
    /// Holds no strong reference, so the search costs no reference counting.
    struct Acceptor: CandidateAcceptor {
        unowned(unsafe) let engine: CompatEngine
        let view: RequestView
        var hit = Hit()
        var pathString: String?

        mutating func accept(_ rank: Int32) -> Bool {
            var h = Hit()
            guard engine.evaluate(engine.matchers[Int(rank)], view, &h, &pathString) else { return false }
            hit = h
            return true
        }
    }

    /// The first matcher (in priority order) that matches.
    ///
    /// - Parameter scan: try every matcher in order instead of using the index (tests).
    func match(_ v: RequestView, scan: Bool) -> EngineMatch? {
        if v.invalidUTF8 { return nil }  // atc-router: invalid utf-8 sequence
        var acceptor = Acceptor(engine: self, view: v)
        let hostKey = v.compatHost
        let best =
            scan
            ? CandidateIndex.scanAll(count: matchers.count, &acceptor)
            : index.best(hostKeys: (hostKey, nil), wildcardHost: hostKey, path: v.path, &acceptor)
        guard let best else { return nil }
        let m = matchers[Int(best)]
        return EngineMatch(
            compat: m.entry, stripPath: m.stripPath, prefixLength: acceptor.hit.prefixLength,
            pathMatch: acceptor.hit.pathMatch)
    }

    /// The expression of one matcher, evaluated on the request.
    func evaluate(_ m: CompatMatcher, _ v: RequestView, _ hit: inout Hit, _ pathString: inout String?) -> Bool {
        if !m.snis.isEmpty {
            let secure: RouteRequest.Scheme = m.stream ? .tls : .https
            if v.scheme == secure {
                guard let sni = v.sni, m.snis.contains(where: { $0.matches(sni) }) else { return false }
            }
        }
        if !m.sources.isEmpty, !m.sources.contains(where: { $0.matches(ip: v.sourceIP, port: v.sourcePort) }) {
            return false
        }
        if !m.destinations.isEmpty {
            let port = m.stream ? v.destinationPort : v.compatPort
            if !m.destinations.contains(where: { $0.matches(ip: v.destinationIP, port: port) }) { return false }
        }
        if m.stream { return true }
        if !m.methods.isEmpty, !m.methods.contains(where: { Bytes.equal(v.method, $0) }) { return false }
        if !m.hosts.isEmpty {
            guard let host = v.compatHost else { return false }
            let port = v.compatPort
            if !m.hosts.contains(where: { $0.matches(host: host, port: port) }) { return false }
        }
        if !m.prefixes.isEmpty {
            guard let p = m.prefixes.first(where: { Bytes.hasPrefix(v.path, $0) }) else { return false }
            hit.prefixLength = p.count
        } else if !m.regexes.isEmpty {
            let subject = pathString ?? String(decoding: v.path, as: UTF8.self)
            pathString = subject
            var found = false
            for r in m.regexes {
                if let match = try? r.regex.firstMatch(in: subject) {
                    hit.prefixLength = match.range.count
                    hit.pathMatch = match
                    found = true
                    break
                }
            }
            if !found { return false }
        }
        for h in m.headers where !h.matches(v.headers) { return false }
        return true
    }
}
