import KGateConfig
import KGatePlugins
import KGateSchema
import Testing

@testable import KGateAdmin

/// The metrics and logging plugins kgate does not run, validated with Kong's schemas through
/// the Admin API: 15-off_spec's flattened errors, their schemas, their stored defaults.
@Suite struct ObservabilityPluginTests {
    static let catalog = EntityCatalog(pluginConfigSchemas: BundledPluginSet.observabilityConfigSchemas())

    /// One flattened entry as Kong's spec expects it; `errors` compared regardless of order.
    static func entry(_ entries: [Value], tags: Value) -> (entry: Value?, errors: Set<[String]>) {
        let entry = entries.first { $0["entity_tags"] == tags }
        let errors = entry?["errors"]?.arrayValue?.map { e in
            ["type", "field", "message"].map { e[$0]?.stringValue ?? "-" }
        }
        return (entry, Set(errors ?? []))
    }

    /// 15-off_spec "flattens errors" / "flattens nested, entity field errors": the http-log
    /// and tcp-log cases.
    @Test func offSpecFlattenedErrors() async throws {
        let h = try AdminHarness(catalog: Self.catalog)
        let globalLog: Value = [
            "name": "http-log", "config": ["http_endpoint": "invalid::#//url"], "tags": ["global_plugin-01"],
        ]
        let routeLog: Value = [
            "name": "http-log", "config": ["not_endpoint": "anything"],
            "tags": ["route_service_plugin-01", "route_service-04", "service-03"],
        ]
        let nestedLog: Value = [
            "name": "http-log", "config": ["a": ["b": ["c": "def"]]], "tags": ["route_service_plugin-02"],
        ]
        let tcpLog: Value = [
            "name": "tcp-log", "config": ["deeply": ["nested": ["undefined": true]], "port": 1234],
            "tags": ["service_plugin-02", "service-04"],
        ]
        let config: Value = [
            "_format_version": "3.0",
            "plugins": [globalLog],
            "services": [
                [
                    "name": "okay", "url": "http://localhost:1234", "tags": ["service-03"],
                    "routes": [
                        [
                            "name": "probably-valid", "protocols": ["http", "https"], "methods": ["GET"],
                            "hosts": ["test"], "tags": ["route_service-04", "service-03"], "plugins": [routeLog],
                        ],
                        ["name": "nested", "hosts": ["test"], "paths": ["/"], "plugins": [nestedLog]],
                    ],
                ],
                [
                    "name": "bad-service-plugins", "url": "http://localhost:1234", "tags": ["service-04"],
                    "plugins": [tcpLog],
                ],
            ],
        ]
        let r = await h.json(.POST, "/config?flatten_errors=1", config)
        #expect(r.status == 400)
        #expect(r["fields"] == [:])
        let entries = try #require(r["flattened_errors"]?.arrayValue)
        #expect(entries.count == 4)

        let global = Self.entry(entries, tags: ["global_plugin-01"])
        #expect(global.entry?["entity_type"] == "plugin")
        #expect(global.entry?["entity_name"] == "http-log")
        #expect(global.entry?["entity"] == globalLog)
        #expect(global.errors == [["field", "config.http_endpoint", "missing host in url"]])

        let route = Self.entry(entries, tags: routeLog["tags"] ?? .null)
        #expect(route.entry?["entity"] == routeLog)
        #expect(
            route.errors
                == [["field", "config.not_endpoint", "unknown field"], ["field", "config.http_endpoint", "required field missing"]])

