import KGateSchema
import OrderedCollections
import Testing

@testable import KGateProtobuf

@Suite struct ProtoParserTests {
    static let shop = """
        // Shop API: line comments,
        /* block comments,
           over lines */ syntax = "proto3";
        package shop.v1;

        import "google/api/annotations.proto";
        import "google/protobuf/timestamp.proto";
        import public "google/protobuf/empty.proto";

        option java_package = "com.example." 'shop';   // adjacent literals
        option (my.file_opt) = { a: 1 b: "x\\t\\x41\\101" c: [1, -2.5, 0x10, ENUM_NAME] };

        enum Color {
          option allow_alias = true;
          COLOR_UNSPECIFIED = 0;
          RED = 1;
          CRIMSON = 1 [deprecated = true];
          BLUE = -2;
          OCTAL = 010;
          HEX = 0x1F;
          reserved 100 to 200;
        }

        message Item {
          message Tag {
            string name = 1;
            enum Kind { KIND_NONE = 0; KIND_SPECIAL = 3; }
            Kind kind = 2;
          }
          option deprecated = false;
          reserved 15, 16 to 18, 30 to max;
          reserved "old", 'older';
          extensions 100 to 199;
          string id = 1 [json_name = "ID"];
          int32 count = 2;
          repeated Tag tags = 3;
          map<string, int64> prices = 4;
          oneof choice {
            option (my.oneof_opt) = true;
            string text = 5;
            Tag tag = 6;
          }
          optional double weight = 7;
          Color color = 8;
          google.protobuf.Timestamp created = 9;
          repeated sint32 deltas = 10 [packed = false];
          map<int32, Tag.Kind> kinds_by_id = 11;
          ;
          extend google.protobuf.MethodOptions { string item_opt = 50001; }
        }

        message GetItemRequest { string id = 1; }

        service Shop {
          option (my.svc) = "x";
          rpc GetItem (GetItemRequest) returns (Item) {
            option (google.api.http) = {
              get: "/v1/items/{id}"
              additional_bindings { get: "/v1/things/{id}" }
              additional_bindings: { post: "/v1/things/{id}:get"; body: "*" }
            };
            option deprecated = true;
          }
          rpc Watch (stream .shop.v1.GetItemRequest) returns (stream Item);
          rpc Ping (google.protobuf.Empty) returns (google.protobuf.Empty) {}
        }
        """

    @Test func grammarAndMethods() throws {
        let schema = try ProtoSchema.parse(source: Self.shop, name: "shop.proto")
        // The public import (empty.proto) has no services; the file's own rpcs follow.
        #expect(schema.methods.map(\.name) == ["GetItem", "Watch", "Ping"])
        let get = schema.methods[0]
        #expect(get.package == "shop.v1")
        #expect(get.service == "Shop")
        #expect(get.inputType == ".shop.v1.GetItemRequest")
        #expect(get.outputType == ".shop.v1.Item")
        #expect(!get.clientStreaming && !get.serverStreaming)
        #expect(get.options["deprecated"] == .bool(true))
        // Repeated keys in a structure: the last value wins, at the first key's position.
        let http: OrderedDictionary<String, ProtoOptionValue> = [
            "get": .string("/v1/items/{id}"),
            "additional_bindings": .structure(["post": .string("/v1/things/{id}:get"), "body": .string("*")]),
        ]
        #expect(get.options["google.api.http"] == .structure(http))
        if case .structure(let s) = get.options["google.api.http"] {
            #expect(Array(s.keys) == ["get", "additional_bindings"])
        }
        let watch = schema.methods[1]
        #expect(watch.clientStreaming && watch.serverStreaming)
        #expect(watch.inputType == ".shop.v1.GetItemRequest")
        #expect(watch.options.isEmpty)
        #expect(schema.methods[2].inputType == ".google.protobuf.Empty")

        #expect(schema.fieldType(".shop.v1.Item", "id") == "string")
        #expect(schema.fieldType(".shop.v1.Item", "tags") == ".shop.v1.Item.Tag")
        #expect(schema.fieldType(".shop.v1.Item", "prices") == ".shop.v1.Item.PricesEntry")
        #expect(schema.fieldType(".shop.v1.Item", "kinds_by_id") == ".shop.v1.Item.KindsByIdEntry")
        #expect(schema.fieldType(".shop.v1.Item.KindsByIdEntry", "value") == ".shop.v1.Item.Tag.Kind")
        #expect(schema.fieldType(".shop.v1.Item", "color") == ".shop.v1.Color")
        #expect(schema.fieldType(".shop.v1.Item", "created") == ".google.protobuf.Timestamp")
        #expect(schema.fieldType(".shop.v1.Item", "tag") == ".shop.v1.Item.Tag")
        #expect(schema.fieldType(".shop.v1.Item.Tag", "kind") == ".shop.v1.Item.Tag.Kind")
        // Extension fields join the extended message, as pb.load does.
        #expect(schema.fieldType(".google.protobuf.MethodOptions", "http") == ".google.api.HttpRule")
        #expect(schema.fieldType(".google.protobuf.MethodOptions", "item_opt") == "string")
    }

