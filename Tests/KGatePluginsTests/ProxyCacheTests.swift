import Crypto
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `proxy-cache` pieces (`spec/03-plugins/31-proxy-cache/01-cache_key_spec.lua`,
/// `kong/tools/http.lua`): cache keys, `Cache-Control` directives, content types, the store.
struct ProxyCacheTests {
    private func config(_ yaml: String = "{strategy: memory}") throws -> ProxyCachePlugin.Config {
        let runner = try Gate.runner(
            "_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/]}\nplugins:\n- name: proxy-cache\n  config: \(yaml)\n")
        let row = try #require(runner.database.page["plugins"]?.rows.values.first)
        return try ProxyCachePlugin().makeConfig(try #require(row["config"]?.objectValue), scope: PluginScope(id: "p", name: "proxy-cache"))
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined()
    }

    @Test func cacheKeysAsKong() throws {
        let runner = try Gate.runner("_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/]}\n")
        let route = Gate.routeID(runner, "r")
        let all = Exchange(runner, route: "r", path: "/a", query: "b=2&a=1&f&m=2&m=1", headers: ["X-Vary": "v"])
        #expect(ProxyCachePlugin.cacheKey(try config(), all.ctx) == Self.sha256("\(route)|GET|GET /a|a=1:b=2:f:m=1,2|"))
        let varied = try config("{strategy: memory, vary_query_params: [b], vary_headers: [x-vary], ignore_uri_case: true}")
        let upper = Exchange(runner, route: "r", path: "/A", query: "b=2", headers: ["X-Vary": "v"])
        #expect(ProxyCachePlugin.cacheKey(varied, upper.ctx) == Self.sha256("\(route)|GET|get /a|b=2|x-vary=v"))
        // Without a query the request line keeps its version (`ngx.var.request` up to `?`).
        let plain = Exchange(runner, route: nil, path: "/p")
        #expect(ProxyCachePlugin.cacheKey(try config(), plain.ctx) == Self.sha256("default|GET|GET /p HTTP/1.1||"))
    }

    @Test func directives() {
        let cc = ProxyCachePlugin.directives(["max-age=60, No-Cache", "private=\"x\", s-maxage=0x10"])
        #expect(cc["max-age"] == .numeric(60))
        #expect(cc["no-cache"] == .present)
        #expect(cc["private"] == .text("\"x\""))
        #expect(cc["s-maxage"] == .numeric(16))
        #expect(ProxyCachePlugin.resourceTTL(cc, [:], now: 0) == 16)
        let expires: HTTPFields = ["Expires": "Thu, 01 Jan 1970 00:01:40 GMT"]
        #expect(ProxyCachePlugin.resourceTTL([:], expires, now: 40) == 60)
        #expect(ProxyCachePlugin.resourceTTL([:], [:], now: 40) == 0)
    }

    @Test func contentTypesMatchExactly() throws {
        let plain = try #require(MediaType("text/plain"))
        #expect(plain.accepts(try #require(MediaType("Text/Plain"))))
        #expect(!plain.accepts(try #require(MediaType("text/plain; charset=utf-8"))))
        let any = try #require(MediaType("*/*; charset=utf-8"))
        #expect(any.accepts(try #require(MediaType("application/json; charset=utf-8"))))
        #expect(MediaType("nonsense") == nil)
    }

    @Test func storeExpiresAndEvicts() {
        let store = ProxyCacheStore(capacity: 1000)
        func entry(_ size: Int, expires: Int = 100) -> ProxyCacheStore.Entry {
            .init(status: 200, headers: [:], body: Array(repeating: 0, count: size), timestamp: 0, ttl: 10, expires: expires)
        }
        store.store("a", entry(400))
        store.store("b", entry(400))
        #expect(store.fetch("a", now: 1) != nil)
        store.store("c", entry(400))
        #expect(store.fetch("a", now: 1) == nil)
        #expect(store.fetch("b", now: 1) != nil && store.fetch("c", now: 1) != nil)
        #expect(store.fetch("c", now: 100) == nil)
        store.store("huge", entry(5000))
        #expect(store.fetch("huge", now: 1) == nil)
    }

    @Test func unknownDictionaryIsRefused() {
        let yaml = "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: memory, memory: {dictionary_name: nope}}\n"
        #expect(Gate.loadError(yaml)?.contains("missing shared dict 'nope'") == true)
        #expect(Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {}\n") != nil)
    }
}
