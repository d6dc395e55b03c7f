import KGateSchema
import Testing

@testable import KGateProtobuf

let scalarsProto = """
    syntax = "proto3";
    package t;
    import "google/protobuf/timestamp.proto";
    enum E { E0 = 0; E1 = 1; NEG = -1; }
    message S {
      int32 i32 = 1; int64 i64 = 2; uint32 u32 = 3; uint64 u64 = 4; sint32 s32 = 5; sint64 s64 = 6;
      fixed32 f32 = 7; fixed64 f64 = 8; sfixed32 sf32 = 9; sfixed64 sf64 = 10; bool b = 11; string s = 12;
      bytes by = 13; double d = 14; float f = 15; E e = 16;
      repeated int32 ri = 17; repeated string rs = 18; map<string, int32> m = 19; map<int32, string> mi = 20;
      N n = 21; repeated N rn = 22; optional int32 oi = 23;
      oneof o { int32 oa = 24; string ob = 25; }
      repeated E re = 26; map<string, N> mn = 27;
    }
    message N { int32 x = 1; }
    message Q {
      string note = 1 [deprecated = true];
      int32 cnt = 2 [deprecated = true];
      string plain = 3;
      int32 dflt = 4 [default = 42];
      E en = 5 [deprecated = true];
    }
    message TS { google.protobuf.Timestamp at = 1; repeated google.protobuf.Timestamp all = 2; }
    """

let proto2Proto = """
    syntax = "proto2";
    package p;
    message P {
      optional int32 a = 1;
      required string s = 2;
      repeated int32 r = 3;
      repeated int32 pk = 4 [packed = true];
      optional int32 d = 5 [default = 7];
      map<string, string> m = 6;
      optional P child = 7;
    }
    """

@Suite struct ProtoEncoderTests {
    let schema = try! ProtoSchema.parse(source: scalarsProto, name: "t.proto")
    let p2 = try! ProtoSchema.parse(source: proto2Proto, name: "p.proto")

    func enc(_ object: Object, _ type: String = ".t.S") throws(ProtoError) -> String {
        hex(try schema.encode(.object(object), as: type))
    }

    @Test func varintsAndZigzag() throws {
        #expect(try enc(["i32": .integer(150)]) == "08 96 01")
        #expect(try enc(["i32": .integer(-1)]) == "08 FF FF FF FF FF FF FF FF FF 01")  // 10 bytes
        #expect(try enc(["i32": .integer(1 << 32 | 5)]) == "08 05")  // low 32 bits
        #expect(try enc(["i64": .integer(-2)]) == "10 FE FF FF FF FF FF FF FF FF 01")
        #expect(try enc(["u32": .integer(-1)]) == "18 FF FF FF FF 0F")
        #expect(try enc(["s32": .integer(-1)]) == "28 01")
        #expect(try enc(["s32": .integer(1)]) == "28 02")
        #expect(try enc(["s32": .integer(-64)]) == "28 7F")
        #expect(try enc(["s64": .integer(-2)]) == "30 03")
        #expect(try enc(["s64": .integer(Int(Int64.min))]) == "30 FF FF FF FF FF FF FF FF FF 01")
        #expect(try enc(["i32": .number(1.9)]) == "08 01")  // truncated toward zero
        #expect(try enc(["i32": .number(-1.9)]) == "08 FF FF FF FF FF FF FF FF FF 01")
    }

    @Test func integersFromStrings() throws {
        #expect(try enc(["u32": .string("0x10")]) == "18 10")  // LuaJIT tonumber
        #expect(try enc(["u32": .string(" 12 ")]) == "18 0C")
        #expect(try enc(["i64": .string("#-1")]) == "10 FF FF FF FF FF FF FF FF FF 01")  // lpb_tointegerx
        #expect(try enc(["u64": .string("#18446744073709551615")]) == "20 FF FF FF FF FF FF FF FF FF 01")
        #expect(try enc(["i32": .string("")]) == "")  // "" reads as 0 (skipped in proto3)
        #expect(protoError { try enc(["i32": .string("12abc")]) } == "number/'#number' expected for field 'i32', got string")
        #expect(protoError { try enc(["i32": .bool(true)]) } == "number/'#number' expected for field 'i32', got boolean")
        #expect(protoError { try enc(["i32": .null]) } == "number/'#number' expected for field 'i32', got userdata")
        #expect(protoError { try enc(["u64": .string("18446744073709551615")]) } == "number has no integer representation")
    }