    @Test func fileOptionsConstants() throws {
        let loader = ProtoLoader(searchDirs: [])
        let file = try loader.parse(source: Self.shop, name: "shop.proto")
        #expect(file.options["java_package"] == .string("com.example.shop"))
        let expected: OrderedDictionary<String, ProtoOptionValue> = [
            "a": .number(1),
            "b": .string("x\tAA"),
            "c": .array([.number(1), .number(-2.5), .number(16), .identifier("ENUM_NAME")]),
        ]
        #expect(file.options["my.file_opt"] == .structure(expected))
        #expect(file.enums[0].values.map(\.number) == [0, 1, 1, -2, 8, 31])
        #expect(file.services[0].options["my.svc"] == .string("x"))
        let item = file.messages[0]
        // proto3 `optional`: a synthetic oneof "_weight".
        #expect(item.oneofs == ["choice", "_weight"])
        #expect(item.nested.map(\.name) == ["Tag", "PricesEntry", "KindsByIdEntry"])
    }

    @Test func constantForms() throws {
        let source = """
            syntax = "proto3";
            message M {}
            service S {
              rpc A (M) returns (M) {
                option (o).x = { [ext.name]: 1, k: true, k2: false; s: 'q"' "r", none_key: none, n: -inf, i: inf, e: 1.5e3 };
                option list = [ "a", b, none, 2 ];
              }
            }
            """
        let schema = try ProtoSchema.parse(source: source, name: "c.proto")
        let options = schema.methods[0].options
        let expected: OrderedDictionary<String, ProtoOptionValue> = [
            "[ext.name]": .number(1), "k": .bool(true), "k2": .bool(false), "s": .string("q\"r"),
            "n": .number(-.infinity), "i": .identifier("inf"), "e": .number(1500),
        ]
        #expect(options["o.x"] == .structure(expected))
        #expect(options["list"] == .array([.string("a"), .identifier("b"), .number(2)]))
    }

