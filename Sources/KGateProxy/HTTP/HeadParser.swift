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

/// Finds where a head ends in bytes that arrive piecemeal, enforcing nginx's header buffers on
/// the way. Resumes where it stopped, so a head split over many reads is scanned once.
///
/// nginx reads a request head into one `client_header_buffer_size` buffer (`firstBuffer`);
/// a line that does not fit in what is left moves whole to a new `large_client_header_buffers`
/// buffer (`bufferCount` of `lineLimit` bytes each). So a line, its line end included, fits in
/// one large buffer unless the first buffer holds it, and the lines fill at most `bufferCount`
/// of them, space left at their ends included: a request line that cannot be placed is 414,
/// a header line 494 (answered as 400). A response head (`proxy_buffer_size`) is one buffer:
/// `firstBuffer` = `headLimit`, no large buffers. The buffers bound the whole head.
struct HeadScanner {
    let lineLimit: Int
    let firstBuffer: Int
    let bufferCount: Int
    /// Requests skip empty lines before the request line (RFC 9112 §2.2).
    let skipsLeadingEmptyLines: Bool
    private var scanned = 0
    private var lineStart = 0
    private var headStart = 0
    private var firstLine = true
    /// Where the buffer holding the current line ends, and how many large buffers are taken.
    private var bufferEnd: Int
    private var largeBuffers = 0

    enum Result: Equatable {
        case incomplete
        /// The head is `[start, start + length)` of the buffer's readable bytes (blank line
        /// included); `start` skips leading empty lines.
        case complete(start: Int, length: Int)
        case error(HeadError)
    }

    /// A request head's scanner: nginx's `client_header_buffer_size` and
    /// `large_client_header_buffers` (`bufferCount` × `lineLimit`).
    init(firstBuffer: Int, bufferCount: Int, lineLimit: Int) {
        self.firstBuffer = firstBuffer
        self.bufferCount = bufferCount
        self.lineLimit = lineLimit
        self.skipsLeadingEmptyLines = true
        self.bufferEnd = firstBuffer
    }

    /// A response head's scanner: the whole head in `headLimit` bytes.
    init(headLimit: Int) {
        self.firstBuffer = headLimit
        self.bufferCount = 0
        self.lineLimit = headLimit
        self.skipsLeadingEmptyLines = false
        self.bufferEnd = headLimit
    }

    /// Whether no byte of the current head was scanned yet.
    var isAtStart: Bool { scanned == 0 }

    mutating func reset() {
        scanned = 0
        lineStart = 0
        headStart = 0
        firstLine = true
        bufferEnd = firstBuffer
        largeBuffers = 0
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
                if length == 0, firstLine {
                    guard skipsLeadingEmptyLines, lf < 16 else { return .error(.badRequest) }
                    lineStart = scanned
                    headStart = scanned
                    continue
                }
                if let error = place(lineEnd: scanned) { return .error(error) }
                if length == 0 { return .complete(start: headStart, length: scanned - headStart) }
                firstLine = false
                lineStart = scanned
            }
            // The line being read needs at least one more byte, its line feed.
            if count > lineStart, let error = place(lineEnd: count + 1) { return .error(error) }
            return .incomplete
        }
        if case .incomplete = result { return result }
        reset()
        return result
    }

    /// Places the current line, ending at `lineEnd` (exclusive), in nginx's buffers: where it
    /// is, or moved whole to the next large buffer; the error when neither can be.
    private mutating func place(lineEnd: Int) -> HeadError? {
        guard lineEnd > bufferEnd else { return nil }
        guard lineEnd - lineStart <= lineLimit, largeBuffers < bufferCount else {
            return firstLine && skipsLeadingEmptyLines ? .uriTooLong : .headerTooLarge
        }
        largeBuffers += 1
        bufferEnd = lineStart + lineLimit
        return nil
    }
}