    @Test func fixedAndFloats() throws {
        #expect(try enc(["f32": .integer(1)]) == "3D 01 00 00 00")
        #expect(try enc(["f64": .integer(258)]) == "41 02 01 00 00 00 00 00 00")
        #expect(try enc(["sf32": .integer(-2)]) == "4D FE FF FF FF")
        #expect(try enc(["sf64": .integer(-2)]) == "51 FE FF FF FF FF FF FF FF")
        #expect(try enc(["d": .number(1.5)]) == "71 00 00 00 00 00 00 F8 3F")
        #expect(try enc(["f": .number(1.5)]) == "7D 00 00 C0 3F")
        #expect(try enc(["d": .string("2")]) == "71 00 00 00 00 00 00 00 40")
        #expect(try enc(["d": .number(-0.0)]) == "71 00 00 00 00 00 00 00 80")  // not zero bits: written
        #expect(protoError { try enc(["d": .string("x")]) } == "number/'#number' expected for field 'd', got string")
    }

    @Test func boolsStringsEnums() throws {
        #expect(try enc(["b": .bool(true)]) == "58 01")
        #expect(try enc(["b": .null]) == "58 01")  // cjson.null is truthy
        #expect(try enc(["b": .integer(0)]) == "58 01")  // so is 0
        #expect(try enc(["s": .string("hi")]) == "62 02 68 69")
        #expect(try enc(["by": .string("\u{1}")]) == "6A 01 01")
        #expect(protoError { try enc(["s": .integer(5)]) } == "string expected for field 's', got number")
        #expect(try enc(["e": .string("E1")]) == "80 01 01")
        #expect(try enc(["e": .string("NEG")]) == "80 01 FF FF FF FF FF FF FF FF FF 01")
        #expect(try enc(["e": .integer(7)]) == "80 01 07")
        #expect(try enc(["e": .string("5")]) == "80 01 05")
        #expect(try enc(["e": .string("E0")]) == "")
        #expect(protoError { try enc(["e": .string("NOPE")]) } == "can not encode unknown enum 'NOPE' at field 'e'")
        #expect(protoError { try enc(["e": .bool(true)]) } == "number/string expected at enum field 'e', got boolean")
    }

    @Test func proto3ZeroSkipping() throws {
        let zeros: Object = [
            "i32": .integer(0), "i64": .integer(0), "u32": .integer(0), "s": .string(""), "b": .bool(false),
            "d": .number(0), "f": .integer(0), "e": .string("E0"), "ri": .array([]), "rs": .array([]),
            "m": .object([:]), "zzz": .integer(1),
        ]
        #expect(try enc(zeros) == "")
        // Messages are always written; oneof members (proto3 optional too) are not zero-skipped.
        #expect(try enc(["n": .object([:])]) == "AA 01 00")
        #expect(try enc(["n": .object(["x": .integer(0)])]) == "AA 01 00")
        #expect(try enc(["oi": .integer(0)]) == "B8 01 00")
        #expect(try enc(["oa": .integer(0)]) == "C0 01 00")
    }

    @Test func repeatedAndMaps() throws {
        #expect(try enc(["ri": .array([.integer(1), .integer(2), .integer(300)])]) == "8A 01 04 01 02 AC 02")
        #expect(try enc(["ri": .object(["1": .integer(5)])]) == "")  // an object has no elements 1...n
        #expect(try enc(["re": .array([.string("E1"), .integer(0)])]) == "D2 01 02 01 00")
        #expect(try enc(["rs": .array([.string("a"), .string("b")])]) == "92 01 01 61 92 01 01 62")
        #expect(try enc(["rn": .array([.object(["x": .integer(1)]), .object([:])])]) == "B2 01 02 08 01 B2 01 00")
        #expect(try enc(["m": .object(["a": .integer(1)])]) == "9A 01 05 0A 01 61 10 01")
        #expect(try enc(["m": .object(["": .integer(0)])]) == "9A 01 00")
        #expect(try enc(["mi": .object(["7": .string("x")])]) == "A2 01 05 08 07 12 01 78")
        #expect(try enc(["mi": .array([.string("x")])]) == "A2 01 05 08 01 12 01 78")  // key 1
        // A message value that encodes to nothing is left out of the entry (NoZero).
        #expect(try enc(["mn": .object(["k": .object([:])])]) == "DA 01 03 0A 01 6B")
        #expect(protoError { try enc(["ri": .integer(5)]) } == "table expected at field 'ri', got number")
        #expect(protoError { try enc(["m": .string("x")]) } == "table expected at field 'm', got string")
        #expect(protoError { try enc(["mi": .object(["x": .string("y")])]) } == "number/'#number' expected for field 'key', got string")
    }

