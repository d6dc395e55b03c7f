#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateLua
import KGateSchema
import Logging

/// `kong.response`, `ngx`'s response side (`ngx.exit`, `ngx.print`, `ngx.status`,
/// `ngx.header`), `kong.log` and `kong.node`.
extension LuaPDK {
    static let response: [(name: String, function: Function)] = [
        ("kong.response.get_status", { c in
            c.withContext { ctx in ctx.response.isStarted ? c.returning(ctx.response.status) : c.returning(nil as String?) }
        }),
        ("kong.response.get_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
            return c.withContext { c.returning($0.response.header(name)) }
        }),
        ("kong.response.get_headers", { c in
            c.withContext { c.returning(LogSerializer.headerTable($0.response.headers, redacting: false)) }
        }),
        ("kong.response.get_source", { c in
            c.withContext { ctx in
                if ctx.failed { return c.returning("error") }
                if ctx.exitResponse != nil || ctx.headerFilterExit != nil { return c.returning("exit") }
                return c.returning(ctx.response.fromService ? "service" : "error")
            }
        }),
        ("kong.response.set_status", { c in
            guard let status = c.stack.integer(at: 1), c.type(1) == .number else { return c.raise("code must be a number") }
            guard (100...599).contains(status) else { return c.raise("code must be a number between 100 and 599") }
            return c.changing { ctx in ctx.response.setStatus(status) }
        }),
        ("kong.response.set_header", { c in
            headerArguments(c) { ctx, name, value in ctx.response.setHeader(name, value) }
        }),
        ("kong.response.add_header", { c in
            headerArguments(c) { ctx, name, value in ctx.response.addHeader(name, value) }
        }),
        ("kong.response.clear_header", { c in
            guard let name = c.stringArgument(1) else { return c.raise("header name must be a string") }
            return c.changing { ctx in ctx.response.clearHeader(name) }
        }),
        ("kong.response.set_headers", { c in
            guard c.type(1) == .table, case .object(let table)? = c.value(1) ?? .object([:]) else {
                return c.raise("headers must be a table")
            }
            return c.changing { ctx in
                for (name, value) in table {
                    if case .array(let values) = value {
                        ctx.response.clearHeader(name)
                        for v in values { ctx.response.addHeader(name, v.luaString) }
                    } else {
                        ctx.response.setHeader(name, value.luaString)
                    }
                }
            }
        }),
        ("kong.response.exit", { c in
            guard c.type(1) == .number, let status = c.stack.integer(at: 1) else { return c.raise("code must be a number") }
            let body: PluginExit.Body
            switch c.type(2) {
            case .nil, .none: body = .empty
            case .string: body = .bytes(c.stack.bytes(at: 2) ?? [])
            case .table: body = .json(c.value(2) ?? .object([:]))
            default: return c.raise("body must be a nil, string or table")
            }
            guard let headers = headerTable(c, 3) else { return c.raise("headers must be a nil or table") }
            return c.changing { ctx in try ctx.exit(status, body: body, headers: headers) }
        }),
        ("kong.response.error", { c in
            guard c.type(1) == .number, let status = c.stack.integer(at: 1) else { return c.raise("code must be a number") }
            let message = c.type(2) == .string ? c.string(2) : nil
            guard let headers = headerTable(c, 3) else { return c.raise("headers must be a nil or table") }
            return c.changing { ctx in try ctx.error(status, message: message, headers: headers) }
        }),
    ]

    static let ngxResponse: [(name: String, function: Function)] = [
        ("ngx.exit", { c in
            let status = c.stack.integer(at: 1) ?? 0
            return c.changing { ctx in
                guard ctx.phase == .access || ctx.phase == .rewrite, ctx.exitResponse == nil else { return }
                if c.runtime.output != nil {
                    // What was printed is answered when the phase ends (``LuaRuntime/run``),
                    // with this status.
                    if status >= 200 { ctx.response.setStatus(status) }
                } else if status >= 400, status <= 599 {
                    ctx.answer(status, body: .kongError(message: PluginExit.defaultMessage(for: status)))
                } else if status >= 200 {
                    ctx.answer(status, body: .empty)
                }
            }
        }),
        ("ngx.print", { c in
            guard let bytes = c.stack.bytes(at: 1) else { return c.nothing }
            c.runtime.output = (c.runtime.output ?? []) + bytes
            return c.nothing
        }),
        ("ngx.get_phase", { c in c.returning(c.context?.phase.rawValue ?? "timer") }),
        ("ngx.status_get", { c in c.returning(c.context?.response.status ?? 0) }),
        ("ngx.status_set", { c in
            guard let status = c.stack.integer(at: 1) else { return c.raise("attempt to set ngx.status to a non-number") }
            return c.changing { ctx in ctx.response.setStatus(status) }
        }),
        ("ngx.header_get", { c in
            guard let name = c.string(1) else { return c.returning(nil as String?) }
            return c.withContext { ctx in
                let values = ctx.response.isStarted ? ctx.response.headers.tableValues(HTTPFields.responseName(name)) : []
                if values.count > 1 { return c.returning(.array(values.map(Value.string))) }
                return c.returning(ctx.response.header(name))
            }
        }),
        ("ngx.header_set", { c in
            guard let name = c.string(1) else { return c.raise("bad header name") }
            return c.changing { ctx in
                switch c.value(2) {
                case nil, .null?: ctx.response.clearHeader(name)
                case .array(let values)?:
                    ctx.response.clearHeader(name)
                    for v in values { ctx.response.addHeader(name, v.luaString) }
                case let value?: ctx.response.setHeader(name, value.luaString)
                }
            }
        }),
        ("ngx.log", { c in
            let level = c.stack.integer(at: 1) ?? 6
            log(c, level: level, from: 2)
            return c.nothing
        }),
    ]

    static let log: [(name: String, function: Function)] = logLevels + logValues

    private static let logLevels: [(name: String, function: Function)] =
        [("debug", 8), ("info", 7), ("notice", 6), ("warn", 5), ("err", 4), ("crit", 3), ("alert", 2), ("emerg", 1)].map {
            name, level in
            let function: Function = { c in
                log(c, level: level, from: 1)
                return c.nothing
            }
            return ("kong.log." + name, function)
        }

    private static let logValues: [(name: String, function: Function)] = [
            ("kong.log.inspect", { c in c.nothing }),
            ("kong.log.serialize", { c in c.withContext { c.returning(LogSerializer.serialize($0)) } }),
            ("kong.log.set_serialize_value", { c in
                guard let key = c.stringArgument(1) else { return c.raise("key must be a string") }
                let value = c.value(2)
                guard value != nil || c.type(2) == .nil || c.type(2) == .none else {
                    return c.raise("value must be nil, a number, string, boolean or a non-self-referencial table")
                }
                return c.changing { ctx in ctx.serializedValues[key] = value }
            }),
        ]

    static let node: [(name: String, function: Function)] = [
        ("kong.node.get_id", { c in c.returning(c.runtime.nodeID) }),
        ("kong.node.get_hostname", { c in c.returning(NodeHostname.read()) }),
        ("kong.nginx.get_subsystem", { c in c.returning("http") }),
        ("kong.ip.is_trusted", { c in
            guard let text = c.string(1), let ip = IPAddress(text) else { return c.raise("invalid IP address") }
            return c.returning(c.runtime.installedSettings?.trustedIPs.contains { $0.contains(ip) } ?? false)
        }),
        ("kgate.time_ns", { c in c.returning(Double(WallClock.nowNanoseconds())) }),
        ("ngx.worker.id", { c in c.returning(0) }),
        ("ngx.worker.count", { c in c.returning(1) }),
        ("ngx.worker.pid", { c in c.returning(Int(getpid())) }),
    ]

    // MARK: Helpers

    /// An optional table of headers (values: strings, numbers, booleans, or arrays of them);
    /// nil when the argument is neither nil nor a table.
    static func headerTable(_ c: LuaCall, _ index: Int32) -> HTTPFields? {
        switch c.type(index) {
        case .nil, .none: return HTTPFields()
        case .table:
            var fields = HTTPFields()
            for (name, value) in c.value(index)?.objectValue ?? [:] {
                if case .array(let values) = value {
                    for v in values { fields.add(name, v.luaString) }
                } else {
                    fields.add(name, value.luaString)
                }
            }
            return fields
        default: return nil
        }
    }

    /// Logs the arguments from `first` on, joined as `ngx.log` joins them, at an nginx level.
    static func log(_ c: LuaCall, level: Int, from first: Int32) {
        var message = ""
        if first <= c.argumentCount {
            for i in first...c.argumentCount {
                switch c.type(i) {
                case .string, .number: message += c.string(i) ?? ""
                case .nil: message += "nil"
                case .boolean: message += c.stack.bool(at: i) ? "true" : "false"
                case .lightUserdata: message += "null"
                default: message += c.stack.typeName(at: i)
                }
            }
        }
        let logLevel: Logger.Level =
            switch level {
            case ...3: .critical
            case 4: .error
            case 5: .warning
            case 6: .notice
            case 7: .info
            default: .debug
            }
        let logger = c.context?.logger ?? Logger(label: "kgate.lua")
        logger.log(level: logLevel, "\(message)")
    }
}

