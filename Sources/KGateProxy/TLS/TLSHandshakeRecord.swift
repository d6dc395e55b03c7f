import NIOCore

/// The first handshake message of a TLS stream, as the hello readers see it: in the first
/// record (RFC 8446 5.1), its type and 3-byte length (4), then its body.
enum TLSHandshakeRecord {
    enum Read {
        /// More bytes are needed.
        case incomplete
        /// Not a handshake record, or not a message of the type asked for.
        case other
        /// The message's body.
        case message(ByteBuffer)
    }

    /// The body of the handshake message of `type` (1 ClientHello, 2 ServerHello) at the start
    /// of `bytes`.
    static func message(_ bytes: ByteBuffer, type: UInt8) -> Read {
        var b = bytes
        guard let recordType = b.readInteger(as: UInt8.self) else { return .incomplete }
        guard recordType == 22 else { return .other }
        guard b.readInteger(as: UInt16.self) != nil, let recordLength = b.readInteger(as: UInt16.self) else {
            return .incomplete
        }
        guard var record = b.readSlice(length: Int(recordLength)) else { return .incomplete }
        guard record.readInteger(as: UInt8.self) == type, let high = record.readInteger(as: UInt8.self),
            let low = record.readInteger(as: UInt16.self), let body = record.readSlice(length: Int(high) << 16 | Int(low))
        else { return .other }
        return .message(body)
    }

    /// Calls `visit` with each extension's type and body of a hello's extensions block (the
    /// rest of `hello`, after its fixed fields).
    static func forEachExtension(in hello: inout ByteBuffer, _ visit: (UInt16, inout ByteBuffer) -> Void) {
        guard let length = hello.readInteger(as: UInt16.self), var extensions = hello.readSlice(length: Int(length)) else { return }
        while let type = extensions.readInteger(as: UInt16.self), let length = extensions.readInteger(as: UInt16.self),
            var body = extensions.readSlice(length: Int(length))
        {
            visit(type, &body)
        }
    }
}
