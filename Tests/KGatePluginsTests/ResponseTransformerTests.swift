import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `response-transformer` (`spec/03-plugins/15-response-transformer/01-header_transformer_spec.lua`,
/// `02-body_transformer_spec.lua`).
struct ResponseTransformerTests {
    private func config(_ yaml: String) throws -> ResponseTransformerPlugin.Config {
        let runner = try Gate.runner(
            "_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/]}\nplugins:\n- name: response-transformer\n  config: \(yaml)\n")
        let row = try #require(runner.database.page["plugins"]?.rows.values.first)
        return try ResponseTransformerPlugin().makeConfig(
            try #require(row["config"]?.objectValue), scope: PluginScope(id: "p", name: "response-transformer"))
    }

    private func transform(_ yaml: String, _ body: String) throws -> Value? {
        try ResponseTransformerPlugin.transform(config(yaml), Array(body.utf8)).flatMap { KongJSONEncoderShim.decode($0) }
    }

    @Test func headersInKongsOrder() throws {
        let config = try config(
            """
            {remove: {headers: [x-remove]}, rename: {headers: ["x-old:x-new", "x-absent:x-never"]},
             replace: {headers: ["x-replace:new", "x-missing:no"]}, add: {headers: ["x-add:a", "x-replace:no"]},
             append: {headers: ["x-append:1", "x-append:2"]}}
            """)
        let runner = try Gate.runner("_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/]}\n")
        var exchange = Exchange(runner, route: "r")
        exchange.ctx.response.start(
            status: 200,
            headers: ["X-Remove": "r", "X-Old": "o1", "x-old": "o2", "X-Replace": "old", "Content-Type": "text/plain"],
            fromService: true)
        try ResponseTransformerPlugin().headerFilter(config, &exchange.ctx)
        let headers = exchange.ctx.response.headers
        #expect(headers.tableValue("x-remove") == nil)
        #expect(headers.tableValue("x-old") == nil)
        #expect(headers.tableValues("x-new") == ["o1", "o2"])
        #expect(headers.tableValue("x-never") == nil)
        #expect(headers.tableValue("x-replace")?.value == "new")
        #expect(headers.tableValue("x-missing") == nil)
        #expect(headers.tableValue("x-add")?.value == "a")
        #expect(headers.tableValues("x-append") == ["1", "2"])
    }

    @Test func jsonBody() throws {
        let yaml = """
            {remove: {json: [p1]}, rename: {json: ["p2:q2"]}, replace: {json: ["p3:v3", "p9:never"]},
             add: {json: ["p4:v4", "p3:no", "f:added"]}, append: {json: ["p5:x", "p6:y", "p7:z"]}}
            """
        let out = try #require(try transform(yaml, #"{"p1":1,"p2":2,"p3":3,"p5":"a","p6":["b"],"f":false}"#)?.objectValue)
        // Field order is not compared: cjson writes a Lua table's keys in no set order.
        #expect(
            Dictionary(uniqueKeysWithValues: out.map { ($0.key, $0.value) })
                == [
                    "f": "added", "p3": "v3", "p5": .array(["a", "x"]), "p6": .array(["b", "y"]), "q2": 2, "p4": "v4",
                    "p7": .array(["z"]),
                ])
    }

    /// `json_types` cast the values: numbers with Lua's `tonumber` (none for text), booleans
    /// true only for `true`; strings keep cjson's escapes except `\"` and `\/`.
    @Test func jsonTypesAndEscapes() throws {
        let yaml = """
            {add: {json: ["n:1.5", "h:0x10", "bad:abc", "b:true", "f:yes", "s:a/\\"b\\\\c"], json_types: [number, number, number, boolean, boolean, string]}}
            """
        let out = try #require(try transform(yaml, "{}")?.objectValue)
        #expect(out["n"] == .number(1.5))
        #expect(out["h"] == .integer(16))
        #expect(out["bad"] == nil)
        #expect(out["b"] == .bool(true))
        #expect(out["f"] == .bool(false))
        #expect(out["s"] == .string(#"a/"b\\c"#))
    }

    /// An empty value is Lua's nil, which Kong's `json_value` encodes as the text `null`
    /// (cast by `json_types`: no number, boolean false).
    @Test func emptyValuesAreTheTextNull() throws {
        let yaml = """
            {replace: {json: ["p:"]}, add: {json: ["k:", "n:", "b:"], json_types: [string, number, boolean]}, append: {json: ["q:"]}}
            """
        let out = try #require(try transform(yaml, #"{"p":1}"#)?.objectValue)
        #expect(out["p"] == .string("null"))
        #expect(out["k"] == .string("null"))
        #expect(out["n"] == nil)
        #expect(out["b"] == .bool(false))
        #expect(out["q"] == .array([.string("null")]))
    }

    @Test func notJSONOrNotAnObject() throws {
        #expect(try ResponseTransformerPlugin.transform(config("{remove: {json: [a]}}"), Array("<html>".utf8)) == nil)
        #expect(try transform("{remove: {json: [a]}}", "[1,2]") == .array([1, 2]))
        // A number cjson reads as infinity cannot be written back: the body is left alone.
        #expect(try ResponseTransformerPlugin.transform(config("{remove: {json: [a]}}"), Array(#"{"b":[1E400]}"#.utf8)) == nil)
        #expect(ResponseTransformerPlugin.isJSON("application/json; charset=utf-8"))
        #expect(ResponseTransformerPlugin.isJSON("text/plain, application/vnd.api+json"))
        #expect(!ResponseTransformerPlugin.isJSON("text/json"))
        // Kong's RFC 2045 grammar: a parameter needs a value, the type no inner spaces.
        #expect(ResponseTransformerPlugin.isJSON(#"application/json ;charset="utf-8""#))
        #expect(!ResponseTransformerPlugin.isJSON("application/json; charset="))
        #expect(!ResponseTransformerPlugin.isJSON("application /json"))
        #expect(!ResponseTransformerPlugin.isJSON("application/json;"))
    }

    @Test func schemaChecksRenamedHeaders() {
        #expect(Gate.loadError(
            "_format_version: \"3.0\"\nplugins:\n- name: response-transformer\n  config: {rename: {headers: [\"a:b c\"]}}\n")?
            .contains("'b c' is not a valid header") == true)
    }
}
