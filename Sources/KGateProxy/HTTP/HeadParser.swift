#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1

/// Why a head was refused.
enum HeadError: Error, Equatable {
    /// Malformed request line or header (400).
    case badRequest
    /// Request line longer than `large_client_header_buffers` (414).
    case uriTooLong
    /// A header line or the whole head too large (nginx's 494, answered as 400).
    case headerTooLarge
    /// `HTTP/2.0` and later on an HTTP/1 connection (505).
    case versionNotSupported
    /// A malformed upstream response head (502).
    case badResponse
}

/// Finds where a head ends in bytes that arrive piecemeal, enforcing nginx's limits on the way
/// (`large_client_header_buffers`: each line, the request line included, at most `lineLimit`;
/// the head at most `headLimit`). Resumes where it stopped, so a head split over many reads is
/// scanned once.
struct HeadScanner {
    let lineLimit: Int
    let headLimit: Int
    /// Requests skip empty lines before the request line (RFC 9112 §2.2).
    let skipsLeadingEmptyLines: Bool
    private var scanned = 0
    private var lineStart = 0
    private var headStart = 0
    private var firstLine = true

    enum Result: Equatable {
        case incomplete
        /// The head is `[start, start + length)` of the buffer's readable bytes (blank line
        /// included); `start` skips leading empty lines.
        case complete(start: Int, length: Int)
        case error(HeadError)
    }

    init(lineLimit: Int, headLimit: Int, skipsLeadingEmptyLines: Bool) {
        self.lineLimit = lineLimit
        self.headLimit = headLimit
        self.skipsLeadingEmptyLines = skipsLeadingEmptyLines
    }

    mutating func reset() {
        scanned = 0
        lineStart = 0
        headStart = 0
        firstLine = true
    }