/// Parses message heads found by `HeadScanner` with nginx's grammar (`ngx_http_parse.c`, as
/// Kong's OpenResty builds it): a request line of `method SP target SP HTTP/1.x`, where the
/// target is a path or an absolute URI whose host nginx takes as the request's; header lines
/// `name: value` (a line without a colon is a header with an empty value), no obsolete line
/// folding, no NUL or bare CR. In requests, a header whose name has bytes nginx does not take
/// (anything but letters, digits, `-` and `_`) is ignored, as `ignore_invalid_headers` does.
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

    /// What a byte of a header name is to nginx: 0 a name byte (letters, digits, `-`, and `_`
    /// with Kong's `underscores_in_headers on`), 1 a byte that makes the line an invalid header
    /// (ignored in requests), 2 a byte that makes the head malformed (controls, space, DEL).
    private static let nameClass: [UInt8] = {
        var t = [UInt8](repeating: 1, count: 256)
        for c in 0...0x20 { t[c] = 2 }
        t[0x7F] = 2
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = 0 }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = 0 }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = 0 }
        t[Int(UInt8(ascii: "-"))] = 0
        t[Int(UInt8(ascii: "_"))] = 0
        return t
    }()

    @inline(__always)
    static func methodByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// Parses a request head (the exact head bytes) into `head`. `dropsInvalidHeaders` ignores
    /// header lines with names nginx does not take (off for heads kgate builds itself).
    static func parseRequest(_ bytes: ByteBuffer, into head: inout MessageHead, dropsInvalidHeaders: Bool = true) -> HeadError? {
        head.buffer = bytes
        head.fields.removeAll(keepingCapacity: true)
        return bytes.withUnsafeReadableBytes { raw in
            parseRequest(raw, into: &head, complete: true, dropsInvalidHeaders: dropsInvalidHeaders)
        }
    }

    /// The error nginx gives for the bytes of a request head that has not all arrived: it
    /// parses bytes as they come and refuses a head at the first byte no head can have. Nil
    /// while the bytes can still begin a valid head.
    static func prefixError(_ bytes: ByteBuffer) -> HeadError? {
        let (scratch, error) = parsePrefix(bytes)
        if let error { return error }
        // nginx checks `Host` as soon as its line is read (ngx_http_process_host).
        var hosts = 0
        for field in scratch.fields where scratch.nameEquals(field, "host") {
            hosts += 1
            if hosts > 1 || !RequestFacts.isValidHost(scratch, field) { return .badRequest }
        }
        return nil
    }

    /// The header lines nginx had taken from a head it then refused (a line too long, a
    /// malformed byte, a timeout): the complete lines before the refused one, which Kong's
    /// error handler reads `Accept` and `Content-Type` from. Empty when the request line did
    /// not parse.
    static func linesTaken(_ bytes: ByteBuffer, lineLimit: Int) -> MessageHead {
        var (head, _) = parsePrefix(bytes)
        // nginx stops at the first line too long for its buffers (the 494).
        if let long = head.fields.firstIndex(where: { Int($0.valueStart + $0.valueLength - $0.nameStart) > lineLimit }) {
            head.fields.removeSubrange(long...)
        }
        return head
    }

    /// The lines of a head's beginning that parse, and the error of the first byte that does not.
    private static func parsePrefix(_ bytes: ByteBuffer) -> (MessageHead, HeadError?) {
        var head = MessageHead()
        head.buffer = bytes
        let error = bytes.withUnsafeReadableBytes { raw in
            parseRequest(raw, into: &head, complete: false, dropsInvalidHeaders: true)
        }
        return (head, error)
    }

    /// The request grammar over bytes that are the whole head (`complete`) or its beginning,
    /// where running out of bytes is no error.
    private static func parseRequest(
        _ raw: UnsafeRawBufferPointer, into head: inout MessageHead, complete: Bool, dropsInvalidHeaders: Bool
    ) -> HeadError? {
        let n = raw.count
        let ranOut: HeadError? = complete ? .badRequest : nil
        var i = 0
        // nginx skips empty lines before the request line.
        while i < n, raw[i] == 0x0D || raw[i] == 0x0A { i += 1 }
        // Method: upper-case letters, `_` and `-`.
        let methodStart = i
        while i < n, methodByte(raw[i]) { i += 1 }
        guard i < n else { return ranOut }
        guard i > methodStart, raw[i] == 0x20 else { return .badRequest }
        head.method = method(UnsafeRawBufferPointer(rebasing: raw[methodStart..<i]))
        while i < n, raw[i] == 0x20 { i += 1 }
        guard i < n else { return ranOut }
        // Target.
        head.uriHostStart = 0
        head.uriHostLength = 0
        if raw[i] != UInt8(ascii: "/") {
            switch absoluteFormAuthority(raw, from: i) {
            case .ranOut: return ranOut
            case .invalid: return .badRequest
            case .authority(let hostStart, let hostEnd, let pathStart):
                head.uriHostStart = hostStart
                head.uriHostLength = hostEnd - hostStart
                i = pathStart
            }
        }
        let targetStart = i
        if raw[i] == 0x20 {
            // `http://host HTTP/1.1`: nginx's URI is the `/` of `://`.
            head.targetStart = head.uriHostStart - 1
            head.targetLength = 1
        } else {
            while i < n {
                let b = raw[i]
                if b == 0x20 || b == 0x0D || b == 0x0A { break }
                if b < 0x20 || b == 0x7F { return .badRequest }
                i += 1
            }
            guard i < n else { return ranOut }
            // No version (HTTP/0.9) is refused.
            guard raw[i] == 0x20 else { return .badRequest }
            head.targetStart = targetStart
            head.targetLength = i - targetStart
        }
        while i < n, raw[i] == 0x20 { i += 1 }
        // Version: `HTTP/` major `.` minor; a major above 1 is 505 as soon as it is read.
        for expected in "HTTP/".utf8 {
            guard i < n else { return ranOut }
            guard raw[i] == expected else { return .badRequest }
            i += 1
        }
        guard i < n else { return ranOut }
        guard raw[i] >= 0x31, raw[i] <= 0x39 else { return .badRequest }
        var major = Int(raw[i] - 0x30)
        i += 1
        while true {
            if major > 1 { return .versionNotSupported }
            guard i < n else { return ranOut }
            if raw[i] == UInt8(ascii: ".") { break }
            guard isDigit(raw[i]) else { return .badRequest }
            major = major * 10 + Int(raw[i] - 0x30)
            i += 1
        }
        i += 1
        guard i < n else { return ranOut }
        guard isDigit(raw[i]) else { return .badRequest }
        var minor = 0
        while i < n, isDigit(raw[i]) {
            if minor > 99 { return .badRequest }
            minor = minor * 10 + Int(raw[i] - 0x30)
            i += 1
        }
        while i < n, raw[i] == 0x20 { i += 1 }
        head.version = minor == 0 ? .http1_0 : .http1_1
        switch lineEnd(raw, i) {
        case .ranOut: return ranOut
        case .invalid: return .badRequest
        case .next(let next):
            // nginx checks the path once the request line is read.
            let target = UnsafeRawBufferPointer(rebasing: raw[head.targetStart..<head.targetStart + head.targetLength])
            guard RequestPath.isValid(target) else { return .badRequest }
            return parseFields(raw, from: next, into: &head, error: .badRequest, complete: complete, dropsInvalid: dropsInvalidHeaders)
        }
    }

    private enum Authority {
        case ranOut
        case invalid
        /// The host's bytes and where the path (`/`, `?`, or the space ending the target) starts.
        case authority(hostStart: Int, hostEnd: Int, pathStart: Int)
    }

    /// The authority of an absolute-form target (`scheme://host[:port]`) as nginx reads it: a
    /// host of letters, digits, `.` and `-`, or an IP literal in brackets.
    private static func absoluteFormAuthority(_ raw: UnsafeRawBufferPointer, from start: Int) -> Authority {
        let n = raw.count
        var i = start
        guard isLetter(raw[i]) else { return .invalid }
        while i < n, isLetter(raw[i]) || isDigit(raw[i]) || raw[i] == 0x2B || raw[i] == 0x2D || raw[i] == 0x2E { i += 1 }
        for expected in "://".utf8 {
            guard i < n else { return .ranOut }
            guard raw[i] == expected else { return .invalid }
            i += 1
        }
        let hostStart = i
        guard i < n else { return .ranOut }
        if raw[i] == UInt8(ascii: "[") {
            i += 1
            while true {
                guard i < n else { return .ranOut }
                let b = raw[i]
                i += 1
                if b == UInt8(ascii: "]") { break }
                guard isLetter(b) || isDigit(b) || ipLiteralPunctuation(b) else { return .invalid }
            }
        } else {
            while i < n, isLetter(raw[i]) || isDigit(raw[i]) || raw[i] == 0x2E || raw[i] == 0x2D { i += 1 }
        }
        let hostEnd = i
        guard i < n else { return .ranOut }
        if raw[i] == UInt8(ascii: ":") {
            i += 1
            while i < n, isDigit(raw[i]) { i += 1 }
            guard i < n else { return .ranOut }
        }
        // nginx refuses an empty host (ngx_http_validate_host).
        guard hostEnd > hostStart, raw[i] == UInt8(ascii: "/") || raw[i] == UInt8(ascii: "?") || raw[i] == 0x20
        else { return .invalid }
        return .authority(hostStart: hostStart, hostEnd: hostEnd, pathStart: i)
    }

    /// Bytes besides letters and digits nginx takes in a bracketed host (`:`, unreserved and
    /// sub-delims).
    @inline(__always)
    private static func ipLiteralPunctuation(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Parses a response head (the exact head bytes) into `head`.
    static func parseResponse(_ bytes: ByteBuffer, into head: inout MessageHead) -> HeadError? {
        head.buffer = bytes
        head.fields.removeAll(keepingCapacity: true)
        return bytes.withUnsafeReadableBytes { raw -> HeadError? in
            let n = raw.count
            guard n >= 12, raw[0] == 0x48, raw[1] == 0x54, raw[2] == 0x54, raw[3] == 0x50, raw[4] == 0x2F,
                raw[5] == 0x31, raw[6] == 0x2E, isDigit(raw[7]), raw[8] == 0x20
            else { return .badResponse }
            head.version = raw[7] == 0x30 ? .http1_0 : .http1_1
            // nginx skips spaces before the status code.
            var s = 9
            while s < n, raw[s] == 0x20 { s += 1 }
            guard s + 3 <= n, isDigit(raw[s]), isDigit(raw[s + 1]), isDigit(raw[s + 2]) else { return .badResponse }
            head.status = Int(raw[s] - 0x30) * 100 + Int(raw[s + 1] - 0x30) * 10 + Int(raw[s + 2] - 0x30)
            var i = s + 3
            if i < n, raw[i] == 0x20 { i += 1 }
            let reasonStart = i
            while i < n, raw[i] != 0x0D, raw[i] != 0x0A {
                if raw[i] == 0 { return .badResponse }
                i += 1
            }
            head.reasonStart = reasonStart
            head.reasonLength = i - reasonStart
            guard case .next(let next) = lineEnd(raw, i) else { return .badResponse }
            // nginx keeps upstream header lines whatever their names' bytes.
            return parseFields(raw, from: next, into: &head, error: .badResponse, complete: true, dropsInvalid: false)
        }
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    @inline(__always)
    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    private enum LineEnd {
        case next(Int)
        case ranOut
        case invalid
    }

    /// The index after the line terminator at `i`: LF, or CRs then LF as nginx takes them.
    @inline(__always)
    private static func lineEnd(_ raw: UnsafeRawBufferPointer, _ i: Int) -> LineEnd {
        var i = i
        guard i < raw.count else { return .ranOut }
        if raw[i] == 0x0A { return .next(i + 1) }
        guard raw[i] == 0x0D else { return .invalid }
        while i < raw.count, raw[i] == 0x0D { i += 1 }
        guard i < raw.count else { return .ranOut }
        return raw[i] == 0x0A ? .next(i + 1) : .invalid
    }

    private static func parseFields(
        _ raw: UnsafeRawBufferPointer, from start: Int, into head: inout MessageHead, error: HeadError,
        complete: Bool, dropsInvalid: Bool
    ) -> HeadError? {
        let ranOut: HeadError? = complete ? error : nil
        var i = start
        let n = raw.count
        while true {
            guard i < n else { return ranOut }
            // The blank line ends the head, and the buffer.
            if raw[i] == 0x0A { return i + 1 == n || !complete ? nil : error }
            if raw[i] == 0x0D {
                guard i + 1 < n else { return ranOut }
                return raw[i + 1] == 0x0A && (i + 2 == n || !complete) ? nil : error
            }
            // A colon first, a space first (obsolete line folding) or a control byte: malformed.
            if raw[i] == 0x3A { return error }
            let nameStart = i
            var invalidName = false
            while i < n {
                let b = raw[i]
                let kind = nameClass[Int(b)]
                if kind == 0 {
                    i += 1
                } else if b == 0x3A || b == 0x0D || b == 0x0A {
                    break
                } else if kind == 2 {
                    return error
                } else {
                    invalidName = true
                    i += 1
                }
            }
            guard i < n else { return ranOut }
            let nameLength = i - nameStart
            // A line without a colon is a header with an empty value.
            var valueStart = i
            var valueEnd = i
            if raw[i] == 0x3A {
                i += 1
                while i < n, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
                valueStart = i
                valueEnd = i
                while i < n {
                    let b = raw[i]
                    if b == 0x0A || b == 0x0D { break }
                    if b == 0 { return error }
                    i += 1
                    if b != 0x20, b != 0x09 { valueEnd = i }
                }
            }
            switch lineEnd(raw, i) {
            case .ranOut: return ranOut
            case .invalid: return error
            case .next(let next):
                if !(invalidName && dropsInvalid) {
                    head.fields.append(
                        HeaderField(
                            nameStart: Int32(nameStart), nameLength: Int32(nameLength), valueStart: Int32(valueStart),
                            valueLength: Int32(valueEnd - valueStart)))
                }
                i = next
            }
        }
    }

    /// The method of a method's bytes (common ones without allocating).
    static func method(_ raw: UnsafeRawBufferPointer) -> HTTPMethod {
        let length = raw.count
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
        return HTTPMethod(rawValue: String(decoding: raw, as: UTF8.self))
    }
}
