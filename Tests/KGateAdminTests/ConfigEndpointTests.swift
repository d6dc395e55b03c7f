import KGateConfig
import KGateSchema
import KGateStore
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// `POST /config` and `GET /config`: the cases of `15-off_spec.lua` (`/config`).
@Suite struct ConfigEndpointTests {
    static let json = [("Content-Type", "application/json")]

    @Test func jsonBody() async throws {
        let h = try AdminHarness()
        let r = await h.json(
            .POST, "/config", ["_format_version": "1.1", "consumers": [["username": "bobby_in_json_body"]]])
        #expect(r.status == 201)
        let consumers = try #require(r["consumers"]?.objectValue)
        #expect(consumers.values.first?["username"] == "bobby_in_json_body")
        #expect(h.coordinator.status.source == .admin)
        #expect(await h.get("/consumers/bobby_in_json_body").status == 200)
    }

    @Test func yamlBody() async throws {
        let h = try AdminHarness()
        let yaml = "_format_version: \"1.1\"\nconsumers:\n  - username: \"bobby_in_yaml_body\"\n"
        let r = await h.send(.POST, "/config", headers: [("Content-Type", "application/yaml")], body: yaml)
        #expect(r.status == 201)
        #expect(await h.get("/consumers/bobby_in_yaml_body").status == 200)
        let text = await h.send(.POST, "/config", headers: [("Content-Type", "text/yaml")], body: yaml)
        #expect(text.status == 201)
    }

    @Test func configKeyWithJSONOrYAML() async throws {
        let h = try AdminHarness()
        let asJSON = await h.json(
            .POST, "/config",
            [
                "config":
                    #"{ "_format_version" : "1.1", "consumers" : [ { "username" : "bobby_in_json_under_config" } ] }"#
            ])
        #expect(asJSON.status == 201)
        let asYAML = await h.json(
            .POST, "/config",
            [
                "config": "_format_version: \"1.1\"\nconsumers:\n  - username: \"bobby_in_yaml_under_config\"\n"
            ])
        #expect(asYAML.status == 201)
        #expect(await h.get("/consumers/bobby_in_yaml_under_config").status == 200)
        #expect(await h.get("/consumers/bobby_in_json_under_config").status == 404)
    }

    @Test func formAndMultipart() async throws {
        let h = try AdminHarness()
        let config = "_format_version: \"3.0\"\nconsumers:\n- username: form-user\n"
        let form = await h.send(
            .POST, "/config", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "config=" + URIText.escape(config))
        #expect(form.status == 201)
        #expect(await h.get("/consumers/form-user").status == 200)
        let boundary = "XyZ"
        let multipart =
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n"
            + config.replacingOccurrences("form-user", "multi-user") + "\r\n--\(boundary)--\r\n"
        let r = await h.send(
            .POST, "/config", headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: multipart)
        #expect(r.status == 201)
        #expect(await h.get("/consumers/multi-user").status == 200)
    }

    @Test func nullsAndHiddenWorkspaceFields() async throws {
        let h = try AdminHarness()
        let withNull = await h.json(
            .POST, "/config", ["config": "_format_version: \"1.1\"\nroutes:\n- paths:\n  - \"/\"\n  service: null\n"])
        #expect(withNull.status == 201)
        let config = """
            _format_version: "1.1"
            services:
            - name: my-service
              id: 0855b320-0dd2-547d-891d-601e9b38647f
              url: https://example.com
              routes:
              - name: my-route
                id: 481a9539-f49c-51b6-b2e2-fe99ee68866c
                paths:
                - /
            consumers:
            - username: my-user
              id: 4b1b701d-de2b-5588-9aa2-3b97061d9f52
              keyauth_credentials:
              - key: my-key
                id: 487ab43c-b2c9-51ec-8da5-367586ea2b61
            """
        let r = await h.json(.POST, "/config", ["config": .string(config)])
        #expect(r.status == 201)
        #expect(r["workspaces"] == nil)
        #expect(r["consumers"]?["4b1b701d-de2b-5588-9aa2-3b97061d9f52"]?["ws_id"] == nil)
        let route = r["routes"]?["481a9539-f49c-51b6-b2e2-fe99ee68866c"]
        #expect(route?["service"]?["id"] == "0855b320-0dd2-547d-891d-601e9b38647f")
        #expect(r["keyauth_credentials"]?["487ab43c-b2c9-51ec-8da5-367586ea2b61"]?["key"] == "my-key")
    }