    @Test func nestedAndTables() throws {
        #expect(try enc(["n": .object(["x": .integer(5)])]) == "AA 01 02 08 05")
        #expect(try enc(["n": .array([])]) == "AA 01 00")
        #expect(protoError { try enc(["n": .array([.integer(1)])]) } == "invalid key to 'next'")
        #expect(protoError { try enc(["n": .integer(5)]) } == "table expected at field 'n', got number")
        #expect(protoError { try enc(["n": .null]) } == "table expected at field 'n', got userdata")
        #expect(protoError { try schema.encode(.string("x"), as: ".t.S") } == "bad argument #2 to 'encode' (table expected, got string)")
        #expect(protoError { try schema.encode(.object([:]), as: ".t.Nope") } == "type '.t.Nope' does not exists")
        #expect(try schema.encode(.object(["x": .integer(1)]), as: "t.N") == [0x08, 0x01])
    }

    @Test func proto2WritesZeros() throws {
        #expect(hex(try p2.encode(.object(["a": .integer(0), "s": .string("")]), as: ".p.P")) == "08 00 12 00")
        #expect(hex(try p2.encode(.object(["r": .array([.integer(1), .integer(2)])]), as: ".p.P")) == "18 01 18 02")
        #expect(hex(try p2.encode(.object(["pk": .array([.integer(1), .integer(2)])]), as: ".p.P")) == "22 02 01 02")
        #expect(hex(try p2.encode(.object(["pk": .array([])]), as: ".p.P")) == "22 00")
        #expect(hex(try p2.encode(.object(["m": .object(["": .string("")])]), as: ".p.P")) == "32 00")
    }
}

@Suite struct ProtoDecoderTests {
    let schema = try! ProtoSchema.parse(source: scalarsProto, name: "t.proto")
    let p2 = try! ProtoSchema.parse(source: proto2Proto, name: "p.proto")

    static let defaults: Object = [
        "i32": .integer(0), "i64": .integer(0), "u32": .integer(0), "u64": .integer(0), "s32": .integer(0),
        "s64": .integer(0), "f32": .integer(0), "f64": .integer(0), "sf32": .integer(0), "sf64": .integer(0),
        "b": .bool(false), "s": .string(""), "by": .string(""), "d": .number(0), "f": .number(0),
        "e": .string("E0"), "ri": .array([]), "rs": .array([]), "m": .object([:]), "mi": .object([:]),
        "rn": .array([]), "re": .array([]), "mn": .object([:]),
    ]

    /// The decoded object as a dictionary (key order is checked separately).
    func dec(_ hexText: String, _ type: String = ".t.S") throws(ProtoError) -> [String: Value] {
        let object = try schema.decode(bytes(hexText), as: type).objectValue ?? [:]
        return Dictionary(uniqueKeysWithValues: object.map { ($0.key, $0.value) })
    }

    func with(_ changes: [String: Value]) -> [String: Value] {
        var object = Dictionary(uniqueKeysWithValues: Self.defaults.map { ($0.key, $0.value) })
        for (k, v) in changes { object[k] = v }
        return object
    }

