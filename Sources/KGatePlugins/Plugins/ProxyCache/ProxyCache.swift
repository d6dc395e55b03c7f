import Crypto
import KGateConfig
import KGateSchema
import Synchronization

/// Kong's `proxy-cache` (PRIORITY 100, `kong/plugins/proxy-cache`) with its `memory`
/// strategy: answers a cacheable request from a stored response (`X-Cache-Status: Hit`, `Age`)
/// without proxying; otherwise proxies it (`Miss`, `Refresh` for a stale entry, `Bypass` for a
/// request or response that may not be cached) and stores a cacheable response for `cache_ttl`
/// seconds (or its `Cache-Control` lifetime with `cache_control`, `storage_ttl` in storage).
///
/// Cacheable: a `request_method`, a `response_code`, a `Content-Type` exactly one of
/// `content_type` (type, subtype and parameters), and with `cache_control` no `no-store`,
/// `no-cache` or `private` and a positive lifetime. Entries are keyed as Kong keys them (the
/// SHA-256 of consumer and route, method and path, the query and `vary_headers`), shown in
/// `X-Cache-Key`. `response_headers` (or a `Kong-Debug` request header) decide which of
/// `Age`, `X-Cache-Status` and `X-Cache-Key` are sent.
public final class ProxyCachePlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var responseCodes: Set<Int>
        var requestMethods: Set<String>
        var contentTypes: [MediaType]
        var cacheTTL: Int
        var cacheControl: Bool
        var ignoreURICase: Bool
        var storageTTL: Int?
        var dictionary: String
        var varyQueryParams: [String]?
        var varyHeaders: [String]?
        /// `response_headers`: which of `age`, `X-Cache-Status`, `X-Cache-Key` are sent.
        var sendsAge: Bool
        var sendsStatus: Bool
        var sendsKey: Bool
    }

    /// What a proxied request carries from access to the response phases.
    struct Pending: Sendable {
        var key: String
        var ttl = 0
        var headers = HTTPFields()
        var body: [UInt8] = []
    }

    /// `proxy-cache`.
    public static let name = "proxy-cache"
    /// 100.
    public static let priority = 100
    /// access, header_filter and body_filter.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter]

    /// The stores, by shared dictionary name.
    private let stores = Mutex<[String: ProxyCacheStore]>([:])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let headers = config.record("response_headers")
        return Config(
            responseCodes: Set((config["response_code"]?.arrayValue ?? []).compactMap(\.integerValue)),
            requestMethods: Set(config.strings("request_method") ?? ["GET", "HEAD"]),
            contentTypes: (config.strings("content_type") ?? []).compactMap(MediaType.init),
            cacheTTL: Int(config.number("cache_ttl") ?? 300), cacheControl: config.bool("cache_control"),
            ignoreURICase: config.bool("ignore_uri_case"), storageTTL: config.number("storage_ttl").map { Int($0) },
            dictionary: config.record("memory")?.string("dictionary_name") ?? "kong_db_cache",
            varyQueryParams: config.strings("vary_query_params"), varyHeaders: config.strings("vary_headers"),
            sendsAge: headers?.bool("age", default: true) ?? true,
            sendsStatus: headers?.bool("X-Cache-Status", default: true) ?? true,
            sendsKey: headers?.bool("X-Cache-Key", default: true) ?? true)
    }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let debug = ctx.request.header("kong-debug") != nil
        func signal(_ name: String, _ value: String, _ sends: Bool) {
            if debug || sends { ctx.response.setHeader(name, value) }
        }
        let requestCC = Self.directives(ctx.request.headers.tableValues("cache-control"))
        guard Self.cacheableRequest(config, ctx.request.method, requestCC) else {
            return signal("X-Cache-Status", "Bypass", config.sendsStatus)
        }
        let key = Self.cacheKey(config, ctx)
        signal("X-Cache-Key", key, config.sendsKey)
        let now = Int(ctx.request.startTime)
        guard let entry = store(config.dictionary).fetch(key, now: now) else {
            if config.cacheControl, requestCC["only-if-cached"] != nil { return try ctx.exit(504) }
            ctx.plugin["pending"] = Pending(key: key)
            return signal("X-Cache-Status", "Miss", config.sendsStatus)
        }
        let age = now - entry.timestamp
        var stale = false
        if config.cacheControl {
            if let maxAge = requestCC["max-age"]?.number, Double(age) > maxAge { stale = true }
            if let maxStale = requestCC["max-stale"]?.number, Double(age - entry.ttl) > maxStale { stale = true }
            if let minFresh = requestCC["min-fresh"]?.number, Double(entry.ttl - age) < minFresh { stale = true }
        } else if age > config.cacheTTL {
            stale = true
        }
        if stale {
            ctx.plugin["pending"] = Pending(key: key)
            return signal("X-Cache-Status", "Refresh", config.sendsStatus)
        }
        var headers = entry.headers
        for field in headers.fields where !Self.replayable(field.name) { headers.remove(field.name) }
        for name in ["age", "x-cache-status", "x-cache-key"] { headers.remove(name) }
        if debug || config.sendsAge { headers.set("Age", String(age)) }
        if debug || config.sendsStatus { headers.set("X-Cache-Status", "Hit") }
        if debug || config.sendsKey { headers.set("X-Cache-Key", key) }
        // Kong marks the hit proxied: Kong's header_filter gives it the proxied headers.
        ctx.exitIsProxied = true
        try ctx.exit(entry.status, body: .bytes(entry.body), headers: headers)
    }

    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard var pending = ctx.plugin["pending"] as? Pending else { return }
        let responseCC = Self.directives(ctx.response.headers.tableValues("cache-control"))
        let now = Int(ctx.request.startTime)
        guard Self.cacheableResponse(config, ctx.response, responseCC, now: now) else {
            if ctx.request.header("kong-debug") != nil || config.sendsStatus { ctx.response.setHeader("X-Cache-Status", "Bypass") }
            ctx.plugin["pending"] = nil
            return
        }
        pending.headers = ctx.response.headers
        pending.ttl = config.cacheControl ? Self.resourceTTL(responseCC, ctx.response.headers, now: now) : config.cacheTTL
        ctx.plugin["pending"] = pending
    }

    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard var pending = ctx.plugin["pending"] as? Pending else { return }
        pending.body += chunk
        guard last else {
            ctx.plugin["pending"] = pending
            return
        }
        ctx.plugin["pending"] = nil
        let now = Int(ctx.request.startTime)
        let storageTTL = config.storageTTL ?? pending.ttl
        let entry = ProxyCacheStore.Entry(
            status: ctx.response.status, headers: pending.headers, body: pending.body, timestamp: now, ttl: pending.ttl,
            expires: now + storageTTL)
        store(config.dictionary).store(pending.key, entry)
    }

    // MARK: The Admin API's `/proxy-cache` (`api.lua`)

    /// A stored entry as Kong's Admin API shows it (the `res` table); nil when absent.
    public func cachedEntry(dictionary: String, key: String, now: Int) -> Value? {
        guard let entry = store(dictionary).fetch(key, now: now) else { return nil }
        var headers = Object()
        for field in entry.headers.fields {
            let name = field.name.lowercased()
            switch headers[name] {
            case .string(let first)?: headers[name] = .array([.string(first), .string(field.value)])
            case .array(var list)?:
                list.append(.string(field.value))
                headers[name] = .array(list)
            default: headers[name] = .string(field.value)
            }
        }
        return [
            "status": .integer(entry.status), "headers": .object(headers),
            "body": .string(String(decoding: entry.body, as: UTF8.self)), "body_len": .integer(entry.body.count),
            "timestamp": .integer(entry.timestamp), "ttl": .integer(entry.ttl), "version": 1,
        ]
    }

    /// Drops a stored entry; whether it was there.
    public func purge(dictionary: String, key: String) -> Bool { store(dictionary).purge(key) }

    /// Drops every entry of a dictionary.
    public func flush(dictionary: String) { store(dictionary).flush() }

    /// The store of a shared dictionary, as large as Kong's dictionary of that name.
    private func store(_ dictionary: String) -> ProxyCacheStore {
        stores.withLock { stores in
            if let store = stores[dictionary] { return store }
            let capacity = KongSharedDictionaries.all(prometheus: true).first { $0.name == dictionary }?.capacity ?? (128 << 20)
            let store = ProxyCacheStore(capacity: capacity)
            stores[dictionary] = store
            return store
        }
    }

    /// `cacheable_request`.
    static func cacheableRequest(_ config: Config, _ method: String, _ cc: [String: Directive]) -> Bool {
        guard config.requestMethods.contains(method) else { return false }
        return !(config.cacheControl && (cc["no-store"] != nil || cc["no-cache"] != nil))
    }

    /// `cacheable_response`.
    static func cacheableResponse(_ config: Config, _ response: PluginResponse, _ cc: [String: Directive], now: Int) -> Bool {
        guard config.responseCodes.contains(response.status) else { return false }
        let types = response.headers.tableValues("content-type")
        guard types.count == 1, let type = MediaType(types[0]), config.contentTypes.contains(where: { $0.accepts(type) })
        else { return false }
        if config.cacheControl {
            if cc["private"] != nil || cc["no-store"] != nil || cc["no-cache"] != nil { return false }
            if resourceTTL(cc, response.headers, now: now) <= 0 { return false }
        }
        return true
    }

    /// `calculate_resource_ttl`: `s-maxage`, `max-age`, else what `Expires` leaves; at least 0.
    static func resourceTTL(_ cc: [String: Directive], _ headers: HTTPFields, now: Int) -> Int {
        if let maxAge = (cc["s-maxage"] ?? cc["max-age"])?.number { return max(Int(maxAge), 0) }
        if let expires = headers.tableValues("expires").last, let time = HTTPTime.parse(expires) { return max(time - now, 0) }
        return 0
    }

    /// A `Cache-Control` directive's value: a number, text, or present without one.
    enum Directive: Sendable, Equatable {
        case present
        case text(String)
        case numeric(Double)

        var number: Double? { if case .numeric(let n) = self { return n } else { return nil } }
    }

    /// Kong's `parse_directive_header`: the fields joined with `, `, split on commas, each
    /// `name[=value]` (name in lower case, a value that reads as a number kept as one).
    static func directives(_ fields: [String]) -> [String: Directive] {
        var directives: [String: Directive] = [:]
        for part in fields.joined(separator: ", ").split(separator: ",") {
            let item = part.drop { $0 == " " || $0 == "\t" }
            guard !item.isEmpty else { continue }
            let pair = item.split(separator: "=", maxSplits: 1)
            let name = String(pair[0]).lowercased()
            if pair.count == 2, !pair[1].isEmpty {
                let value = String(pair[1])
                directives[name] = ParsedURL.luaToNumber(value).map(Directive.numeric) ?? .text(value)
            } else {
                directives[name] = .present
            }
        }
        return directives
    }

    /// Headers Kong does not replay from the cache (`overwritable_header`), and the ones kgate
    /// writes itself on every answer.
    static func replayable(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !notReplayed.contains(lower) && !lower.contains("ratelimit-remaining")
    }

    /// Kong's `overwritable_header`: hop-by-hop headers, Content-Length (and, in
    /// ``replayable(_:)``, the rate limits' remaining counts) go. So do the headers Kong's
    /// header_filter sets after the plugins' (kgate had them in the head the plugin saw; Kong's
    /// cache never has them).
    private static let notReplayed: Set = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding",
        "upgrade", "content-length", "via", "x-kong-upstream-latency", "x-kong-proxy-latency",
        "x-kong-response-latency", "x-kong-request-id", "x-kong-upstream-status",
    ]

    /// Kong's `build_cache_key`: the SHA-256 (hex) of `prefix|method|uri|query|headers`.
    static func cacheKey(_ config: Config, _ ctx: PluginContext) -> String {
        let request = ctx.request
        let prefix: String
        switch (ctx.consumer?.id, ctx.routeID) {
        case (let consumer?, let route?): prefix = consumer + ":" + route
        case (_, let route?): prefix = route
        default: prefix = "default"
        }
        // `ngx.var.request` up to its first `?`: with a query the HTTP version goes too.
        var uri = request.method + " " + request.rawPath
        if request.rawQuery == nil { uri += " HTTP/\(request.httpVersion)" }
        if config.ignoreURICase { uri = uri.lowercased() }
        let query = request.query
        let queryKey = keyPart(config.varyQueryParams.flatMap { $0.isEmpty ? nil : $0 } ?? query.names.sorted()) { query[$0] }
        let headerKey = keyPart(config.varyHeaders ?? []) { name in
            let values = request.headers.tableValues(name)
            switch values.count {
            case 0: return nil
            case 1: return .string(values[0])
            default: return .multiple(values.map(Optional.some))
            }
        }
        let text = "\(prefix)|\(request.method)|\(uri)|\(queryKey)|\(headerKey)"
        return ConfigHash.hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// `generate_key_from`: `name=value` (lists sorted and joined with `,`, flags as the name
    /// alone) for each field present, joined with `:`.
    static func keyPart(_ fields: [String], _ value: (String) -> QueryArgs.Value?) -> String {
        var parts: [String] = []
        for field in fields {
            switch value(field) {
            case .string(let v)?: parts.append(field + "=" + v)
            case .flag?: parts.append(field)
            case .multiple(let values)?: parts.append(field + "=" + values.compactMap { $0 }.sorted().joined(separator: ","))
            case nil: break
            }
        }
        return parts.joined(separator: ":")
    }
}
