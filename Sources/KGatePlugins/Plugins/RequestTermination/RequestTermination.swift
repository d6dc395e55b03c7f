#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateConfig
import KGateSchema

/// Kong's `request-termination` (PRIORITY 2): answers with `status_code` and `message` (as
/// `{"message": ...}`), or a raw `body` with `content_type`, or an echo of the request; with
/// `trigger`, only when that header or query argument is present.
public struct RequestTerminationPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var status: Int
        var message: String?
        var contentType: String?
        var body: String?
        var echo: Bool
        var trigger: String?
    }

    /// `request-termination`.
    public static let name = "request-termination"
    /// 2.
    public static let priority = 2
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Kong's messages for statuses without a configured one.
    static let defaultMessages = [
        401: "Unauthorized", 404: "Not found", 405: "Method not allowed", 500: "An unexpected error occurred",
        502: "Bad Gateway", 503: "Service unavailable",
    ]

    /// The node's id and host name, for echoes.
    let nodeID: String
    let hostname: String

    /// Makes the plugin; `nodeID` (`kong.node.get_id()`, a random UUID when nil) and
    /// `hostname` appear in echoes.
    public init(nodeID: String? = nil, hostname: String? = nil) {
        self.nodeID = nodeID ?? EntityID.random()
        self.hostname = hostname ?? NodeHostname.read() ?? ""
    }

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            status: config.integer("status_code") ?? 503, message: config.string("message"),
            contentType: config.string("content_type"), body: config.string("body"), echo: config.bool("echo"),
            trigger: config.string("trigger"))
    }

    /// Echoes read the body.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { config.echo ? .always : .never }

    /// Terminates.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if let trigger = config.trigger, ctx.request.headers.tableValue(trigger) == nil,
            ctx.request.queryArgument(trigger) == nil
        {
            return
        }
        let message = config.message ?? Self.defaultMessages[config.status]
        if config.echo {
            var echo: Object = [:]
            if let message { echo["message"] = .string(message) }
            echo["kong"] = [
                "node_id": .string(nodeID), "worker_pid": .integer(Int(getpid())), "hostname": .string(hostname),
            ]
            echo["request"] = .object(requestEcho(ctx))
            if let route = ctx.routeEntity {
                echo["matched_route"] = Self.withoutNulls(.object(route))
            }
            if let service = ctx.serviceEntity {
                echo["matched_service"] = Self.withoutNulls(.object(service))
            }
            try ctx.exit(config.status, body: .json(.object(echo)))
        } else if let body = config.body {
            var headers = HTTPFields()
            if let type = config.contentType { headers.set("Content-Type", type) }
            try ctx.exit(config.status, body: .bytes(Array(body.utf8)), headers: headers)
        } else if let message {
            try ctx.exit(config.status, message: message)
        } else {
            try ctx.exit(config.status)
        }
    }

    /// Adds a value under a name as Lua tables collect repeated names: one value, then an
    /// array of them.
    private static func collect(_ value: Value, as name: String, in table: inout Object) {
        switch table[name] {
        case nil: table[name] = value
        case .array(let list)?: table[name] = .array(list + [value])
        case let first?: table[name] = .array([first, value])
        }
    }

    private func requestEcho(_ ctx: PluginContext) -> Object {
        let r = ctx.request
        var headers: Object = [:]
        for field in r.headers { Self.collect(.string(field.value), as: HTTPFields.lowercased(field.name), in: &headers) }
        var echo: Object = [
            "scheme": .string(r.scheme), "host": .string(r.host), "port": .integer(r.port), "headers": .object(headers),
            "query": .object(Self.table(r.query)),
        ]
        switch r.decodedBody() {
        case .success(.json(let v)): echo["body"] = v
        case .success(.form(let args)): echo["body"] = .object(Self.table(args))
        case .success(.multipart(let m)):
            // lua-multipart's `get_all_with_arrays`: a repeated name's values as an array.
            var parts = Object()
            for part in m.parts { Self.collect(.string(String(decoding: part.value, as: UTF8.self)), as: part.name, in: &parts) }
            echo["body"] = .object(parts)
        case .failure: break
        }
        // `kong.request.get_raw_body()` is "" for a request without a body.
        echo["raw_body"] = .string(String(decoding: r.body ?? [], as: UTF8.self))
        echo["method"] = .string(r.method)
        echo["path"] = .string(r.path)
        var named: Object = [:]
        for (k, v) in (ctx.captures?.named ?? [:]).sorted(by: { $0.key < $1.key }) { named[k] = .string(v) }
        let unnamed = (ctx.captures?.numbered.dropFirst() ?? []).map { $0.map(Value.string) ?? .bool(false) }
        echo["uri_captures"] = ["named": .object(named), "unnamed": .array(Array(unnamed))]
        return echo
    }

    /// `ngx.req.get_uri_args()` / `get_post_args()`: a flag is `true`, a repeated name a list.
    static func table(_ args: QueryArgs) -> Object {
        var table: Object = [:]
        for name in args.names {
            switch args[name] {
            case .string(let s)?: table[name] = .string(s)
            case .flag?: table[name] = .bool(true)
            case .multiple(let list)?: table[name] = .array(list.map { $0.map(Value.string) ?? .bool(true) })
            case nil: break
            }
        }
        return table
    }

    /// An entity as Kong's router holds it: read without `nulls`, so null fields are absent.
    static func withoutNulls(_ value: Value) -> Value {
        guard case .object(let object) = value else { return value }
        var out: Object = [:]
        for (key, field) in object where field != .null { out[key] = withoutNulls(field) }
        return .object(out)
    }
}
