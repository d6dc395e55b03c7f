import NIOCore
import NIOPosix
import KGateConfig
import KGatePlugins
import KGateRouter
import KGateSchema
import KGateStore
import Testing

/// A registry, catalogue and loader shared by the tests (building them validates the schemas).
enum Gate {
    static let registry = PluginRegistry.bundled()
    static let catalog = EntityCatalog(pluginConfigSchemas: registry.configSchemas)
    static let loader = DeclarativeLoader(catalog: catalog)

    struct LoadFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Loads YAML into a page.
    static func page(_ yaml: String) throws -> Page {
        switch loader.load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success(let config): return Page(config: config, catalog: catalog)
        case .failure(let error): throw LoadFailure(description: CLIErrorText.details(error))
        }
    }

    /// The loader's error text for a config, nil when it loads.
    static func loadError(_ yaml: String) -> String? {
        switch loader.load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success: return nil
        case .failure(let error): return CLIErrorText.details(error)
        }
    }

    /// A runner for a config, with a given registry.
    static func runner(_ yaml: String, registry: PluginRegistry = Gate.registry) throws -> PluginRunner {
        try PluginRunner(page: page(yaml), registry: registry)
    }

    /// The id of the route with this name.
    static func routeID(_ runner: PluginRunner, _ name: String) -> String {
        runner.database.page.entity("routes", endpointKey: name)?["id"]?.stringValue ?? "?"
    }

    /// The id of the consumer with this username.
    static func consumerID(_ runner: PluginRunner, _ name: String) -> String {
        runner.database.page.entity("consumers", endpointKey: name)?["id"]?.stringValue ?? "?"
    }
}

/// One request through rewrite and access on a route.
struct Exchange {
    var ctx: PluginContext
    let runner: PluginRunner

    init(
        _ runner: PluginRunner, route: String?, method: String = "GET", path: String = "/",
        query: String? = nil, headers: HTTPFields = [:], body: String? = nil, ip: String = "127.0.0.1",
        time: Double = 1_700_000_000, captures: RouteCaptures? = nil, shared: [String: any Sendable] = [:]
    ) {
        self.runner = runner
        let request = PluginRequest(
            method: method, host: "example.test", rawPath: path, rawQuery: query, headers: headers,
            forwardedIP: ip, requestID: "req-1", startTime: time)
        ctx = runner.makeContext(request)
        ctx.shared = shared
        runner.rewrite(&ctx)
        if let route {
            let id = Gate.routeID(runner, route)
            let service = runner.database.page.entity("routes", id: id)?["service"]?.objectValue?["id"]?.stringValue
            ctx.setRoute(id: id, serviceID: service, captures: captures)
            if runner.needsRequestBody(ctx), let body { ctx.request.attachBody(Array(body.utf8)) }
            runner.access(&ctx)
            Self.settle(runner, &ctx)
        }
    }

    /// Runs a suspended `access` to its end as the proxy does, waiting (blocking the test's
    /// thread) for each plugin's I/O.
    static func settle(_ runner: PluginRunner, _ ctx: inout PluginContext) {
        while let suspension = ctx.takeSuspension() {
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let promise = loop.makePromise(of: PluginSuspension.Resume.self)
            loop.execute { suspension.whenReady(on: loop) { promise.succeed($0) } }
            guard let resume = try? promise.futureResult.wait() else { return }
            runner.resumeAccess(&ctx, resume)
        }
    }

    /// The exit's status, 0 when the request would be proxied.
    var status: Int { ctx.exitResponse?.status ?? 0 }

    /// The exit's message (`kongError` or a JSON `message`).
    var message: String? {
        switch ctx.exitResponse?.body {
        case .kongError(let m)?: return m
        case .json(let v)?: return v["message"]?.stringValue
        default: return nil
        }
    }

    /// An upstream request header.
    func upstream(_ name: String) -> String? { ctx.request.header(name) }

    /// Runs header_filter on an upstream 200 (or on the exit) and returns the response headers.
    mutating func respond(status: Int = 200, headers: HTTPFields = [:]) -> HTTPFields {
        if let exit = ctx.exitResponse {
            runner.headerFilter(&ctx, status: exit.status, headers: exit.headers, fromService: false)
        } else {
            runner.headerFilter(&ctx, status: status, headers: headers, fromService: true)
        }
        return ctx.response.headers
    }
}
