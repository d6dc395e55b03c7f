import NIOCore

/// Header names the proxy treats specially, found by length and a case-insensitive compare of
/// the bytes in place.
enum KnownHeader: UInt8 {
    case host, accept, contentType, contentLength, transferEncoding, connection, upgrade, expect, te, keepAlive
    case proxy, proxyConnection, xForwardedFor, xForwardedProto, xForwardedHost, xForwardedPort, xForwardedPath
    case xForwardedPrefix, xRealIP, via, xKongRequestID, server, date, trailer

    /// The known header a field's name stands for, if any: a switch on the length, then one
    /// or two case-insensitive compares of the bytes in place.
    @inline(__always)
    static func classify(_ field: HeaderField, in head: MessageHead) -> KnownHeader? {
        let length = Int(field.nameLength)
        guard length >= 2, length <= 18 else { return nil }
        return head.buffer.withUnsafeReadableBytes { raw -> KnownHeader? in
            classify(name: UnsafeRawBufferPointer(rebasing: raw[Int(field.nameStart)..<(Int(field.nameStart) + length)]))
        }
    }

    /// The known header a name (as a string, from plugins) stands for, if any.
    static func classify(name: String) -> KnownHeader? {
        var name = name
        guard name.utf8.count >= 2, name.utf8.count <= 18 else { return nil }
        return name.withUTF8 { classify(name: UnsafeRawBufferPointer($0)) }
    }

    /// The known header the name bytes `p` stand for, if any.
    @inline(__always)
    static func classify(name p: UnsafeRawBufferPointer) -> KnownHeader? {
        let length = p.count
        @inline(__always) func eq(_ s: StaticString) -> Bool { MessageHead.equalsLower(p, 0, length, s) }
        switch length {
        case 2: return eq("te") ? .te : nil
        case 3: return eq("via") ? .via : nil
        case 4: return eq("host") ? .host : eq("date") ? .date : nil
        case 5: return eq("proxy") ? .proxy : nil
        case 6: return eq("accept") ? .accept : eq("server") ? .server : eq("expect") ? .expect : nil
        case 7: return eq("upgrade") ? .upgrade : eq("trailer") ? .trailer : nil
        case 9: return eq("x-real-ip") ? .xRealIP : nil
        case 10: return eq("connection") ? .connection : eq("keep-alive") ? .keepAlive : nil
        case 12: return eq("content-type") ? .contentType : nil
        case 14: return eq("content-length") ? .contentLength : nil
        case 15: return eq("x-forwarded-for") ? .xForwardedFor : nil
        case 16:
            guard p[0] | MessageHead.caseBit(p[0]) == UInt8(ascii: "x") else {
                return eq("proxy-connection") ? .proxyConnection : nil
            }
            return eq("x-forwarded-host") ? .xForwardedHost
                : eq("x-forwarded-port") ? .xForwardedPort : eq("x-forwarded-path") ? .xForwardedPath : nil
        case 17:
            return eq("transfer-encoding") ? .transferEncoding
                : eq("x-forwarded-proto") ? .xForwardedProto : eq("x-kong-request-id") ? .xKongRequestID : nil
        case 18: return eq("x-forwarded-prefix") ? .xForwardedPrefix : nil
        default: return nil
        }
    }

    @inline(__always)
    static func matches(_ raw: UnsafeRawBufferPointer, _ start: Int, _ lower: [UInt8]) -> Bool {
        for i in 0..<lower.count where raw[start + i] | MessageHead.caseBit(raw[start + i]) != lower[i] { return false }
        return true
    }
}

/// The request headers nginx takes once (`ngx_http_process_unique_header_line`) besides those
/// ``RequestFacts`` reads anyway (Host, Content-Length, Transfer-Encoding, Expect): a second one
/// is a 400 ("client sent duplicate header line"). Each has a bit of a seen-set.
enum OnceOnlyHeader {
    @inline(__always)
    static func bit(_ field: HeaderField, in head: borrowing MessageHead) -> UInt8? {
        let length = Int(field.nameLength)
        guard length == 8 || length == 13 || length == 17 || length == 19 else { return nil }
        return head.buffer.withUnsafeReadableBytes { raw -> UInt8? in
            @inline(__always) func eq(_ s: StaticString) -> Bool { MessageHead.equalsLower(raw, Int(field.nameStart), length, s) }
            switch length {
            case 8: return eq("if-match") ? 1 : eq("if-range") ? 2 : nil
            case 13: return eq("authorization") ? 4 : eq("if-none-match") ? 8 : eq("content-range") ? 16 : nil
            case 17: return eq("if-modified-since") ? 32 : nil
            default: return eq("if-unmodified-since") ? 64 : nil
            }
        }
    }
}

