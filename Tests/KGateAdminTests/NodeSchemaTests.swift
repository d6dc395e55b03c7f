import Synchronization
import KGateConfig
import KGateSchema
import NIOHTTP1
import Testing

@testable import KGateAdmin
@testable import KGateSettings

/// `/`, `/endpoints`, `/status`, `/plugins/enabled`, `/schemas/...`, authorization: the DB-less
/// cases of `spec/02-integration/04-admin_api/02-kong_routes_spec.lua`.
@Suite struct NodeSchemaTests {
    @Test func nodeInformation() async throws {
        let h = try AdminHarness(settings: NodeSettings(declarativeConfigString: "secret", adminToken: nil))
        let r = await h.get("/")
        #expect(r.status == 200)
        #expect(r["tagline"] == "Welcome to kong")
        #expect(r["version"] == "3.10.0")
        #expect(r["edition"] == "community")
        #expect(r["node_id"] == "5b7cd4b6-53c4-4f7b-8a0c-6f1f5e8e1a2b")
        #expect(r.body.contains(#""enabled_in_cluster":[]"#))
        #expect(r["plugins"]?["available_on_server"]?["key-auth"] == ["version": "3.10.0", "priority": 1250])
        #expect(r["plugins"]?["available_on_server"]?.objectValue?.count == 45)
        #expect(r["configuration"]?["declarative_config_string"] == "******")
        #expect(r["configuration"]?["admin_listen"]?.arrayValue?.isEmpty == false)
        // Kong shows `plugins` as configured and the expanded list as `loaded_plugins`, a set.
        #expect(r["configuration"]?["plugins"] == ["bundled"])
        #expect(r["configuration"]?["loaded_plugins"]?["key-auth"] == true)
        #expect(r["configuration"]?["loaded_plugins"]?.objectValue?.count == 45)
        #expect(r["pids"]?["master"]?.integerValue != nil)
        #expect(r["prng_seeds"] == nil)
        #expect(r.headers.first(name: "Server") == "kong/3.10.0")
        #expect(r.headers.first(name: "X-Kong-Admin-Latency") != nil)
        #expect(r.headers.first(name: "Access-Control-Allow-Origin") == "*")
        #expect(r.headers.first(name: "Access-Control-Allow-Credentials") == "true")

        await h.load(Fixture.sample)
        #expect(await h.get("/")["plugins"]?["enabled_in_cluster"] == ["key-auth"])
    }

