import KGateSchema
import Testing

@testable import KGateConfig

/// Valid configs: ids, defaults, references, nesting, migrations, hash (Kong's flatten specs).
struct DeclarativeLoaderTests {
    static let loader = DeclarativeLoader()

    private func load(_ yaml: String) throws -> DeclarativeConfig {
        switch Self.loader.load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success(let c): return c
        case .failure(let e):
            Issue.record("refused: \(e.fields)")
            throw e.fields
        }
    }

    @Test(arguments: [
        ("services", "my-service", "0855b320-0dd2-547d-891d-601e9b38647f"),
        ("routes", "my-route", "481a9539-f49c-51b6-b2e2-fe99ee68866c"),
        ("consumers", "my-user", "4b1b701d-de2b-5588-9aa2-3b97061d9f52"),
        ("consumers", "test-consumer-1", "a73dc9a7-93df-584d-97c0-7f41a1bbce3d"),
    ])
    func kongIDVectors(entity: String, key: String, id: String) {
        #expect(EntityID.generate(entity: entity, key: key) == id)
    }

    @Test func servicesRoutesConsumersGetKongIDs() throws {
        let c = try load("""
            _format_version: "3.0"
            services:
            - name: my-service
              url: https://example.com
              routes:
              - name: my-route
                paths: [/]
            consumers:
            - username: my-user
            """)
        let service = try #require(c.entities["services"]?["0855b320-0dd2-547d-891d-601e9b38647f"])
        #expect(service["protocol"] == "https")
        #expect(service["host"] == "example.com")
        #expect(service["port"] == 443)
        #expect(service["path"] == .null)
        #expect(service["retries"] == 5)
        #expect(service["connect_timeout"] == 60000)
        #expect(service["enabled"] == true)
        #expect(service["url"] == nil)
        let route = try #require(c.entities["routes"]?["481a9539-f49c-51b6-b2e2-fe99ee68866c"])
        #expect(route["service"] == ["id": "0855b320-0dd2-547d-891d-601e9b38647f"])
        #expect(route["protocols"] == ["http", "https"])
        #expect(route["strip_path"] == true)
        #expect(route["preserve_host"] == false)
        #expect(route["https_redirect_status_code"] == 426)
        #expect(route["path_handling"] == "v0")
        #expect(route["regex_priority"] == 0)
        #expect(c.entities["consumers"]?["4b1b701d-de2b-5588-9aa2-3b97061d9f52"] != nil)
    }

    @Test func topLevelReferencesByNameAndID() throws {
        let c = try load("""
            _format_version: "3.0"
            services:
            - name: svc
              host: example.com
            routes:
            - name: by-name
              paths: [/a]
              service: svc
            - name: by-id
              paths: [/b]
              service: \(EntityID.generate(entity: "services", key: "svc"))
            """)
        let id = EntityID.generate(entity: "services", key: "svc")
        for route in c.entities["routes"]!.values { #expect(route["service"] == ["id": .string(id)]) }
    }

    @Test func pluginIDsFollowTheCacheKey() throws {
        let c = try load("""
            _format_version: "3.0"
            services:
            - name: svc
              host: example.com
              plugins:
              - name: cors
            plugins:
            - name: key-auth
            """)
        let svc = EntityID.generate(entity: "services", key: "svc")
        #expect(c.entities["plugins"]?[EntityID.generate(entity: "plugins", key: "plugins:*:key-auth:::")] != nil)
        let nested = try #require(c.entities["plugins"]?[EntityID.generate(entity: "plugins", key: "plugins:*:cors::\(svc):")])
        #expect(nested["service"] == ["id": .string(svc)])
        #expect(nested["enabled"] == true)
    }

    @Test func targetsAndCredentialsNestUnderParents() throws {
        let c = try load("""
            _format_version: "3.0"
            upstreams:
            - name: up
              targets:
              - target: 10.0.0.1:80
            consumers:
            - username: bob
              acls:
              - group: admins
              keyauth_credentials:
              - key: secret
            """)
        let up = EntityID.generate(entity: "upstreams", key: "up")
        let target = try #require(c.entities["targets"]?[EntityID.generate(entity: "targets", key: "targets:*:\(up):10.0.0.1:80")])
        #expect(target["weight"] == 100)
        #expect(target["upstream"] == ["id": .string(up)])
        // Targets' auto_timestamp_ms is ngx.now(): seconds with their milliseconds.
        let createdAt = try #require(target["created_at"]?.doubleValue)
        let upstreamCreatedAt = try #require(c.entities["upstreams"]?[up]?["created_at"]?.integerValue)
        #expect(abs(createdAt - Double(upstreamCreatedAt)) < 2)
        let bob = EntityID.generate(entity: "consumers", key: "bob")
        #expect(c.entities["acls"]?[EntityID.generate(entity: "acls", key: "acls:*:\(bob):admins")] != nil)
        let cred = try #require(c.entities["keyauth_credentials"]?.values.first)
        #expect(cred["key"] == "secret")
        #expect(cred["consumer"] == ["id": .string(bob)])
        let upstream = try #require(c.entities["upstreams"]?[up])
        #expect(upstream["algorithm"] == "round-robin")
        #expect(upstream["slots"] == 10000)
        #expect(upstream["healthchecks"]?["active"]?["http_path"] == "/")
    }

    @Test func format11MigratesRegexPaths() throws {
        let c = try load("""
            _format_version: "1.1"
            services:
            - name: svc
              host: example.com
              routes:
              - name: r
                paths: ["/users/\\\\d+$", "/plain"]
            """)
        #expect(c.meta["_format_version"] == "3.0")
        let route = try #require(c.entities["routes"]?.values.first)
        #expect(route["paths"] == ["~/users/\\d+$", "/plain"])
    }

    @Test func hashIsMD5OfTheRawText() throws {
        let text = "_format_version: \"3.0\"\n"
        let c = try load(text)
        #expect(c.hash == ConfigHash.md5Hex(Array(text.utf8)))
        #expect(ConfigHash.md5Hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
    }

    @Test func basicAuthPasswordsAreHashedWhenTransformIsOn() throws {
        let yaml = """
            _format_version: "3.0"
            consumers:
            - username: bob
              basicauth_credentials:
              - username: bob
                password: secret
            """
        let c = try load(yaml)
        let bob = EntityID.generate(entity: "consumers", key: "bob")
        let cred = try #require(c.entities["basicauth_credentials"]?.values.first)
        // hex SHA-1 of password .. consumer id
        #expect(cred["password"] != "secret")
        #expect(cred["password"]?.stringValue?.utf8.count == 40)
        #expect(cred["consumer"] == ["id": .string(bob)])
        let raw = try load(yaml.replacingFirst("_format_version: \"3.0\"", with: "_format_version: \"3.0\"\n_transform: false"))
        #expect(raw.entities["basicauth_credentials"]?.values.first?["password"] == "secret")
    }

    @Test func metaKeepsUnderscoreKeys() throws {
        let c = try load("""
            _format_version: "3.0"
            _comment: hello
            _ignore: [1, 2]
            """)
        #expect(c.meta["_comment"] == "hello")
        #expect(c.meta["_transform"] == true)
    }

    @Test func jsonConfigsLoad() throws {
        let json = #"{"_format_version": "3.0", "services": [{"name": "s", "host": "example.com", "port": 8080}]}"#
        guard case .success(let c) = Self.loader.load(bytes: Array(json.utf8), fileName: "kong.json") else {
            Issue.record("json refused")
            return
        }
        #expect(c.count(of: "services") == 1)
    }

    @Test func nestedEntityMayNameItsExistingParent() throws {
        // Kong's "accepts as a nested entity by username": the second pass resolves the name.
        let c = try load("""
            _format_version: "3.0"
            consumers:
            - username: bob
              keyauth_credentials:
              - key: k1
                consumer: bob
            """)
        #expect(c.count(of: "keyauth_credentials") == 1)
    }

    @Test func truncatedConfigsNeverCrash() {
        let text = Array("""
            _format_version: "3.0"
            services:
            - name: my-service
              url: http://example.com:8080/api
              tags: [a, b]
              routes:
              - name: my-route
                paths: ["/", "~/users/(?<id>\\\\d+)$"]
                methods: [GET]
                hosts: ["*.example.com"]
                headers: {x-version: ["1", "2"]}
            consumers:
            - username: alice
              keyauth_credentials: [{key: abc}]
              acls: [{group: g}]
            upstreams:
            - name: up
              targets: [{target: "10.0.0.1:80", weight: 5}]
              healthchecks: {active: {healthy: {interval: 5}}}
            plugins:
            - name: rate-limiting
              config: {minute: 5}
            """.utf8)
        for cut in 0...min(text.count, 2048) {
            _ = Self.loader.load(bytes: Array(text[..<cut]), fileName: "kong.yml")
        }
    }
}

