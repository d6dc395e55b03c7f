import KGateConfig
import KGateSchema

/// Kong's `kong.log.serialize()` (`kong/pdk/log.lua`): the table logging plugins write, built
/// from the request as plugins saw it, what the proxy served (``PluginContext/served``), the
/// matched route and service and the authenticated consumer as entities, then the values of
/// `kong.log.set_serialize_value` (dotted keys reach into sub-tables).
///
/// `authorization` and `proxy-authorization` request headers are `REDACTED`, as in Kong.
public enum LogSerializer {
    /// Kong's default workspace name; kgate has no other.
    static let workspaceName = "default"
    /// The default workspace's id (Kong's `ctx.workspace`): kgate's one workspace has no row,
    /// so its id is derived from its name, the same on every node and start.
    static let workspaceID = EntityID.generate(entity: "workspaces", key: workspaceName)

    /// The table as logging plugins write it: cjson's encoding.
    public static func json(_ ctx: PluginContext) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2048)
        KongJSONEncoderShim.encode(serialize(ctx), into: &bytes)
        return bytes
    }

    public static func serialize(_ ctx: PluginContext) -> Value {
        if let session = ctx.session { return serialize(session, ctx) }
        let served = ctx.served
        let request = ctx.request
        let uri = served?.requestURI ?? request.rawPath + (request.rawQuery.map { "?" + $0 } ?? "")
        let port = served?.hostPort ?? request.port
        var requestObject: Object = [
            "id": .string(request.requestID),
            "uri": .string(uri),
            "url": .string("\(request.scheme)://\(request.host):\(port)\(uri)"),
            "querystring": queryTable(request.query),
            "method": .string(request.method),
            "headers": headerTable(request.headers, redacting: true),
            "size": .integer(served?.requestSize ?? 0),
        ]
        if let tls = served?.tls { requestObject["tls"] = tlsTable(tls) }
        var root: Object = [
            "request": .object(requestObject),
            "upstream_uri": .string(served.map { upstreamURI($0.upstreamURI, requestURI: uri) } ?? ""),
            "upstream_status": .string(served?.upstreamStatus ?? ""),
            "response": .object([
                "status": .integer(served?.status ?? ctx.response.status),
                "headers": headerTable(served?.responseHeaders ?? HTTPFields(), redacting: false),
                "size": .integer(served?.responseSize ?? 0),
            ]),
            "latencies": .object([
                "kong": .integer(served?.kongLatency ?? 0),
                "proxy": .integer(served?.proxyLatency ?? -1),
                "request": .integer(served?.requestLatency ?? 0),
                "receive": .integer(served?.receiveLatency ?? 0),
            ]),
            "client_ip": .string(served?.clientIP ?? request.forwardedIP),
            "started_at": .integer(Int(request.startTime * 1000)),
            "source": .string((served?.source ?? .kong).rawValue),
            "workspace": .string(workspaceID),
            "workspace_name": .string(workspaceName),
        ]
        if let tries = served?.tries { root["tries"] = .array(tries.map(tryTable)) }
        return finish(root, ctx)
    }

    /// Kong's stream serializer: the session's bytes, status and TLS, the upstream's bytes,
    /// the latencies before proxying and of the whole session.
    static func serialize(_ session: StreamSession, _ ctx: PluginContext) -> Value {
        var sessionObject: Object = [
            "received": .integer(session.received),
            "sent": .integer(session.sent),
            "status": .integer(session.status),
        ]
        if let port = session.serverPort { sessionObject["server_port"] = .integer(port) }
        if let tls = session.tls { sessionObject["tls"] = tlsTable(tls) }
        var root: Object = [
            "session": .object(sessionObject),
            "upstream": .object(["received": .integer(session.upstreamReceived), "sent": .integer(session.upstreamSent)]),
            "latencies": .object(["kong": .integer(session.kongLatency), "session": .integer(session.sessionLatency)]),
            "client_ip": .string(session.clientIP),
            "started_at": .integer(Int(ctx.request.startTime * 1000)),
            "workspace": .string(workspaceID),
            "workspace_name": .string(workspaceName),
        ]
        root["tries"] = .array(session.tries.map(tryTable))
        return finish(root, ctx)
    }

    /// The entities every shape carries, then `kong.log.set_serialize_value`'s values.
    private static func finish(_ root: Object, _ ctx: PluginContext) -> Value {
        var root = root
        if let credential = ctx.credential {
            var entity: Object = [:]
            if let id = credential.id { entity["id"] = .string(id) }
            if let consumer = credential.consumerID ?? ctx.consumer?.id { entity["consumer_id"] = .string(consumer) }
            root["authenticated_entity"] = .object(entity)
        }
        if let route = ctx.routeEntity { root["route"] = .object(route) }
        if let service = ctx.serviceEntity { root["service"] = .object(service) }
        if let consumer = ctx.consumer { root["consumer"] = .object(consumer.row) }
        for (key, value) in ctx.serializedValues.sorted(by: { $0.key < $1.key }) {
            set(value, at: path(key), in: &root)
        }
        return .object(root)
    }

    /// `$upstream_uri` with the request's query, as Kong appends it when the upstream target
    /// has none.
    static func upstreamURI(_ upstream: String, requestURI: String) -> String {
        guard !upstream.isEmpty, !upstream.contains("?") else { return upstream }
        if requestURI.hasSuffix("?") { return upstream + "?" }
        if let q = requestURI.firstIndex(of: "?") { return upstream + requestURI[q...] }
        return upstream
    }

    /// Headers as `ngx.req.get_headers()` gives them: lower-case names, a list for a name sent
    /// more than once.
    static func headerTable(_ headers: HTTPFields, redacting: Bool) -> Value {
        var table: Object = [:]
        for field in headers.fields {
            let name = field.name.lowercased()
            let value = Value.string(field.value)
            switch table[name] {
            case nil: table[name] = value
            case .array(var list)?:
                list.append(value)
                table[name] = .array(list)
            case let first?: table[name] = .array([first, value])
            }
        }
        if redacting {
            for name in ["authorization", "proxy-authorization"] where table[name] != nil {
                table[name] = .string("REDACTED")
            }
        }
        return .object(table)
    }

    /// `kong.request.get_query()`: `true` for a flag, a string, or a list of them.
    static func queryTable(_ query: QueryArgs) -> Value {
        var table: Object = [:]
        for name in query.names {
            switch query[name] {
            case .flag?: table[name] = .bool(true)
            case .string(let s)?: table[name] = .string(s)
            case .multiple(let list)?: table[name] = .array(list.map { $0.map(Value.string) ?? .bool(true) })
            case nil: break
            }
        }
        return .object(table)
    }

    /// Kong's `build_tls_info`.
    static func tlsTable(_ tls: ClientTLS) -> Value {
        .object(["version": .string(tls.version), "cipher": .string(tls.cipher), "client_verify": .string(tls.clientVerify)])
    }

    static func tryTable(_ t: ServedExchange.Try) -> Value {
        var o: Object = [
            "ip": .string(t.ip), "port": .integer(t.port), "balancer_start": .integer(t.balancerStart),
            "balancer_latency": .integer(t.balancerLatency),
            "balancer_start_ns": .integer(t.balancerStartNanoseconds),
            "balancer_latency_ns": .integer(t.balancerLatency * 1_000_000),
        ]
        if let state = t.state { o["state"] = .string(state) }
        if let code = t.code { o["code"] = .integer(code) }
        return .object(o)
    }

    /// A `set_serialize_value` key split at its dots (`\.` is a dot inside a name).
    static func path(_ key: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for c in key {
            if escaped {
                current.append(c == "." ? "." : "\\\(c)")
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == ".", !current.isEmpty {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        if escaped { current.append("\\") }
        parts.append(current)
        return parts
    }

    /// Kong's `set` mode: sub-tables are made as needed; a path through a non-table is skipped.
    static func set(_ value: Value, at path: [String], in object: inout Object) {
        guard let first = path.first else { return }
        if path.count == 1 { return object[first] = value }
        var child: Object
        switch object[first] {
        case nil: child = [:]
        case .object(let existing)?: child = existing
        default: return
        }
        set(value, at: Array(path.dropFirst()), in: &child)
        object[first] = .object(child)
    }
}
