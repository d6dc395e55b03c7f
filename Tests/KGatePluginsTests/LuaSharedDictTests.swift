import KGateConfig
import KGateSchema
import KGateStore
import Testing

@testable import KGatePlugins

/// `ngx.shared` (OpenResty's shared dict API over kgate's zones) and the sandbox's
/// `untrusted_lua_sandbox_requires`.
@Suite struct LuaSharedDictTests {
    /// What `code` says (`ngx.say`) in access.
    private func said(_ code: String, runner: PluginRunner? = nil) throws -> String {
        let runner = try runner ?? Gate.runner(ServerlessFunctionTests.config("pre-function", [("r", "access", [code])]))
        let ex = Exchange(runner, route: "r")
        return String(decoding: ex.ctx.exitResponse?.encodedBody ?? [], as: UTF8.self)
    }

    @Test func operationsAnswerAsOpenRestys() throws {
        let out = try said("""
            local d = ngx.shared.kong
            d:flush_all()
            ngx.say(d:set("a", "x", 0, 7), " ", d:get("a"), " ", select(2, d:get("a")))
            ngx.say(d:add("a", "y"), " ", select(2, d:add("a", "y")), " ", d:get("a"))
            ngx.say(d:replace("nope", 1), " ", select(2, d:replace("nope", 1)))
            ngx.say(d:incr("n", 2, 10), " ", d:incr("n", -1), " ", select(2, d:incr("missing", 1)))
            ngx.say(select(2, d:incr("a", 1)))
            ngx.say(d:lpush("l", "b"), d:lpush("l", "a"), d:rpush("l", 3), " ", d:llen("l"), " ", d:lpop("l"), d:rpop("l"), " ", d:llen("l"))
            ngx.say(select(2, d:get("l")), " ", select(2, d:lpush("a", 1)))
            d:set("t", true, 100)
            local ttl = d:ttl("t")
            ngx.say(d:get("t"), " ", ttl > 99 and ttl <= 100, " ", d:ttl("a"), " ", select(2, d:ttl("nope")))
            d:set("gone", 1, 0.001)
            local t = ngx.now() + 0.01
            while ngx.now() < t do ngx.update_time() end
            ngx.say(tostring(d:get("gone")), " ", d:get_stale("gone"), " ", select(3, d:get_stale("gone")))
            d:delete("a")
            d:set("b", nil)
            ngx.say(tostring(d:get("a")), " ", #d:get_keys(0) >= 3, " ", d:capacity(), " ", d:free_space() < d:capacity())
            ngx.say(pcall(d.set, d, "k", {}))
            ngx.say(d:set("", 1))
            ngx.exit(200)
            """)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "true x 7", "\(out)")
        #expect(lines[1] == "false exists x7")
        #expect(lines[2] == "false not foundfalse")
        #expect(lines[3] == "12 11 not found")
        #expect(lines[4] == "not a number")
        #expect(lines[5] == "123 3 a3 1")
        #expect(lines[6] == "value is a list value not a list")
        #expect(lines[7] == "true true 0 not found")
        #expect(lines[8] == "nil 1 true")
        #expect(lines[9] == "nil true 5242880 true")
        #expect(lines[10] == "falsebad value type")
        #expect(lines[11] == "nilempty key")
    }

    @Test func zonesOfKongAndOfTheNode() {
        #expect(LuaSharedDicts.shared.exists("kong") && LuaSharedDicts.shared.exists("kong_db_cache"))
        let declared = LuaSharedDicts.declared("my_dict 1m; lua_shared_dict other 64k;bad; x 12q")
        #expect(declared.keys.sorted() == ["my_dict", "other"])
        #expect(declared["my_dict"]?.capacity == 1 << 20 && declared["other"]?.capacity == 64 << 10)
        _ = LuaNodeSettings(configuration: ["nginx_http_lua_shared_dict": .string("kgate_test_zone 1m")])
        #expect(LuaSharedDicts.shared.exists("kgate_test_zone"))
    }

    @Test func fullZonesEvictTheLeastRecentlyUsedUnlessSafe() {
        var zone = Zone(capacity: 4096)
        let value = SharedValue.string(Array(repeating: 1, count: 900))
        for key in ["a", "b", "c", "d"] { #expect(zone.store(key, value, flags: 0, expires: nil, evict: true, now: 0) == false) }
        _ = zone.entry("a", now: 0)
        #expect(zone.store("e", value, flags: 0, expires: nil, evict: false, now: 0) == nil)
        #expect(zone.store("e", value, flags: 0, expires: nil, evict: true, now: 0) == true)
        #expect(zone.entries["a"] != nil && zone.entries["b"] == nil && zone.entries["e"] != nil)
        #expect(zone.store("huge", .string(Array(repeating: 0, count: 5000)), flags: 0, expires: nil, evict: true, now: 0) == nil)
    }

    @Test func sandboxRequiresWhatTheNodeLists() throws {
        let registry = PluginRegistry(BundledPluginSet.all(configuration: ["untrusted_lua_sandbox_requires": .array([.string("cjson")])]))
        let catalog = EntityCatalog(enabledPlugins: BundledPlugins.names, pluginConfigSchemas: registry.configSchemas)
        let yaml = ServerlessFunctionTests.config("pre-function", [
            ("r", "access", ["ngx.say(require('cjson').encode({1}), ' ', select(2, pcall(require, 'resty.http')))\nngx.exit(200)"]),
        ])
        guard case .success(let config) = DeclarativeLoader(catalog: catalog).load(bytes: Array(yaml.utf8), fileName: "kong.yml") else {
            Issue.record("config did not load")
            return
        }
        let runner = try PluginRunner(page: Page(config: config, catalog: catalog), registry: registry)
        #expect(try said("", runner: runner) == "[1] require 'resty.http' not allowed within sandbox\n")
    }
}
