import KGateAdmin
import KGateHTTP
import KGatePlugins
import KGateSchema
import KGateStore
import NIOCore
import NIOHTTP1

/// The loaded plugins' endpoints (Kong's `api.lua` and `status_api.lua`): prometheus's
/// `/metrics` on both APIs, proxy-cache's `/proxy-cache` on the Admin API.
struct NodePluginAPIs {
    var admin: [PluginAPIRoute] = []
    var status: [PluginAPIRoute] = []

    /// The endpoints of the plugins in `loaded` that `registry` has.
    init(loaded: [String], registry: PluginRegistry, metrics: NodeMetrics?) {
        if loaded.contains(PrometheusPlugin.name), let metrics {
            let route = PluginAPIRoute("/metrics", methods: [.GET]) { _, _, _ in
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
                return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: metrics.text()))
            }
            admin.append(route)
            status.append(route)
        }
        if loaded.contains(ProxyCachePlugin.name), let cache = registry.plugin(ProxyCachePlugin.self) {
            admin += Self.proxyCache(cache)
        }
    }

    /// `/proxy-cache`: DELETE flushes every proxy-cache config's store; `/proxy-cache/{key}`
    /// finds (GET) or purges (DELETE) a key in any of them; `/proxy-cache/{plugin}/caches/{key}`
    /// in that config's.
    static func proxyCache(_ cache: ProxyCachePlugin) -> [PluginAPIRoute] {
        let empty = HTTPResponse(status: .noContent)
        let notFound = HTTPResponse(status: .notFound)
        let now = { @Sendable in Int(WallClock.now()) }
        let found = { @Sendable (value: Value) in HTTPResponse.json(.ok, value.jsonText) }
        return [
            PluginAPIRoute("/proxy-cache", methods: [.DELETE]) { _, _, generation in
                for (_, dictionary) in cacheDictionaries(generation) { cache.flush(dictionary: dictionary) }
                return empty
            },
            PluginAPIRoute("/proxy-cache/:cache_key", methods: [.GET, .DELETE]) { method, params, generation in
                let key = params["cache_key"] ?? ""
                for (_, dictionary) in cacheDictionaries(generation) {
                    if method == .GET, let entry = cache.cachedEntry(dictionary: dictionary, key: key, now: now()) {
                        return found(entry)
                    }
                    if method == .DELETE, cache.purge(dictionary: dictionary, key: key) { return empty }
                }
                return notFound
            },
            PluginAPIRoute("/proxy-cache/:plugin_id/caches/:cache_key", methods: [.GET, .DELETE]) { method, params, generation in
                let key = params["cache_key"] ?? ""
                guard let dictionary = cacheDictionaries(generation).first(where: { $0.id == params["plugin_id"] })?.dictionary else {
                    return notFound
                }
                if method == .GET { return cache.cachedEntry(dictionary: dictionary, key: key, now: now()).map(found) ?? notFound }
                return cache.purge(dictionary: dictionary, key: key) ? empty : notFound
            },
        ]
    }

    /// The dictionary names of the generation's proxy-cache configs, by plugin id.
    static func cacheDictionaries(_ generation: Generation) -> [(id: String, dictionary: String)] {
        (generation.page["plugins"]?.rows ?? [:]).compactMap { id, row in
            guard row["name"]?.stringValue == ProxyCachePlugin.name else { return nil }
            return (id, row["config"]?["memory"]?["dictionary_name"]?.stringValue ?? "kong_db_cache")
        }
    }
}
