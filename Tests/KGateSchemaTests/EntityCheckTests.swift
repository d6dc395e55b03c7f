import Testing
@testable import KGateSchema

/// Entity checkers with Kong's messages and run rules.
struct EntityCheckTests {
    private func entityErrors(_ schema: Schema, _ input: Object) -> [String] {
        guard let node = schema.validate(input)?["@entity"]?.node else { return [] }
        return node.entries.compactMap { $0.value.message }
    }

    @Test func atLeastOneOf() {
        let s = Schema.record([("custom_id", .string), ("username", .string)], entityChecks: [.atLeastOneOf(["custom_id", "username"])])
        #expect(entityErrors(s, [:]) == ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
        #expect(entityErrors(s, ["username": "bob"]).isEmpty)
    }

    @Test func onlyOneOf() {
        let s = Schema.record([("a", .string), ("b", .string)], entityChecks: [.onlyOneOf(["a", "b"])])
        #expect(entityErrors(s, ["a": "x", "b": "y"]) == ["exactly one of these fields must be non-empty: 'a', 'b'"])
        #expect(entityErrors(s, ["a": "x", "b": .null]).isEmpty)
    }

    @Test func distinct() {
        let s = Schema.record([("a", .string), ("b", .string)], entityChecks: [.distinct(["a", "b"])])
        #expect(entityErrors(s, ["a": "x", "b": "x"]) == ["values of these fields must be distinct: 'a', 'b'"])
    }

    @Test func mutuallyRequiredAndExclusive() {
        let s = Schema.record([("a", .string), ("b", .string)], entityChecks: [.mutuallyRequired(["a", "b"])])
        #expect(entityErrors(s, ["a": "x"]) == ["all or none of these fields must be set: 'a', 'b'"])
        let t = Schema.record([("a", .string), ("b", .string)], entityChecks: [.mutuallyExclusive(["a", "b"])])
        #expect(entityErrors(t, ["a": "x", "b": "y"]) == ["only one or none of these fields must be set: 'a', 'b'"])
    }

    @Test func mutuallyExclusiveSetsListsOnlyUsedMembers() {
        let s = Schema.record(
            [("a", .string), ("b", .string), ("c", .string)],
            entityChecks: [.mutuallyExclusiveSets(set1: ["a", "b"], set2: ["c"])])
        #expect(entityErrors(s, ["a": "x", "c": "z"]) == ["these sets are mutually exclusive: ('a'), ('c')"])
    }

    @Test func conditionalSetsFieldAndEntityErrors() {
        let s = Schema.record(
            [("protocol", .string), ("path", .string)],
            entityChecks: [.conditional(.init(
                ifField: "protocol", ifMatch: { $0.oneOf = ["tcp", "tls"] }, thenField: "path", thenMatch: { $0.eq = .null }))])
        let errors = s.validate(["protocol": "tcp", "path": "/x"])
        #expect(errors?["path"]?.message == "value must be null")
        #expect(entityErrors(s, ["protocol": "tcp", "path": "/x"]) == ["failed conditional validation given value of field 'protocol'"])
        #expect(s.validate(["protocol": "http", "path": "/x"]) == nil)
    }

    @Test func conditionalRequired() {
        let s = Schema.record(
            [("policy", .string), ("redis_host", .string)],
            entityChecks: [.conditional(.init(ifField: "policy", ifMatch: { $0.match = "^redis$" }, thenField: "redis_host", thenRequired: true))])
        let errors = s.validate(["policy": "redis"])
        #expect(errors?["redis_host"]?.message == "required field missing")
    }

    @Test func checksSkipFieldsThatAlreadyFailed() {
        let s = Schema.record([("a", .string), ("b", .string)], entityChecks: [.mutuallyRequired(["a", "b"])])
        // `a` has a type error, and mutually_required does not run with invalid fields.
        #expect(entityErrors(s, ["a": 1]).isEmpty)
    }

    @Test func requiredForEntityCheck() {
        let s = Schema.record([("a", .string), ("b", .string)], entityChecks: [.distinct(["a", "b"])])
        let errors = s.validate(["a": "x"])
        #expect(errors?["b"]?.message == "field required for entity check")
    }

