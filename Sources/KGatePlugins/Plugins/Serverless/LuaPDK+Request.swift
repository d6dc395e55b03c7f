import KGateLua
import KGateSchema

/// `kong.request`, `kong.client`, `kong.router`, `kong.service` and `kong.service.request`.
extension LuaPDK {
    static let request: [(name: String, function: Function)] = [
        ("kong.request.get_scheme", { c in c.withContext { c.returning($0.request.scheme) } }),
        ("kong.request.get_host", { c in c.withContext { c.returning($0.request.host) } }),
        ("kong.request.get_port", { c in c.withContext { c.returning($0.request.port) } }),
        ("kong.request.get_forwarded_scheme", { c in
            c.withContext { ctx in
                c.returning(trusted(ctx, "x-forwarded-proto").map(HTTPFields.lowercased) ?? ctx.request.scheme)
            }
        }),
        ("kong.request.get_forwarded_host", { c in
            c.withContext { ctx in
                guard let host = trusted(ctx, "x-forwarded-host") else { return c.returning(ctx.request.host) }
                return c.returning(HTTPFields.lowercased(String(hostAndPort(host).host)))
            }
        }),
        ("kong.request.get_forwarded_port", { c in
            c.withContext { ctx in
                if let port = trusted(ctx, "x-forwarded-port").flatMap({ Int($0) }), (1...65535).contains(port) {
                    return c.returning(port)
                }
                if let host = trusted(ctx, "x-forwarded-host"), let port = hostAndPort(host).port.flatMap({ Int($0) }),
                    (1...65535).contains(port)
                {
                    return c.returning(port)
                }
                return c.returning(ctx.hostPort ?? ctx.request.port)
            }
        }),
        ("kong.request.get_forwarded_path", { c in
            c.withContext { c.returning(trusted($0, "x-forwarded-path") ?? $0.request.path) }
        }),
        ("kong.request.get_forwarded_prefix", { c in
            c.withContext { c.returning(trusted($0, "x-forwarded-prefix") ?? $0.forwardedPrefix) }
        }),
        ("kong.request.get_http_version", { c in c.withContext { c.returning($0.request.httpVersion) } }),
        ("kong.request.get_method", { c in c.withContext { c.returning($0.request.method) } }),
        ("kong.request.get_path", { c in c.withContext { c.returning($0.request.path) } }),
        ("kong.request.get_raw_path", { c in c.withContext { c.returning($0.request.rawPath) } }),
        ("kong.request.get_path_with_query", { c in
            c.withContext { ctx in
                let query = ctx.request.rawQuery ?? ""
                return c.returning(ctx.request.path + (query.isEmpty ? "" : "?" + query))
            }
        }),
        ("kong.request.get_raw_query", { c in c.withContext { c.returning($0.request.rawQuery ?? "") } }),
        ("kong.request.get_query_arg", { c in
            guard let name = c.string(1) else { return c.raise("query argument name must be a string") }
            return c.withContext { ctx in c.returning(queryValue(ctx.request.queryArgument(name))) }
        }),
        ("kong.request.get_query", { c in
            limited(c, "max_args") { max, ctx in LogSerializer.queryTable(QueryArgs(Array(ctx.request.query.pairs.prefix(max)))) }
        }),
        ("kong.request.get_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
            return c.withContext { c.returning($0.request.header(name)) }
        }),
        ("kong.request.get_headers", { c in requestHeaders(c) }),
        ("kong.request.get_raw_body", { c in c.withContext { rawBody(c, $0) } }),
        ("kong.request.get_body", { c in
            c.withContext { ctx in
                if ctx.request.body == nil, ctx.request.bodyFileSize != nil { return c.failing(bodyTooLarge) }
                var contentType = ctx.request.header("content-type")
                if let forced = c.string(1) { contentType = forced }
                switch RequestBody.decode(ctx.request.body ?? [], contentType: contentType) {
                case .success(let body):
                    c.stack.push(body.table)
                    c.stack.pushNil()
                    c.stack.push(RequestBody.mediaType(contentType ?? ""))
                    return 3
                case .failure(let failure):
                    return c.failing(failure.message)
                }
            }
        }),
        ("kong.request.get_start_time", { c in c.withContext { c.returning(($0.request.startTime * 1000).rounded(.down)) } }),
        ("kong.request.get_uri_captures", { c in
            c.withContext { ctx in
                let s = c.stack
                s.newTable(record: 2)
                s.newTable()
                for (i, capture) in (ctx.captures?.numbered ?? []).enumerated() {
                    if let capture { s.push(capture) } else { s.push(false) }
                    s.setIndex(i, in: -2)
                }
                s.setField("unnamed", in: -2)
                s.push(.object(Object(uniqueKeysWithValues: (ctx.captures?.named ?? [:]).map { ($0.key, Value.string($0.value)) })))
                s.setField("named", in: -2)
                return 1
            }
        }),
        ("kong.request.get_id", { c in c.withContext { c.returning($0.request.requestID) } }),
    ]

    static let client: [(name: String, function: Function)] = [
        ("kong.client.get_ip", { c in c.withContext { c.returning($0.request.ip) } }),
        ("kong.client.get_forwarded_ip", { c in c.withContext { c.returning($0.request.forwardedIP) } }),
        ("kong.client.get_port", { c in c.withContext { c.returning($0.request.clientPort) } }),
        ("kong.client.get_forwarded_port", { c in c.withContext { c.returning($0.request.clientPort) } }),
        ("kong.client.get_protocol", { c in c.withContext { c.returning($0.request.scheme) } }),
        ("kong.client.get_consumer", { c in c.withContext { c.returning($0.consumer.map { Value.object($0.row) }) } }),
        ("kong.client.get_credential", { c in c.withContext { c.returning($0.credential.map { Value.object($0.row) }) } }),
        ("kong.client.load_consumer", { c in
            guard let id = c.string(1) else { return c.raise("consumer_id must be a string") }
            return c.withContext { ctx in
                let consumer = c.stack.bool(at: 2) ? ctx.db.consumer(idOrUsername: id) : ctx.db.consumer(id: id)
                return c.returning(consumer.map { Value.object($0.row) })
            }
        }),
        ("kong.client.authenticate", { c in
            let consumer = c.value(1)?.objectValue
            let credential = c.value(2)?.objectValue
            guard consumer != nil || credential != nil else { return c.raise("either credential or consumer must be provided") }
            return c.changing { ctx in
                ctx.authenticate(
                    consumer: consumer.map { ConsumerEntity(id: $0.string("id") ?? "", row: $0) },
                    credential: credential.map { CredentialEntity(id: $0.string("id"), row: $0) })
            }
        }),
    ]

    static let router: [(name: String, function: Function)] = [
        ("kong.router.get_route", { c in c.withContext { c.returning($0.routeEntity.map(Value.object)) } }),
        ("kong.router.get_service", { c in c.withContext { c.returning($0.serviceEntity.map(Value.object)) } }),
    ]

    static let serviceRequest: [(name: String, function: Function)] = [
        ("kong.service.request.set_header", { c in
            headerArguments(c) { ctx, name, value in ctx.request.setHeader(name, value) }
        }),
        ("kong.service.request.add_header", { c in
            headerArguments(c) { ctx, name, value in ctx.request.addHeader(name, value) }
        }),
        ("kong.service.request.clear_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
            return c.changing { ctx in ctx.request.clearHeader(name) }
        }),
        ("kong.service.request.set_headers", { c in
            guard c.type(1) == .table, case .object(let table)? = c.value(1) ?? .object([:]) else {
                return c.raise("headers must be a table")
            }
            return c.changing { ctx in
                for (name, value) in table {
                    switch value {
                    case .array(let values): ctx.request.setHeader(name, values: values.map(\.luaString))
                    default: ctx.request.setHeader(name, value.luaString)
                    }
                }
            }
        }),
        ("kong.service.request.set_method", { c in
            guard let method = c.stringArgument(1) else { return c.raise("method must be a string") }
            guard methodNames.contains(method) else { return c.raise("invalid method: \(method)") }
            return c.changing { ctx in ctx.request.setMethod(method) }
        }),
        ("kong.service.request.set_path", { c in
            guard let path = c.stringArgument(1) else { return c.raise("path must be a string") }
            return c.changing { ctx in try ctx.request.setPath(path) }
        }),
        ("kong.service.request.set_raw_query", { c in
            guard let query = c.stringArgument(1) else { return c.raise("query must be a string") }
            return c.changing { ctx in ctx.request.setRawQuery(query) }
        }),
        ("kong.service.request.set_query", { c in
            guard c.type(1) == .table, let args = queryArgs(c.value(1)) else { return c.raise("args must be a table") }
            return c.changing { ctx in ctx.request.setQuery(args) }
        }),
        ("kong.service.request.clear_query_arg", { c in
            guard let name = c.stringArgument(1) else { return c.raise("query argument name must be a string") }
            return c.changing { ctx in ctx.request.clearQueryArgument(name) }
        }),
        ("kong.service.request.set_raw_body", { c in
            guard let body = c.stack.bytes(at: 1), c.type(1) == .string else { return c.raise("body must be a string") }
            return c.changing { ctx in ctx.request.setRawBody(body) }
        }),
        ("kong.service.request.set_body", { c in
            guard c.type(1) == .table, let table = c.value(1) else { return c.raise("args must be a table") }
            return c.withContext { ctx in
                let type = c.string(2) ?? ctx.request.header("content-type") ?? ""
                switch RequestBody.mediaType(type) {
                case "application/json": ctx.request.setBody(.json(table))
                case "application/x-www-form-urlencoded":
                    guard let args = queryArgs(table) else { return c.failing("invalid body") }
                    ctx.request.setBody(.form(args))
                default:
                    return c.failing(type.isEmpty ? "missing content type" : "unsupported content type '\(type)'")
                }
                c.stack.push(true)
                return 1
            }
        }),
        ("kong.service.request.enable_buffering", { c in
            c.withContext { ctx in
                guard ctx.phase == .access || ctx.phase == .rewrite else {
                    return c.raise("function cannot be called in \(ctx.phase.rawValue) phase")
                }
                ctx.bufferedProxying = true
                return c.nothing
            }
        }),
        ("kong.service.request.set_scheme", { c in
            guard let scheme = c.stringArgument(1) else { return c.raise("scheme must be a string") }
            guard scheme == "http" || scheme == "https" else { return c.raise("invalid scheme: \(scheme)") }
            return c.changing { ctx in ctx.serviceOverride.scheme = scheme }
        }),
    ]

    static let service: [(name: String, function: Function)] = [
        ("kong.service.set_target", { c in
            guard let host = c.stringArgument(1) else { return c.raise("host must be a string") }
            guard c.type(2) == .number, let port = c.stack.integer(at: 2) else { return c.raise("port must be an integer") }
            guard (0...65535).contains(port) else { return c.raise("port must be an integer between 0 and 65535: given \(port)") }
            return c.changing { ctx in
                ctx.serviceOverride.host = host
                ctx.serviceOverride.port = port
                ctx.serviceOverride.upstreamHost = host
            }
        }),
        ("kong.service.set_upstream", { c in
            guard let name = c.stringArgument(1) else { return c.raise("host must be a string") }
            return c.withContext { ctx in
                guard ctx.db.page.entity("upstreams", endpointKey: name) != nil else {
                    return c.failing("could not find an Upstream named '\(name)'")
                }
                ctx.serviceOverride.host = name
                return c.returning(true)
            }
        }),
        ("kong.service.set_retries", { c in
            guard c.type(1) == .number, let retries = c.stack.integer(at: 1) else { return c.raise("retries must be an integer") }
            guard (0...32767).contains(retries) else {
                return c.raise("retries must be an integer between 0 and 32767: given \(retries)")
            }
            return c.changing { ctx in ctx.serviceOverride.retries = retries }
        }),
        ("kong.service.set_timeouts", { c in
            var values: [Int] = []
            for (i, name) in ["connect_timeout", "write_timeout", "read_timeout"].enumerated() {
                guard c.type(Int32(i + 1)) == .number, let v = c.stack.integer(at: Int32(i + 1)) else {
                    return c.raise("\(name) must be an integer")
                }
                guard (1...2_147_483_646).contains(v) else {
                    return c.raise("\(name) must be an integer between 1 and 2147483646: given \(v)")
                }
                values.append(v)
            }
            return c.changing { ctx in
                ctx.serviceOverride.timeouts = .init(connect: values[0], write: values[1], read: values[2])
            }
        }),
        ("kong.service.response.get_status", { c in
            c.withContext { ctx in ctx.response.fromService ? c.returning(ctx.response.status) : c.returning(nil as String?) }
        }),
        ("kong.service.response.get_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
            return c.withContext { ctx in c.returning(ctx.response.fromService ? ctx.response.header(name) : nil) }
        }),
        ("kong.service.response.get_raw_body", { c in
            c.withContext { ctx in
                guard ctx.response.fromService, let body = ctx.response.body else { return c.returning(nil as String?) }
                c.stack.push(bytes: body)
                return 1
            }
        }),
        ("kong.service.response.get_headers", { c in
            c.withContext { ctx in
                c.returning(ctx.response.fromService ? LogSerializer.headerTable(ctx.response.headers, redacting: false) : nil)
            }
        }),
    ]

    /// `ngx.req`, and `ngx.var` for what it reads of the request.
    static let ngxRequest: [(name: String, function: Function)] = [
        ("ngx.req.get_method", { c in c.withContext { c.returning($0.request.method) } }),
        ("ngx.req.set_method", { c in
            guard let flag = c.stack.integer(at: 1), let method = LuaNgxConstants.method(flag: flag) else {
                return c.raise("unsupported HTTP method: \(c.string(1) ?? "nil")")
            }
            return c.changing { ctx in ctx.request.setMethod(method) }
        }),
        ("ngx.req.get_headers", { c in requestHeaders(c) }),
        ("ngx.req.set_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("bad argument #1 to 'set_header' (string expected)") }
            return c.changing { ctx in
                switch c.value(2) {
                case nil: ctx.request.clearHeader(name)
                case .array(let values)?: ctx.request.setHeader(name, values: values.map(\.luaString))
                case let value?: ctx.request.setHeader(name, value.luaString)
                }
            }
        }),
        ("ngx.req.clear_header", { c in
            guard let name = c.string(1) else { return c.raise("bad argument #1 to 'clear_header' (string expected)") }
            return c.changing { ctx in ctx.request.clearHeader(name) }
        }),
        ("ngx.req.get_uri_args", { c in
            limited(c, "max_args") { max, ctx in LogSerializer.queryTable(QueryArgs(Array(ctx.request.query.pairs.prefix(max)))) }
        }),
        ("ngx.req.set_uri_args", { c in
            c.withContext { ctx in
                if c.type(1) == .string, let query = c.string(1) {
                    ctx.request.setRawQuery(query)
                } else if let args = queryArgs(c.value(1)) {
                    ctx.request.setQuery(args)
                } else {
                    return c.raise("bad argument #1 to 'set_uri_args' (string or table expected)")
                }
                return c.nothing
            }
        }),
        ("ngx.req.set_uri", { c in
            guard let path = c.string(1), !path.isEmpty else { return c.raise("attempt to use zero-length uri") }
            return c.changing { ctx in try ctx.request.setPath(path) }
        }),
        ("ngx.req.read_body", { c in c.nothing }),
        ("ngx.req.discard_body", { c in c.nothing }),
        ("ngx.req.get_body_data", { c in
            c.withContext { ctx in
                guard let body = ctx.request.body, !body.isEmpty else { return c.returning(nil as String?) }
                c.stack.push(bytes: body)
                return 1
            }
        }),
        ("ngx.req.get_body_file", { c in c.returning(nil as String?) }),
        ("ngx.req.set_body_data", { c in
            guard let body = c.stack.bytes(at: 1) else { return c.raise("bad argument #1 to 'set_body_data' (string expected)") }
            return c.changing { ctx in ctx.request.setRawBody(body) }
        }),
        ("ngx.req.get_post_args", { c in
            c.withContext { ctx in
                c.returning(LogSerializer.queryTable(QueryArgs(parsing: String(decoding: ctx.request.body ?? [], as: UTF8.self))))
            }
        }),
        ("ngx.req.start_time", { c in c.withContext { c.returning($0.request.startTime) } }),
        ("ngx.req.http_version", { c in c.withContext { c.returning($0.request.httpVersion) } }),
        ("ngx.req.is_internal", { c in c.returning(false) }),
        ("ngx.var_get", { c in
            guard let name = c.string(1) else { return c.returning(nil as String?) }
            return c.withContext { c.returning(LuaNgxVariables.value(name, $0)) }
        }),
        ("ngx.var_set", { c in
            guard let name = c.string(1) else { return c.raise("bad variable name") }
            return c.withContext { ctx in
                if let error = LuaNgxVariables.set(name, c.string(2), &ctx) { return c.raise(error) }
                return c.nothing
            }
        }),
    ]

    // MARK: Helpers

    static let bodyTooLarge =
        "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"

    private static let methodNames: Set<String> = [
        "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "PROPPATCH", "LOCK",
        "UNLOCK", "PATCH", "TRACE", "CONNECT",
    ]

    /// The request's headers as a table, at most the first argument's count of fields (100 by
    /// default, OpenResty's `lua_max_req_headers`).
    private static func requestHeaders(_ c: LuaCall) -> Int32 {
        limited(c, "max_headers") { max, ctx in
            LogSerializer.headerTable(HTTPFields(fields: Array(ctx.request.headers.fields.prefix(max))), redacting: false)
        }
    }

    /// A table of at most `max` entries (the first argument: a number from 1 to 1000, 100 when
    /// absent), as Kong checks `max_headers` and `max_args`.
    private static func limited(_ c: LuaCall, _ name: String, _ table: (Int, PluginContext) -> Value) -> Int32 {
        var max = 100
        if c.type(1) != .nil, c.type(1) != .none {
            guard c.type(1) == .number, let given = c.stack.integer(at: 1) else { return c.raise("\(name) must be a number") }
            guard given >= 1 else { return c.raise("\(name) must be >= 1") }
            guard given <= 1000 else { return c.raise("\(name) must be <= 1000") }
            max = given
        }
        return c.withContext { c.returning(table(max, $0)) }
    }

    /// A request header when the peer is trusted (`X-Forwarded-*`), else nil.
    private static func trusted(_ ctx: PluginContext, _ name: String) -> String? {
        ctx.peerTrusted ? ctx.request.header(name) : nil
    }

    /// `[user@]host[:port]` split as Kong's `get_forwarded_host` and `_port` split it.
    private static func hostAndPort(_ value: String) -> (host: Substring, port: Substring?) {
        var host = Substring(value)
        if let at = host.firstIndex(of: "@") { host = host[host.index(after: at)...] }
        guard let colon = host.firstIndex(of: ":") else { return (host, nil) }
        return (host[..<colon], host[host.index(after: colon)...])
    }

    private static func rawBody(_ c: LuaCall, _ ctx: PluginContext) -> Int32 {
        if let body = ctx.request.body {
            c.stack.push(bytes: body)
            return 1
        }
        if ctx.request.bodyFileSize != nil { return c.failing(bodyTooLarge) }
        return c.returning("")
    }

    /// A query argument as Kong's table holds it.
    static func queryValue(_ value: QueryArgs.Value?) -> Value? {
        switch value {
        case nil: return nil
        case .flag?: return .bool(true)
        case .string(let s)?: return .string(s)
        case .multiple(let list)?: return .array(list.map { $0.map(Value.string) ?? .bool(true) })
        }
    }

    /// A table of query arguments (`name = value`, `true` for a flag, arrays for repeats).
    static func queryArgs(_ value: Value?) -> QueryArgs? {
        guard case .object(let table)? = value ?? .object([:]) else {
            if case .array(let list)? = value, list.isEmpty { return QueryArgs() }
            return nil
        }
        var pairs: [QueryArgs.Pair] = []
        for (name, v) in table {
            switch v {
            case .bool(true): pairs.append(.init(name: name, value: nil))
            case .bool(false): continue
            case .array(let list):
                for item in list { pairs.append(.init(name: name, value: item == .bool(true) ? nil : item.luaString)) }
            default: pairs.append(.init(name: name, value: v.luaString))
            }
        }
        return QueryArgs(pairs)
    }

    /// Reads `(name, value)` as Kong's header setters check them (a string name; a string,
    /// number or boolean value), then applies `change`.
    static func headerArguments(_ c: LuaCall, _ change: (inout PluginContext, String, String) -> Void) -> Int32 {
        guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
        let value: String
        switch c.type(2) {
        case .string, .number: value = c.string(2) ?? ""
        case .boolean: value = c.stack.bool(at: 2) ? "true" : "false"
        default:
            return c.raise("invalid header value for \"\(name)\": got \(c.stack.typeName(at: 2)), expected string, number or boolean")
        }
        return c.changing { ctx in change(&ctx, name, value) }
    }
}
