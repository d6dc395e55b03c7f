import KGateRegex
import KGateSchema

/// The result of a successful match: the route, its service, what matched, and how to build
/// the upstream request line (Kong's `match_t`).
///
/// An immutable object: one allocation per match, and passing or keeping it (the proxy keeps
/// a connection's last match) retains it once instead of each of its strings. The upstream
/// path is computed when asked for (``upstreamPath``, ``upstreamTarget``).
public final class RouteMatch: Sendable {
    @usableFromInline let entry: RouteEntry
    /// The position of the matched route in its router (see ``Router/entryServiceIDs``).
    public let entryIndex: Int
    /// The request target, and the normalised path when it differs from the target's.
    private let target: String
    private let routing: RoutingPath
    /// Where the postfix starts in `path` (bytes), and whether it is sanitised.
    private let postfixStart: Int
    private let sanitizePostfix: Bool
    /// Bytes of `path` matched by the route's path (only kept with strip_path), or -1.
    private let strippedLength: Int
    /// The flavor that produced the match (path handling v1 is only honoured by traditional).
    public let flavor: Router.Flavor
    /// Numbered and named captures of a regex path (Kong's `uri_captures`).
    public let captures: RouteCaptures?
    /// The configured host that matched (traditional flavor).
    public let matchedHost: String?
    /// The configured path that matched, without its `~` (traditional flavor).
    public let matchedPath: String?
    /// The method that matched (traditional flavor).
    public let matchedMethod: String?
    /// Matched header names (lower-case) and the lower-cased request values (traditional).
    public let matchedHeaders: [String: String]
    /// The upstream `Host` when `preserve_host` is on: the request's `Host` (or, without
    /// one, the SNI in the traditional flavor); nil otherwise, or when there is neither.
    public let upstreamHost: String?

    /// A match from what an engine found, with the strings it keeps taken from the request.
    init(_ m: EngineMatch, entry: RouteEntry, flavor: Router.Flavor, request: borrowing RouteRequest, routing: RoutingPath) {
        self.entry = entry
        entryIndex = m.entry
        self.flavor = flavor
        target = request.target
        self.routing = routing
        postfixStart = m.postfixStart
        sanitizePostfix = m.sanitizePostfix
        strippedLength = entry.route.stripPath ? m.prefixLength ?? -1 : -1
        captures = m.captures
        matchedHost = m.matchedHost
        matchedPath = m.matchedPath
        matchedMethod = m.methodMatched ? request.method : nil
        matchedHeaders = m.matchedHeaders
        // Without a `Host` (HTTP/1.0) nor, in the traditional flavor, an SNI, Kong's router
        // leaves `upstream_host` nil and the balancer sends the target's Host.
        if !entry.route.preserveHost {
            upstreamHost = nil
        } else if flavor == .traditional {
            upstreamHost = request.host ?? request.sni
        } else {
            upstreamHost = request.host
        }
    }

    /// The routing path: the request target without query, normalised.
    public var path: Substring { routing.path(of: target) }

    /// The query string after the first `?` (without it); nil when the target has no `?`.
    public var query: Substring? { routing.query(of: target) }

    /// Kong's `match_t.prefix`: the matched part of the path, only when `strip_path` is on
    /// (the proxy sends it as `X-Forwarded-Prefix` unless it is `/`).
    public var prefix: Substring? {
        guard strippedLength >= 0 else { return nil }
        let p = path
        let u = p.utf8
        return p[u.startIndex..<u.index(u.startIndex, offsetBy: min(strippedLength, u.count))]
    }

    /// The matched route (inlinable: `match.route.id` reads just that field).
    @inlinable public var route: RouteDefinition { entry.route }
    /// The route's service; nil for a route without service (Kong answers 503 after the
    /// access plugins ran, see ``RouteOutcome``).
    @inlinable public var service: ServiceDefinition? { entry.service }
    /// The matched service's `id` (nil: the route has no service), without copying the service.
    @inlinable public var serviceID: String? { entry.serviceID }
    /// The matched service's path is absent or `/` (also true without a service).
    @inlinable public var serviceAtRoot: Bool { entry.serviceAtRoot }

    /// The request path after the matched prefix, as Kong hands it to the path joining.
    public var postfix: String {
        routing.withBytes(of: target) { p in
            String(decoding: UnsafeBufferPointer(rebasing: p[postfixRange(p)]), as: UTF8.self)
        }
    }

    /// The postfix's byte range in the path: after `postfixStart`, sanitised
    /// (`sanitize_uri_postfix`: `.` and `..` become empty, a leading `./` or `../` is dropped).
    private func postfixRange(_ p: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = min(postfixStart, p.count)
        guard sanitizePostfix else { return start..<p.count }
        let n = p.count - start
        func at(_ i: Int) -> UInt8 { start + i < p.count ? p[start + i] : 0 }
        if (n == 1 && at(0) == 0x2E) || (n == 2 && at(0) == 0x2E && at(1) == 0x2E) { return p.count..<p.count }
        if at(0) == 0x2E, at(1) == 0x2F { return start + 2..<p.count }
        if at(0) == 0x2E, at(1) == 0x2E, at(2) == 0x2F { return start + 3..<p.count }
        return start..<p.count
    }