    @Test func checkHash() async throws {
        let h = try AdminHarness()
        let body: Value = ["config": "_format_version: \"1.1\"\nconsumers:\n- username: bobby_tables\n"]
        #expect(await h.json(.POST, "/config?check_hash=1", body).status == 201)
        let again = await h.json(.POST, "/config?check_hash=1", body)
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(await h.json(.POST, "/config", body).status == 201)
        // A JSON config given directly is never 304 (Kong hashes its parsed entities).
        let direct: Value = ["_format_version": "3.0", "consumers": [["username": "x"]]]
        #expect(await h.json(.POST, "/config?check_hash=1", direct).status == 201)
        #expect(await h.json(.POST, "/config?check_hash=1", direct).status == 201)
    }

    @Test func invalidConfigString() async throws {
        let h = try AdminHarness()
        let r = await h.json(.POST, "/config", ["config": "bobby tables"])
        #expect(r.status == 400)
        #expect(
            r.json == [
                "code": 14, "name": "invalid declarative configuration",
                "message":
                    #"declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}"#,
                "fields": ["error": "failed parsing declarative configuration: expected an object"],
            ])
    }

    @Test func validationErrors() async throws {
        let h = try AdminHarness()
        let r = await h.json(.POST, "/config", ["config": "_format_version: \"1.1\"\nservices:\n- port: -12\n"])
        #expect(r.status == 400)
        #expect(
            r.json?.unordered
                == unordered([
                    "code": 14, "name": "invalid declarative configuration",
                    "message":
                        #"declarative config is invalid: {services={{host="required field missing",port="value should be between 0 and 65535"}}}"#,
                    "fields": [
                        "services": [["host": "required field missing", "port": "value should be between 0 and 65535"]]
                    ],
                ]))
        let unique = await h.json(
            .POST, "/config",
            [
                "config":
                    "_format_version: \"1.1\"\nconsumers:\n- username: foo\n  custom_id: conflict\n- username: bar\n  custom_id: conflict\n"
            ])
        #expect(
            unique["fields"] == [
                "consumers": [
                    "bar": "uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"
                ]
            ])
        let duplicate = await h.json(
            .POST, "/config",
            [
                "config":
                    "_format_version: \"1.1\"\nservices:\n- name: foo\n  host: example.com\n- name: foo\n  host: example.test\n"
            ])
        #expect(
            duplicate["fields"] == [
                "services": [.null, "uniqueness violation: 'services' entity with name set to 'foo' already declared"]
            ])
        #expect(
            duplicate.message
                == #"declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with name set to 'foo' already declared"}}"#
        )
        #expect(h.store.current.number == 0)
    }

    @Test func flattenedErrors() async throws {
        let h = try AdminHarness()
        let config: Value = [
            "_format_version": "3.0",
            "services": [
                ["name": "mis-matched", "host": "localhost", "protocol": "tcp", "path": "/path", "tags": ["s-1"]]
            ],
            "abnormal_extra_field": 1,
        ]
        let r = await h.json(.POST, "/config?flatten_errors=1", config)
        #expect(r.status == 400)
        #expect(r["fields"] == ["abnormal_extra_field": "unknown field"])
        let entries = try #require(r["flattened_errors"]?.arrayValue)
        #expect(entries.count == 1)
        #expect(entries.first?["entity_type"] == "service")
        #expect(entries.first?["entity_name"] == "mis-matched")
        let messages = entries.first?["errors"]?.arrayValue?.compactMap { $0["message"]?.stringValue } ?? []
        #expect(
            Set(messages) == ["value must be null", "failed conditional validation given value of field 'protocol'"])
        // Kong's entries exactly: its tests fail on any key they do not expect.
        #expect(entries.first?["source"] == nil)
        #expect(entries.first?["errors"]?.arrayValue?.allSatisfy { $0["source"] == nil } == true)
        let positioned = await h.json(.POST, "/config?flatten_errors=1&source_positions=1", config)
        let located = try #require(positioned["flattened_errors"]?.arrayValue?.first)
        #expect(located["source"]?["line"] != nil)
        #expect(located["errors"]?.arrayValue?.allSatisfy { $0["source"] != nil } == true)
        for truthy in ["true", "on", "YES"] {
            #expect(await h.json(.POST, "/config?flatten_errors=\(truthy)", config)["flattened_errors"] != nil)
        }
        #expect(await h.json(.POST, "/config?flatten_errors=no", config)["flattened_errors"] == nil)
        guard case .object(var inBody) = config else { return }
        inBody["flatten_errors"] = true
        #expect(await h.json(.POST, "/config", .object(inBody))["flattened_errors"] != nil)
        // A body that does not parse is reported plainly, even when flattening is asked for.
        let bad = await h.json(.POST, "/config?flatten_errors=1", ["config": "bobby tables"])
        #expect(bad["flattened_errors"] == nil)
        #expect(bad["code"] == 14)
    }

    /// 15-off_spec "correctly handles duplicate upstream target errors": uniqueness is checked
    /// after Kong generated the ids on its input, so the entry shows the id its message names.
    @Test func flattenedUniquenessErrorsCarryGeneratedIDs() async throws {
        let h = try AdminHarness()
        let target: Value = ["target": "10.244.0.12:80", "weight": 1, "tags": ["target-1"]]
        let dupe: Value = ["target": "10.244.0.12:80", "weight": 1, "tags": ["target-2"]]
        let config: Value = [
            "_format_version": "3.0",
            "upstreams": [["name": "u", "targets": [target, dupe]]],
        ]
        let r = await h.json(.POST, "/config?flatten_errors=1", config)
        let entries = try #require(r["flattened_errors"]?.arrayValue)
        let entry = try #require(entries.first { $0["entity_tags"] == ["target-2"] })
        let id = try #require(entry["entity_id"]?.stringValue)
        #expect(entry["entity"]?["id"] == .string(id))
        #expect(
            entry["errors"] == [
                [
                    "type": "entity",
                    "message": .string(
                        "uniqueness violation: 'targets' entity with primary key set to '\(id)' already declared"),
                ]
            ])

        // Validation errors come before Kong generates any id: none is shown.
        let invalid = await h.json(
            .POST, "/config?flatten_errors=1",
            ["_format_version": "3.0", "services": [["name": "s", "host": "h", "port": -1]]])
        let service = try #require(invalid["flattened_errors"]?.arrayValue?.first)
        #expect(service["entity_id"] == nil)
        #expect(service["entity"]?["id"] == nil)
    }

    /// 15-off_spec "flattens nested, entity field errors": a service's `client_certificate`
    /// given as an object is validated as a certificate when it is no primary key (Kong's
    /// foreign-key check), so the errors are the certificate's own, not `missing primary key`.
    @Test func foreignObjectsAreValidatedAsTheEntityTheyReference() async throws {
        let h = try AdminHarness()
        let config: Value = [
            "_format_version": "3.0",
            "services": [
                [
                    "name": "bad-client-cert", "url": "https://localhost:1234",
                    "client_certificate": ["cert": "", "key": "", "tags": ["client-cert"]],
                ]
            ],
        ]
        let plain = await h.json(.POST, "/config", config)
        #expect(
            plain["fields"] == [
                "services": [
                    ["client_certificate": ["cert": "length must be at least 1", "key": "length must be at least 1"]]
                ]
            ])
        let flattened = await h.json(.POST, "/config?flatten_errors=1", config)
        let entry = try #require(flattened["flattened_errors"]?.arrayValue?.first)
        #expect(entry["entity_type"] == "certificate")
        #expect(entry["entity_tags"] == ["client-cert"])
        let errors = entry["errors"]?.arrayValue ?? []
        #expect(errors.compactMap { $0["field"]?.stringValue }.sorted() == ["cert", "key"])
        #expect(errors.allSatisfy { $0["message"] == "length must be at least 1" && $0["type"] == "field" })
    }

    @Test func emptyAndMalformedBodies() async throws {
        let h = try AdminHarness()
        #expect(await h.send(.POST, "/config").json == ["message": "expected a declarative configuration"])
        // An empty `config` is present for Kong: it fails to parse.
        let emptyConfig = await h.send(.POST, "/config", headers: Self.json, body: #"{"config":""}"#)
        #expect(emptyConfig.status == 400)
        #expect(emptyConfig["code"] == 14)
        #expect(emptyConfig.message == #"declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}"#)
        let malformed = await h.send(.POST, "/config", headers: Self.json, body: "{not json")
        #expect(malformed.json == ["message": "Cannot parse JSON body"])
        let unsupported = await h.send(.POST, "/config", headers: [("Content-Type", "text/plain")], body: "x")
        #expect(unsupported.status == 415)
        let two = await h.send(
            .POST, "/config", headers: [("Content-Type", "application/json"), ("Content-Type", "application/json")],
            body: "{}")
        // Kong exits with a plain string here, not a JSON object.
        #expect(two.status == 400)
        #expect(two.body == "Multiple Content-Type headers not allowed")
        #expect(
            await h.send(.POST, "/services", headers: [("Content-Type", "application/yaml")], body: "a: 1").status
                == 415)
    }

    /// Lapis's `self.params` holds the query arguments too: `config`, `_format_version` and the
    /// options may come from the query, and the body wins where both give one.
    @Test func configFromTheQuery() async throws {
        let h = try AdminHarness()
        let yaml = "_format_version: \"3.0\"\nconsumers:\n- username: from-query\n"
        let queried = await h.send(.POST, "/config?config=" + URIText.escape(yaml))
        #expect(queried.status == 201)
        #expect(await h.get("/consumers/from-query").status == 200)

        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let both = await h.send(
            .POST, "/config?config=" + URIText.escape(yaml), headers: form,
            body: "config=" + URIText.escape(yaml.replacingOccurrences("from-query", "from-body")))
        #expect(both.status == 201)
        #expect(await h.get("/consumers/from-body").status == 200)
        #expect(await h.get("/consumers/from-query").status == 404)

        // `_format_version` in the query makes the params the config: the JSON body's keys
        // join it, and a YAML body is not read at all.
        let merged = await h.json(.POST, "/config?_format_version=3.0", ["consumers": [["username": "merged"]]])
        #expect(merged.status == 201)
        #expect(await h.get("/consumers/merged").status == 200)
        let ignored = await h.send(
            .POST, "/config?_format_version=3.0", headers: [("Content-Type", "application/yaml")],
            body: "_format_version: \"3.0\"\nconsumers:\n- username: ignored\n")
        #expect(ignored.status == 201)
        #expect(await h.get("/consumers/ignored").status == 404)
        #expect(await h.get("/consumers").data.isEmpty)

        // Any other query argument is part of a `_format_version` config, and unknown there.
        let extra = await h.json(.POST, "/config?foo=bar", ["_format_version": "3.0"])
        #expect(extra.status == 400)
        #expect(extra["fields"]?["foo"] != nil)
        // kgate's `source_positions` is not.
        #expect(await h.json(.POST, "/config?source_positions=1", ["_format_version": "3.0"]).status == 201)
    }

    /// `config` that is not text: Kong hands the value to `cjson.decode` and `lyaml.load`,
    /// which only read strings (and numbers, as their text).
    @Test(arguments: [
        #"{"config": {"_format_version": "3.0", "consumers": [{"username": "x"}]}}"#, #"{"config": ["a"]}"#,
        #"{"config": true}"#, #"{"config": null}"#,
    ])
    func configThatIsNotText(_ body: String) async throws {
        let h = try AdminHarness()
        let r = await h.send(.POST, "/config?flatten_errors=1", headers: Self.json, body: body)
        #expect(r.status == 400)
        let error = AdminAPI.notTextError
        #expect(error.hasSuffix("bad argument #1 to 'parser' (must provide a string argument)"))
        #expect(r["code"] == 14)
        #expect(r["name"] == "invalid declarative configuration")
        #expect(r["fields"] == ["error": .string(error)])
        #expect(r.message == "declarative config is invalid: {error=\"\(error)\"}")
        #expect(r["flattened_errors"] == nil)
        #expect(await h.get("/consumers/x").status == 404)
    }

    @Test func configThatIsANumberOrFalse() async throws {
        let h = try AdminHarness()
        let number = await h.send(.POST, "/config", headers: Self.json, body: #"{"config": 5}"#)
        #expect(number.status == 400)
        #expect(number["fields"] == ["error": "failed parsing declarative configuration: expected an object"])
        // `false` is no `config` for Lua: the raw body is the config, and `config` unknown in it.
        let no = await h.send(.POST, "/config", headers: Self.json, body: #"{"config": false}"#)
        #expect(no.status == 400)
        #expect(no["fields"]?["config"] != nil)
        let falseVersion = await h.send(
            .POST, "/config", headers: Self.json,
            body: #"{"_format_version": false, "config": "_format_version: '3.0'"}"#)
        #expect(falseVersion.status == 201)
    }

    /// `flatten_errors` and `check_hash` are read from the merged params (the body wins);
    /// `check_hash` is on only for what Lua prints as `1`.
    @Test func optionsFromTheBody() async throws {
        let h = try AdminHarness()
        let invalid: Value = ["_format_version": "3.0", "services": [["port": -1]]]
        guard case .object(var options) = invalid else { return }
        options["flatten_errors"] = false
        #expect(await h.json(.POST, "/config?flatten_errors=1", .object(options))["flattened_errors"] == nil)
        options["flatten_errors"] = "yes"
        #expect(await h.json(.POST, "/config?flatten_errors=0", .object(options))["flattened_errors"] != nil)

        let config = "_format_version: \"3.0\"\nconsumers:\n- username: hashed\n"
        #expect(await h.json(.POST, "/config", ["config": .string(config), "check_hash": 1]).status == 201)
        #expect(await h.json(.POST, "/config", ["config": .string(config), "check_hash": 1]).status == 304)
        #expect(await h.json(.POST, "/config", ["config": .string(config), "check_hash": 1.0]).status == 304)
        #expect(
            await h.json(.POST, "/config?check_hash=1", ["config": .string(config), "check_hash": "0"]).status == 201)
        #expect(await h.json(.POST, "/config?check_hash=true", ["config": .string(config)]).status == 201)
        #expect(await h.json(.POST, "/config?check_hash", ["config": .string(config)]).status == 201)
        #expect(await h.json(.POST, "/config?check_hash=1", ["config": .string(config)]).status == 304)
    }

    @Test func overTheBodyLimit() async throws {
        let h = try AdminHarness(settings: .init(nginxAdminClientMaxBodySize: .init("1k")!))
        let r = await h.json(.POST, "/config", ["config": .string(String(repeating: "x", count: 2000))])
        #expect(r.status == 413)
        #expect(r.json == ["message": "Payload too large"])
    }

    @Test func concurrentPostsNeverBreakTheStore() async throws {
        let h = try AdminHarness()
        let statuses = await withTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask {
                    var yaml = "_format_version: \"3.0\"\nconsumers:\n"
                    for j in 0..<300 { yaml += "- username: c\(i)-\(j)\n" }
                    return await h.json(.POST, "/config", ["config": .string(yaml)]).status
                }
            }
            var all: [Int] = []
            for await s in group { all.append(s) }
            return all
        }
        #expect(statuses.allSatisfy { $0 == 201 || $0 == 429 })
        #expect(statuses.contains(201))
        let live = h.store.current
        #expect(live.page.count(of: "consumers") == 300)
        let busy = statuses.filter { $0 == 429 }.count
        #expect(statuses.count - busy == h.coordinator.status.counters.flipped)
    }

    @Test func busyAnswerCarriesRetryAfter() throws {
        let h = try AdminHarness()
        let r = h.api.busy()
        #expect(r.status == .tooManyRequests)
        #expect(r.headers.first(name: "Retry-After") == "1")
        #expect(String(buffer: r.body) == #"{"message":"Currently loading previous configuration"}"#)
    }

    @Test func getConfigRoundTrip() async throws {
        let h = try AdminHarness()
        let posted = await h.json(
            .POST, "/config",
            [
                "_format_version": "1.1",
                "consumers": [
                    ["username": "bobo", "id": "d885e256-1abe-5e24-80b6-8f68fe59ea8e", "created_at": 1_566_863_706]
                ],
            ])
        #expect(posted.status == 201)
        let exported = await h.get("/config")
        #expect(exported.status == 200)
        let yaml = try #require(exported["config"]?.stringValue)
        let parsed = try ConfigText.parse(yaml, fileName: "kong.yml").get().value
        #expect(parsed["_format_version"] == "3.0")
        #expect(parsed["_transform"] == false)
        let consumer = parsed["consumers"]?.arrayValue?.first
        #expect(consumer?["id"] == "d885e256-1abe-5e24-80b6-8f68fe59ea8e")
        #expect(consumer?["created_at"] == 1_566_863_706)
        #expect(consumer?["username"] == "bobo")
        #expect(consumer?["custom_id"] == .null)
        #expect(consumer?["tags"] == .null)
        #expect(parsed["workspaces"] == nil)
    }

    @Test func exportPostsBackToTheSameHash() async throws {
        let h = try AdminHarness()
        var config =
            Fixture.sample + """

                certificates:
                - cert: |
                \(Fixture.cert.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                  key: |
                \(Fixture.key.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                  snis:
                  - name: "x.example"
                plugins:
                - name: rate-limiting
                  config: {second: 5, hour: 10000, policy: local}
                - name: request-transformer
                  service: svc-b
                  config: {add: {headers: ["x-a:1", "x-b: two words"]}}
                """
        config += "\n"
        #expect(await h.load(config).generation != nil)
        let first = try #require(await h.get("/config")["config"]?.stringValue)
        let post = await h.send(.POST, "/config", headers: [("Content-Type", "application/yaml")], body: first)
        #expect(post.status == 201, "\(post.body)")
        #expect(h.store.current.hash == ConfigHash.md5Hex(Array(first.utf8)))
        let second = try #require(await h.get("/config")["config"]?.stringValue)
        // The loader stamps `updated_at` anew (as Kong's import does); nothing else changes.
        func stable(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { !$0.contains("updated_at:") }
        }
        #expect(stable(second) == stable(first))
        #expect(await h.get("/config")["config"]?.stringValue == second)
        // What `kgate config parse` accepts: the loader alone.
        guard case .success = DeclarativeLoader().load(bytes: Array(first.utf8), fileName: "kong.yml") else {
            Issue.record("the export does not load back")
            return
        }
        #expect(
            await h.send(.POST, "/config?check_hash=1", headers: [("Content-Type", "application/yaml")], body: first)
                .status == 304)
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
