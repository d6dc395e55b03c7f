#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
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
        var fields: [HTTPFields.Field] = []
        // Room for the few fields plugins usually add (auth plugins' X-Consumer-*), so adding
        // them does not grow the array.
        fields.reserveCapacity(head.fields.count + 4)
        for field in head.fields { fields.append(HTTPFields.Field(name: head.name(field), value: head.value(field))) }
        return HTTPFields(fields: fields)
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
        guard HeadParser.parseRequest(out, into: &head, dropsInvalidHeaders: false) == nil else { return nil }
        return head
    }

    /// The fields plugins appended to a request's when they changed nothing else (auth
    /// plugins' `X-Consumer-*`): the first fields are the head's, byte for byte, and none of the
    /// others is a field the proxy manages (`Host`, framing, hop-by-hop, forwarding headers) or
    /// cannot send. Nil otherwise: then the head is rebuilt.
    static func addedFields(_ fields: HTTPFields, after head: borrowing MessageHead) -> ArraySlice<HTTPFields.Field>? {
        let original = head.fields.count
        guard fields.count > original else { return nil }
        let unchanged = head.buffer.withUnsafeReadableBytes { raw -> Bool in
            for i in 0..<original {
                let field = head.fields[i]
                let given = fields.fields[i]
                guard equal(raw, Int(field.nameStart), Int(field.nameLength), given.name),
                    equal(raw, Int(field.valueStart), Int(field.valueLength), given.value)
                else { return false }
            }
            return true
        }
        guard unchanged else { return nil }
        let added = fields.fields[original...]
        for i in added.indices where !isSendable(name: added[i].name, value: added[i].value) || KnownHeader.classify(name: added[i].name) != nil {
            return nil
        }
        return added
    }

    private static func equal(_ raw: UnsafeRawBufferPointer, _ start: Int, _ length: Int, _ text: String) -> Bool {
        guard text.utf8.count == length else { return false }
        // Read in place (native strings are contiguous): no copy of the string.
        return text.utf8.withContiguousStorageIfAvailable { u in
            length == 0 || memcmp(raw.baseAddress! + start, u.baseAddress!, length) == 0
        } ?? raw[start..<(start + length)].elementsEqual(text.utf8)
    }

    /// Writes a response head with the status and fields plugins left; the framing fields
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) are always the ones the proxy chose,
    /// taken from `original`, since the body is framed by them.
    ///
    /// With `contentLength`, the body's length replaces the original `Content-Length` and
    /// `Transfer-Encoding` (a buffered body); with `omitsLength`, neither is sent (nginx's 304);
    /// with `chunks`, `Transfer-Encoding: chunked` replaces the original `Content-Length` (a
    /// plugin removed it to change the body in `body_filter`).
    static func writeResponseHead(
        status: Int, fields: HTTPFields, original: borrowing MessageHead, contentLength: Int? = nil,
        omitsLength: Bool = false, chunks: Bool = false, into out: inout ByteBuffer
    ) {
        out.clear()
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(status))
        out.writeStaticString(" ")
        if status == original.status, original.reasonLength > 0 {
            out.writeImmutableBuffer(original.buffer.getSlice(at: original.reasonStart, length: original.reasonLength)!)
        } else {
            out.writeString(StatusLine.reason(status))
        }
        out.writeStaticString("\r\n")
        for field in fields where isSendable(field) && !isFraming(field.name) {
            write(field, into: &out)
        }
        if let contentLength {
            out.writeStaticString("Content-Length: ")
            out.writeString(String(contentLength))
            out.writeStaticString("\r\n")
        }
        if chunks { out.writeStaticString("Transfer-Encoding: chunked\r\n") }
        for field in original.fields where isFraming(original.name(field)) {
            if contentLength != nil || omitsLength, !HTTPFields.sameName(original.name(field), "connection") { continue }
            if chunks, HTTPFields.sameName(original.name(field), "content-length") { continue }
            let start = Int(field.nameStart)
            out.writeImmutableBuffer(
                original.buffer.getSlice(at: start, length: Int(field.valueStart) + Int(field.valueLength) - start)!)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
    }

    /// Applies header changes recorded before the response existed straight onto a response
    /// head's bytes, when none of them names a field the head already has (the usual case:
    /// rate-limiting's `X-RateLimit-*`). Returns false, leaving `head` as it was, when one does:
    /// then precedence between the two needs the full `header_filter` path.
    ///
    /// - Parameters:
    ///   - upstream: the upstream response head `head` was made from: its fields and the
    ///     headers kgate adds are what `head` can hold, so no parse is needed. Nil for a
    ///     generated response, whose head is parsed into `scratch` (a reusable parse target).
    static func appendEdits(
        _ edits: [HeaderEdit], to head: inout ByteBuffer, upstream: MessageHead?, scratch: inout MessageHead
    ) -> Bool {
        let scan: EditsScan
        if let upstream {
            scan = Self.scan(edits, against: upstream, orKgateFields: true)
        } else {
            let parsed = HeadParser.parseResponse(head, into: &scratch) == nil
            scan = parsed ? Self.scan(edits, against: scratch, orKgateFields: false) : .clash
            // Drop the parse's reference before writing, so the head's storage is not copied.
            scratch.buffer = ByteBuffer()
        }
        switch scan {
        case .clash: return false
        case .replay: return replay(edits, beforeEndOf: &head)
        case .append(let bound):
            // The usual case, `set`s of distinct names, is read in place (no array of the lines).
            head.moveWriterIndex(to: head.writerIndex - 2)
            head.writeHead(bound: bound) { w in
                for edit in edits {
                    guard case .set(let name, let value) = edit, isSendable(name: name, value: value) else { continue }
                    w.write(name)
                    w.write(": ")
                    w.write(value)
                    w.write("\r\n")
                }
                w.write("\r\n")
            }
            return true
        }
    }

    /// What ``appendEdits(_:to:upstream:scratch:)`` can do with a list of edits.
    private enum EditsScan {
        /// An edit names a field of the head (or one kgate adds): the full `header_filter` path.
        case clash
        /// Edits that are not all `set`s of distinct names: replayed.
        case replay
        /// `set`s of distinct names, their lines at most `bound` bytes.
        case append(bound: Int)
    }

    /// One pass over the edits: each name is checked against the head, and compared with the
    /// earlier names only when their lengths are equal (kept aside, so earlier edits are not
    /// read again).
    private static func scan(_ edits: [HeaderEdit], against head: borrowing MessageHead, orKgateFields: Bool) -> EditsScan {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: edits.count) { lengths -> EditsScan in
            var bound = 2
            var replays = false
            for i in edits.indices {
                let name: String
                var valueLength = 0
                switch edits[i] {
                case .set(let n, let v):
                    name = n
                    valueLength = v.utf8.count
                case .add(let n, _), .remove(let n):
                    name = n
                    replays = true
                }
                let length = name.utf8.count
                if contains(head, name) || (orKgateFields && addedByKgate(name)) { return .clash }
                lengths[i] = length
                guard !replays else { continue }
                for j in 0..<i where lengths[j] == length {
                    if case .set(let earlier, _) = edits[j], HTTPFields.sameName(earlier, name) { replays = true }
                }
                bound += length + valueLength + 4
            }
            return replays ? .replay : .append(bound: bound)
        }
    }

    /// Edits that touch one name more than once (or add and remove): replayed in order, then
    /// appended.
    private static func replay(_ edits: [HeaderEdit], beforeEndOf head: inout ByteBuffer) -> Bool {
        var fields = HTTPFields()
        fields.apply(edits)
        return write(fields.fields[...], beforeEndOf: &head)
    }

    /// Appends fields before a head's blank line (those that can go on the wire).
    @discardableResult
    static func write(_ fields: ArraySlice<HTTPFields.Field>, beforeEndOf head: inout ByteBuffer) -> Bool {
        head.moveWriterIndex(to: head.writerIndex - 2)
        for field in fields where isSendable(field) { write(field, into: &head) }
        head.writeStaticString("\r\n")
        return true
    }

    /// Names of the fields `DownstreamResponseHead` may add to an upstream response's head, by
    /// length (only names of the same length are compared).
    private static let kgateFields: [[String]] = {
        let names = [
            "date", "connection", "transfer-encoding", "content-length", "via", "server", "x-kong-upstream-latency",
            "x-kong-proxy-latency", "x-kong-request-id", "x-kong-upstream-status", "x-kong-response-latency",
        ]
        var byLength = [[String]](repeating: [], count: names.map(\.utf8.count).max()! + 1)
        for name in names { byLength[name.utf8.count].append(name) }
        return byLength
    }()

    /// Whether kgate may add a field of that name to an upstream response (names are indexed
    /// by length: one array read, no hashing, per plugin header).
    static func addedByKgate(_ name: String) -> Bool {
        let length = name.utf8.count
        guard length < kgateFields.count else { return false }
        return kgateFields[length].contains { HTTPFields.sameName($0, name) }
    }

    /// Whether a head has a field of that name (ASCII case-insensitive, `-` equal to `_`: looser
    /// than ``HTTPFields``, which tells `-` from `_`, so no clash is missed).
    static func contains(_ head: borrowing MessageHead, _ name: String) -> Bool {
        let length = name.utf8.count
        // Most names have no field of their length: then neither string is read.
        guard head.fields.contains(where: { Int($0.nameLength) == length }) else { return false }
        let fields = head.fields
        return head.buffer.withUnsafeReadableBytes { raw in
            name.utf8.withContiguousStorageIfAvailable { has(fields, in: raw, named: $0) }
                ?? has(fields, in: raw, named: Array(name.utf8))
        }
    }

    private static func has(_ fields: [HeaderField], in raw: UnsafeRawBufferPointer, named n: some Collection<UInt8>) -> Bool {
        let length = n.count
        for field in fields where Int(field.nameLength) == length {
            let start = Int(field.nameStart)
            if zip(raw[start..<(start + length)], n).allSatisfy({ sameByte($0, $1) }) { return true }
        }
        return false
    }

    @inline(__always)
    private static func sameByte(_ a: UInt8, _ b: UInt8) -> Bool {
        if a == b { return true }
        func fold(_ c: UInt8) -> UInt8 { c == UInt8(ascii: "_") ? UInt8(ascii: "-") : (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) }
        return fold(a) == fold(b)
    }

    /// Splits a rendered response (head and body in one buffer) after the head's blank line.
    static func splitHead(_ bytes: ByteBuffer) -> (head: ByteBuffer, body: ByteBuffer)? {
        guard let end = headLength(bytes) else { return nil }
        return (bytes.getSlice(at: bytes.readerIndex, length: end)!,
                bytes.getSlice(at: bytes.readerIndex + end, length: bytes.readableBytes - end)!)
    }

    /// The length of the head at the start of `bytes`, through its blank line; nil without one.
    static func headLength(_ bytes: ByteBuffer) -> Int? {
        bytes.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 4 else { return nil }
            for i in 0...(raw.count - 4)
            where raw[i] == 0x0D && raw[i + 1] == 0x0A && raw[i + 2] == 0x0D && raw[i + 3] == 0x0A {
                return i + 4
            }
            return nil
        }
    }

    private static func write(_ field: HTTPFields.Field, into out: inout ByteBuffer) {
        out.writeString(field.name)
        out.writeStaticString(": ")
        out.writeString(field.value)
        out.writeStaticString("\r\n")
    }

    /// A field that can go on the wire as one header line.
    static func isSendable(_ field: HTTPFields.Field) -> Bool {
        isSendable(name: field.name, value: field.value)
    }

    /// A name and value that can go on the wire as one header line.
    static func isSendable(name: String, value: String) -> Bool {
        // Read in place (native strings are contiguous): no copy of either string.
        let token = name.utf8.withContiguousStorageIfAvailable(isToken) ?? isToken(Array(name.utf8))
        return token && !(value.utf8.withContiguousStorageIfAvailable(hasLineBreakOrNUL) ?? hasLineBreakOrNUL(Array(value.utf8)))
    }

    /// Every byte is an RFC 9110 token character (and there is one).
    @inline(__always)
    private static func isToken(_ bytes: some Collection<UInt8>) -> Bool {
        let low = tokenLow
        let high = tokenHigh
        for b in bytes {
            let token = b < 64 ? low & (1 << UInt64(b)) != 0 : b < 128 && high & (1 << UInt64(b &- 64)) != 0
            if !token { return false }
        }
        return !bytes.isEmpty
    }

    /// Whether a value holds CR, LF or NUL (one comparison per byte in the usual case).
    @inline(__always)
    private static func hasLineBreakOrNUL(_ bytes: some Collection<UInt8>) -> Bool {
        for b in bytes where b <= 0x0D && (b == 0x0D || b == 0x0A || b == 0) { return true }
        return false
    }

    /// RFC 9110 token characters as a 128-bit set.
    private static let tokenLow: UInt64 = {
        var bits: UInt64 = 0
        for b in 0..<64 where HeadParser.token[b] { bits |= 1 << UInt64(b) }
        return bits
    }()
    private static let tokenHigh: UInt64 = {
        var bits: UInt64 = 0
        for b in 64..<128 where HeadParser.token[b] { bits |= 1 << UInt64(b - 64) }
        return bits
    }()


    /// `Content-Length`, `Transfer-Encoding` or `Connection`.
    static func isFraming(_ name: String) -> Bool {
        HTTPFields.sameName(name, "content-length") || HTTPFields.sameName(name, "transfer-encoding")
            || HTTPFields.sameName(name, "connection")
    }
}
