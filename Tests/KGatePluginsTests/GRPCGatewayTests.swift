import KGateProtobuf
import Testing

@testable import KGatePlugins

/// grpc-gateway's pieces that need no upstream: path templates (Kong's `parse_options_path`),
/// the endpoint table from `google.api.http` options, and the messages built from queries.
struct GRPCGatewayTests {
    static let proto = """
        syntax = "proto3";
        package shop;
        import "google/api/annotations.proto";
        service Shelf {
          rpc Get(Item) returns (Item) {
            option (google.api.http) = {
              get: "/v1/{name=shelves/*/items/*}"
              additional_bindings { get: "/v1/items/{id}" additional_bindings { post: "/v1/never" } }
              additional_bindings { delete: "/v1/items/{id}/{rest=**}" }
            };
          }
          rpc Put(Item) returns (Item) { option (google.api.http) = { put: "/v1/items/{id}" body: "item" }; }
          rpc Plain(Item) returns (Item);
        }
        message Item { string name = 1; int32 id = 2; Part part = 3; bool on = 4; repeated string tags = 5; }
        message Part { string label = 1; Part inner = 2; }
        """

    @Test("templates become anchored regexes with one group per variable")
    func templates() {
        #expect(GRPCGatewayEndpoints.pattern(of: "/v1/messages/{greeting}") == ("^/v1/messages/([^/]+)$", ["greeting"]))
        #expect(GRPCGatewayEndpoints.pattern(of: "/v1/{name=shelves/*/items/*}").0 == "^/v1/(shelves/[^/]+/items/[^/]+)$")
        #expect(GRPCGatewayEndpoints.pattern(of: "/v1/legacy/{greeting=**}") == ("^/v1/legacy/(.+)$", ["greeting"]))
        #expect(GRPCGatewayEndpoints.pattern(of: "/a/{x.y}/{z=*}") == ("^/a/([^/]+)/([^/]+)$", ["x.y", "z"]))
        // Not a variable (Kong's pattern does not match it): left as written.
        #expect(GRPCGatewayEndpoints.pattern(of: "/a/{}").0 == "^/a/{}$")
    }

    @Test("endpoints: the rule and its last additional binding, one level; Kong's errors")
    func endpoints() throws {
        let schema = try ProtoSchema.parse(source: Self.proto, name: "shop.proto")
        let endpoints = try GRPCGatewayEndpoints(schema)
        let (get, vars) = try endpoints.endpoint(method: "get", path: "/v1/shelves/1/items/2").get()
        #expect(get.grpcPath == "/shop.Shelf/Get")
        #expect(get.inputType == ".shop.Item" && get.outputType == ".shop.Item")
        #expect(get.body == nil)
        #expect(vars.map(\.0) == ["name"] && vars.map(\.1) == ["shelves/1/items/2"])
        // protoc.lua keeps the last `additional_bindings`: the first is gone, and nested ones
        // are never read.
        #expect(throws: GRPCGatewayEndpoints.LookupFailure.self) { try endpoints.endpoint(method: "get", path: "/v1/items/7").get() }
        #expect(throws: GRPCGatewayEndpoints.LookupFailure.self) { try endpoints.endpoint(method: "post", path: "/v1/never").get() }
        let (delete, rest) = try endpoints.endpoint(method: "delete", path: "/v1/items/7/a/b").get()
        #expect(delete.grpcPath == "/shop.Shelf/Get")
        #expect(rest.map(\.1) == ["7", "a/b"])
        let (put, _) = try endpoints.endpoint(method: "put", path: "/v1/items/3").get()
        #expect(put.body == "item")

        switch endpoints.endpoint(method: "patch", path: "/v1/items/3") {
        case .failure(let failure): #expect(failure.message == #"Unknown method "patch""#)
        case .success: Issue.record("patch matched")
        }
        switch endpoints.endpoint(method: "get", path: "/v1/x\"y") {
        case .failure(let failure): #expect(failure.message == #"Unknown path "/v1/x\"y""#)
        case .success: Issue.record("matched")
        }
    }

    @Test("query arguments fill nested fields; unknown names and sub-fields of scalars are dropped")
    func queryPayload() throws {
        let schema = try ProtoSchema.parse(source: Self.proto, name: "shop.proto")
        var payload = GRPCGatewayPayload(variables: [("name", "n")])
        payload.addQuery(
            QueryArgs(parsing: "id=5&part.label=a&part.inner.label=b&on=false&tags=x&tags=y&nope=1&part.nope=2"),
            inputType: ".shop.Item", schema: schema)
        #expect(
            payload.table == [
                "name": "n", "id": "5",
                "part": .object(["label": "a", "inner": .object(["label": "b"])]),
                "on": .bool(false), "tags": .array(["x", "y"]),
            ])
        // The message encodes: `id` from its string, `on` false is not written (proto3).
        let framed = try payload.encoded(as: ".shop.Item", schema: schema).get()
        #expect(framed.prefix(5) == [0, 0, 0, 0, UInt8(framed.count - 5)])
        let decoded = try schema.decode(Array(framed.dropFirst(5)), as: ".shop.Item")
        #expect(decoded.objectValue?["id"] == .integer(5))
        #expect(decoded.objectValue?["tags"] == .array(["x", "y"]))

        var flag = GRPCGatewayPayload(variables: [])
        flag.addQuery(QueryArgs(parsing: "on&id"), inputType: ".shop.Item", schema: schema)
        #expect(flag.table == ["on": .bool(true), "id": .bool(true)])
    }

    @Test("JSON bodies: `*` merges the members, a field takes the whole body; Kong's messages")
    func bodyPayload() throws {
        var star = GRPCGatewayPayload(variables: [("id", "1")])
        try star.addBody(Array(#"{"name":"x","id":2}"#.utf8), field: "*")
        #expect(star.table == ["id": .integer(2), "name": "x"])
        var field = GRPCGatewayPayload(variables: [("id", "1")])
        try field.addBody(Array(#"{"label":"l"}"#.utf8), field: "part")
        #expect(field.table == ["id": "1", "part": .object(["label": "l"])])
        var bad = GRPCGatewayPayload(variables: [])
        #expect(throws: GRPCGatewayPayload.Failure.self) { try bad.addBody(Array("3".utf8), field: "*") }
        do {
            try bad.addBody(Array(#"{"message":"invalid}"#.utf8), field: "*")
            Issue.record("accepted")
        } catch {
            #expect(error.message == "decode json err: Expected value but found unexpected end of string at character 21")
        }
    }

    @Test("the shipped example's .proto loads with its two bindings")
    func example() throws {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let endpoints = try GRPCGatewayEndpoints(try ProtoFiles.load("/" + root + "/examples/grpc/greeter.proto"))
        let (get, name) = try endpoints.endpoint(method: "get", path: "/v1/greetings/ada").get()
        #expect(get.grpcPath == "/greeter.Greeter/Greet" && name.map(\.1) == ["ada"])
        #expect(try endpoints.endpoint(method: "post", path: "/v1/greetings").get().0.body == "*")
    }

    @Test("frames: complete messages taken, the rest kept for the next chunk")
    func frames() {
        var buffer = GRPCFrame.frame(0, [1, 2]) + GRPCFrame.frame(0, []) + [0, 0, 0]
        #expect(GRPCFrame.unframe(&buffer) == [[1, 2], []])
        #expect(buffer == [0, 0, 0])
        buffer += [0, 1, 9]
        #expect(GRPCFrame.unframe(&buffer) == [[9]])
        #expect(buffer.isEmpty)
    }
}
