import NIOCore

/// The few LDAP messages ldap-auth needs, in BER (RFC 4511 section 4, X.690).
enum BER {
    /// An LDAPResult: its code (0 is success) and diagnostic message.
    struct Response: Sendable, Equatable {
        var resultCode: Int
        var diagnostic: String
    }

    /// `LDAPMessage { messageID, bindRequest [APPLICATION 0] { version 3, name, simple [0] } }`.
    static func bindRequest(messageID: Int, who: String, password: String) -> ByteBuffer {
        let bind = tlv(0x60, tlv(0x02, [3]) + tlv(0x04, Array(who.utf8)) + tlv(0x80, Array(password.utf8)))
        return message(messageID, bind)
    }

    /// StartTLS: `extendedReq [APPLICATION 23] { requestName [0] 1.3.6.1.4.1.1466.20037 }`.
    static func startTLSRequest(messageID: Int) -> ByteBuffer {
        message(messageID, tlv(0x77, tlv(0x80, Array("1.3.6.1.4.1.1466.20037".utf8))))
    }

    private static func message(_ id: Int, _ operation: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: tlv(0x30, tlv(0x02, integer(id)) + operation))
    }

    /// A tag, its length (short or long form) and its contents.
    static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        let n = contents.count
        var length: [UInt8]
        if n < 0x80 {
            length = [UInt8(n)]
        } else {
            var bytes: [UInt8] = []
            var rest = n
            while rest > 0 {
                bytes.insert(UInt8(rest & 0xFF), at: 0)
                rest >>= 8
            }
            length = [0x80 | UInt8(bytes.count)] + bytes
        }
        return [tag] + length + contents
    }

    /// A non-negative INTEGER's contents.
    static func integer(_ value: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return bytes
    }

    /// Reads one whole LDAPMessage from the front of `buffer` (consuming it): nil when more
    /// bytes are needed; a failure when it is not an LDAPResult-bearing response.
    static func parseResponse(_ buffer: inout ByteBuffer) -> Result<Response, LDAPClient.Failure>? {
        var peek = buffer
        guard let (tag, contents) = readTLV(&peek) else { return nil }
        buffer = peek
        var message = contents
        guard tag == 0x30, let (idTag, _) = readTLV(&message), idTag == 0x02, let (_, operation) = readTLV(&message)
        else { return .failure(.init(description: "not an LDAP message")) }
        // Every response ldap-auth reads starts with an LDAPResult: resultCode, matchedDN,
        // diagnosticMessage.
        var result = operation
        guard let (codeTag, code) = readTLV(&result), codeTag == 0x0A, let (_, _) = readTLV(&result),
            let (_, diagnostic) = readTLV(&result)
        else { return .failure(.init(description: "not an LDAP result")) }
        let value = code.readableBytesView.reduce(0) { $0 << 8 | Int($1) }
        return .success(Response(resultCode: value, diagnostic: String(buffer: diagnostic)))
    }

    /// One tag-length-value; nil when incomplete (or a length form this reader does not take).
    static func readTLV(_ buffer: inout ByteBuffer) -> (UInt8, ByteBuffer)? {
        var b = buffer
        guard let tag = b.readInteger(as: UInt8.self), let first = b.readInteger(as: UInt8.self) else { return nil }
        var length = Int(first)
        if first & 0x80 != 0 {
            let count = Int(first & 0x7F)
            guard count > 0, count <= 4, let bytes = b.readBytes(length: count) else { return nil }
            length = bytes.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let contents = b.readSlice(length: length) else { return nil }
        buffer = b
        return (tag, contents)
    }
}