    /// Runs `body` with Kong's `upstream_uri` before escaping (on the stack).
    private func withUpstreamPath<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let v1 = flavor == .traditional && route.pathHandling == .v1
        let strip = route.stripPath
        return Bytes.with(service?.basePath ?? "/") { base in
            routing.withBytes(of: target) { p in
                let postfix = UnsafeBufferPointer(rebasing: p[postfixRange(p)])
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: base.count + p.count + 2) { out in
                    let n = UpstreamPath.join(
                        base: base, requestPath: p, postfix: postfix, stripPath: strip, v1: v1, into: out)
                    return body(UnsafeBufferPointer(rebasing: out[..<n]))
                }
            }
        }
    }

    /// Kong's `upstream_uri` before escaping: the service path joined with the request path
    /// (strip_path, path_handling v0, or v1 with the traditional flavor; kong-reference §5.5).
    public var upstreamPath: String { withUpstreamPath { String(decoding: $0, as: UTF8.self) } }

    /// The upstream request target: ``upstreamPath`` percent-escaped as Kong does
    /// (`kong.tools.uri.escape`), then the query exactly as sent (`/foo?` keeps its `?`).
    /// One allocation at most (none up to 15 bytes).
    public var upstreamTarget: String {
        let query = routing.queryStart
        return withUpstreamPath { path in
            Bytes.with(target) { t in
                let q = query.map { UnsafeBufferPointer(rebasing: t[min($0, t.count)...]) }
                return UpstreamPath.target(path: path, query: q)
            }
        }
    }

    /// The upstream `Host` header for a balancer target (kong-reference §5.5): the request's
    /// when `preserve_host` is on, else `host` plus `:port` unless the port is the scheme's
    /// default (80 for http/grpc, 443 for https/grpcs).
    public func upstreamHostHeader(targetHost: String, targetPort: Int) -> String {
        if route.preserveHost, let upstreamHost { return upstreamHost }
        let scheme = service?.protocol ?? "http"
        let defaultPort = (scheme == "https" || scheme == "grpcs") ? 443 : 80
        return targetPort == defaultPort ? targetHost : "\(targetHost):\(targetPort)"
    }
}

/// What an engine found for the winning route, before the match keeps the request's strings.
struct EngineMatch {
    /// Index of the route in the router's entries.
    var entry: Int
    /// Where the postfix starts in the path (bytes), and whether it is sanitised.
    var postfixStart = 1
    var sanitizePostfix = true
    /// Bytes of the path matched by the route's path, if it has one.
    var prefixLength: Int?
    var captures: RouteCaptures?
    var matchedHost: String?
    var matchedPath: String?
    var methodMatched = false
    var matchedHeaders: [String: String] = [:]

    /// An ATC-flavor result (`atc.lua`): postfix after the matched path when stripping, else
    /// after `/`; captures only when a group other than the whole match is set.
    init(compat entry: Int, stripPath: Bool, prefixLength: Int?, pathMatch: PCREMatch?) {
        self.entry = entry
        self.prefixLength = prefixLength
        if stripPath, let prefixLength { postfixStart = prefixLength }
        if let m = pathMatch, m.groups.dropFirst().contains(where: { $0 != nil }) {
            captures = RouteCaptures(match: m, dropLast: false)
        }
    }

    init(entry: Int) { self.entry = entry }
}

/// Regex path captures, as Kong exposes them to plugins (`ngx.ctx.router_matches.uri_captures`).
public struct RouteCaptures: Sendable, Hashable {
    /// Group 0 is the whole match; unset groups are nil.
    public let numbered: [String?]
    /// Named groups (set ones only).
    public let named: [String: String]

    /// Makes captures.
    public init(numbered: [String?], named: [String: String]) {
        self.numbered = numbered
        self.named = named
    }

    /// From a PCRE match; `dropLast` removes the traditional router's `uri_postfix` group.
    init(match m: PCREMatch, dropLast: Bool) {
        var numbered = m.groups
        if dropLast, numbered.count > 1 { numbered.removeLast() }
        self.numbered = numbered
        var named: [String: String] = [:]
        for (name, i) in m.names where name != "uri_postfix" {
            if i < m.groups.count, let v = m.groups[i] { named[name] = v }
        }
        self.named = named
    }

    /// Group `i` (0: the whole match), nil when unset or absent.
    public subscript(_ i: Int) -> String? { i >= 0 && i < numbered.count ? numbered[i] : nil }
    /// A named group.
    public subscript(_ name: String) -> String? { named[name] }
    /// Number of numbered groups, not counting group 0 (Lua's `#uri_captures`).
    public var count: Int { max(numbered.count - 1, 0) }
}