    @Test func conditionalAtLeastOneOf() {
        let s = Schema.record(
            [("kind", .string), ("x", .string), ("y", .string)],
            entityChecks: [.conditionalAtLeastOneOf(.init(
                ifField: "kind", ifMatch: { $0.oneOf = ["k"] }, thenAtLeastOneOf: ["x", "y"], thenErr: "need %s"))])
        #expect(entityErrors(s, ["kind": "k"]) == ["need 'x', 'y'"])
        #expect(entityErrors(s, ["kind": "other"]).isEmpty)
    }

    @Test func subschemaSelectionErrors() {
        let sub = Schema.record([("config", .record(.record([("a", .integer)])))])
        let s = Schema(
            name: "plugins", fields: [("name", .string.isRequired), ("config", Field(.record).with { $0.abstract = true })],
            subschemaKey: "name", subschemaError: "plugin '%s' not enabled; add it to the 'plugins' configuration property",
            subschemas: ["key-auth": sub])
        #expect(s.validate([:])?.description == "{name=\"required field missing\"}")
        #expect(s.validate(["name": "nope"])?.description == "{name=\"plugin 'nope' not enabled; add it to the 'plugins' configuration property\"}")
        #expect(s.validate(["name": "key-auth", "config": ["a": "x"]])?.description == "{config={a=\"expected an integer\"}}")
    }

    @Test func defaultsAndShorthands() {
        let s = Schema(
            name: "t", primaryKey: [],
            fields: [("port", .integer.with { $0.defaultValue = 80 }), ("host", .string), ("tags", .set(of: .string))],
            shorthandFields: [.init("url", .string) { v in ["host": .string(v.stringValue ?? "")] }])
        let out = try? s.processAutoFields(["url": "example.com", "tags": ["a", "a", "b"]]).get()
        #expect(out?["host"] == "example.com")
        #expect(out?["port"] == 80)
        #expect(out?["url"] == nil)
        #expect(out?["tags"] == ["a", "b"])
    }

    /// Kong's `validate_deprecation_exclusiveness` and the `select` context of a shorthand with
    /// `replaced_with` (rate-limiting's `redis_host` → `redis.host`).
    @Test func replacedShorthands() {
        let redis = Schema.record([("host", .string), ("port", .integer.with { $0.defaultValue = 6379 })])
        let config = Schema.record(
            [("minute", .number), ("redis", .record(redis))],
            shorthandFields: [
                .init("redis_host", .string, replacedWith: "redis.host") { ["redis": ["host": $0]] },
                .init("redis_port", .integer, replacedWith: "redis.port") { ["redis": ["port": $0]] },
            ])
        let mismatch = config.processAutoFields(["redis_host": "a", "redis": ["host": "b"]])
        #expect(throws: ErrorNode.self) { try mismatch.get() }
        if case .failure(let errs) = mismatch {
            #expect(errs["redis_host"]?.message
                == "both deprecated and new field are used but their values mismatch: redis_host = a vs redis.host = b")
        }
        let same = try? config.processAutoFields(["redis_port": 1, "redis": ["port": 1.0]]).get()
        #expect(same?["redis"]?["port"] == 1.0)
        let loaded = try? config.processAutoFields(["minute": 5, "redis_host": "h"]).get()
        #expect(loaded?["redis_host"] == nil)
        let plugins = Schema(
            name: "plugins", fields: [("name", .string), ("config", Field(.record).with { $0.abstract = true })],
            subschemaKey: "name",
            subschemas: ["rl": Schema(name: "rl", primaryKey: [], fields: [("config", .record(config))])])
        #expect(plugins.showsShorthands)
        let read = plugins.withReplacedShorthands(["name": "rl", "config": .object(loaded ?? [:])])
        #expect(read["config"]?["redis_host"] == "h")
        #expect(read["config"]?["redis_port"] == 6379)
        #expect(read["config"]?["redis"]?["host"] == "h")
        #expect(!redis.showsShorthands)
    }
}