/// What one pass over a request's headers tells the proxy: routing inputs, body framing (and
/// whether it is ambiguous), hop-by-hop tokens, and where the forwarding headers a trusted
/// peer may supply are. Values stay in the head until needed.
struct RequestFacts {
    var host: String?
    var accept: HeaderField?
    var contentType: HeaderField?
    var contentLength: Int?
    var chunked = false
    /// Answer 400: `Content-Length` with `Transfer-Encoding`, a repeated or malformed
    /// `Content-Length`, a repeated `Host`, `Transfer-Encoding` on HTTP/1.0.
    var malformed = false
    /// Answer 501: a `Transfer-Encoding` other than `chunked`.
    var unsupportedTransferEncoding = false
    /// The protocol the request upgrades to (sent upstream as `Upgrade`): `websocket` for
    /// `Upgrade: websocket`, else the `Upgrade` value when `Connection` lists `upgrade`.
    var upgrade: String?
    /// `Connection` lists other header names: they are not forwarded.
    var connectionTokens: [String] = []
    var expectContinue = false
    /// `TE` lists `trailers`.
    var wantsTrailers = false
    /// The client allows another request on the connection (HTTP/1.1 without `close`, or
    /// HTTP/1.0 with `keep-alive`).
    var keepAlive = true
    /// The first `X-Forwarded-For` line (Kong reads only the first line of a repeated header).
    var forwardedFor: String?
    /// All `X-Forwarded-For` lines joined, when there are several (nginx's realip module reads
    /// them all).
    var forwardedForAll: String?
    var forwardedProto: HeaderField?
    var forwardedHost: HeaderField?
    var forwardedPort: HeaderField?
    var forwardedPath: HeaderField?
    var forwardedPrefix: HeaderField?
    var realIP: HeaderField?
    /// The first `Via` line.
    var via: String?
    /// The configured `real_ip_header` when it is none of the above.
    var customRealIP: HeaderField?

    init() {}

    /// - Parameter previousHost: the connection's last `Host`, taken instead of a new string
    ///   when this request sends the same.
    init(_ head: borrowing MessageHead, realIPHeader: [UInt8]? = nil, previousHost: borrowing String? = nil) {
        self.init()
        read(head, realIPHeader: realIPHeader, previousHost: previousHost)
    }

