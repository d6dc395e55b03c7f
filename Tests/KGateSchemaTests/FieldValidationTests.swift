import Testing
@testable import KGateSchema

/// Field type checks and validators, with Kong's messages (spec/01-unit/01-db/01-schema/01-schema_spec.lua).
struct FieldValidationTests {
    private static func check(_ field: Field, _ value: Value) -> String? {
        let schema = Schema.record([("f", field)])
        guard let errors = schema.validate(["f": value]) else { return nil }
        return errors["f"]?.description
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let field: Field
        let value: Value
        let expected: String?
        var testDescription: String { name }
    }

    /// A foreign key to an entity with a `port`, its schema resolved (Kong's `field.schema`).
    static let referencingPorts = Field.foreign("services").with {
        $0.foreignSchema = Schema(name: "services", fields: [("id", Typedefs.uuid), ("port", .integer)])
    }

    static let cases: [Case] = [
        Case(name: "string ok", field: .string, value: "x", expected: nil),
        Case(name: "string type", field: .string, value: 1, expected: "\"expected a string\""),
        Case(name: "empty string", field: .string, value: "", expected: "\"length must be at least 1\""),
        Case(name: "empty string allowed", field: .string.with { $0.lenMin = 0 }, value: "", expected: nil),
        Case(name: "integer type", field: .integer, value: 1.5, expected: "\"expected an integer\""),
        Case(name: "integer from double", field: .integer, value: 2.0, expected: nil),
        Case(name: "number type", field: .number, value: "1", expected: "\"expected a number\""),
        Case(name: "boolean type", field: .boolean, value: "true", expected: "\"expected a boolean\""),
        Case(name: "array type", field: .array(of: .string), value: "x", expected: "\"expected an array\""),
        Case(name: "set type", field: .set(of: .string), value: 1, expected: "\"expected a set\""),
        Case(name: "map type", field: .map(keys: .string, values: .string), value: 1, expected: "\"expected a map\""),
        Case(name: "record type", field: .record(.record([("a", .string)])), value: 1, expected: "\"expected a record\""),
        Case(name: "array elements", field: .array(of: .integer), value: [1, "x", 3], expected: "{2=\"expected an integer\"}"),
        Case(name: "between", field: .integer.with { $0.between = 0...65535 }, value: -23, expected: "\"value should be between 0 and 65535\""),
        Case(name: "eq", field: .integer.with { $0.eq = 426 }, value: 1, expected: "\"value must be 426\""),
        Case(name: "eq null", field: .string.with { $0.eq = .null }, value: "x", expected: "\"value must be null\""),
        Case(name: "eq null with err", field: .string.with { $0.eq = .null; $0.err = "nope" }, value: "x", expected: "\"nope\""),
        Case(name: "ne null", field: .string.with { $0.ne = .null }, value: .null, expected: "\"value must not be null\""),
        Case(name: "required null", field: .string.isRequired, value: .null, expected: "\"required field missing\""),
        Case(name: "one_of", field: .string.with { $0.oneOf = ["v0", "v1"] }, value: "v2", expected: "\"expected one of: v0, v1\""),
        Case(name: "not_one_of", field: .string.with { $0.notOneOf = ["a", "b"] }, value: "a", expected: "\"must not be one of: a, b\""),
        Case(name: "gt", field: .number.with { $0.gt = 0 }, value: 0, expected: "\"value must be greater than 0\""),
        Case(name: "len_eq", field: .string.with { $0.lenEq = 3 }, value: "ab", expected: "\"length must be 3\""),
        Case(name: "len_max", field: .string.with { $0.lenMax = 2 }, value: "abc", expected: "\"length must be at most 2\""),
        Case(name: "len_min array", field: .array(of: .string).with { $0.lenMin = 1 }, value: [], expected: "\"length must be at least 1\""),
        Case(name: "starts_with", field: .string.with { $0.startsWith = "/" }, value: "x", expected: "\"should start with: /\""),
        Case(name: "match", field: .string.with { $0.match = "^%u+$" }, value: "get", expected: "\"invalid value: get\""),
        Case(name: "not_match", field: .string.with { $0.notMatch = "%s" }, value: "a b", expected: "\"invalid value: a b\""),
        Case(name: "uuid", field: .string.with { $0.uuid = true }, value: "nope", expected: "\"expected a valid UUID\""),
        Case(name: "uuid ok", field: .string.with { $0.uuid = true }, value: "0855B320-0dd2-547d-891d-601e9b38647f", expected: nil),
        Case(name: "timestamp", field: .number.with { $0.timestamp = true }, value: -1, expected: "\"expected a valid timestamp\""),
        Case(name: "contains", field: .array(of: .string).with { $0.contains = "x" }, value: ["a"], expected: "\"expected to contain: x\""),
        Case(name: "custom", field: .string.with { $0.customValidator = { _ in "bad thing" } }, value: "a", expected: "\"bad thing\""),
        Case(
            name: "mutually exclusive subsets",
            field: .set(of: .string).with { $0.mutuallyExclusiveSubsets = [["http", "https"], ["tcp", "tls", "udp"]] },
            value: ["http", "tcp"], expected: "\"these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')\""),
        Case(name: "vault reference skips validators", field: .string.with { $0.referenceable = true; $0.match = "^a$" }, value: "{vault://env/x}", expected: nil),
        Case(name: "foreign missing id", field: .foreign("services"), value: [:], expected: "{id=\"missing primary key\"}"),
        Case(name: "foreign bad id", field: .foreign("services"), value: ["id": "x"], expected: "{id=\"expected a valid UUID\"}"),
        Case(
            name: "foreign object with entity errors", field: referencingPorts, value: ["port": "x"],
            expected: "{port=\"expected an integer\"}"),
        Case(
            name: "foreign valid object without id", field: referencingPorts, value: ["port": 1],
            expected: "{id=\"missing primary key\"}"),
        Case(name: "free record accepts anything", field: Field(.record), value: ["any": ["thing": 1]], expected: nil),
        Case(name: "map value error", field: .map(keys: .string, values: .integer), value: ["a": "b"], expected: "\"expected an integer\""),
    ]

    @Test(arguments: cases)
    func validates(_ c: Case) {
        #expect(Self.check(c.field, c.value) == c.expected)
    }

    @Test func firstFailingValidatorWins() {
        // one_of runs before len_min, so an empty string outside the list reports one_of.
        let f = Field.string.with { $0.oneOf = ["a"] }
        #expect(Self.check(f, "") == "\"expected one of: a\"")
    }

    @Test func unknownAndRequiredFields() {
        let schema = Schema.record([("a", .string.isRequired), ("b", .integer)])
        let errors = schema.validate(["c": 1])
        #expect(errors?["c"]?.message == "unknown field")
        #expect(errors?["a"]?.message == "required field missing")
        #expect(errors?["b"] == nil)
    }

    @Test func updatedAtIsNeverValidated() {
        let schema = Schema.record([("a", .string)])
        #expect(schema.validate(["updated_at": "whatever"]) == nil)
    }

    @Test func nestedRecordErrors() {
        let inner = Schema.record([("x", .integer.with { $0.between = 1...5 })])
        let schema = Schema.record([("r", .record(inner))])
        let errors = schema.validate(["r": ["x": 9]])
        #expect(errors?.description == "{r={x=\"value should be between 1 and 5\"}}")
    }
}
