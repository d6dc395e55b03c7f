import KGateSchema
import Testing

@testable import KGateProtobuf

@Suite struct TimestampHookTests {
    let schema = try! ProtoSchema.parse(source: scalarsProto, name: "t.proto")

    /// The bytes of TS{at = Timestamp{seconds, nanos}} as proto3 writes them.
    func tsBytes(_ seconds: Int64, _ nanos: Int64 = 0) -> [UInt8] {
        var inner: [UInt8] = []
        if seconds != 0 { inner += [0x08] + varint(seconds) }
        if nanos != 0 { inner += [0x10] + varint(nanos) }
        return [0x0A] + varint(UInt64(inner.count)) + inner
    }

    func encodeAt(_ text: String) throws(ProtoError) -> [UInt8] {
        try schema.encode(.object(["at": .string(text)]), as: ".t.TS")
    }

    @Test func encodeHook() throws {
        #expect(try encodeAt("2023-01-02T03:04:05Z") == tsBytes(1_672_628_645))
        #expect(try encodeAt("2023-01-02T03:04:05") == tsBytes(1_672_628_645))
        #expect(try encodeAt("2023-01-02 03:04:05") == tsBytes(1_672_628_645))
        #expect(try encodeAt("20230102T030405Z") == tsBytes(1_672_628_645))
        #expect(try encodeAt("1969-12-31T23:59:59") == tsBytes(-1))
        #expect(try encodeAt("2023-01-02T03:04:05.25Z") == tsBytes(1_672_628_645, 250_000_000))
        #expect(try encodeAt("2023-01-02T03:04:05,5") == tsBytes(1_672_628_645, 500_000_000))
        #expect(try encodeAt("2023-01-02T04:04:05+01:00") == tsBytes(1_672_628_645))
        #expect(try encodeAt("2023-01-02T04:04:05.25+01:00") == tsBytes(1_672_628_645, 250_000_000))
        #expect(try encodeAt("2023-01-02T01:34:05-0130") == tsBytes(1_672_628_645))
        #expect(try encodeAt("2023-01-02T04:04:05+01") == tsBytes(1_672_628_645))
        #expect(try encodeAt("2023-01-02T03:04Z") == tsBytes(1_672_628_640))
        #expect(try encodeAt("2023-01-02") == tsBytes(1_672_617_600))
        #expect(try encodeAt("2023-002") == tsBytes(1_672_617_600))  // ordinal date
        #expect(try encodeAt("2023-W01-1") == tsBytes(1_672_617_600))  // ISO week date: Monday 2 Jan
        #expect(try encodeAt("1970-01-01T00:00:00Z") == [0x0A, 0x00])
        // luadate's span is a double: the seconds of a time before 1970 with a fraction are
        // truncated toward zero, and the ticks are the fraction of the (floored) day.
        #expect(try encodeAt("1969-12-31T23:59:59.25") == tsBytes(0, 250_000_000))
        #expect(protoError { try encodeAt("yesterday") } == "invalid date: \"yesterday\"")
        #expect(protoError { try schema.encode(.object(["at": .integer(5)]), as: ".t.TS") } == "expected time string, got (number)\"5\"")
        #expect(try schema.encode(.object(["all": .array([.string("1970-01-01T00:00:01Z")])]), as: ".t.TS") == [0x12, 0x02, 0x08, 0x01])
        // The hook applies to the top-level type too.
        #expect(protoError { try schema.encode(.object([:]), as: ".google.protobuf.Timestamp") }?.hasPrefix("expected time string, got (table)") == true)
    }

    @Test func decodeHook() throws {
        #expect(try schema.decode(tsBytes(1_672_628_645, 999), as: ".t.TS") == .object(["at": .string("2023-01-02T03:04:05"), "all": .array([])]))
        #expect(try schema.decode(tsBytes(-1), as: ".t.TS") == .object(["at": .string("1969-12-31T23:59:59"), "all": .array([])]))
        #expect(try schema.decode([0x0A, 0x00], as: ".t.TS") == .object(["at": .string("1970-01-01T00:00:00"), "all": .array([])]))
        #expect(try schema.decode(tsBytes(-62_135_596_800), as: ".t.TS") == .object(["at": .string("0001-01-01T00:00:00"), "all": .array([])]))
        #expect(try schema.decode([0x08, 0x01], as: ".google.protobuf.Timestamp") == .string("1970-01-01T00:00:01"))
        #expect(try schema.decode([0x12, 0x02, 0x08, 0x3C], as: ".t.TS") == .object(["all": .array([.string("1970-01-01T00:01:00")])]))
    }

    @Test func roundTrips() throws {
        for text in ["2000-02-29T12:00:00", "1900-03-01T00:00:01", "2038-01-19T03:14:08", "1969-07-20T20:17:40"] {
            let bytes = try encodeAt(text + "Z")
            #expect(try schema.decode(bytes, as: ".t.TS").objectValue?["at"] == .string(text))
        }
    }
}

@Suite struct LuaNumberTests {
    @Test func luajitScan() {
        #expect(Lua.scan("12") == 12)
        #expect(Lua.scan(" 0x1A ") == 26)
        #expect(Lua.scan("-0x10") == -16)
        #expect(Lua.scan("1e2") == 100)
        #expect(Lua.scan(".5") == 0.5)
        #expect(Lua.scan("5.") == 5)
        #expect(Lua.scan("0x1p4") == 16)
        #expect(Lua.scan("0b101") == 5)
        #expect(Lua.scan("inf") == .infinity)
        #expect(Lua.scan("-Infinity") == -.infinity)
        #expect(Lua.scan("nan")?.isNaN == true)
        for bad in ["", " ", "abc", "1.5x", "1e", "0x", "1..2", "12abc", "--1", "1 2"] {
            #expect(Lua.scan(bad) == nil, "\(bad)")
        }
    }

    @Test func lpbToInteger() throws {
        #expect(try Lua.tointeger(.string("#-1")) == UInt64.max)
        #expect(try Lua.tointeger(.string("-#0x10")) == UInt64(bitPattern: -16))
        #expect(try Lua.tointeger(.string("")) == 0)
        #expect(try Lua.tointeger(.string("1x")) == nil)
        #expect(try Lua.tointeger(.number(-2.7)) == UInt64(bitPattern: -2))
        #expect(try Lua.tointeger(.bool(true)) == nil)
        #expect(Lua.format(1e20) == "1e+20")
        #expect(Lua.format(3) == "3")
    }
}
