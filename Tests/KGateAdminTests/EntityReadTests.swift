#if canImport(Glibc)
import Glibc
#endif
import KGateConfig
import KGateSchema
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// GET on entity endpoints: items by id or endpoint key, nested forms, Kong's key errors.
@Suite struct EntityReadTests {
    @Test func itemsByIDAndByEndpointKey() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let byID = await h.get("/services/0855b320-0dd2-547d-891d-601e9b38647f")
        #expect(byID.status == 200)
        #expect(byID["name"] == "svc-a")
        #expect(byID["port"] == 8080)
        #expect(byID["client_certificate"] == .null)
        let byName = await h.get("/services/svc-a")
        #expect(byName.json == byID.json)
        #expect(await h.get("/services/svc-a/").json == byID.json)
        #expect(await h.get("/consumers/alice")["custom_id"] == "alice-1")
        #expect(await h.get("/services/ghost").json == ["message": "Not found"])
        #expect(await h.get("/services/\(EntityID.random())").status == 404)
    }

    /// Kong unescapes a path segment with `ngx.unescape_uri`: `+` is a space, `%2B` a plus.
    @Test func plusInAPathSegmentIsASpace() async throws {
        let h = try AdminHarness()
        await h.load(
            """
            _format_version: "3.0"
            consumers:
            - username: bob smith
            - username: user+tag@example.com
            """)
        #expect(await h.get("/consumers/bob+smith")["username"] == "bob smith")
        #expect(await h.get("/consumers/bob%20smith")["username"] == "bob smith")
        #expect(await h.get("/consumers/user+tag@example.com").status == 404)
        #expect(await h.get("/consumers/user%2Btag@example.com")["username"] == "user+tag@example.com")
    }

    /// kgate runs no wasm: every wasm endpoint answers as Kong's with `wasm = off`
    /// (`kong/api/routes/filter_chains.lua`).
    @Test func wasmEndpointsAreOff() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let off: Value = ["message": "this endpoint is only available when wasm is enabled"]
        for path in [
            "/filter-chains", "/filter-chains/x", "/filter-chains/x/route", "/routes/route-a/filter-chains",
            "/services/svc-a/filter-chains/x", "/routes/route-a/filters/all", "/routes/route-a/filters/enabled",
        ] {
            let reply = await h.get(path)
            #expect(reply.status == 400, Comment(rawValue: path))
            #expect(reply.json == off, Comment(rawValue: path))
        }
        #expect(await h.send(.POST, "/filter-chains").json == off)
    }

    @Test func invalidKeys() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let pk = await h.get("/acls/not-a-uuid")
        #expect(pk.status == 400)
        #expect(
            pk.json == [
                "code": 1, "name": "invalid primary key",
                "message": "invalid primary key: '{id=\"expected a valid UUID\"}'",
                "fields": ["id": "expected a valid UUID"],
            ])
        let unique = await h.get("/services/bad%20name")
        #expect(unique.status == 400)
        #expect(unique["code"] == 10)
        #expect(unique["name"] == "invalid unique name")
        #expect(
            unique.message
                == "invalid value 'bad name': the only accepted ascii characters are alphanumerics or ., -, _, and ~")
    }

    @Test func nestedCollectionsAndItems() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let routes = await h.get("/services/svc-a/routes")
        #expect(routes.data.map { $0["name"] } == ["route-a"])
        #expect(routes["next"] == .null)
        #expect(await h.get("/services/svc-b/routes").body == #"{"data":[],"next":null}"#)
        #expect(await h.get("/services/ghost/routes").status == 404)
        #expect(await h.get("/services/svc-a/routes/route-a")["name"] == "route-a")
        #expect(await h.get("/services/svc-b/routes/route-a").status == 404)
        #expect(await h.get("/routes/route-a/service")["name"] == "svc-a")
        #expect(await h.get("/routes/lonely/service").status == 404)
        #expect(await h.get("/services/svc-a/plugins").data.map { $0["name"] } == ["key-auth"])
        #expect(await h.get("/consumers/alice/key-auth").data.map { $0["key"] } == ["alice-key"])
        #expect(await h.get("/key-auths/alice-key/consumer")["username"] == "alice")
        #expect(await h.get("/consumers/alice/acls/admins")["group"] == "admins")
        #expect(await h.get("/consumers/bob/acls/admins").status == 404)
        // `?tags=` does not filter nested collections (#6779), but is still checked.
        #expect(await h.get("/services/svc-a/routes?tags=nope").data.count == 1)
        #expect(await h.get("/services/svc-a/routes?tags=a,b/c").status == 400)
    }

    /// Kong's off strategy reads a key-auth credential's `ttl` as its expiry time: the Admin API
    /// shows the seconds left, and an expired credential is gone from every read.
    @Test func credentialTTLIsTimeLeftAndExpiredOnesAreGone() async throws {
        let h = try AdminHarness()
        let now = time(nil)
        await h.load(
            """
            _format_version: "3.0"
            consumers:
            - username: bob
              keyauth_credentials:
              - key: alive
                ttl: \(now + 3600)
              - key: dead
                ttl: \(now - 10)
              - key: forever
            """)
        let alive = await h.get("/key-auths/alive")
        #expect(alive.status == 200)
        let left = alive["ttl"]?.doubleValue ?? 0
        #expect(left > 3590 && left <= 3600)
        #expect(await h.get("/key-auths/forever")["ttl"] == nil)
        #expect(await h.get("/key-auths/dead").status == 404)
        #expect(await h.get("/key-auths/dead/consumer").status == 404)
        #expect(await h.get("/consumers/bob/key-auth/dead").status == 404)
        #expect(Set(await h.get("/key-auths").data.compactMap { $0["key"]?.stringValue }) == ["alive", "forever"])
        #expect(Set(await h.get("/consumers/bob/key-auth").data.compactMap { $0["key"]?.stringValue }) == ["alive", "forever"])
    }

    @Test func consumersByCustomID() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let found = await h.get("/consumers?custom_id=alice-1")
        #expect(found.data.map { $0["username"] } == ["alice"])
        #expect(found["next"] == .null)
        #expect(await h.get("/consumers?custom_id=nobody").body == #"{"data":[],"next":null}"#)
        #expect(await h.get("/consumers?custom_id=").json == ["message": "custom_id must be an unempty string"])
    }

    @Test func upstreamTargets() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let targets = await h.get("/upstreams/up/targets")
        #expect(Set(targets.data.compactMap { $0["target"]?.stringValue }) == ["10.0.0.1:8000", "10.0.0.2:81"])
        let all = await h.get("/upstreams/up/targets/all")
        #expect(Set(all.data.compactMap { $0["target"]?.stringValue }) == ["10.0.0.1:8000", "10.0.0.2:81"])
        let ids = all.data.compactMap { $0["id"]?.stringValue }
        #expect(ids == ids.sorted())
        // Kong compares the formatted target with the key as given: no port, no match.
        #expect(await h.get("/upstreams/up/targets/10.0.0.1").status == 404)
        #expect(await h.get("/upstreams/up/targets/10.0.0.1:8000")["target"] == "10.0.0.1:8000")
        #expect(await h.get("/upstreams/up/targets/10.0.0.3").status == 404)
        #expect(await h.get("/upstreams/nope/targets").status == 404)
        let health = await h.get("/upstreams/up/health")
        #expect(health.data.allSatisfy { $0["health"] == "HEALTHCHECKS_OFF" })
        #expect(health["node_id"] == "5b7cd4b6-53c4-4f7b-8a0c-6f1f5e8e1a2b")
        // Kong's answer for an upstream without a health checker.
        let put = await h.send(.PUT, "/upstreams/up/targets/10.0.0.1:8000/unhealthy")
        #expect(put.status == 400)
        #expect(put["message"] == "no healthchecker found for up")
    }

    @Test func certificatesBySNIWithTheirNames() async throws {
        let h = try AdminHarness()
        let config: Value = [
            "_format_version": "3.0",
            "certificates": [
                [
                    "id": "d83994d2-c24c-4315-b431-ee76b6611dcb", "cert": .string(Fixture.cert),
                    "key": .string(Fixture.key),
                    "snis": [["name": "foo.example"], ["name": "bar.example"]],
                ]
            ],
        ]
        #expect(await h.load(config.jsonText).generation != nil)
        let cert = await h.get("/certificates/d83994d2-c24c-4315-b431-ee76b6611dcb")
        #expect(cert["snis"] == ["bar.example", "foo.example"])
        #expect(await h.get("/certificates/foo.example").json == cert.json)
        #expect(await h.get("/certificates/nope.example").json == ["message": "SNI not found"])
        #expect(await h.get("/certificates").data.first?["snis"] == ["bar.example", "foo.example"])
        #expect(await h.get("/certificates/foo.example/snis").data.count == 2)
        #expect(await h.get("/snis/foo.example/certificate").status == 404)
        #expect(await h.get("/snis/foo.example")["certificate"] == ["id": "d83994d2-c24c-4315-b431-ee76b6611dcb"])
    }

    @Test func headAndOptions() async throws {
        let h = try AdminHarness()
        let options = await h.send(.OPTIONS, "/")
        #expect(options.status == 204)
        #expect(options.body.isEmpty)
        #expect(options.headers.first(name: "Allow") == "GET, HEAD, OPTIONS")
        #expect(options.headers.first(name: "Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS")
        #expect(options.headers.first(name: "Access-Control-Allow-Headers") == "Content-Type")
        #expect(options.headers.first(name: "Access-Control-Allow-Origin") == "*")
        #expect(await h.send(.OPTIONS, "/services").headers.first(name: "Allow") == "GET, HEAD, OPTIONS, POST")
        #expect(
            await h.send(.OPTIONS, "/services/x").headers.first(name: "Allow")
                == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")
        #expect(await h.send(.HEAD, "/").status == 200)
        #expect(await h.send(.OPTIONS, "/non-existing").json == ["message": "Not found"])
        for method in [HTTPMethod.GET, .POST, .PUT, .DELETE, .HEAD] {
            #expect(await h.send(method, "/non-existing").status == 404)
        }
        for method in [HTTPMethod.POST, .PUT, .DELETE, .PATCH] {
            let r = await h.send(method, "/", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(r.status == 405)
            #expect(r.json == ["message": "Method not allowed"])
        }
    }

    /// 06-shorthand_fields_spec 'get collection' / 'get plugins by route': rate-limiting's
    /// deprecated `redis_*` fields are read back with the values of `redis.*` (Kong's
    /// `process_auto_fields` "select"), in entity reads and in `GET /config`; `redis` itself is
    /// always there, as Kong makes a plugin's records required.
    @Test func deprecatedShorthandsAreReadBack() async throws {
        let redis = Schema.record([("host", .string), ("port", Field.integer.with { $0.defaultValue = 6379 })])
        let config = Schema.record(
            [("minute", .number), ("redis", .record(redis))],
            shorthandFields: [
                .init("redis_host", .string, replacedWith: "redis.host") { ["redis": ["host": $0]] },
                .init("redis_port", .integer, replacedWith: "redis.port") { ["redis": ["port": $0]] },
            ])
        let h = try AdminHarness(catalog: EntityCatalog(pluginConfigSchemas: ["rate-limiting": config]))
        await h.load("""
            _format_version: "3.0"
            routes:
            - name: route-1
              hosts: [redis1.test]
              plugins:
              - name: rate-limiting
                config: {minute: 101, redis_host: custom-host1.example.test, redis_port: 55001}
            - name: route-2
              hosts: [redis2.test]
              plugins:
              - name: rate-limiting
                config: {minute: 102}
            """)
        let listed = await h.get("/plugins").data.first { $0["config"]?["minute"] == 101 }
        #expect(listed?["config"]?["redis_host"] == "custom-host1.example.test")
        #expect(listed?["config"]?["redis_port"] == 55001)
        #expect(listed?["config"]?["redis"]?["host"] == "custom-host1.example.test")
        let byRoute = await h.get("/routes/route-1/plugins").data.first
        #expect(byRoute?["config"]?["redis_port"] == 55001)
        // Kong's make_records_required: `redis` is filled even when not given.
        let defaults = await h.get("/routes/route-2/plugins").data.first
        #expect(defaults?["config"]?["redis"] == ["host": .null, "port": 6379])
        #expect(defaults?["config"]?["redis_port"] == 6379)
        #expect(defaults?["config"]?["redis_host"] == .null)
        let exported = await h.get("/config")["config"]?.stringValue ?? ""
        #expect(exported.contains("redis_host: custom-host1.example.test"))
    }
}