        let nested = Self.entry(entries, tags: ["route_service_plugin-02"])
        #expect(nested.entry?["entity_name"] == "http-log")
        #expect(
            nested.errors == [["field", "config.a", "unknown field"], ["field", "config.http_endpoint", "required field missing"]])

        let tcp = Self.entry(entries, tags: tcpLog["tags"] ?? .null)
        #expect(tcp.entry?["entity_type"] == "plugin")
        #expect(tcp.entry?["entity_name"] == "tcp-log")
        #expect(tcp.entry?["entity"] == tcpLog)
        #expect(tcp.errors == [["field", "config.deeply", "unknown field"], ["field", "config.host", "required field missing"]])
    }

    /// `GET /schemas/plugins/http-log`: Kong's fields, the `queue` record and deprecations.
    @Test func httpLogSchema() async throws {
        let h = try AdminHarness(catalog: Self.catalog)
        let schema = await h.get("/schemas/plugins/http-log")
        #expect(schema.status == 200)
        let config = try #require(schema["fields"]?.arrayValue?.first { $0["config"] != nil }?["config"])
        #expect(config["type"] == "record")
        #expect(config["required"] == true)
        let fields = config["fields"]?.arrayValue ?? []
        #expect(
            fields.compactMap { $0.objectValue?.keys.first } == [
                "http_endpoint", "method", "content_type", "timeout", "keepalive", "retry_count", "queue_size",
                "flush_timeout", "headers", "queue", "custom_fields_by_lua",
            ])
        func field(_ name: String) -> Value? { fields.first { $0[name] != nil }?[name] }
        #expect(
            field("http_endpoint")?.unordered
                == unordered(["type": "string", "required": true, "encrypted": true, "referenceable": true]))
        #expect(
            field("method")?.unordered == unordered(["type": "string", "default": "POST", "one_of": ["POST", "PUT", "PATCH"]]))
        #expect(
            field("retry_count")?.unordered
                == unordered([
                    "type": "integer",
                    "deprecation": [
                        "message": "http-log: config.retry_count no longer works, please use config.queue.max_retry_time instead",
                        "removal_in_version": "4.0", "old_default": 10,
                    ],
                ]))
        let queue = try #require(field("queue"))
        #expect(queue["required"] == true)
        #expect(
            queue["fields"]?.arrayValue?.first?.unordered
                == unordered(["max_batch_size": ["type": "integer", "default": 1, "between": [1, 1_000_000]]]))
        #expect(field("headers")?["keys"]?["match_none"]?.arrayValue?.count == 3)
        #expect(field("custom_fields_by_lua")?["values"]?["len_min"] == 1)

        let legacy = await h.get("/plugins/schema/tcp-log")
        #expect(legacy["fields"]?.arrayValue?.first == ["host": ["type": "string", "required": true]])
    }

    /// Kong fills the defaults in the stored config; `/schemas/plugins/validate` refuses what
    /// the loader refuses.
    @Test func storedDefaultsAndValidation() async throws {
        let h = try AdminHarness(catalog: Self.catalog)
        let id = "0611a5a9-de73-5a2d-a4e6-6a38ad4c3cb2"
        let config: Value = [
            "_format_version": "3.0",
            "plugins": [["name": "http-log", "id": .string(id), "config": ["http_endpoint": "http://logs.test/x"]]],
        ]
        #expect(await h.json(.POST, "/config", config).status == 201)
        let plugin = await h.get("/plugins/\(id)")
        #expect(plugin.status == 200)
        let stored = try #require(plugin["config"])
        #expect(stored["method"] == "POST")
        #expect(stored["timeout"] == 10000)
        #expect(stored["keepalive"] == 60000)
        #expect(stored["content_type"] == "application/json")
        #expect(stored["headers"] == .null)
        #expect(
            stored["queue"]?.unordered
                == unordered([
                    "max_batch_size": 1, "max_coalescing_delay": 1, "max_entries": 10000, "max_bytes": .null,
                    "max_retry_time": 60, "initial_retry_delay": 0.01, "max_retry_delay": 60, "concurrency_limit": 1,
                ]))

        let bad = await h.json(.POST, "/schemas/plugins/validate", ["name": "http-log", "config": ["bogus": 1]])
        #expect(bad.status == 400)
        #expect(bad["fields"]?.unordered == unordered(["config": ["bogus": "unknown field", "http_endpoint": "required field missing"]]))
        let good = await h.json(
            .POST, "/schemas/plugins/validate", ["name": "syslog", "config": ["log_level": "debug"]])
        #expect(good.status == 200)
    }
}
