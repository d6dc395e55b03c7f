import KGateProtobuf

/// A writer of protobuf (proto3) wire format, for the few messages kgate sends (OTLP).
///
/// The plain methods always write their field (as proto3 does for `oneof` members and
/// embedded messages); the `…IfSet` ones write nothing for nil or the type's default (zero,
/// empty, false), as proto3 does for scalar fields. Fields go out in the order written.
struct ProtobufWriter {
    /// The wire types used (`VARINT`, `I64`, `LEN`, `I32`).
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// What has been written.
    private(set) var output: [UInt8] = []

    /// An empty writer.
    init() {}

    /// A base-128 varint, low groups first.
    mutating func writeVarint(_ value: UInt64) { ProtoWire.appendVarint(value, to: &output) }

    /// A field's key: its number and wire type.
    mutating func writeTag(_ field: Int, _ wireType: WireType) { ProtoWire.appendTag(field, wireType.rawValue, to: &output) }

    /// A `uint64`/`uint32` field.
    mutating func varint(_ field: Int, _ value: UInt64) {
        writeTag(field, .varint)
        writeVarint(value)
    }

    /// An `int64`/`int32`/enum field (a negative value takes ten bytes, two's complement).
    mutating func int64(_ field: Int, _ value: Int64) {
        varint(field, UInt64(bitPattern: value))
    }

    /// A `bool` field.
    mutating func bool(_ field: Int, _ value: Bool) {
        varint(field, value ? 1 : 0)
    }

    /// A `fixed64` field, little-endian.
    mutating func fixed64(_ field: Int, _ value: UInt64) {
        writeTag(field, .fixed64)
        ProtoWire.appendFixed(value, bytes: 8, to: &output)
    }

    /// A `fixed32` field, little-endian.
    mutating func fixed32(_ field: Int, _ value: UInt32) {
        writeTag(field, .fixed32)
        ProtoWire.appendFixed(UInt64(value), bytes: 4, to: &output)
    }

    /// A `double` field: its IEEE 754 bits as a fixed64.
    mutating func double(_ field: Int, _ value: Double) {
        fixed64(field, value.bitPattern)
    }

    /// A `bytes` field.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        output.append(contentsOf: value)
    }

    /// A `string` field, UTF-8.
    mutating func string(_ field: Int, _ value: String) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.utf8.count))
        output.append(contentsOf: value.utf8)
    }

    /// An embedded message field: `body` writes the message into a writer of its own.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        bytes(field, nested.output)
    }

    /// An `int64`/`int32`/enum scalar field, omitted when nil or 0.
    mutating func int64IfSet(_ field: Int, _ value: Int64?) {
        if let value, value != 0 { int64(field, value) }
    }

    /// A `bool` scalar field, omitted when nil or false.
    mutating func boolIfSet(_ field: Int, _ value: Bool?) {
        if value == true { bool(field, true) }
    }

    /// A `fixed64` scalar field, omitted when nil or 0.
    mutating func fixed64IfSet(_ field: Int, _ value: UInt64?) {
        if let value, value != 0 { fixed64(field, value) }
    }

    /// A `fixed32` scalar field, omitted when nil or 0.
    mutating func fixed32IfSet(_ field: Int, _ value: UInt32?) {
        if let value, value != 0 { fixed32(field, value) }
    }

    /// A `bytes` scalar field, omitted when nil or empty.
    mutating func bytesIfSet(_ field: Int, _ value: [UInt8]?) {
        if let value, !value.isEmpty { bytes(field, value) }
    }

    /// A `string` scalar field, omitted when nil or empty.
    mutating func stringIfSet(_ field: Int, _ value: String?) {
        if let value, !value.isEmpty { string(field, value) }
    }
}
