import KGatePlugins
import NIOCore
import NIOHTTP1

/// Conversions between the proxy's byte-level heads and the plugins' ``HTTPFields``, paid only
/// by requests whose plugins read or change headers.
///
/// Heads rebuilt from plugin fields are parsed again by `HeadParser`, so they obey the same
/// rules as heads read from the network; a field a plugin set that could not be sent (a name
/// that is not a token, a value with CR, LF or NUL) is dropped rather than let it split the head.
enum PluginHeads {
    /// The fields of a head, in order, as plugins see them.
    static func fields(of head: borrowing MessageHead) -> HTTPFields {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(head.fields.count)
        for field in head.fields { pairs.append((head.name(field), head.value(field))) }
        return HTTPFields(pairs)
    }

    /// A request head holding the fields plugins left, for `UpstreamRequestHead` (which writes
    /// its own request line and Kong's headers). `bodyLength` replaces the body framing when
    /// plugins replaced the body. Nil when the result does not parse.
    static func requestHead(_ fields: HTTPFields, bodyLength: Int?, allocator: ByteBufferAllocator) -> MessageHead? {
        var out = allocator.buffer(capacity: 256 + fields.count * 32)
        out.writeStaticString("GET / HTTP/1.1\r\n")
        for field in fields where isSendable(field) {
            if bodyLength != nil, isFraming(field.name) { continue }
            write(field, into: &out)
        }
        if let bodyLength {
            out.writeStaticString("Content-Length: ")
            out.writeString(String(bodyLength))
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
        var head = MessageHead()
        guard HeadParser.parseRequest(out, into: &head) == nil else { return nil }
        return head
    }

    /// Writes a response head with the status and fields plugins left; the framing fields
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) are always the ones the proxy chose,
    /// taken from `original`, since the body is framed by them.
    static func writeResponseHead(
        status: Int, fields: HTTPFields, original: borrowing MessageHead, into out: inout ByteBuffer
    ) {
        out.clear()
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(status))
        out.writeStaticString(" ")
        if status == original.status, original.reasonLength > 0 {
            out.writeImmutableBuffer(original.buffer.getSlice(at: original.reasonStart, length: original.reasonLength)!)
        } else {
            out.writeString(HTTPResponseStatus(statusCode: status).reasonPhrase)
        }
        out.writeStaticString("\r\n")
        for field in fields where isSendable(field) && !isFraming(field.name) {
            write(field, into: &out)
        }
        for field in original.fields where isFraming(original.name(field)) {
            let start = Int(field.nameStart)
            out.writeImmutableBuffer(
                original.buffer.getSlice(at: start, length: Int(field.valueStart) + Int(field.valueLength) - start)!)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
    }

    /// Splits a rendered response (head and body in one buffer) after the head's blank line.
    static func splitHead(_ bytes: ByteBuffer) -> (head: ByteBuffer, body: ByteBuffer)? {
        let end = bytes.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 4 else { return nil }
            for i in 0...(raw.count - 4)
            where raw[i] == 0x0D && raw[i + 1] == 0x0A && raw[i + 2] == 0x0D && raw[i + 3] == 0x0A {
                return i + 4
            }
            return nil
        }
        guard let end else { return nil }
        return (bytes.getSlice(at: bytes.readerIndex, length: end)!,
                bytes.getSlice(at: bytes.readerIndex + end, length: bytes.readableBytes - end)!)
    }

    private static func write(_ field: HTTPFields.Field, into out: inout ByteBuffer) {
        out.writeString(field.name)
        out.writeStaticString(": ")
        out.writeString(field.value)
        out.writeStaticString("\r\n")
    }

    /// A field that can go on the wire as one header line.
    static func isSendable(_ field: HTTPFields.Field) -> Bool {
        !field.name.utf8.isEmpty && field.name.utf8.allSatisfy { HeadParser.token[Int($0)] }
            && !field.value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }

    /// `Content-Length`, `Transfer-Encoding` or `Connection`.
    static func isFraming(_ name: String) -> Bool {
        HTTPFields.sameName(name, "content-length") || HTTPFields.sameName(name, "transfer-encoding")
            || HTTPFields.sameName(name, "connection")
    }
}
