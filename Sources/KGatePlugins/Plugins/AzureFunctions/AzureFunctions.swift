import KGateSchema
import NIOCore
import NIOHTTP1
import Synchronization

/// Kong's `azure-functions` (PRIORITY 749): calls the function
/// `http(s)://<appname>.<hostdomain>/<routeprefix>/<functionname>` with the client's method,
/// query, headers (without `Host`) and body, `x-functions-key` / `x-functions-clientid` from
/// `apikey` / `clientid`, and answers with the function's status, headers and body instead of
/// proxying (the route's service is never called). As Kong's handler does, the answer drops
/// `Connection`, `Keep-Alive`, `Proxy-Connection`, `Upgrade` and `Transfer-Encoding` and gets
/// `Via: 2 kong/<version>` (appended to the function's own `Via`) when `headers` has it; a failed
/// call answers 500
/// `{"message":"An unexpected error occurred"}`. Connections are kept alive per function for
/// the next call; `https_verify` checks the server's certificate with the system's trust store.
public final class AzureFunctionsPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var endpoint: PluginHTTPClient.Endpoint
        var apiKey: String?
        var clientID: String?
        var timeout: TimeAmount
    }

    /// `azure-functions`.
    public static let name = "azure-functions"
    /// 749.
    public static let priority = 749
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's `azure-functions` config schema.
    public static let schema = Schema.record([
        ("timeout", Field.number.defaulting(600000)),
        ("keepalive", Field.number.defaulting(60000)),
        ("https", Field.boolean.defaulting(true)),
        ("https_verify", Field.boolean.defaulting(false)),
        ("apikey", Field.string.with { $0.encrypted = true; $0.referenceable = true }),
        ("clientid", Field.string.with { $0.encrypted = true; $0.referenceable = true }),
        ("appname", Field.string.with { $0.required = true }),
        ("hostdomain", Field.string.with { $0.required = true; $0.defaultValue = "azurewebsites.net" }),
        ("routeprefix", Field.string.defaulting("api")),
        ("functionname", Field.string.with { $0.required = true }),
    ])

    /// The kept-alive client of each function; calls connect to a given address instead of
    /// the function's host and port in tests (as Kong's spec points them at a mock server).
    private let clients: PluginHTTPClients
    /// Whether the node's `headers` turn `Via` on.
    private let via: Bool

    /// - Parameter via: whether the node's `headers` turn `Via` on.
    public init(via: Bool = true) {
        clients = PluginHTTPClients()
        self.via = via
    }

    init(connectingTo address: (host: String, port: Int), via: Bool = true) {
        clients = PluginHTTPClients(connectingTo: address)
        self.via = via
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let https = config.bool("https")
        let host = (config.string("appname") ?? "") + "." + (config.string("hostdomain") ?? "")
        return Config(
            endpoint: PluginHTTPClient.Endpoint(
                tls: https, host: host, port: https ? 443 : 80,
                path: Self.path(prefix: config.string("routeprefix") ?? "", function: config.string("functionname") ?? ""),
                verify: config.bool("https_verify")),
            apiKey: config.string("apikey"), clientID: config.string("clientid"),
            timeout: .milliseconds(Int64(config.number("timeout") ?? 600000)))
    }

    /// The function's body is the client's: read before `access`.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .always }

    /// Kong's path: the prefix and the function name without their outer slashes, each after
    /// a `/` (an empty prefix is left out).
    static func path(prefix: String, function: String) -> String {
        func trimmed(_ s: String) -> Substring {
            let start = s.firstIndex { $0 != "/" } ?? s.endIndex
            let end = s[start...].lastIndex { $0 != "/" }.map { s.index(after: $0) } ?? start
            return s[start..<end]
        }
        let prefix = trimmed(prefix)
        return (prefix.isEmpty ? "" : "/" + prefix) + "/" + trimmed(function)
    }

    /// Request headers that are the connection's, not the call's.
    static let connectionHeaders: Set<String> = [
        "host", "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "content-length",
    ]

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var headers = HTTPHeaders()
        for field in ctx.request.headers.fields {
            let name = field.name.lowercased()
            if !Self.connectionHeaders.contains(name) { headers.add(name: name, value: field.value) }
        }
        if let key = config.apiKey { headers.replaceOrAdd(name: "x-functions-key", value: key) }
        if let id = config.clientID { headers.replaceOrAdd(name: "x-functions-clientid", value: id) }
        let body = ctx.request.body ?? []
        if !body.isEmpty { headers.replaceOrAdd(name: "Content-Length", value: String(body.count)) }
        let client = clients.client(for: config.endpoint)
        let (method, query, timeout, sent) = (HTTPMethod(rawValue: ctx.request.method), ctx.request.rawQuery, config.timeout, headers)
        let addsVia = via
        let span = ctx.trace?.startHTTPClient(
            url: config.endpoint.origin, method: method.rawValue, userAgent: ctx.request.header("user-agent"))
        ctx.wait(forTask: { try await client.send(method: method, headers: sent, body: body, query: query, timeout: timeout) }) {
            ctx, result in
            if let span { ctx.trace?.finishHTTPClient(span, status: result.map(\.status)) }
            switch result {
            case .success(let response):
                var answer = FunctionResponseHeaders.fields(response.headers)
                if addsVia { FunctionResponseHeaders.addVia(to: &answer) }
                try ctx.exit(response.status, body: response.bytes.isEmpty ? .empty : .bytes(response.bytes), headers: answer)
            case .failure(let error):
                ctx.logger.error("\(error)")
                try ctx.exit(500, message: "An unexpected error occurred")
            }
        }
    }

}