    @Test func proto2AndDefaults() throws {
        let head = """
            package p2;
            message M {
              required int32 a = 1;
              optional string b = 2 [default = "hi"];
              optional float c = 3 [default = 1.5];
              repeated int32 d = 4 [packed = true];
              optional int32 e = 5 [deprecated = true];

            """
        // Groups are refused.
        #expect(protoError { try ProtoSchema.parse(source: head + "  optional group G = 6 {}\n}", name: "p2.proto") }
            == "p2.proto:8:12: invalid type name: group (groups are not supported)")
        let ok = head + "}"
        let loader = ProtoLoader(searchDirs: [])
        let file = try loader.parse(source: ok, name: "p2.proto")
        #expect(file.syntax == "proto2")
        let fields = file.messages[0].fields
        #expect(fields.map(\.defaultValue) == [nil, "hi", "1.5", "nil", "nil"])
        let registry = loader.compile()
        #expect(registry.messages[".p2.M"]?.field(named: "d")?.packed == true)
        #expect(registry.messages[".p2.M"]?.isProto3 == false)
    }

    @Test func typeResolution() throws {
        let source = """
            syntax = "proto3";
            package a.b;
            message Outer {
              message Inner {}
              message b {}
              message Deep {
                Inner x = 1;
                Outer.Inner y = 2;
                .a.b.Top z = 3;
                Top w = 4;
                b.Top v = 5;
              }
            }
            message Top {}
            message Inner {}
            """
        let schema = try ProtoSchema.parse(source: source, name: "r.proto")
        #expect(schema.fieldType(".a.b.Outer.Deep", "x") == ".a.b.Outer.Inner")  // innermost first
        #expect(schema.fieldType(".a.b.Outer.Deep", "y") == ".a.b.Outer.Inner")
        #expect(schema.fieldType(".a.b.Outer.Deep", "z") == ".a.b.Top")
        #expect(schema.fieldType(".a.b.Outer.Deep", "w") == ".a.b.Top")
        // protoc.lua looks the whole dotted name up in each scope outwards: "b.Top" is not in
        // .a.b.Outer (where "b" is a message) but is .a.b.Top.
        #expect(schema.fieldType(".a.b.Outer.Deep", "v") == ".a.b.Top")
        // lua-protobuf's name handling: a missing leading dot is added; a numeric name is a number.
        #expect(schema.fieldType("a.b.Outer.Deep", "w") == ".a.b.Top")
        #expect(schema.fieldType(".a.b.Outer.Deep", "4") == ".a.b.Top")
        #expect(schema.fieldType(".a.b.Outer.Deep", "nope") == nil)
        #expect(schema.fieldType("string", "x") == nil)
        #expect(schema.fieldType(".a.b.Nope", "x") == nil)
    }

    @Test func errorsHavePositions() {
        func error(_ source: String) -> String? {
            protoError { try ProtoSchema.parse(source: source, name: "api.proto") }
        }
        #expect(error("syntax = \"proto3\";\nmessage A {\n  int32 x 1;\n}") == "api.proto:3:11: expected '='")
        #expect(error("syntax = \"proto3\";\npackage pkg;\nmessage Msg {\n  Foo bar = 1;\n}")
            == "api.proto:4:3: unknown type 'Foo' in field 'bar' of message pkg.Msg")
        #expect(error("syntax = \"proto3\";\nmessage A { int32 x = 1; string y = 1; }")
            == "api.proto:2:26: field number 1 exists in message A, previous at 2:13")
        #expect(error("syntax = \"proto3\";\nmessage A { int32 x = 0; }") == "api.proto:2:23: invalid tag number: 0")
        #expect(error("message A { int32 x = 1; }")
            == "api.proto:1:13: expected label (optional, required or repeated): proto2 fields need one")
        #expect(error("edition = \"2023\";") == "api.proto:1:1: editions are not supported (use syntax = \"proto2\" or \"proto3\")")
        #expect(error("syntax = \"proto3\";\nfoo bar;") == "api.proto:2:1: unknown keyword 'foo'")
        #expect(error("syntax = \"proto3\";\n/* open") == "api.proto:2:1: unfinished comment")
        #expect(error("syntax = \"proto3\";\noption x = \"abc;") == "api.proto:2:12: unfinished string")
        #expect(error("syntax = \"proto3\";\nmessage A {}\nmessage A {}") == "api.proto:3:10: type A already defined")
        #expect(error("syntax = \"proto3\";\nmessage A {}\nservice S { rpc X (A) returns (B); }")
            == "api.proto:3:17: unknown type 'B' in output of rpc 'X' of service S")
        #expect(error("syntax = \"proto3\";\nenum E { A = 0; B = 0; }") == "api.proto:2:17: enum number 0 exists, previous at 2:10")
        #expect(error("syntax = \"proto3\";\nmessage A { map<float, int32> m = 1; }") == "api.proto:2:17: invalid key type: float")
        #expect(error("syntax = \"proto3\";\nimport \"missing.proto\";")
            == "api.proto:2:1: import \"missing.proto\" not found (looked in: built-in files)")
        #expect(error("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n") == "api.proto:4:1: expected '}'")
    }

    @Test func importsFromDisk() throws {
        let dir = makeTempDir()
        let inc = makeTempDir()
        writeFile(inc, "base/base.proto", """
            syntax = "proto3";
            package base;
            message Req { string id = 1; }
            service BaseSvc { rpc A (Req) returns (Req); }
            """)
        writeFile(dir, "mid.proto", """
            syntax = "proto3";
            package mid;
            import public "base/base.proto";
            service MidSvc { rpc B (base.Req) returns (base.Req); }
            """)
        writeFile(dir, "weak.proto", """
            syntax = "proto3";
            package weak;
            message W {}
            service WeakSvc { rpc Hidden (W) returns (W); }
            """)
        writeFile(dir, "root.proto", """
            syntax = "proto3";
            package root;
            import "mid.proto";
            import weak "weak.proto";
            import "google/protobuf/wrappers.proto";
            message Both { base.Req req = 1; weak.W w = 2; google.protobuf.StringValue s = 3; }
            service RootSvc { rpc C (base.Req) returns (Both); }
            """)
        let schema = try ProtoSchema.load(path: dir + "/root.proto", includePaths: [inc])
        // Public dependencies first (recursively), then the file's own; weak imports add no methods.
        #expect(schema.methods.map { "\($0.package).\($0.service)/\($0.name)" } == ["base.BaseSvc/A", "mid.MidSvc/B", "root.RootSvc/C"])
        #expect(schema.fieldType(".root.Both", "w") == ".weak.W")
        #expect(schema.fieldType(".root.Both", "s") == ".google.protobuf.StringValue")
        #expect(schema.fieldType(".google.protobuf.StringValue", "value") == "string")

        // A file on disk takes precedence over a built-in one.
        writeFile(inc, "google/protobuf/empty.proto", "syntax = \"proto3\";\npackage google.protobuf;\nmessage Empty { int32 marker = 1; }")
        writeFile(dir, "e.proto", "syntax = \"proto3\";\nimport \"google/protobuf/empty.proto\";")
        let e = try ProtoSchema.load(path: dir + "/e.proto", includePaths: [inc])
        #expect(e.fieldType(".google.protobuf.Empty", "marker") == "int32")

        writeFile(dir, "bad.proto", "syntax = \"proto3\";\n\nimport \"nowhere.proto\";")
        #expect(protoError { try ProtoSchema.load(path: dir + "/bad.proto", includePaths: [inc]) }
            == "\(dir)/bad.proto:3:1: import \"nowhere.proto\" not found (looked in: \(dir), \(inc), built-in files)")
        writeFile(dir, "c1.proto", "syntax = \"proto3\";\nimport \"c2.proto\";")
        writeFile(dir, "c2.proto", "syntax = \"proto3\";\nimport \"c1.proto\";")
        #expect(protoError { try ProtoSchema.load(path: dir + "/c1.proto") }?.contains("import cycle") == true)
        #expect(protoError { try ProtoSchema.load(path: dir + "/absent.proto") }?.hasPrefix("cannot open \(dir)/absent.proto") == true)
        // An error inside an imported file names that file.
        writeFile(dir, "broken.proto", "syntax = \"proto3\";\nmessage X { int32 = 1; }")
        writeFile(dir, "uses.proto", "syntax = \"proto3\";\nimport \"broken.proto\";")
        #expect(protoError { try ProtoSchema.load(path: dir + "/uses.proto") } == "broken.proto:2:19: expected field name")
    }

    @Test func plainImportsCountAsPublic() throws {
        // protoc.lua records a plain `import` as a public dependency, so Kong's each_method
        // recurses into it.
        let dir = makeTempDir()
        writeFile(dir, "dep.proto", "syntax = \"proto3\";\nmessage D {}\nservice DepSvc { rpc D1 (D) returns (D); }")
        writeFile(dir, "main.proto", "syntax = \"proto3\";\nimport \"dep.proto\";\nservice MainSvc { rpc M1 (D) returns (D); }")
        let schema = try ProtoSchema.load(path: dir + "/main.proto")
        #expect(schema.methods.map(\.name) == ["D1", "M1"])
        #expect(schema.methods[0].package == "")
        #expect(schema.methods[0].inputType == ".D")
    }

    @Test func builtInFiles() throws {
        let source = """
            syntax = "proto3";
            package b;
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/duration.proto";
            import "google/protobuf/empty.proto";
            import "google/protobuf/wrappers.proto";
            import "google/protobuf/struct.proto";
            import "google/protobuf/any.proto";
            import "google/protobuf/field_mask.proto";
            import "google/api/annotations.proto";
            message All {
              google.protobuf.Timestamp t = 1; google.protobuf.Duration d = 2; google.protobuf.Empty e = 3;
              google.protobuf.UInt64Value u = 4; google.protobuf.Struct s = 5; google.protobuf.Any a = 6;
              google.protobuf.FieldMask f = 7; google.protobuf.ListValue l = 8; google.protobuf.NullValue n = 9;
              google.api.HttpRule h = 10;
            }
            """
        let schema = try ProtoSchema.parse(source: source, name: "all.proto")
        #expect(schema.fieldType(".google.protobuf.Struct", "fields") == ".google.protobuf.Struct.FieldsEntry")
        #expect(schema.fieldType(".google.protobuf.Struct.FieldsEntry", "value") == ".google.protobuf.Value")
        #expect(schema.fieldType(".google.protobuf.Value", "list_value") == ".google.protobuf.ListValue")
        #expect(schema.fieldType(".google.protobuf.Value", "null_value") == ".google.protobuf.NullValue")
        #expect(schema.fieldType(".google.protobuf.Any", "value") == "bytes")
        #expect(schema.fieldType(".google.protobuf.FieldMask", "paths") == "string")
        #expect(schema.fieldType(".google.protobuf.Duration", "nanos") == "int32")
        #expect(schema.fieldType(".google.api.HttpRule", "additional_bindings") == ".google.api.HttpRule")
        #expect(schema.fieldType(".google.api.HttpRule", "custom") == ".google.api.CustomHttpPattern")
        #expect(schema.fieldType(".google.api.HttpRule", "response_body") == "string")
        #expect(schema.fieldType(".b.All", "n") == ".google.protobuf.NullValue")
        #expect(try schema.decode([], as: ".google.protobuf.Value") == .object([:]))
        #expect(try schema.decode([0x08, 0x00], as: ".google.protobuf.Value")
            == .object(["null_value": .string("NULL_VALUE"), "kind": .string("null_value")]))
    }

    @Test func mapEntryNames() {
        #expect(ProtoParser.mapEntryName("prices") == "PricesEntry")
        #expect(ProtoParser.mapEntryName("kinds_by_id") == "KindsByIdEntry")
        #expect(ProtoParser.mapEntryName("a__b_2") == "A_B_2Entry")
    }
}
