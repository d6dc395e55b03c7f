import KGateRegex
import KGateSchema

/// Kong's `cors` (PRIORITY 2000): answers preflight requests (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) with 200 and the CORS headers, unless
/// `preflight_continue`; adds `Access-Control-Allow-Origin` and friends to other responses.
///
/// Origins are exact (`http://a.test`, normalized: default ports dropped) or regexes (any
/// character outside `A-Za-z0-9.:/-`), anchored at both ends, matched against the origin's
/// host when the pattern has no `:`, else against `scheme://host[:port]`.
public struct CORSPlugin: Plugin {
    /// One configured origin.
    struct Origin: Sendable {
        var regex: PCRERegex?
        var domain: String
        var byHost: Bool
    }

    /// The parsed config.
    public struct Config: Sendable {
        var origins: [String]
        /// The origins as matchers; nil when `*` is among them (allow all).
        var matchers: [Origin]?
        /// The single origin is a flat string: sent as it is.
        var singleFlat: Bool
        var headers: String?
        var exposedHeaders: String?
        var methods: String
        var maxAge: String?
        var credentials: Bool
        var privateNetwork: Bool
        var preflightContinue: Bool
        var allowOriginAbsent: Bool
    }

    /// `cors`.
    public static let name = "cors"
    /// 2000.
    public static let priority = 2000
    /// access, header_filter.
    public static let phases: PluginPhases = [.access, .headerFilter]

    private static let skipKey = "skip_response_headers"

    /// Makes the plugin.
    public init() {}