/// Flattened entities carry exactly Kong's fields (spec 03-flatten "accepts entities").
struct FlattenedShapeTests {
    @Test func serviceFieldsAreKongs() throws {
        let yaml = """
            _format_version: "1.1"
            services:
            - name: foo
              host: example.com
              protocol: https
              enabled: false
              _comment: my comment
              _ignore:
              - foo: bar
            routes:
            - name: r
              protocols: ["tls"]
              snis: ["example.com"]
            """
        guard case .success(let c) = DeclarativeLoader().load(bytes: Array(yaml.utf8), fileName: "kong.yml") else {
            Issue.record("refused")
            return
        }
        let service = try #require(c.entities["services"]?.values.first)
        #expect(Set(service.keys) == [
            "id", "created_at", "updated_at", "name", "protocol", "host", "path", "port", "connect_timeout",
            "read_timeout", "write_timeout", "retries", "tags", "client_certificate", "tls_verify_depth",
            "tls_verify", "ca_certificates", "enabled",
        ])
        #expect(service["enabled"] == false)
        #expect(service["port"] == 80)
        #expect(service["tags"] == .null)
        let route = try #require(c.entities["routes"]?.values.first)
        #expect(Set(route.keys) == [
            "tags", "created_at", "destinations", "hosts", "headers", "id", "methods", "name", "paths",
            "preserve_host", "https_redirect_status_code", "protocols", "regex_priority", "service", "snis",
            "sources", "strip_path", "path_handling", "updated_at", "request_buffering", "response_buffering",
        ])
        #expect(route["snis"] == ["example.com"])
        #expect(route["service"] == .null)
    }
}