    /// `GET /` has Kong's keys, and its `configuration` is Kong's `kong.configuration` after
    /// `remove_sensitive()`: every property with its default, in Kong's types.
    @Test func nodeInformationKeysAndConfigurationTypes() async throws {
        let h = try AdminHarness(settings: NodeSettings(declarativeConfigString: "secret", adminToken: "t0ken"))
        let r = await h.send(.GET, "/", headers: [("Authorization", "Bearer t0ken")])
        #expect(
            Set(r.json?.objectValue?.keys.map { $0 } ?? [])
                == [
                    "tagline", "version", "edition", "hostname", "node_id", "timers", "plugins", "lua_version",
                    "configuration", "pids",
                ])
        #expect(r["lua_version"]?.stringValue?.hasPrefix("kgate") == true)
        let conf = try #require(r["configuration"]?.objectValue)
        // Numbers, booleans, nginx booleans, nginx directives as text, lists.
        #expect(conf["pg_port"] == 5432)
        #expect(conf["upstream_keepalive_pool_size"] == 512)
        #expect(conf["tracing_sampling_rate"] == 0.01)
        // The deprecated aliases keep their own defaults, as in Kong's kong_defaults.lua.
        #expect(conf["opentelemetry_tracing"] == ["off"])
        #expect(conf["opentelemetry_tracing_sampling_rate"] == 0.01)
        // The cipher suite's ciphers, as Kong's conf loader sets `ssl_ciphers`.
        #expect(conf["ssl_cipher_suite"] == "intermediate")
        #expect(conf["ssl_protocols"] == "TLSv1.2 TLSv1.3")
        #expect(conf["ssl_ciphers"]?.stringValue?.hasPrefix("ECDHE-ECDSA-AES128-GCM-SHA256:") == true)
        #expect(conf["anonymous_reports"] == true)
        #expect(conf["allow_debug_header"] == false)
        #expect(conf["real_ip_recursive"] == "off")
        #expect(conf["nginx_proxy_real_ip_recursive"] == "off")
        #expect(conf["nginx_http_keepalive_requests"] == "10000")
        #expect(conf["nginx_main_worker_processes"] == "auto")
        #expect(conf["dns_order"] == ["LAST", "SRV", "A", "CNAME"])
        #expect(conf["proxy_listen"]?.arrayValue?.count == 2)
        // An unset list is an empty Lua table (`{}`), an unset string or number is left out.
        #expect(conf["trusted_ips"] == .object([:]))
        #expect(conf["port_maps"] == .object([:]))
        #expect(conf["pg_password"] == nil && conf["dns_valid_ttl"] == nil && conf["declarative_config"] == nil)
        #expect(conf["pg_ro_ssl"] == false)
        // What Kong derives.
        #expect(conf["database"] == "off")
        #expect(conf["role"] == "traditional")
        let prefix = try #require(conf["prefix"]?.stringValue)
        #expect(prefix.hasPrefix("/") && prefix.hasSuffix("/kgate-prefix") && !prefix.contains("/./"))
        #expect(conf["nginx_pid"] == .string(prefix + "/pids/nginx.pid"))
        #expect(conf["loaded_vaults"] == ["env": true])
        #expect(conf["loaded_plugins"]?["key-auth"] == true)
        #expect(conf["enabled_headers"]?["Via"] == true)
        #expect(conf["enabled_headers"]?["X-Kong-Upstream-Status"] == false)
        #expect(conf["enabled_headers_upstream"] == ["X-Kong-Request-Id": true])
        #expect(conf["proxy_ssl_enabled"] == true && conf["admin_ssl_enabled"] == true)
        #expect(conf["status_ssl_enabled"] == false && conf["stream_proxy_ssl_enabled"] == false)
        #expect(conf["stream_listeners"] == .object([:]))
        let tls = try #require(conf["proxy_listeners"]?.arrayValue?.last)
        #expect(tls["ip"] == "0.0.0.0" && tls["port"] == 8443)
        #expect(tls["ssl"] == true && tls["http2"] == true && tls["reuseport"] == true && tls["bind"] == false)
        #expect(tls["backlog=16384"] == true && tls["backlog=%d+"] == nil && tls["ipv6only=on"] == false)
        #expect(tls["listener"] == "0.0.0.0:8443 ssl reuseport backlog=16384")
        #expect(conf["admin_gui_listeners"]?.arrayValue?.count == 2)
        // Kong's secrets are hidden whenever present, an empty list included; kgate's token too.
        #expect(conf["declarative_config_string"] == "******")
        #expect(conf["admin_token"] == "******")
        #expect(conf["ssl_cert_key"] == "******")
        #expect(conf["ssl_cert"] == .object([:]))
        #expect(conf["client_ssl_cert_key"] == nil)
        #expect(!r.body.contains("t0ken") && !r.body.contains("secret"))
    }

    @Test func configurationOfSetProperties() async throws {
        var settings = NodeSettings(headers: [])
        settings.statusListen = [ListenAddress(host: "::1", port: 8007, ssl: true, soKeepalive: "1m:10s:3")]
        settings.adminListen = [ListenAddress(host: "localhost", port: 8001)]
        settings.portMaps = [PortMap(hostPort: 80, kongPort: 8000)]
        settings.dnsOrder = [.a, .srv]
        settings.ignoredProperties = [
            ("pg_port", "5433"), ("pg_password", "hunter2"), ("anonymous_reports", "off"),
            ("nginx_http_foo", "bar"), ("vaults", "off"), ("proxy_server", "http://user:pw@proxy:3128"),
            ("vault_hcv_token", "s3cr3t"), ("privileged_worker", "on"),
        ].map { SettingAssignment(property: $0.0, value: $0.1, source: .defaults) }
        let h = try AdminHarness(settings: settings)
        let r = await h.get("/")
        let conf = try #require(r["configuration"]?.objectValue)
        #expect(conf["pg_port"] == 5433)
        #expect(conf["pg_password"] == "******" && conf["proxy_server"] == "******")
        #expect(!r.body.contains("hunter2") && !r.body.contains("user:pw") && !r.body.contains("s3cr3t"))
        #expect(conf["vault_hcv_token"] == nil && conf["privileged_worker"] == nil)
        #expect(conf["dns_order"] == ["A", "SRV"])
        #expect(conf["anonymous_reports"] == false)
        #expect(conf["nginx_http_foo"] == "bar")
        #expect(conf["loaded_vaults"] == .object([:]))
        #expect(conf["host_ports"] == ["8000": 80])
        #expect(conf["headers"] == ["off"])
        #expect(conf["enabled_headers"]?.objectValue?.values.allSatisfy { $0 == false } == true)
        let status = try #require(conf["status_listeners"]?.arrayValue?.first)
        #expect(status["ip"] == "[0000:0000:0000:0000:0000:0000:0000:0001]")
        #expect(status["port"] == 8007)
        #expect(status["so_keepalive=1m:10s:3"] == true && status["so_keepalive=%w*:%w*:%d*"] == nil)
        #expect(status["listener"] == "[0000:0000:0000:0000:0000:0000:0000:0001]:8007 ssl so_keepalive=1m:10s:3")
        #expect(conf["status_ssl_enabled"] == true)
        // A host name keeps its port as text, as Kong's pattern captures it.
        let admin = try #require(conf["admin_listeners"]?.arrayValue?.first)
        #expect(admin["ip"] == "localhost" && admin["port"] == "8001")
        #expect(conf["admin_ssl_enabled"] == false)
    }

    /// Every Kong property kgate accepts without using has Kong's default in `configuration`
    /// (unless Kong has none for it either).
    @Test func everyIgnoredPropertyHasKongsDefault() {
        let defaults = Set(NodeConfiguration.kongDefaults.map(\.name))
        let notInKongsDefaults: Set<String> = [
            "debug_ssl_cert", "debug_ssl_cert_key", "privileged_worker", "router_consistency", "nginx_user",
        ]
        #expect(KongProperties.ignored.subtracting(defaults) == notInKongsDefaults)
        let supported = Set(Property.all.map(\.name))
        #expect(defaults.isDisjoint(with: supported))
        for name in NodeConfiguration.kinds.keys {
            guard case .unknown = KongProperties.kind(of: name) else { continue }
            Issue.record("\(name) is no property kgate knows")
        }
        for (name, _) in NodeConfiguration.kongDefaults {
            guard case .unknown = KongProperties.kind(of: name) else { continue }
            Issue.record("\(name) is no property kgate knows")
        }
    }

    @Test func endpointsAndEnabledPlugins() async throws {
        let h = try AdminHarness()
        let list = await h.get("/endpoints").data.compactMap(\.stringValue)
        for endpoint in [
            "/", "/plugins", "/basic-auths/{basicauth_credentials}", "/services/{services}/routes/{routes}",
            "/consumers/{consumers}/key-auth", "/config", "/tags/{tags}", "/upstreams/{upstreams}/targets/all",
            "/schemas/plugins/{name}", "/key-sets/{key_sets}/keys",
        ] {
            #expect(list.contains(endpoint), "\(endpoint)")
        }
        #expect(!list.contains("/workspaces"))
        #expect(list.firstIndex(of: "/services/{services}")! < list.firstIndex(of: "/services/{services}/routes")!)
        let enabled = await h.get("/plugins/enabled")["enabled_plugins"]?.arrayValue
        #expect(enabled?.count == 45)
        #expect(enabled?.first == "jwt")
    }

    @Test func status() async throws {
        let h = try AdminHarness(statusBody: { ["configuration_hash": "00000000000000000000000000000000"] })
        let status = await h.get("/status")
        #expect(status["configuration_hash"] == "00000000000000000000000000000000")
        #expect(status["database"] == nil)
        #expect(await h.send(.POST, "/status").status == 405)
    }

    /// `02-kong_routes_spec.lua`, `/status` memory stats: MiB with 2 decimals by default, `?unit=`
    /// (`b` gives numbers), `?scale=`, and Kong's 400 for a bad unit.
    @Test func statusMemory() async throws {
        let h = try AdminHarness(statusBody: { ["configuration_hash": "00000000000000000000000000000000"] })
        func matches(_ value: Value?, _ suffix: String, decimals: Int) -> Bool {
            guard let text = value?.stringValue, text.hasSuffix(" " + suffix) else { return false }
            let number = text.dropLast(suffix.count + 1)
            let parts = number.split(separator: ".")
            return parts.count == 2 && parts[1].count == decimals && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
        }
        let memory = try #require(await h.get("/status")["memory"])
        #expect(matches(memory["lua_shared_dicts"]?["kong"]?["capacity"], "MiB", decimals: 2))
        #expect(memory["lua_shared_dicts"]?["kong"]?["capacity"] == "5.00 MiB")
        #expect(matches(memory["lua_shared_dicts"]?["kong_db_cache"]?["allocated_slabs"], "MiB", decimals: 2))
        let worker = try #require(memory["workers_lua_vms"]?.arrayValue?.first)
        #expect(matches(worker["http_allocated_gc"], "MiB", decimals: 2))
        #expect(worker["pid"]?.integerValue != nil)

        let kib = try #require(await h.get("/status?unit=k")["memory"])
        #expect(kib["lua_shared_dicts"]?["kong"]?["capacity"] == "5120.00 KiB")
        #expect(matches(kib["workers_lua_vms"]?.arrayValue?.first?["http_allocated_gc"], "KiB", decimals: 2))
        let bytes = try #require(await h.get("/status?unit=b")["memory"])
        #expect(bytes["lua_shared_dicts"]?["kong"]?["capacity"] == .integer(5 << 20))
        #expect(bytes["workers_lua_vms"]?.arrayValue?.first?["http_allocated_gc"]?.integerValue != nil)
        let scaled = try #require(await h.get("/status?scale=3")["memory"])
        #expect(scaled["lua_shared_dicts"]?["kong"]?["capacity"] == "5.000 MiB")
        #expect(await h.get("/status?unit=G&scale=0")["memory"]?["lua_shared_dicts"]?["kong"]?["capacity"] == "0 GiB")

        let bad = await h.get("/status?unit=V")
        #expect(bad.status == 400)
        #expect(bad.json == ["message": "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')"])
        #expect(await h.get("/status?scale=-1").message == "scale must be equal or greater than 0")
        #expect(await h.get("/status?unit=b&scale=-1").status == 200)
    }

    @Test func entitySchemas() async throws {
        let h = try AdminHarness()
        for name in EntityCatalog().order + ["tags"] {
            let r = await h.get("/schemas/\(name)")
            #expect(r.status == 200, "\(name)")
            #expect(r["fields"]?.arrayValue != nil)
            #expect(r["entity_checks"]?.arrayValue != nil)
        }
        #expect(await h.get("/schemas/not-present").json == ["message": "No entity named 'not-present'"])
        let routes = await h.get("/schemas/routes")
        let service = routes["fields"]?.arrayValue?.first { $0["service"] != nil }?["service"]
        #expect(service?["type"] == "foreign")
        #expect(service?["reference"] == "services")
        #expect(service?["schema"] == nil)
        let services = await h.get("/schemas/services")
        let port = services["fields"]?.arrayValue?.first { $0["port"] != nil }?["port"]
        #expect(port == ["type": "integer", "required": true, "default": 80, "between": [0, 65535]])
        let checks = services["entity_checks"]?.arrayValue ?? []
        #expect(checks.contains { $0["conditional"]?["if_field"] == "protocol" })
    }

    @Test func subschemas() async throws {
        let h = try AdminHarness()
        for name in BundledPlugins.names {
            #expect(await h.get("/schemas/plugins/\(name)")["fields"]?.arrayValue != nil, "\(name)")
        }
        #expect(await h.get("/schemas/plugins/not-present").json == ["message": "No plugin named 'not-present'"])
        #expect(await h.get("/schemas/vaults/env")["fields"]?.arrayValue != nil)
        #expect(await h.get("/schemas/vaults/not-present").json == ["message": "No vault named 'not-present'"])
        #expect(await h.get("/schemas/filters/x").json == ["message": "Filter 'x' not found"])
        #expect(await h.get("/plugins/schema/key-auth")["fields"]?.arrayValue != nil)
        #expect(await h.get("/plugins/schema/nope").status == 404)
    }

    /// A catalogue where key-auth's `config` has a schema (the plugins module provides the real ones).
    static let keyAuthCatalog = EntityCatalog(pluginConfigSchemas: [
        "key-auth": Schema.record([
            (
                "key_names",
                Field.array(of: .string).with {
                    $0.required = true
                    $0.defaultValue = ["apikey"]
                }
            ),
            (
                "hide_credentials",
                Field.boolean.with {
                    $0.required = true
                    $0.defaultValue = false
                }
            ),
        ])
    ])

    @Test func validation() async throws {
        let h = try AdminHarness(catalog: Self.keyAuthCatalog)
        let vault = await h.send(.POST, "/schemas/vaults/validate")
        #expect(vault.status == 400)
        #expect(vault.message == "schema violation (name: required field missing)")
        let service = await h.json(.POST, "/schemas/services/validate", ["host": "example.com"])
        #expect(service.json == ["message": "schema validation successful"])
        let cert = await h.json(
            .POST, "/schemas/certificates/validate",
            [
                "cert": .string(Fixture.cert), "key": .string(Fixture.key), "snis": ["a", "b", "c"],
            ])
        #expect(cert.status == 200)
        let badSNI = await h.json(
            .POST, "/schemas/certificates/validate",
            [
                "cert": .string(Fixture.cert), "key": .string(Fixture.key), "snis": ["120.0.9.32:90"],
            ])
        #expect(badSNI.status == 400)
        #expect(
            badSNI.json?.unordered
                == unordered([
                    "fields": ["snis": ["must not be an IP"]], "name": "schema violation",
                    "message": "schema violation (snis.1: must not be an IP)", "code": 2,
                ]))
        let plugin = await h.json(
            .POST, "/schemas/plugins/validate",
            [
                "name": "key-auth", "config": ["key_names": ["foo", "bar"], "hide_credentials": true],
            ])
        #expect(plugin.status == 200)
        let badPlugin = await h.json(
            .POST, "/schemas/plugins/validate", ["name": "key-auth", "config": ["keys": "foo"]])
        #expect(badPlugin.status == 400)
        #expect(badPlugin["name"] == "schema violation")
        #expect(badPlugin.message == "schema violation (config.keys: unknown field)")
        let fileLog = await h.json(
            .POST, "/schemas/plugins/validate",
            [
                "name": "file-log",
                "config": [
                    "path": "tmp/test",
                    "custom_fields_by_lua": ["new_field": "return 123", "request.headers.myheader": "return nil"],
                ],
            ])
        #expect(fileLog.status == 200, "\(fileLog.body)")
        #expect(await h.json(.POST, "/schemas/nothing/validate", [:]).status == 404)
    }

    /// `parse_params` runs `decode_args` on an urlencoded body of the validate routes: a plain
    /// field's `true` / `false` become booleans and an empty value null; nothing else is inferred
    /// (these routes are not DAO endpoints, so `arguments.infer` does not run).
    @Test func validationOfAnUrlencodedForm() async throws {
        let h = try AdminHarness(catalog: Self.keyAuthCatalog)
        func validate(_ form: String) async -> AdminHarness.Reply {
            await h.send(
                .POST, "/schemas/plugins/validate",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        }
        let booleans = await validate("name=key-auth&config.hide_credentials=true")
        #expect(booleans.json == ["message": "schema validation successful"], "\(booleans.body)")
        #expect(await validate("name=key-auth&config.hide_credentials=false").status == 200)
        let empty = await validate("name=key-auth&config.key_names=")
        #expect(empty.message == "schema violation (config.key_names: required field missing)")
        // Inside brackets Lapis keeps a table, which decode_args leaves with its strings.
        let element = await validate("name=key-auth&config.key_names[1]=true")
        #expect(element.status == 200, "\(element.body)")
        let bracketed = await validate("name=key-auth&config[hide_credentials]=true")
        #expect(bracketed.message == "schema violation (config.hide_credentials: expected a boolean)")
    }

    /// A record's shorthand fields are part of `GET /schemas/plugins/{name}` (Kong's
    /// `fdata_to_jsonable` copies every attribute of the `config` record but functions), with
    /// their deprecation; the legacy `/plugins/schema/{name}` shows only `fields` and `entity_checks`.
    @Test func shorthandFieldsOfAPluginConfig() async throws {
        let notice = Schema.DeprecationNotice(
            "rate-limiting: config.redis_host is deprecated, please use config.redis.host instead",
            removalInVersion: "4.0")
        let config = Schema.record(
            [("minute", .number), ("redis", .record(Schema.record([("host", .string)])))],
            shorthandFields: [
                .init("redis_host", .string, replacedWith: "redis.host", notice: notice) { ["redis": ["host": $0]] }
            ])
        let h = try AdminHarness(catalog: EntityCatalog(pluginConfigSchemas: ["rate-limiting": config]))
        let schema = await h.get("/schemas/plugins/rate-limiting")
        let record = schema["fields"]?.arrayValue?.first { $0["config"] != nil }?["config"]
        let expected: Value = [
            [
                "redis_host": [
                    "type": "string",
                    "deprecation": [
                        "message": "rate-limiting: config.redis_host is deprecated, please use config.redis.host instead",
                        "removal_in_version": "4.0",
                        "replaced_with": [["path": ["redis", "host"]]],
                    ],
                ]
            ]
        ]
        #expect(record?["shorthand_fields"]?.unordered == expected.unordered)
        let legacy = await h.get("/plugins/schema/rate-limiting")
        #expect(legacy.json?["shorthand_fields"] == nil)
    }

    /// Kong's `/cache` over the node's caches: a table as it is, another value as `message`,
    /// 404 for an unknown key; DELETE drops a key, or all of them.
    @Test func nodeCache() async throws {
        let entries = Mutex<[String: Value]>(["credential": ["id": "credential", "username": "einstein"], "refused": false])
        let cache = NodeCache(
            probe: { key in entries.withLock { $0[key] } },
            invalidate: { key in _ = entries.withLock { $0.removeValue(forKey: key) } },
            purge: { entries.withLock { $0 = [:] } })
        let h = try AdminHarness(cache: cache)
        #expect(await h.get("/cache/credential").json == ["id": "credential", "username": "einstein"])
        #expect(await h.get("/cache/refused").json == ["message": false])
        #expect(await h.get("/cache/other").status == 404)
        #expect(await h.send(.DELETE, "/cache/credential").status == 204)
        #expect(await h.get("/cache/credential").status == 404)
        #expect(await h.send(.DELETE, "/cache").status == 204)
        #expect(await h.get("/cache/refused").status == 404)
    }

    @Test func fixedAnswers() async throws {
        let h = try AdminHarness()
        #expect(await h.get("/debug/node/log-level").json == ["message": "log level: notice"])
        let put = await h.send(.PUT, "/debug/node/log-level/debug")
        #expect(put.json == ["message": "cannot change log level when not using a database"])
        #expect(put.status == 405)
        #expect(await h.get("/clustering/data-planes").status == 400)
        #expect(await h.get("/cache/some-key").status == 404)
        #expect(await h.send(.DELETE, "/cache").status == 204)
        #expect(await h.get("/status/dns").status == 501)
        let timers = await h.get("/timers")
        #expect(timers.status == 200)
        #expect(
            timers.json
                == [
                    "worker": ["id": 0, "count": 1],
                    "stats": [
                        "flamegraph": ["running": "", "pending": "", "elapsed_time": ""],
                        "sys": ["total": 0, "runs": 0, "running": 0, "pending": 0, "waiting": 0], "timers": [:],
                    ],
                ])
    }

    @Test func adminToken() async throws {
        let h = try AdminHarness(settings: NodeSettings(adminToken: "s3cret"))
        let none = await h.get("/")
        #expect(none.status == 401)
        #expect(none.json == ["message": "Unauthorized"])
        #expect(none.headers.first(name: "WWW-Authenticate") == "Bearer")
        #expect(await h.send(.GET, "/", headers: [("Authorization", "Bearer wrong")]).status == 401)
        #expect(await h.send(.GET, "/", headers: [("Authorization", "Basic s3cret")]).status == 401)
        #expect(await h.send(.GET, "/", headers: [("Authorization", "Bearer s3cret")]).status == 200)
        #expect(await h.send(.GET, "/", headers: [("Authorization", "bearer s3cret")]).status == 200)
        #expect(
            await h.send(.POST, "/config", headers: [("Content-Type", "application/json")], body: "{}").status == 401)
        #expect(await h.send(.OPTIONS, "/").status == 204)
        #expect(AdminAPI.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AdminAPI.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }
}