    /// Reads a head into facts that are as new (``init()``), in place: the proxy's exchange
    /// keeps its facts, and building a new value and assigning it would copy it whole.
    mutating func read(_ head: borrowing MessageHead, realIPHeader: [UInt8]? = nil, previousHost: borrowing String? = nil) {
        keepAlive = head.version.minor >= 1
        var connectionUpgrade = false
        var upgradeField: HeaderField?
        var transferEncodings = 0
        var seenOnce: UInt8 = 0
        var expects = 0
        // Kong reads the first `Connection` and `TE` lines only (`get_header`'s `value[1]`).
        var connectionRead = false
        var teRead = false
        for field in head.fields {
            guard let known = KnownHeader.classify(field, in: head) else {
                if let bit = OnceOnlyHeader.bit(field, in: head) {
                    if seenOnce & bit != 0 { malformed = true }
                    seenOnce |= bit
                }
                if let realIPHeader, customRealIP == nil, Int(field.nameLength) == realIPHeader.count,
                    head.buffer.withUnsafeReadableBytes({ KnownHeader.matches($0, Int(field.nameStart), realIPHeader) })
                {
                    customRealIP = field
                }
                continue
            }
            switch known {
            case .host:
                if host == nil, Self.isValidHost(head, field) {
                    host = head.value(field, reusing: previousHost)
                } else {
                    malformed = true
                }
            case .accept: if accept == nil { accept = field }
            case .contentType: if contentType == nil { contentType = field }
            case .contentLength:
                guard contentLength == nil, let n = Self.parseLength(head, field) else {
                    malformed = true
                    continue
                }
                contentLength = n
            case .transferEncoding:
                transferEncodings += 1
                if head.valueEquals(field, "chunked") { chunked = true } else { unsupportedTransferEncoding = true }
            case .connection:
                if head.valueContainsToken(field, "close") {
                    keepAlive = false
                } else if head.valueContainsToken(field, "keep-alive") {
                    keepAlive = true
                }
                if head.valueContainsToken(field, "upgrade") { connectionUpgrade = true }
                if !connectionRead, !head.valueEquals(field, "keep-alive"), !head.valueEquals(field, "close") {
                    for token in head.value(field).split(separator: ",") {
                        let t = token.trimmingSpaces.lowercased()
                        if t != "keep-alive", t != "close", t != "upgrade", !t.isEmpty { connectionTokens.append(t) }
                    }
                }
                connectionRead = true
            case .upgrade: if upgradeField == nil { upgradeField = field }
            case .expect:
                expects += 1
                if expects > 1 { malformed = true }
                if head.valueEquals(field, "100-continue") { expectContinue = true }
            case .te:
                if !teRead, head.valueContainsToken(field, "trailers") { wantsTrailers = true }
                teRead = true
            case .xForwardedFor:
                let value = head.value(field)
                if let first = forwardedFor {
                    forwardedForAll = (forwardedForAll ?? first) + ", " + value
                } else {
                    forwardedFor = value
                }
            case .xForwardedProto: if forwardedProto == nil { forwardedProto = field }
            case .xForwardedHost: if forwardedHost == nil { forwardedHost = field }
            case .xForwardedPort: if forwardedPort == nil { forwardedPort = field }
            case .xForwardedPath: if forwardedPath == nil { forwardedPath = field }
            case .xForwardedPrefix: if forwardedPrefix == nil { forwardedPrefix = field }
            case .xRealIP: if realIP == nil { realIP = field }
            case .via: if via == nil { via = head.value(field) }
            case .keepAlive, .proxy, .proxyConnection, .xKongRequestID, .server, .date, .trailer: break
            }
        }
        if transferEncodings > 0 {
            if transferEncodings > 1 || contentLength != nil || head.version.minor == 0 { malformed = true }
            if unsupportedTransferEncoding { chunked = false }
        }
        if let upgradeField {
            // Kong forwards `Upgrade: websocket` whatever `Connection` says; other protocols
            // are tunnelled when `Connection` asks for the upgrade, except HTTP/2's cleartext
            // upgrade (h2c), which nginx never passes on.
            if head.valueEquals(upgradeField, "websocket") {
                upgrade = "websocket"
            } else if connectionUpgrade, !head.valueEquals(upgradeField, "h2c") {
                upgrade = head.value(upgradeField)
            }
        }
    }

    /// The body framing of the request.
    var framing: BodyFraming {
        if chunked { return .chunked }
        if let n = contentLength, n > 0 { return .length(n) }
        return .none
    }

    /// nginx's `ngx_http_validate_host`: not empty, no `..`, no `/`, no control bytes or
    /// spaces (a trailing dot is allowed); anything else is a 400.
    static func isValidHost(_ head: borrowing MessageHead, _ field: HeaderField) -> Bool {
        let start = Int(field.valueStart)
        let length = Int(field.valueLength)
        return head.buffer.withUnsafeReadableBytes { raw -> Bool in
            var hostLength = length
            var lastDot = -2
            var inLiteral = false
            var inPort = false
            for i in 0..<length {
                let ch = raw[start + i]
                switch ch {
                case UInt8(ascii: "."):
                    if lastDot == i - 1 { return false }
                    lastDot = i
                case UInt8(ascii: ":"):
                    if !inLiteral, !inPort {
                        hostLength = i
                        inPort = true
                    }
                case UInt8(ascii: "["):
                    if i == 0 { inLiteral = true }
                case UInt8(ascii: "]"):
                    if inLiteral {
                        hostLength = i + 1
                        inLiteral = false
                        inPort = true
                    }
                default:
                    if ch == UInt8(ascii: "/") || ch <= 0x20 || ch == 0x7F { return false }
                }
            }
            if lastDot == hostLength - 1 { hostLength -= 1 }
            return hostLength > 0
        }
    }

    /// A `Content-Length` value: digits only (nginx refuses anything else).
    static func parseLength(_ head: borrowing MessageHead, _ field: HeaderField) -> Int? {
        let length = Int(field.valueLength)
        guard length > 0, length <= 18 else { return nil }
        return head.buffer.withUnsafeReadableBytes { raw -> Int? in
            var n = 0
            for i in Int(field.valueStart)..<(Int(field.valueStart) + length) {
                let b = raw[i]
                guard b >= 0x30, b <= 0x39 else { return nil }
                n = n * 10 + Int(b - 0x30)
            }
            return n
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.utf8.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.utf8.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }
}