/// nginx's variables as `ngx.var` reads and sets them.
enum LuaNgxVariables {
    /// The value of `$name`, nil when unset or unknown.
    static func value(_ name: String, _ ctx: PluginContext) -> String? {
        let r = ctx.request
        let query = r.rawQuery ?? ""
        switch name {
        case "uri": return r.path
        case "request_uri": return r.rawPath + (r.rawQuery == nil ? "" : "?" + query)
        case "host": return r.host
        case "args", "query_string": return r.rawQuery.flatMap { $0.isEmpty ? nil : $0 }
        case "is_args": return query.isEmpty ? "" : "?"
        case "request_method": return r.method
        case "scheme": return r.scheme
        case "server_port": return String(r.port)
        case "server_addr": return r.serverAddress
        case "remote_addr", "realip_remote_addr": return r.ip
        case "remote_port", "realip_remote_port": return String(r.clientPort)
        case "request_id", "kong_request_id": return r.requestID
        case "server_protocol": return r.httpVersion == 2 ? "HTTP/2.0" : r.httpVersion == 1.0 ? "HTTP/1.0" : "HTTP/1.1"
        case "ssl_server_name": return r.serverName
        case "connection": return String(r.connectionID)
        case "connection_requests": return String(r.connectionRequests)
        case "content_type": return r.headers.variable("content-type")
        case "content_length": return r.headers.variable("content-length")
        case "status": return ctx.response.status > 0 ? String(ctx.response.status) : nil
        case "upstream_uri":
            let path = r.upstreamPath ?? ctx.routedPath ?? r.path
            return path + (query.isEmpty ? "" : "?" + query)
        default:
            if name.hasPrefix("http_") { return r.headers.variable(String(name.dropFirst(5))) }
            if name.hasPrefix("cookie_") { return NginxCookie.value(String(name.dropFirst(7)), in: r.headerValues("cookie")) }
            if name.hasPrefix("arg_") { return LuaPDK.queryValue(r.queryArgument(String(name.dropFirst(4))))?.stringValue }
            return nil
        }
    }

    /// Sets `$name`; returns nginx's error when the variable cannot be changed.
    static func set(_ name: String, _ value: String?, _ ctx: inout PluginContext) -> String? {
        switch name {
        case "upstream_uri":
            let target = value ?? "/"
            let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
            do throws(PluginRequest.InvalidPath) {
                try ctx.request.setPath(path.isEmpty ? "/" : path)
            } catch {
                return error.description
            }
            if let q = target.firstIndex(of: "?") { ctx.request.setRawQuery(String(target[target.index(after: q)...])) }
            return nil
        case "args":
            ctx.request.setRawQuery(value ?? "")
            return nil
        case "upstream_host":
            ctx.request.setHeader("Host", value ?? "")
            return nil
        default:
            return "variable \"\(name)\" not changeable"
        }
    }
}