    /// Parses the config and compiles the origin regexes.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let origins = config.strings("origins") ?? []
        var matchers: [Origin]? = []
        for entry in origins {
            if entry == "*" {
                matchers = nil
                break
            }
            if Self.isFlat(entry) {
                matchers?.append(Origin(regex: nil, domain: Self.normalize(entry).domain, byHost: !entry.contains(":")))
            } else {
                var pattern = entry
                if !pattern.hasSuffix("$") { pattern += "$" }
                if pattern.hasPrefix("^") { pattern.removeFirst() }
                let regex = try PCRERegex(pattern, options: [.anchored], matchLimit: PCRERegex.pluginMatchLimit)
                matchers?.append(Origin(regex: regex, domain: entry, byHost: !entry.contains(":")))
            }
        }
        func joined(_ key: String) -> String? {
            guard let list = config.strings(key), !list.isEmpty else { return nil }
            return list.joined(separator: ",")
        }
        return Config(
            origins: origins, matchers: matchers, singleFlat: origins.count == 1 && Self.isFlat(origins[0]),
            headers: joined("headers"), exposedHeaders: joined("exposed_headers"),
            methods: config.strings("methods")?.joined(separator: ",") ?? Self.allMethods.joined(separator: ","),
            maxAge: config.number("max_age").map(Value.formatNumber),
            credentials: config.bool("credentials"), privateNetwork: config.bool("private_network"),
            preflightContinue: config.bool("preflight_continue"),
            allowOriginAbsent: config.bool("allow_origin_absent", default: true))
    }

    /// Answers preflight requests.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let origin = ctx.request.header("origin")
        guard ctx.request.method == "OPTIONS", let origin, !origin.isEmpty,
            ctx.request.header("access-control-request-method") != nil
        else { return }
        ctx.plugin[Self.skipKey] = true
        if config.preflightContinue { return }

        let allowAll = configureOrigin(config, &ctx, headerFilter: false, origin: origin)
        configureCredentials(config, &ctx, allowAll: allowAll, headerFilter: false, origin: origin)
        if let headers = config.headers {
            ctx.response.setHeader("Access-Control-Allow-Headers", headers)
        } else if let requested = ctx.request.header("access-control-request-headers") {
            ctx.response.setHeader("Access-Control-Allow-Headers", requested)
        } else {
            ctx.response.clearHeader("Access-Control-Allow-Headers")
        }
        ctx.response.setHeader("Access-Control-Allow-Methods", config.methods)
        if let maxAge = config.maxAge { ctx.response.setHeader("Access-Control-Max-Age", maxAge) }
        if config.privateNetwork, ctx.request.header("access-control-request-private-network") == "true" {
            ctx.response.setHeader("Access-Control-Allow-Private-Network", "true")
        }
        try ctx.exit(200)
    }

    /// Adds the CORS headers to other responses.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        if ctx.plugin[Self.skipKey] as? Bool == true { return }
        let origin = ctx.request.header("origin")
        if origin?.isEmpty ?? true, !config.allowOriginAbsent { return }
        let allowAll = configureOrigin(config, &ctx, headerFilter: true, origin: origin)
        configureCredentials(config, &ctx, allowAll: allowAll, headerFilter: true, origin: origin)
        if let exposed = config.exposedHeaders {
            ctx.response.setHeader("Access-Control-Expose-Headers", exposed)
        }
    }

    /// Kong's `configure_origin`: sets `Access-Control-Allow-Origin`; true when all origins
    /// are allowed (`*`).
    private func configureOrigin(_ config: Config, _ ctx: inout PluginContext, headerFilter: Bool, origin: String?) -> Bool {
        if config.origins.isEmpty || (config.origins.count == 1 && config.origins[0] == "*") {
            ctx.response.setHeader("Access-Control-Allow-Origin", "*")
            return true
        }
        addVary(&ctx, headerFilter: headerFilter)
        if config.singleFlat {
            ctx.response.setHeader("Access-Control-Allow-Origin", config.origins[0])
            return false
        }
        if let origin, !origin.isEmpty {
            guard let matchers = config.matchers else {
                ctx.response.setHeader("Access-Control-Allow-Origin", "*")
                return true
            }
            let request = Self.normalize(origin)
            for m in matchers {
                let found: Bool
                if let regex = m.regex {
                    found = regex.matches(m.byHost ? request.host : request.domain)
                } else {
                    found = request.domain == m.domain
                }
                if found {
                    ctx.response.setHeader("Access-Control-Allow-Origin", request.domain)
                    return false
                }
            }
        }
        ctx.response.clearHeader("Access-Control-Allow-Origin")
        return false
    }

    /// Kong's `configure_credentials`.
    private func configureCredentials(
        _ config: Config, _ ctx: inout PluginContext, allowAll: Bool, headerFilter: Bool, origin: String?
    ) {
        guard config.credentials else { return }
        if !allowAll {
            ctx.response.setHeader("Access-Control-Allow-Credentials", "true")
            return
        }
        if let origin, !origin.isEmpty {
            addVary(&ctx, headerFilter: headerFilter)
            ctx.response.setHeader("Access-Control-Allow-Origin", origin)
            ctx.response.setHeader("Access-Control-Allow-Credentials", "true")
        }
    }

    private func addVary(_ ctx: inout PluginContext, headerFilter: Bool) {
        if headerFilter { ctx.response.addHeader("Vary", "Origin") } else { ctx.response.setHeader("Vary", "Origin") }
    }

    /// Whether an origin is a flat string (`^[A-Za-z0-9.:/-]+$`), not a regex.
    static func isFlat(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in isAlphanumeric(c) || c == 0x2E || c == 0x3A || c == 0x2F || c == 0x2D }
    }

    /// Kong's `normalize_origin`: `scheme://host[:port]` as LuaSocket 3.0-rc1's `url.parse`
    /// splits the origin, without the scheme's default port; the origin as it is when it has
    /// no host.
    ///
    /// `url.parse` drops the fragment (`#...`) first, takes the scheme
    /// (`^[%w][%w+%-.]*:`), then the authority up to the first `/` (a `?` stays in it). The
    /// user part ends at the first `@`; the port follows the last `:` unless a `]` does (it
    /// may be empty: `http://a:` keeps its `:`); a bracketed host loses its brackets
    /// (`http://[::1]:80` is host `::1`).
    static func normalize(_ value: String) -> (domain: String, host: String) {
        let url = Array(value.utf8)
        let end = url.firstIndex(of: UInt8(ascii: "#")) ?? url.count
        var i = 0
        var scheme: ArraySlice<UInt8>?
        if end > 0, isAlphanumeric(url[0]) {
            var j = 1
            while j < end, isAlphanumeric(url[j]) || url[j] == 0x2B || url[j] == 0x2D || url[j] == 0x2E { j += 1 }
            if j < end, url[j] == UInt8(ascii: ":") {
                scheme = url[..<j]
                i = j + 1
            }
        }
        guard end - i >= 2, url[i] == UInt8(ascii: "/"), url[i + 1] == UInt8(ascii: "/") else { return (value, value) }
        var authority = url[(i + 2)..<end].prefix { $0 != UInt8(ascii: "/") }
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        var port: ArraySlice<UInt8>?
        if let colon = authority.lastIndex(of: UInt8(ascii: ":")),
            !authority[(colon + 1)...].contains(UInt8(ascii: "]"))
        {
            port = authority[(colon + 1)...]
            authority = authority[..<colon]
        }
        guard !authority.isEmpty else { return (value, value) }
        var host = authority
        if host.count >= 3, host.first == UInt8(ascii: "["), host.last == UInt8(ascii: "]") {
            host = host.dropFirst().dropLast()
        }
        if let p = port, let s = scheme, Self.isDefault(port: p, scheme: s) { port = nil }
        var domain: [UInt8] = []
        if let scheme { domain += scheme + Array("://".utf8) }
        domain += host
        if let port { domain += [UInt8(ascii: ":")] + port }
        return (String(decoding: domain, as: UTF8.self), String(decoding: host, as: UTF8.self))
    }

    /// `80` for `http`, `443` for `https` (case-sensitive, as Kong compares them).
    private static func isDefault(port: ArraySlice<UInt8>, scheme: ArraySlice<UInt8>) -> Bool {
        (scheme.elementsEqual("http".utf8) && port.elementsEqual("80".utf8))
            || (scheme.elementsEqual("https".utf8) && port.elementsEqual("443".utf8))
    }

    /// Lua's `%w` (ASCII letters and digits).
    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}
