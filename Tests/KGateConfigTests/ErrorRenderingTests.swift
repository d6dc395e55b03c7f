import Foundation
import KGateSchema
import Testing

@testable import KGateConfig

/// Golden renderings of Kong's three error forms (CLI text, code-14 body, flattened errors) and of
/// the cjson-compatible encoder.
@Suite struct ErrorRenderingTests {
    // MARK: - code-14 body (kong/db/errors.lua, spec/02-integration/04-admin_api/15-off_spec.lua)

    @Test func validationErrorBody() {
        let fields = tree([
            "services": [["host": "required field missing", "port": "value should be between 0 and 65535"]]
        ])
        #expect(
            KongErrorBody.object(fields: fields).jsonText
                == #"{"code":14,"name":"invalid declarative configuration","message":"declarative config is invalid: {services={{host=\"required field missing\",port=\"value should be between 0 and 65535\"}}}","fields":{"services":[{"host":"required field missing","port":"value should be between 0 and 65535"}]}}"#
        )
    }

    @Test func sparseArraysUseBracketKeysAndNulls() {
        let message =
            "uniqueness violation: 'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared"
        let fields = tree(["services": [.null, .string(message)]])
        #expect(KongErrorBody.message(fields: fields) == "declarative config is invalid: {services={[2]=\"\(message)\"}}")
        #expect(KongErrorBody.fieldsValue(fields).jsonText == #"{"services":[null,"\#(message)"]}"#)
    }

    @Test func nameKeyedAndParseErrors() {
        let unique = "uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"
        #expect(
            KongErrorBody.message(fields: tree(["consumers": ["bar": .string(unique)]]))
                == "declarative config is invalid: {consumers={bar=\"\(unique)\"}}")
        let parse = tree(["error": "failed parsing declarative configuration: expected an object"])
        #expect(
            KongErrorBody.message(fields: parse)
                == #"declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}"#)
        #expect(KongErrorBody.message(fields: ErrorNode()) == "declarative config is invalid: {}")
    }

    @Test func penlightQuotesKeysAndStringsLikeLua() {
        let fields = tree([
            "routes": [["@entity": ["must set one of 'methods'"], "end": "x", "b_1": "y"]],
            "z": "line\nbreak", "a": "tab\there \"q\" \\ 1\u{1}2",
        ])
        #expect(
            KongErrorBody.penlightText(fields)
                == #"{a="tab\9here \"q\" \\ 1\0012",routes={{["@entity"]={"must set one of 'methods'"},b_1="y",["end"]="x"}},z=[[line"#
                + "\n" + #"break]]}"#)
        #expect(KongErrorBody.luaQuote("ends with ]") == "[=[ends with ]]=]")
        #expect(KongErrorBody.luaQuote("a[==[b") == "[===[a[==[b]===]")
    }

    // MARK: - JSON encoder

    @Test func encoderMatchesCJSON() {
        let value: Value = [
            "s": "a/b \"c\" \\ \u{7F}\u{1}\n\t é", "i": 42, "d": 1.5, "w": 3.0, "big": 1e21, "n": .null,
            "b": true, "ea": [], "eo": [:], "nested": ["x": [1, -0.25]],
        ]
        #expect(
            value.jsonText
                == #"{"s":"a\/b \"c\" \\ \u007f\u0001\n\t é","i":42,"d":1.5,"w":3,"big":1e+21,"n":null,"b":true,"ea":[],"eo":{},"nested":{"x":[1,-0.25]}}"#
        )
        #expect(KongJSONEncoder.formatNumber(0.1) == "0.1")
        #expect(KongJSONEncoder.formatNumber(.nan) == "null")
        #expect(KongJSONEncoder(escapesForwardSlash: false).encode("a/b") == #""a/b""#)
        // A `cjson.new()` instance keeps cjson's 14 digits, integers included (Lua numbers are
        // doubles); Kong's shared one has 16.
        let fresh = KongJSONEncoder(numberPrecision: 14)
        #expect(fresh.encode([.number(Double(Float(0.1))), 123_456_789_012_345, 12_345_678_901_234, 1.5]) == "[0.10000000149012,1.2345678901234e+14,12345678901234,1.5]")
        #expect(KongJSONEncoder().encode([.number(Double(Float(0.1))), 123_456_789_012_345]) == "[0.1000000014901161,123456789012345]")
        let pretty = KongJSONEncoder(style: .pretty(indent: 2)).encode(["a": [1, 2], "b": [:], "c": []])
        #expect(pretty == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }

    // MARK: - flattened_errors: every case of Kong's 05-error-flattening_spec.lua

    static let flatteningCases: [Value] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/kong-error-flattening.json")
        let bytes = (try? Data(contentsOf: url)).map { [UInt8]($0) } ?? []
        guard case .success(let doc) = ConfigText.parse(bytes, fileName: "cases.json") else { return [] }
        return doc.value.arrayValue ?? []
    }()

    @Test func flatteningFixtureLoads() {
        #expect(Self.flatteningCases.count == 11)
    }

    @Test(arguments: 0..<11) func kongFlatteningCase(_ n: Int) throws {
        let testCase = try #require(Self.flatteningCases.count > n ? Self.flatteningCases[n] : nil)
        let config = try #require(testCase["input"]?["config"])
        let errT = tree(try #require(testCase["input"]?["err_t"]))
        let expected = try #require(testCase["output"]?["err_t"])
        let got = KongErrorBody.flattenedObject(fields: errT, input: config)
        // Like Kong's test, entries are matched regardless of their order (Kong's order between
        // kinds of nested children follows Lua's `pairs` over its DAOs); each entry's `errors`
        // must be in Kong's order (`drain` pops keys in descending order).
        #expect(unordered(got) == unordered(expected))
        if n == 0 {
            // This case has one kind of child per parent, so Kong's order is fully determined.
            #expect(canonical(got) == canonical(expected))
        }
    }

    @Test func retainsWhatItCannotFlatten() {
        let fields = tree(["foo": [.null, "some error"]])
        let flat = FlattenedErrors(fields: fields, input: [:])
        #expect(flat.entries.isEmpty)
        #expect(flat.remaining == fields)
        #expect(
            KongErrorBody.flattenedObject(fields: ErrorNode(), input: [:]).jsonText
                == #"{"code":14,"name":"invalid declarative configuration","message":"declarative config is invalid: {}","fields":{},"flattened_errors":[]}"#
        )
    }

    /// 15-off_spec "drains errors from the top-level fields object": only the unknown top-level
    /// key stays; kgate also keeps entries keyed by name (Kong loses them).
    @Test func drainsAttributableErrorsOnly() throws {
        let doc = try parse(
            """
            _format_version: "3.0"
            abnormal_extra_field: 123
            consumers:
            - username: foo
            - username: bar
              custom_id: x
            services:
            - name: nope
              host: localhost
              protocol: nope
              routes:
              - name: nope.route
                protocols: [tcp]
            """)
        let fields = tree([
            "abnormal_extra_field": "unknown field",
            "consumers": ["bar": "uniqueness violation: 'consumers' entity with custom_id set to 'x' already declared"],
            "services": [
                [
                    "protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
                    "routes": [["@entity": ["must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"]]],
                ]
            ],
        ])
        let flat = FlattenedErrors(fields: fields, input: doc.value, positions: ErrorPositions(document: doc))
        #expect(flat.remaining == tree(["abnormal_extra_field": "unknown field", "consumers": fields["consumers"]!.node!.value]))
        #expect(flat.entries.count == 2)
        let route = flat.entries[0]
        #expect(route["entity_type"] == "route")
        #expect(route["entity"] == ["name": "nope.route", "protocols": ["tcp"]])
        #expect(route["source"] == ["file": "kong.yml", "line": 12, "column": 5])
        #expect(route["errors"]?.arrayValue?.first?["source"] == ["file": "kong.yml", "line": 12, "column": 5])
        let service = flat.entries[1]
        #expect(service["entity"] == ["name": "nope", "host": "localhost", "protocol": "nope"])
        #expect(
            service["errors"]
                == [
                    [
                        "type": "field", "field": "protocol",
                        "message": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
                        "source": ["file": "kong.yml", "line": 10, "column": 13],
                    ]
                ])
    }

    @Test func nestedChildGetsParentPrimaryKey() {
        let id = "0855b320-0dd2-547d-891d-601e9b38647f"
        let input: Value = ["services": [["id": .string(id), "name": "s", "routes": [["name": "r"]]]]]
        let flat = FlattenedErrors(fields: tree(["services": [["routes": [["@entity": ["bad"]]]]]]), input: input)
        #expect(flat.entries.count == 1)
        #expect(flat.entries[0]["entity"] == ["name": "r", "service": ["id": .string(id)]])
        #expect(flat.remaining.isEmpty)
    }

    // MARK: - CLI text with positions

    @Test func cliTextWithPositions() throws {
        let doc = try parse(
            """
            _format_version: "3.0"
            services:
            - name: foobar
              port: -23
              routes:
              - name: r1
                paths: [/a, 123]
            """)
        let fields = tree([
            "services": [
                [
                    "host": "required field missing", "port": "value should be between 0 and 65535",
                    "routes": [["paths": [.null, "expected a string"]]],
                ]
            ]
        ])
        let text = CLIErrorText.render(DeclarativeError(fields: fields, document: doc, fileName: "kong.yml"))
        #expect(
            text == """
                Error: Failed parsing:
                in 'services': (kong.yml:2:1)
                  - in entry 1 of 'services': (kong.yml:3:3)
                    in 'host': required field missing (kong.yml:3:3)
                    in 'port': value should be between 0 and 65535 (kong.yml:4:9)
                    in 'routes': (kong.yml:5:3)
                      - in entry 1 of 'routes': (kong.yml:6:5)
                        in 'paths': (kong.yml:7:5)
                          - in entry 2 of 'paths': expected a string (kong.yml:7:17)

                  Run with --v (verbose) or --vv (debug) for more details

                """)
    }

    @Test func cliTextWithoutDocumentIsKongs() {
        let fields = tree(["services": [["host": "required field missing", "port": "value should be between 0 and 65535"]]])
        #expect(
            CLIErrorText.tree(fields)
                == "in 'services':\n  - in entry 1 of 'services':\n    in 'host': required field missing\n    in 'port': value should be between 0 and 65535"
        )
        let syntax = DeclarativeError(
            fields: tree(["error": "failed parsing declarative configuration: did not find expected key"]),
            document: nil, fileName: "kong.yml", syntaxMark: SourceMark(line: 3, column: 5))
        #expect(CLIErrorText.details(syntax) == "failed parsing declarative configuration: did not find expected key (kong.yml:3:5)")
    }

    @Test func positionsOfNameKeyedAndEntityErrors() throws {
        let doc = try parse(
            """
            _format_version: "3.0"
            routes:
            - name: a
              paths: [/a]
            - name: my-route
              service: nope
              paths: [/b]
            plugins:
            - name: key-auth
              config:
                key_names: [apikey]
            """)
        let positions = ErrorPositions(document: doc)
        #expect(positions.mark(for: [.field("routes"), .field("my-route"), .index(1)]) == SourceMark(line: 5, column: 3))
        let reference = "invalid reference 'service: nope' (no such entry in 'services')"
        #expect(
            positions.mark(for: [.field("routes"), .field("my-route"), .index(1)], message: reference)
                == SourceMark(line: 6, column: 12))
        #expect(positions.mark(for: [.field("routes"), .index(2), .field("@entity"), .index(1)]) == SourceMark(line: 5, column: 3))
        #expect(positions.mark(for: [.field("plugins"), .index(1), .field("config"), .field("nope")]) == SourceMark(line: 10, column: 3))
        #expect(positions.mark(for: [.field("plugins"), .index(1), .field("config"), .field("key_names"), .index(1)]) == SourceMark(line: 11, column: 17))
        #expect(positions.mark(for: [.field("routes"), .index(9)]) == SourceMark(line: 2, column: 1))
    }

    // MARK: - helpers

    private func parse(_ yaml: String) throws -> SourceDocument {
        try ConfigText.parse(yaml, fileName: "kong.yml").get()
    }
}

