import KGatePlugins

/// Kong's `header_filter.after` (`runloop/handler.lua`): the response headers Kong sets once the
/// plugins' `header_filter` ran, so a plugin cannot replace or remove them.
///
/// The values are the ones kgate wrote into the head before the plugins ran (`before`):
/// - proxied responses: `X-Kong-Upstream-Latency`, `X-Kong-Proxy-Latency` and `Via` (the
///   upstream's `Via` plus kgate's), and `Server` when no plugin left one;
/// - generated responses: `X-Kong-Response-Latency`, and `Server` (removed when `headers` does
///   not enable it), unless `Via` is enabled and a plugin set it to the server token;
/// - both: `X-Kong-Request-Id`, and `Date` when no plugin left one (nginx writes it).
///
/// The plugins do not see these headers at all: on a proxied response they see the upstream's
/// own, if it sent any (``pluginView(of:upstream:)``); on a generated one, the ones the
/// response itself carries, such as a `Server` a plugin gave `kong.response.exit`
/// (``pluginView(of:proxied:own:)``). So a plugin can add a `Server` to a short-circuited
/// response, as Kong's 14-server_tokens_spec does with response-transformer.
///
/// `X-Kong-Upstream-Status` is set before the plugins run, as Kong does, so it stays theirs.
enum KongHeadersAfterPlugins {
    /// The headers kgate writes into a proxied response head itself, which Kong (or nginx)
    /// only adds after the plugins' `header_filter`.
    private static let addedAfterPlugins = ["X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency", "Via", "X-Kong-Request-Id", "Server", "Date"]
    /// The same for a generated response.
    private static let addedAfterPluginsGenerated = ["X-Kong-Response-Latency", "X-Kong-Request-Id", "Server", "Date"]

    /// What the plugins' `header_filter` sees of a proxied response head (`head`, as kgate
    /// wrote it from `upstream`): the headers kgate added are the upstream's own values, or
    /// absent, as in Kong, where they are added after the plugins ran.
    static func pluginView(of head: HTTPFields, upstream: borrowing MessageHead) -> HTTPFields {
        var view = head
        for name in addedAfterPlugins where view[name] != nil {
            view.remove(name)
            for field in upstream.fields where HTTPFields.sameName(upstream.name(field), name) {
                view.add(upstream.name(field), upstream.value(field))
            }
        }
        return view
    }

    /// What the plugins' `header_filter` sees of a generated response head (`head`, as kgate
    /// rendered it): the headers kgate added are the response's `own` values (what a plugin or
    /// Kong gave it), or absent. `proxied`: an error after Kong decided to proxy (a 502), which
    /// carries the proxied set of headers.
    static func pluginView(of head: HTTPFields, proxied: Bool, own: [(String, String)]) -> HTTPFields {
        var view = head
        for name in proxied ? addedAfterPlugins : addedAfterPluginsGenerated where view[name] != nil {
            view.remove(name)
            for (ownName, value) in own where HTTPFields.sameName(ownName, name) { view.add(ownName, value) }
        }
        return view
    }

    private static let proxiedNames: [(name: String, header: ResponseHeaders)] = [
        ("X-Kong-Upstream-Latency", .upstreamLatency), ("X-Kong-Proxy-Latency", .proxyLatency), ("Via", .via),
    ]

    /// Sets the headers on `response` (started: its headers are the real ones).
    static func apply(
        to response: inout PluginResponse, before: HTTPFields, proxied: Bool, enabled: ResponseHeaders,
        serverToken: String
    ) {
        func restore(_ name: String, _ header: ResponseHeaders) {
            guard enabled.contains(header), let value = before[name] else { return }
            response.setHeader(name, value)
        }
        if proxied {
            for (name, header) in proxiedNames { restore(name, header) }
            if enabled.contains(.server), response.header("Server") == nil { response.setHeader("Server", serverToken) }
        } else {
            restore("X-Kong-Response-Latency", .responseLatency)
            if !(enabled.contains(.via) && response.header("Via") == serverToken) {
                if enabled.contains(.server) {
                    response.setHeader("Server", serverToken)
                } else {
                    response.clearHeader("Server")
                }
            }
        }
        restore("X-Kong-Request-Id", .requestID)
        // nginx writes a `Date` whenever the response has none.
        if response.header("Date") == nil, let date = before["Date"] { response.setHeader("Date", date) }
    }
}
