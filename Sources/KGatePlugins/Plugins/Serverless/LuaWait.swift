import KGateLua
import KGateSchema
import NIOCore
import NIOHTTP1

/// What a Lua coroutine yielded to wait for (the prelude's `wait`): the I/O kgate runs while
/// other requests go on, then resumes the coroutine with its results.
enum LuaWait {
    /// `ngx.sleep`.
    case sleep(seconds: Double)
    /// lua-resty-http's request.
    case http(LuaHTTPRequest)

    /// Reads the values a coroutine yielded (`WAIT, what, ...` from index 2); nil when they
    /// are not a wait kgate knows (a bare `coroutine.yield`).
    init?(yielded s: LuaStack) {
        switch s.string(at: 2) {
        case "sleep": self = .sleep(seconds: s.number(at: 3) ?? 0)
        case "http":
            guard case .object(let request)? = s.value(at: 3) else { return nil }
            self = .http(LuaHTTPRequest(request, body: s.state))
        default: return nil
        }
    }

    /// Starts the wait on `loop` (the coroutine's event loop); the future never fails.
    func start(on loop: any EventLoop) -> EventLoopFuture<LuaWaitResult> {
        switch self {
        case .sleep(let seconds):
            let nanoseconds = Int64(min(seconds, 1e9) * 1e9)
            return loop.scheduleTask(in: .nanoseconds(nanoseconds)) { LuaWaitResult.resumed }.futureResult
        case .http(let request):
            let promise = loop.makePromise(of: LuaWaitResult.self)
            promise.completeWithTask { await request.send() }
            return promise.futureResult
        }
    }
}

/// The results a waiting coroutine is resumed with.
enum LuaWaitResult: Sendable {
    /// No values (`ngx.sleep`).
    case resumed
    /// A response: `status, reason, headers, body`.
    case response(PluginHTTPClient.Response)
    /// `nil, message` (lua-resty-http's soft failure).
    case failed(String)

    /// Pushes the values onto the coroutine's stack; returns how many.
    func push(onto s: LuaStack) -> Int32 {
        switch self {
        case .resumed:
            return 0
        case .response(let response):
            s.push(response.status)
            s.push(HTTPResponseStatus(statusCode: response.status).reasonPhrase)
            var headers = Object()
            for (name, value) in response.headers {
                switch headers[name] {
                case nil: headers[name] = .string(value)
                case .string(let first)?: headers[name] = .array([.string(first), .string(value)])
                case .array(let values)?: headers[name] = .array(values + [.string(value)])
                default: break
                }
            }
            s.push(.object(headers))
            s.push(bytes: response.bytes)
            return 4
        case .failed(let message):
            s.pushNil()
            s.push(message)
            return 2
        }
    }
}

/// One request of lua-resty-http's client, as the prelude's `send` describes it.
struct LuaHTTPRequest: Sendable {
    var method: String
    var tls: Bool
    var host: String
    var port: Int
    /// The path with its query.
    var target: String
    var headers: HTTPHeaders
    var body: [UInt8]?
    var verify: Bool
    var timeout: TimeAmount

    /// Kong's bundled lua-resty-http's `User-Agent`.
    static let userAgent = "lua-resty-http/0.17.2 (Lua) ngx_lua/10026"
    /// Kept-alive connections by server, shared by every event loop's Lua.
    static let clients = PluginHTTPClients()

    /// The request described by the table the prelude yields (`body` is read as bytes from
    /// the coroutine's stack, where the table is at index 3).
    init(_ request: Object, body state: OpaquePointer) {
        method = request.string("method")?.uppercased() ?? "GET"
        tls = request.string("scheme")?.lowercased() == "https"
        host = request.string("host") ?? ""
        port = request.integer("port") ?? (tls ? 443 : 80)
        target = request.string("path") ?? "/"
        verify = request["ssl_verify"]?.boolValue ?? true
        timeout = .milliseconds(Int64(max(1, request.number("timeout") ?? 60000)))
        headers = HTTPHeaders()
        for (name, value) in request["headers"]?.objectValue ?? [:] {
            switch value {
            case .array(let values): for v in values { headers.add(name: name, value: v.textValue) }
            default: headers.add(name: name, value: value.textValue)
            }
        }
        let s = LuaStack(state)
        s.getField("body", in: 3)
        body = s.bytes(at: -1)
        s.pop()
    }

    /// Sends the request; its failure is lua-resty-http's message.
    func send() async -> LuaWaitResult {
        guard !host.isEmpty else { return .failed("no host") }
        var headers = self.headers
        if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: Self.userAgent) }
        if let body, !headers.contains(name: "Transfer-Encoding") {
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        let endpoint = PluginHTTPClient.Endpoint(tls: tls, host: host, port: port, path: "/", verify: verify)
        do {
            let response = try await Self.clients.client(for: endpoint).send(
                method: HTTPMethod(rawValue: method), path: target, headers: headers, body: body ?? [], timeout: timeout)
            return .response(response)
        } catch {
            return .failed(message(for: error))
        }
    }

    /// lua-resty-http's wording of a failure (the cosocket's).
    func message(for error: any Error) -> String {
        let text = "\(error)"
        if text.contains("refused") { return "connection refused" }
        if text.lowercased().contains("timeout") || text.contains("timed out") { return "timeout" }
        if text.contains("resolve") || text.contains("NXDOMAIN") || text.contains("getaddrinfo") { return "\(host) could not be resolved" }
        if text.contains("closed") || text.contains("reset") { return "closed" }
        return text
    }
}

extension Value {
    /// A header value's text: strings as they are, numbers and booleans as Lua's `tostring`.
    fileprivate var textValue: String {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return ""
        }
    }
}
