/// Protobuf's wire format at the byte level, shared by the message encoder and kgate's
/// hand-written messages (OTLP).
public enum ProtoWire {
    /// A base-128 varint, low groups first.
    public static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    /// A field's key: its number and wire type (0 varint, 1 64-bit, 2 length-delimited, 5 32-bit).
    public static func appendTag(_ number: Int, _ wireType: UInt64, to out: inout [UInt8]) {
        appendVarint(UInt64(truncatingIfNeeded: number) << 3 | wireType, to: &out)
    }

    /// The low `bytes` bytes of `value`, little-endian (fixed32 and fixed64).
    public static func appendFixed(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}