/// An error tree from a value: objects give field keys, arrays 1-based indexes (nulls are holes),
/// strings messages.
private func tree(_ value: Value) -> ErrorNode {
    var node = ErrorNode()
    switch value {
    case .object(let o):
        for (k, v) in o { node[.field(k)] = errorValue(v) }
    case .array(let a):
        for (i, v) in a.enumerated() where !v.isNull { node[.index(i + 1)] = errorValue(v) }
    default:
        break
    }
    return node
}

private func errorValue(_ value: Value) -> ErrorValue {
    if case .string(let s) = value { return .message(s) }
    return .node(tree(value))
}

extension ErrorNode {
    /// The tree back as a value (for building expectations).
    fileprivate var value: Value { KongErrorBody.fieldsValue(self) }
}

/// The body with object keys sorted and `flattened_errors` sorted by their JSON text.
private func unordered(_ body: Value) -> Value {
    guard case .object(var o) = canonical(body), let entries = o["flattened_errors"]?.arrayValue else { return body }
    o["flattened_errors"] = .array(entries.sorted { $0.jsonText < $1.jsonText })
    return .object(o)
}

/// The value with every object's keys sorted, so that comparisons ignore key order.
private func canonical(_ value: Value) -> Value {
    switch value {
    case .object(let o):
        var sorted = Object()
        for key in o.keys.sorted() { sorted[key] = canonical(o[key]!) }
        return .object(sorted)
    case .array(let a):
        return .array(a.map(canonical))
    default:
        return value
    }
}
