#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1

/// Where one header field sits in a head buffer (offsets from the buffer's start).
struct HeaderField: Sendable {
    var nameStart: Int32
    var nameLength: Int32
    var valueStart: Int32
    var valueLength: Int32

    /// Whether the line had no colon (nginx takes it as a header with an empty value, and
    /// sends it on as `name: `).
    var isBare: Bool { valueStart == nameStart + nameLength }
}

/// A parsed HTTP/1.x message head: its bytes, kept as received, and the positions of its parts.
/// Nothing is copied out of the buffer until a value is asked for as a `String`.
struct MessageHead: Sendable {
    /// The head's bytes, from the start line to the blank line, reader index 0.
    var buffer: ByteBuffer
    /// Header fields in order.
    var fields: [HeaderField]
    /// `HTTP/1.0` or `HTTP/1.1`.
    var version: HTTPVersion
    /// Requests: the method; responses: unused.
    var method: HTTPMethod
    /// Requests: the request target's position.
    var targetStart: Int
    var targetLength: Int
    /// Requests: the host of an absolute-form target (`GET http://host/path`), which nginx
    /// takes as the request's host (`$host`) over the `Host` header; empty otherwise.
    var uriHostStart: Int
    var uriHostLength: Int
    /// Responses: the status code.
    var status: Int
    /// Responses: the reason phrase's position (may be empty).
    var reasonStart: Int
    var reasonLength: Int

    /// An empty head that shares one empty buffer (made once): a cheap stand-in while a head
    /// is moved out of its owner.
    static let placeholder = MessageHead()

    init() {
        buffer = ByteBuffer()
        fields = []
        version = .http1_1
        method = .GET
        targetStart = 0
        targetLength = 0
        uriHostStart = 0
        uriHostLength = 0
        status = 0
        reasonStart = 0
        reasonLength = 0
    }

    /// The request target as a string.
    var target: String {
        buffer.getString(at: targetStart, length: targetLength) ?? ""
    }

    /// ``target``, or `previous` when it has the same bytes (see ``string(at:length:reusing:)``).
    func target(reusing previous: String?) -> String {
        string(at: targetStart, length: targetLength, reusing: previous)
    }

    /// A field's value, or `previous` when it has the same bytes.
    func value(_ field: HeaderField, reusing previous: String?) -> String {
        string(at: Int(field.valueStart), length: Int(field.valueLength), reusing: previous)
    }

    /// The bytes at `start` as a string, or `previous` when it has exactly these bytes: a
    /// keep-alive client sends the same `Host` (and often the same target) on every request, and
    /// a long string costs an allocation to make (``RecentRequestStrings`` keeps only those).
    private func string(at start: Int, length: Int, reusing previous: String?) -> String {
        if length > 0, let previous, previous.utf8.count == length {
            let same: Bool? = buffer.withUnsafeReadableBytes { raw in
                previous.utf8.withContiguousStorageIfAvailable { p in
                    memcmp(raw.baseAddress! + start, p.baseAddress!, length) == 0
                }
            }
            if same == true { return previous }
        }
        return buffer.getString(at: start, length: length) ?? ""
    }

    /// The host of an absolute-form target, lower-cased as nginx's `$host`; nil for a path.
    var uriHost: String? {
        guard uriHostLength > 0 else { return nil }
        return buffer.getString(at: uriHostStart, length: uriHostLength)?.lowercased()
    }

    /// The name of a field as sent.
    func name(_ field: HeaderField) -> String {
        buffer.getString(at: Int(field.nameStart), length: Int(field.nameLength)) ?? ""
    }

    /// The value of a field (without surrounding whitespace).
    func value(_ field: HeaderField) -> String {
        buffer.getString(at: Int(field.valueStart), length: Int(field.valueLength)) ?? ""
    }

    /// Whether a field's name equals a lower-case name, ASCII case-insensitively.
    @inline(__always)
    func nameEquals(_ field: HeaderField, _ lower: StaticString) -> Bool {
        guard Int(field.nameLength) == lower.utf8CodeUnitCount else { return false }
        return buffer.withUnsafeReadableBytes { raw in
            lower.withUTF8Buffer { l in
                let base = Int(field.nameStart)
                for i in 0..<l.count where raw[base + i] | Self.caseBit(raw[base + i]) != l[i] { return false }
                return true
            }
        }
    }

    /// The first value of a header (case-insensitive name), as a string.
    func firstValue(_ lower: StaticString) -> String? {
        for field in fields where nameEquals(field, lower) { return value(field) }
        return nil
    }

    /// All header fields as `(name, value)` strings (for plugins and tests).
    var headerPairs: [(String, String)] { fields.map { (name($0), value($0)) } }

    /// Whether the value of a field, split on commas, contains a token (case-insensitive).
    func valueContainsToken(_ field: HeaderField, _ lower: StaticString) -> Bool {
        buffer.withUnsafeReadableBytes { raw in
            let start = Int(field.valueStart)
            let end = start + Int(field.valueLength)
            var i = start
            while i < end {
                while i < end, raw[i] == 0x20 || raw[i] == 0x09 || raw[i] == 0x2C { i += 1 }
                var j = i
                while j < end, raw[j] != 0x2C { j += 1 }
                var k = j
                while k > i, raw[k - 1] == 0x20 || raw[k - 1] == 0x09 { k -= 1 }
                if Self.equalsLower(raw, i, k - i, lower) { return true }
                i = j + 1
            }
            return false
        }
    }

    /// Whether the whole value of a field equals a lower-case literal, case-insensitively.
    func valueEquals(_ field: HeaderField, _ lower: StaticString) -> Bool {
        buffer.withUnsafeReadableBytes { raw in
            Self.equalsLower(raw, Int(field.valueStart), Int(field.valueLength), lower)
        }
    }

    @inline(__always)
    static func caseBit(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? 0x20 : 0 }

    static func equalsLower(_ raw: UnsafeRawBufferPointer, _ start: Int, _ length: Int, _ lower: StaticString) -> Bool {
        guard length == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { l in
            for i in 0..<length where raw[start + i] | caseBit(raw[start + i]) != l[i] { return false }
            return true
        }
    }

    /// The whole head as NIO's request head (for plugins).
    var requestHead: HTTPRequestHead {
        var headers = HTTPHeaders()
        for field in fields { headers.add(name: name(field), value: value(field)) }
        return HTTPRequestHead(version: version, method: method, uri: target, headers: headers)
    }
}
