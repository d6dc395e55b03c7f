import NIOCore
import NIOHTTP1

/// What the downstream response head gets besides the upstream's headers.
struct ResponseAdditions {
    var enabled: ResponseHeaders
    var serverToken: String
    /// `1.1 kong/<version>`.
    var viaToken: String
    var requestID: RequestID
    /// Milliseconds waiting for the upstream's response head (`X-Kong-Upstream-Latency`).
    var upstreamLatency: Int
    /// Milliseconds spent before the request went upstream (`X-Kong-Proxy-Latency`).
    var proxyLatency: Int
    var date: String
    var keepAlive: Bool
    /// The request's `Upgrade` (the response's is kept only when equal).
    var requestUpgrade: String?
    /// The client sent `TE: trailers` (the response's `Trailer` is kept only then).
    var wantsTrailers: Bool
    /// `Kong-Route-Id` and co., for a `Kong-Debug` request with `allow_debug_header` on.
    var debug: RouteDebugHeaders? = nil
    /// `nginx_http_charset`.
    var charset: ResponseCharset? = nil
}

/// How the body goes to the client.
enum DownstreamFraming: Equatable {
    /// No body (HEAD, 1xx, 204, 304).
    case none
    /// Bytes as received: `Content-Length`, or chunked to an HTTP/1.1 client with
    /// `response_buffering` off.
    case passthrough
    /// Chunked for an HTTP/1.1 client, one chunk per read burst (nginx's output): a
    /// close-delimited upstream body, or a chunked one with `response_buffering` on.
    case rechunk
    /// A chunked upstream body to an HTTP/1.0 client: data only, then close.
    case dechunk
    /// A close-delimited body to an HTTP/1.0 client: as is, then close.
    case untilClose

    /// The client can only find the end of the body by the connection closing.
    var closesConnection: Bool { self == .dechunk || self == .untilClose }

    /// - Parameter buffered: the route's `response_buffering`.
    init(upstream: BodyFraming, clientVersion: HTTPVersion, buffered: Bool) {
        let modern = clientVersion.minor >= 1
        switch upstream {
        case .none: self = .none
        case .length: self = .passthrough
        case .chunked: self = modern ? (buffered ? .rechunk : .passthrough) : .dechunk
        case .untilClose: self = modern ? .rechunk : .untilClose
        }
    }
}

/// Reads and writes response heads between upstream and client (`header_filter` in
/// `runloop/handler.lua` plus nginx's own rules).
enum DownstreamResponseHead {
    /// The upstream response's body framing (RFC 9112 §6.3); nil for a malformed length.
    ///
    /// As nginx's upstream module (Kong's 1.27): one `Content-Length` or one
    /// `Transfer-Encoding: chunked`, never both; a second of either, an unparsable length or
    /// another transfer coding is an invalid response (502), whatever the status.
    static func framing(of head: borrowing MessageHead, requestMethod: HTTPMethod) -> BodyFraming? {
        var length: Int?
        var chunked = false
        for field in head.fields {
            if head.nameEquals(field, "transfer-encoding") {
                guard !chunked, length == nil, head.valueEquals(field, "chunked") else { return nil }
                chunked = true
            } else if head.nameEquals(field, "content-length") {
                guard length == nil, !chunked, let n = RequestFacts.parseLength(head, field) else { return nil }
                length = n
            }
        }
        let status = head.status
        if requestMethod == .HEAD || (100..<200).contains(status) || status == 204 || status == 304 { return BodyFraming.none }
        if chunked { return .chunked }
        if let length { return length == 0 ? BodyFraming.none : .length(length) }
        return .untilClose
    }

