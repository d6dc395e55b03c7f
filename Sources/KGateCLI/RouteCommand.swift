import ArgumentParser
import KGateConfig
import KGatePlugins
import KGateRouter
import KGateSchema
import KGateStore
import KGateServer
import KGateSettings

/// `kgate route`: see how requests are routed.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Inspect how kgate routes requests.",
        subcommands: [RouteTestCommand.self]
    )
}

/// `kgate route test`: route one request with a config, print the route, service, captures and
/// upstream URL, or why nothing matched.
struct RouteTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Show which route and service a request would reach.",
        discussion: """
            Loads the declarative config, builds the router as `kgate start` would, and routes \
            one request. Prints the matched route and service (names and ids), the regex \
            captures, the upstream URL and Host, and the response Kong would give instead of \
            proxying (426/redirect for https-only routes, 503 for a route without service). \
            When nothing matches, prints the closest routes and the fields that failed. \
            Exit status 0 when a route matches, 1 when none does or the config is invalid.
            """
    )

    @Option(name: [.short, .customLong("config")], help: "The declarative config file.")
    var config = "kong.yml"

    @Option(help: "The request method.")
    var method = "GET"

    @Option(help: "The Host header (with an optional :port); omit for a request without Host.")
    var host: String?

    @Option(help: "The request target: path and optional query.")
    var path = "/"

    @Option(name: .customLong("header"), help: "A request header as name:value (repeatable).")
    var headers: [String] = []

    @Flag(help: "The request arrives over TLS (scheme https).")
    var https = false

    @Option(help: "The TLS SNI (https requests).")
    var sni: String?

    @Option(help: "The port the request arrives on (net.dst.port when Host has no port).")
    var port: Int?

    @Option(name: .customLong("router-flavor"), help: "traditional_compatible (default), traditional or expressions.")
    var routerFlavor = "traditional_compatible"

    func validate() throws {
        if Router.Flavor(rawValue: routerFlavor) == nil {
            throw ValidationError("--router-flavor must be traditional_compatible, traditional or expressions")
        }
        for h in headers where !h.contains(":") {
            throw ValidationError("--header must be name:value, got '\(h)'")
        }
    }

    /// The node's entity catalog (plugin schemas included) for a router flavor.
    static func catalog(_ flavor: KGateConfig.RouterFlavor) -> EntityCatalog {
        var settings = NodeSettings()
        settings.routerFlavor = KGateSettings.RouterFlavor(rawValue: flavor.rawValue) ?? .traditionalCompatible
        return NodePlugins(settings: settings).catalog
    }

    func run() throws {
        let console = Console.current
        let flavor = Router.Flavor(rawValue: routerFlavor)!
        let catalogFlavor = KGateConfig.RouterFlavor(rawValue: routerFlavor) ?? .traditionalCompatible
        let loaded: DeclarativeConfig
        switch DeclarativeLoader(catalog: Self.catalog(catalogFlavor)).load(path: config) {
        case .success(let c): loaded = c
        case .failure(let error):
            console.err(CLIErrorText.render(error))
            throw ExitCode(1)
        }
        let router = Router(
            routeEntities: loaded.entities["routes"].map { Array($0.values) } ?? [],
            serviceEntities: loaded.entities["services"].map { Array($0.values) } ?? [], flavor: flavor)
        let plugins = try? Self.pluginRunner(loaded)
        let request = makeRequest()
        var out = "Request:  \(method) \(https ? "https" : "http")://\(host ?? "(no Host)")\(path)"
        out += "  [router_flavor \(flavor.rawValue)]\n"
        for note in router.diagnostics { out += "Note:     \(note)\n" }
        guard let match = router.match(request) else {
            out += "Result:   404 no Route matched with those values\n"
            out += explain(router, request)
            console.out(out)
            throw ExitCode(1)
        }
        out += describe(match, router: router)
        if let plugins {
            let scopes = plugins.configs(route: match.route.id)
            if !scopes.isEmpty {
                out += "Plugins:  " + scopes.map { "\($0.name) (\(Self.describe($0)))" }.joined(separator: ", ") + "\n"
                out += "          (without a consumer; consumer-scoped configs apply once an auth plugin identifies one)\n"
            }
        }
        console.out(out)
    }

    /// The plugins iterator of a loaded config, as the node builds it.
    static func pluginRunner(_ config: DeclarativeConfig) throws -> PluginRunner? {
        let plugins = NodePlugins(settings: NodeSettings())
        let store = try ConfigStore(catalog: plugins.catalog, artifacts: [plugins.builder])
        _ = try store.install(config, source: .none)
        return store.current.artifact(for: PluginsBuilder.self)
    }

    /// Which entities a plugin config is scoped to (`global` when none).
    static func describe(_ scope: PluginScope) -> String {
        var parts: [String] = []
        if scope.routeID != nil { parts.append("route") }
        if scope.serviceID != nil { parts.append("service") }
        if scope.consumerID != nil { parts.append("consumer") }
        return parts.isEmpty ? "global" : parts.joined(separator: "+")
    }

    private func makeRequest() -> RouteRequest {
        let parsed = headers.map { h -> RouteRequest.Header in
            let colon = h.firstIndex(of: ":")!
            let value = h[h.index(after: colon)...].drop { $0 == " " }
            return RouteRequest.Header(String(h[..<colon]), String(value))
        }
        return RouteRequest(
            method: method, target: path, host: host, scheme: https ? .https : .http, sni: sni, headers: parsed,
            destinationPort: port ?? (https ? 443 : 80))
    }

    private func describe(_ m: RouteMatch, router: Router) -> String {
        var out = "Route:    \(m.route.name ?? "(unnamed)") (id \(m.route.id))\n"
        if let p = router.priority(ofRoute: m.route.id) {
            out += "Priority: 0x\(String(p, radix: 16))\n"
        }
        var matched: [String] = []
        if let h = m.matchedHost { matched.append("host \(h)") }
        if let p = m.matchedPath { matched.append("path \(p)") }
        if let meth = m.matchedMethod { matched.append("method \(meth)") }
        for (k, v) in m.matchedHeaders.sorted(by: { $0.key < $1.key }) { matched.append("header \(k)=\(v)") }
        if !matched.isEmpty { out += "Matched:  \(matched.joined(separator: ", "))\n" }
        out += "Path:     \(m.path)"
        if let prefix = m.prefix { out += " (strip_path removes '\(prefix)')" }
        out += "\n"
        if let c = m.captures {
            var parts: [String] = []
            for (i, v) in c.numbered.enumerated() { parts.append("\(i)=\(v.map { "'\($0)'" } ?? "nil")") }
            for (k, v) in c.named.sorted(by: { $0.key < $1.key }) { parts.append("\(k)='\(v)'") }
            out += "Captures: \(parts.joined(separator: " "))\n"
        }
        guard let service = m.service else {
            out += "Service:  none\n"
            out += "Result:   503 no Service found with those values (after the access plugins run)\n"
            return out
        }
        out += "Service:  \(service.name ?? "(unnamed)") (id \(service.id))\n"
        let port = service.effectivePort ?? 0
        out += "Upstream: \(service.protocol)://\(service.host):\(port)\(m.upstreamTarget)\n"
        let hostHeader = m.upstreamHostHeader(targetHost: service.host, targetPort: port)
        out += "Host:     \(hostHeader)\(m.route.preserveHost ? " (preserve_host)" : "")\n"
        let outcome = RouteOutcome.evaluate(
            m, forwardedProto: https ? "https" : "http", forwardedHost: host ?? "", requestURI: path,
            contentType: headers.first { $0.lowercased().hasPrefix("content-type:") }.map {
                String($0.dropFirst("content-type:".count)).trimmingSpaces
            }, httpMajorVersion: 1)
        switch outcome {
        case .proceed:
            out += "Result:   proxied\n"
        case .respond(let r):
            var line = "Result:   \(r.status)"
            if let msg = r.message { line += " \(msg)" }
            for h in r.headers { line += " [\(h.name): \(h.value)]" }
            out += line + "\n"
        }
        return out
    }

    private func explain(_ router: Router, _ request: RouteRequest) -> String {
        let closest = router.explain(request)
        if closest.isEmpty { return "No routes in the config serve this subsystem.\n" }
        var out = "Closest routes:\n"
        for e in closest {
            out += "  \(e.route.name ?? "(unnamed)") (id \(e.route.id))\n"
            for f in e.fields {
                out += "    \(f.matched ? "ok  " : "FAIL") \(f.name): \(f.detail)\n"
            }
            if e.fields.isEmpty { out += "    (no matching fields)\n" }
        }
        return out
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