    /// Scans the readable bytes of `buffer` (the same bytes as before plus new ones).
    mutating func scan(_ buffer: ByteBuffer) -> Result {
        let result = buffer.withUnsafeReadableBytes { raw -> Result in
            let count = raw.count
            while scanned < count {
                guard let base = raw.baseAddress,
                    let hit = memchr(base + scanned, 0x0A, count - scanned)
                else {
                    scanned = count
                    break
                }
                let lf = base.distance(to: UnsafeRawPointer(hit))
                var lineEnd = lf
                if lineEnd > lineStart, raw[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let length = lineEnd - lineStart
                scanned = lf + 1
                if length == 0 {
                    if firstLine {
                        guard skipsLeadingEmptyLines, lf < 16 else { return .error(.badRequest) }
                        lineStart = scanned
                        headStart = scanned
                        continue
                    }
                    return .complete(start: headStart, length: scanned - headStart)
                }
                if length > lineLimit { return .error(firstLine && skipsLeadingEmptyLines ? .uriTooLong : .headerTooLarge) }
                if scanned - headStart > headLimit { return .error(.headerTooLarge) }
                firstLine = false
                lineStart = scanned
            }
            if count - lineStart > lineLimit {
                return .error(firstLine && skipsLeadingEmptyLines ? .uriTooLong : .headerTooLarge)
            }
            if count - headStart > headLimit { return .error(.headerTooLarge) }
            return .incomplete
        }
        if case .incomplete = result { return result }
        reset()
        return result
    }
}

/// Parses message heads found by `HeadScanner`, strictly: a request line of
/// `method SP target SP HTTP/1.x`, header lines `name: value` with a token name and no space
/// before the colon, no obsolete line folding, no NUL or bare CR in values.
enum HeadParser {
    /// Token characters (RFC 9110 §5.6.2).
    static let token: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = true }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] = true }
        return t
    }()

    @inline(__always)
    static func methodByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// Parses a request head (the exact head bytes) into `head`.
    static func parseRequest(_ bytes: ByteBuffer, into head: inout MessageHead) -> HeadError? {
        head.buffer = bytes
        head.fields.removeAll(keepingCapacity: true)
        return bytes.withUnsafeReadableBytes { raw -> HeadError? in
            var i = 0
            let n = raw.count
            // Method: nginx takes upper-case letters, `_` and `-` only.
            while i < n, methodByte(raw[i]) { i += 1 }
            guard i > 0, i < n, raw[i] == 0x20 else { return .badRequest }
            head.method = method(raw, length: i)
            while i < n, raw[i] == 0x20 { i += 1 }
            // Target.
            let targetStart = i
            while i < n, raw[i] > 0x20, raw[i] != 0x7F { i += 1 }
            guard i > targetStart, i < n, raw[i] == 0x20 else { return .badRequest }
            head.targetStart = targetStart
            head.targetLength = i - targetStart
            while i < n, raw[i] == 0x20 { i += 1 }
            // Version.
            guard i + 8 <= n, raw[i] == 0x48, raw[i + 1] == 0x54, raw[i + 2] == 0x54, raw[i + 3] == 0x50,
                raw[i + 4] == 0x2F, isDigit(raw[i + 5]), raw[i + 6] == 0x2E, isDigit(raw[i + 7])
            else { return .badRequest }
            let major = Int(raw[i + 5] - 0x30)
            let minor = Int(raw[i + 7] - 0x30)
            if major != 1 { return major == 0 ? .badRequest : .versionNotSupported }
            head.version = minor == 0 ? .http1_0 : .http1_1
            i += 8
            guard let next = lineEnd(raw, i) else { return .badRequest }
            return parseFields(raw, from: next, into: &head, error: .badRequest)
        }
    }

    /// Parses a response head (the exact head bytes) into `head`.
    static func parseResponse(_ bytes: ByteBuffer, into head: inout MessageHead) -> HeadError? {
        head.buffer = bytes
        head.fields.removeAll(keepingCapacity: true)
        return bytes.withUnsafeReadableBytes { raw -> HeadError? in
            let n = raw.count
            guard n >= 12, raw[0] == 0x48, raw[1] == 0x54, raw[2] == 0x54, raw[3] == 0x50, raw[4] == 0x2F,
                raw[5] == 0x31, raw[6] == 0x2E, isDigit(raw[7]), raw[8] == 0x20,
                isDigit(raw[9]), isDigit(raw[10]), isDigit(raw[11])
            else { return .badResponse }
            head.version = raw[7] == 0x30 ? .http1_0 : .http1_1
            head.status = Int(raw[9] - 0x30) * 100 + Int(raw[10] - 0x30) * 10 + Int(raw[11] - 0x30)
            var i = 12
            if i < n, raw[i] == 0x20 { i += 1 }
            let reasonStart = i
            while i < n, raw[i] != 0x0D, raw[i] != 0x0A {
                if raw[i] == 0 { return .badResponse }
                i += 1
            }
            head.reasonStart = reasonStart
            head.reasonLength = i - reasonStart
            guard let next = lineEnd(raw, i) else { return .badResponse }
            return parseFields(raw, from: next, into: &head, error: .badResponse)
        }
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// The index after the line terminator at `i` (CRLF or LF); nil if something else is there.
    @inline(__always)
    private static func lineEnd(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Int? {
        if i < raw.count, raw[i] == 0x0A { return i + 1 }
        if i + 1 < raw.count, raw[i] == 0x0D, raw[i + 1] == 0x0A { return i + 2 }
        return nil
    }

    private static func parseFields(
        _ raw: UnsafeRawBufferPointer, from start: Int, into head: inout MessageHead, error: HeadError
    ) -> HeadError? {
        var i = start
        let n = raw.count
        while true {
            guard i < n else { return error }
            // The blank line ends the head, and the buffer.
            if raw[i] == 0x0A { return i + 1 == n ? nil : error }
            if raw[i] == 0x0D { return i + 2 == n && raw[i + 1] == 0x0A ? nil : error }
            // Obsolete line folding.
            if raw[i] == 0x20 || raw[i] == 0x09 { return error }
            let nameStart = i
            while i < n, token[Int(raw[i])] { i += 1 }
            guard i > nameStart, i < n, raw[i] == 0x3A else { return error }
            let nameLength = i - nameStart
            i += 1
            while i < n, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < n {
                let b = raw[i]
                if b == 0x0A || b == 0x0D { break }
                if b == 0 { return error }
                i += 1
                if b != 0x20, b != 0x09 { valueEnd = i }
            }
            guard let next = lineEnd(raw, i) else { return error }
            head.fields.append(
                HeaderField(
                    nameStart: Int32(nameStart), nameLength: Int32(nameLength), valueStart: Int32(valueStart),
                    valueLength: Int32(valueEnd - valueStart)))
            i = next
        }
    }

    /// The method of the first `length` bytes (common ones without allocating).
    static func method(_ raw: UnsafeRawBufferPointer, length: Int) -> HTTPMethod {
        func eq(_ s: StaticString) -> Bool {
            guard s.utf8CodeUnitCount == length else { return false }
            return s.withUTF8Buffer { l in (0..<length).allSatisfy { raw[$0] == l[$0] } }
        }
        switch length {
        case 3: if eq("GET") { return .GET }; if eq("PUT") { return .PUT }
        case 4: if eq("POST") { return .POST }; if eq("HEAD") { return .HEAD }
        case 5: if eq("PATCH") { return .PATCH }; if eq("TRACE") { return .TRACE }
        case 6: if eq("DELETE") { return .DELETE }
        case 7: if eq("OPTIONS") { return .OPTIONS }; if eq("CONNECT") { return .CONNECT }
        default: break
        }
        return HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<length]), as: UTF8.self))
    }
}