    @Test func proto3Defaults() throws {
        let empty = try schema.decode([], as: ".t.S")
        #expect(empty == .object(Self.defaults))
        // Keys in field declaration order.
        #expect(Array(empty.objectValue!.keys) == [
            "i32", "i64", "u32", "u64", "s32", "s64", "f32", "f64", "sf32", "sf64", "b", "s", "by", "d", "f", "e",
            "ri", "rs", "m", "mi", "rn", "re", "mn",
        ])
        #expect(try dec("", ".t.N") == ["x": .integer(0)])
    }

    @Test func fieldOptionsQuirk() throws {
        // protoc.lua sets default_value = tostring(options.default): "nil" for a field with options
        // but no default, which pb then uses as the proto3 default (strings), or ignores.
        #expect(try schema.decode([], as: ".t.Q")
            == .object(["note": .string("nil"), "plain": .string(""), "dflt": .integer(42), "en": .string("E0")]))
    }

    @Test func proto2Defaults() throws {
        #expect(try p2.decode([], as: ".p.P") == .object(["r": .array([]), "pk": .array([]), "m": .object([:])]))
        #expect(try p2.decode([0x3A, 0x00], as: ".p.P")
            == .object(["r": .array([]), "pk": .array([]), "m": .object([:]), "child": .object(["r": .array([]), "pk": .array([]), "m": .object([:])])]))
    }

    @Test func scalars() throws {
        #expect(try dec("08 96 01") == with(["i32": .integer(150)]))
        #expect(try dec("08 FF FF FF FF FF FF FF FF FF 01") == with(["i32": .integer(-1)]))
        #expect(try dec("08 FF FF FF FF 0F") == with(["i32": .integer(-1)]))  // low 32 bits
        #expect(try dec("18 FF FF FF FF 0F") == with(["u32": .integer(4_294_967_295)]))
        #expect(try dec("28 03") == with(["s32": .integer(-2)]))
        #expect(try dec("30 03") == with(["s64": .integer(-2)]))
        #expect(try dec("10 80 80 80 80 80 80 80 80 10") == with(["i64": .number(1_152_921_504_606_846_976)]))
        // uint64 goes through an int64 in lpb_pushinteger: the maximum reads as -1.
        #expect(try dec("20 FF FF FF FF FF FF FF FF FF 01") == with(["u64": .integer(-1)]))
        #expect(try dec("3D 01 00 00 00 41 02 01 00 00 00 00 00 00") == with(["f32": .integer(1), "f64": .integer(258)]))
        #expect(try dec("4D FE FF FF FF 51 FE FF FF FF FF FF FF FF") == with(["sf32": .integer(-2), "sf64": .integer(-2)]))
        #expect(try dec("71 00 00 00 00 00 00 F8 3F 7D 00 00 C0 3F") == with(["d": .number(1.5), "f": .number(1.5)]))
        #expect(try dec("58 02 62 02 68 69 6A 01 01") == with(["b": .bool(true), "s": .string("hi"), "by": .string("\u{1}")]))
        #expect(try dec("80 01 01") == with(["e": .string("E1")]))
        #expect(try dec("80 01 FF FF FF FF FF FF FF FF FF 01") == with(["e": .string("NEG")]))
        #expect(try dec("80 01 09") == with(["e": .integer(9)]))  // unknown enum number
        #expect(try dec("08 01 08 02") == with(["i32": .integer(2)]))  // last wins
    }

    @Test func repeatedMapsNested() throws {
        // Packed and unpacked forms of the same repeated field accumulate.
        #expect(try dec("8A 01 03 01 02 03 88 01 04") == with(["ri": .array([.integer(1), .integer(2), .integer(3), .integer(4)])]))
        #expect(try dec("92 01 01 61 92 01 01 62") == with(["rs": .array([.string("a"), .string("b")])]))
        #expect(try dec("D2 01 02 01 05") == with(["re": .array([.string("E1"), .integer(5)])]))
        #expect(try dec("9A 01 05 0A 01 61 10 01 9A 01 03 0A 01 62") == with(["m": .object(["a": .integer(1), "b": .integer(0)])]))
        #expect(try dec("9A 01 00") == with(["m": .object(["": .integer(0)])]))
        #expect(try dec("A2 01 05 08 07 12 01 78") == with(["mi": .object(["7": .string("x")])]))
        // A missing message value takes the type's default table (no hooks).
        #expect(try dec("DA 01 03 0A 01 6B") == with(["mn": .object(["k": .object(["x": .integer(0)])])]))
        #expect(try dec("AA 01 02 08 05") == with(["n": .object(["x": .integer(5)])]))
        #expect(try dec("B2 01 02 08 01 B2 01 00") == with(["rn": .array([.object(["x": .integer(1)]), .object(["x": .integer(0)])])]))
    }

    @Test func oneofQuirk() throws {
        #expect(try dec("C0 01 05") == with(["oa": .integer(5), "o": .string("oa")]))
        // The oneof's key follows its field.
        let keys = Array(try schema.decode([0xC0, 0x01, 0x05], as: ".t.S").objectValue!.keys)
        #expect(keys.firstIndex(of: "o") == keys.firstIndex(of: "oa")! + 1)
        #expect(try dec("C0 01 05 CA 01 01 7A") == with(["oa": .integer(5), "ob": .string("z"), "o": .string("ob")]))
        #expect(try dec("B8 01 00") == with(["oi": .integer(0), "_oi": .string("oi")]))
    }

    @Test func unknownFieldsSkipped() throws {
        // Field 99 varint, 98 fixed64, 97 bytes, 96 fixed32, 95 group (with a nested field), then i32.
        let unknown = "98 06 96 01 91 06 01 02 03 04 05 06 07 08 8A 06 02 61 62 85 06 01 02 03 04 FB 05 08 01 FC 05 08 07"
        #expect(try dec(unknown) == with(["i32": .integer(7)]))
    }

    @Test func errors() {
        #expect(protoError { try dec("0A 01 00") }
            == "type mismatch for field 'i32' at offset 2, varint expected for type int32, got bytes")
        #expect(protoError { try dec("90 01 00") }
            == "type mismatch for repeated field 'rs' at offset 3, bytes expected for type string, got varint")
        #expect(protoError { try dec("9B 01") }
            == "type mismatch for repeated field 'm' at offset 3, bytes expected for type message, got gstart")
        #expect(protoError { try dec("08") } == "invalid varint value at offset 2")
        #expect(protoError { try dec("08 80") } == "invalid varint value at offset 2")
        #expect(protoError { try dec("3D 01 00") } == "invalid fixed32 value at offset 2")
        #expect(protoError { try dec("41 01") } == "invalid fixed64 value at offset 2")
        #expect(protoError { try dec("62 05 61") } == "unfinished bytes (len 5 at offset 3)")
        #expect(protoError { try dec("62") } == "invalid bytes length: 0 (at offset 2)")
        #expect(protoError { try dec("AA 01 02 08") } == "unfinished bytes (len 2 at offset 4)")
        #expect(protoError { try dec("AA 01 01 08") } == "invalid varint value at offset 5")
        #expect(protoError { try schema.decode([], as: ".t.Nope") } == "type '.t.Nope' does not exists")
    }

    @Test func nestingIsBounded() throws {
        let nested = try ProtoSchema.parse(
            source: "syntax = \"proto3\"; package r; message R { R inner = 1; int32 v = 2; }", name: "r.proto")
        /// `levels` messages, each the `inner` of the one around it.
        func bytes(_ levels: Int) -> [UInt8] {
            var message: [UInt8] = [0x10, 0x01]
            for _ in 1..<levels {
                var wrapped: [UInt8] = [0x0A]
                ProtoWire.appendVarint(UInt64(message.count), to: &wrapped)
                message = wrapped + message
            }
            return message
        }
        #expect(try nested.decode(bytes(ProtoDecoder.maxDepth), as: ".r.R").objectValue?["inner"] != nil)
        // A hostile answer nesting far deeper fails instead of exhausting the stack.
        #expect(throws: ProtoError.self) { try nested.decode(bytes(5_000), as: ".r.R") }
    }

    @Test func roundTrip() throws {
        let input: Object = [
            "i32": .integer(-5), "i64": .integer(1 << 40), "u32": .integer(7), "u64": .integer(9), "s32": .integer(-3),
            "s64": .integer(-300), "f32": .integer(11), "f64": .integer(12), "sf32": .integer(-13), "sf64": .integer(-14),
            "b": .bool(true), "s": .string("héllo"), "by": .string("raw"), "d": .number(2.25), "f": .number(-0.5),
            "e": .string("NEG"), "ri": .array([.integer(1), .integer(-1)]), "rs": .array([.string("x")]),
            "m": .object(["k": .integer(3)]), "mi": .object(["-4": .string("neg")]), "n": .object(["x": .integer(8)]),
            "rn": .array([.object(["x": .integer(1)])]), "re": .array([.string("E1")]), "mn": .object(["z": .object(["x": .integer(2)])]),
            "ob": .string("choice"),
        ]
        let decoded = try schema.decode(try schema.encode(.object(input), as: ".t.S"), as: ".t.S")
        var expected = input
        expected["o"] = .string("ob")
        #expect(decoded.objectValue.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.value) }) }
            == Dictionary(uniqueKeysWithValues: expected.map { ($0.key, $0.value) }))
    }
}