    /// Writes the client's response head: the upstream's status and headers minus hop-by-hop
    /// ones (and those its `Connection` names), the framing, then Kong's headers per `headers`.
    ///
    /// `out` is cleared first: a connection reuses one buffer.
    static func write(
        from upstream: borrowing MessageHead, upstreamChunked: Bool, framing: DownstreamFraming, _ a: ResponseAdditions,
        into out: inout ByteBuffer
    ) {
        var connectionTokens: [String] = []
        var upstreamVia: String?
        var hasServer = false
        var hasDate = false
        var viaFields = 0
        for field in upstream.fields {
            guard let known = KnownHeader.classify(field, in: upstream) else { continue }
            switch known {
            case .connection:
                if upstream.valueEquals(field, "keep-alive") || upstream.valueEquals(field, "close") { continue }
                for token in upstream.value(field).split(separator: ",") {
                    let t = token.trimmingSpaces.lowercased()
                    if t != "close", t != "upgrade", t != "keep-alive", !t.isEmpty { connectionTokens.append(t) }
                }
            case .via:
                let value = upstream.value(field)
                upstreamVia = upstreamVia.map { $0 + ", " + value } ?? value
                viaFields += 1
            case .server: hasServer = true
            case .date: hasDate = true
            default: break
            }
        }

        var bound = 400 + upstream.buffer.readableBytes + 3 * upstream.fields.count + a.date.utf8.count
        bound += (upstreamVia?.utf8.count ?? 0) + a.viaToken.utf8.count + a.serverToken.utf8.count
        bound += 32 + 3 * HeadWriter.decimalBound + (a.debug?.byteCount ?? 0) + (a.charset?.suffix.utf8.count ?? 0)
        out.clear()
        out.writeHead(bound: bound) { w in
            w.write("HTTP/1.1 ")
            // Three digits, as received (a status under 100 keeps its zeros).
            if upstream.status < 100 { w.write(upstream.status < 10 ? "00" : "0") }
            w.write(decimal: upstream.status)
            w.write(" ")
            if upstream.reasonLength > 0 {
                w.write(upstream.buffer, offset: upstream.reasonStart, length: upstream.reasonLength)
            } else {
                w.write(HTTPResponseStatus(statusCode: upstream.status).reasonPhrase)
            }
            w.write("\r\n")
            // The bound has room for one charset suffix: the first Content-Type gets it.
            var charsetWritten = false
            for field in upstream.fields {
                var charset: ResponseCharset?
                if let known = KnownHeader.classify(field, in: upstream) {
                    switch known {
                    // `Proxy-Connection` is not hop-by-hop for nginx: it passes (Kong's
                    // 03-upstream_headers_spec "are removed from response" leaves it).
                    case .connection, .keepAlive, .transferEncoding: continue
                    case .contentLength where framing == .rechunk || framing == .dechunk: continue
                    case .via where a.enabled.contains(.via): continue
                    case .upgrade:
                        guard let requested = a.requestUpgrade, upstream.value(field).lowercased() == requested.lowercased()
                        else { continue }
                    case .trailer: if !a.wantsTrailers { continue }
                    case .contentType:
                        if !charsetWritten, let c = a.charset, upstream.buffer.withUnsafeReadableBytes({
                            ResponseCharset.applies($0, Int(field.valueStart), Int(field.valueLength), status: upstream.status)
                        }) {
                            charset = c
                            charsetWritten = true
                        }
                    // Kong's `header[X-Kong-Request-Id] = rid` replaces the upstream's.
                    case .xKongRequestID where a.enabled.contains(.requestID): continue
                    default: break
                    }
                } else if isHidden(field, in: upstream, replacing: a.enabled) {
                    continue
                }
                if !connectionTokens.isEmpty,
                    connectionTokens.contains(where: { upstream.name(field).lowercased() == $0 })
                {
                    continue
                }
                w.line(of: field, in: upstream)
                if let charset { w.write(charset.suffix) }
                w.write("\r\n")
            }
            a.debug?.write(into: &w)
            if framing == .rechunk || (framing == .passthrough && upstreamChunked) {
                w.write("Transfer-Encoding: chunked\r\n")
            }
            if !hasDate { w.header("Date: ", a.date) }
            if upstream.status == 101 {
                w.write("Connection: upgrade\r\n")
            } else if a.keepAlive {
                w.write("Connection: keep-alive\r\n")
            } else {
                w.write("Connection: close\r\n")
            }
            writeKongHeaders(a, upstreamVia: upstreamVia, hasServer: hasServer, status: upstream.status, into: &w)
            w.write("\r\n")
        }
    }

    private static func writeKongHeaders(
        _ a: ResponseAdditions, upstreamVia: String?, hasServer: Bool, status: Int, into w: inout HeadWriter
    ) {
        if a.enabled.contains(.upstreamLatency) {
            w.write("X-Kong-Upstream-Latency: ")
            w.write(decimal: a.upstreamLatency)
            w.write("\r\n")
        }
        if a.enabled.contains(.proxyLatency) {
            w.write("X-Kong-Proxy-Latency: ")
            w.write(decimal: a.proxyLatency)
            w.write("\r\n")
        }
        if a.enabled.contains(.via) {
            w.write("Via: ")
            if let upstreamVia {
                w.write(upstreamVia)
                w.write(", ")
            }
            w.write(a.viaToken)
            w.write("\r\n")
        }
        if !hasServer, a.enabled.contains(.server) { w.header("Server: ", a.serverToken) }
        if a.enabled.contains(.upstreamStatus) {
            w.write("X-Kong-Upstream-Status: ")
            w.write(decimal: status)
            w.write("\r\n")
        }
        if a.enabled.contains(.requestID) {
            w.write("X-Kong-Request-Id: ")
            w.write(a.requestID)
            w.write("\r\n")
        }
    }

    /// nginx's `ngx_http_proxy_hide_headers` besides `Server` and `Date` (which Kong passes with
    /// `proxy_pass_header`): `X-Pad` and the five `X-Accel-*` headers nginx acts on; other
    /// `X-Accel-` names pass.
    private static let hiddenNames: [StaticString] = [
        "x-pad", "x-accel-expires", "x-accel-redirect", "x-accel-limit-rate", "x-accel-buffering", "x-accel-charset",
    ]

    /// The headers Kong's `header_filter` sets on proxied responses with `header[name] = value`
    /// when `headers` enables them, replacing what the upstream sent (an upstream that is itself
    /// a Kong sends them too).
    private static let replacedNames: [(name: StaticString, header: ResponseHeaders)] = [
        ("x-kong-proxy-latency", .proxyLatency), ("x-kong-upstream-status", .upstreamStatus),
        ("x-kong-upstream-latency", .upstreamLatency),
    ]

    /// Headers of the upstream's that never reach the client: those nginx's proxy module hides
    /// (``hiddenNames``) and those of Kong's own that `enabled` replaces (``replacedNames``).
    static func isHidden(_ field: HeaderField, in head: MessageHead, replacing enabled: ResponseHeaders) -> Bool {
        let length = Int(field.nameLength)
        guard length == 5 || (15...23).contains(length) else { return false }
        return head.buffer.withUnsafeReadableBytes { raw in
            let start = Int(field.nameStart)
            guard raw[start] | MessageHead.caseBit(raw[start]) == UInt8(ascii: "x") else { return false }
            for name in hiddenNames where MessageHead.equalsLower(raw, start, length, name) { return true }
            for replaced in replacedNames where enabled.contains(replaced.header) {
                if MessageHead.equalsLower(raw, start, length, replaced.name) { return true }
            }
            return false
        }
    }
}
