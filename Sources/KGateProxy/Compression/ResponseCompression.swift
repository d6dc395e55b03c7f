#if canImport(Glibc)
import Glibc
#endif
import KGateRegex
import KGateSchema
import KGateSettings
import NIOCore

/// nginx's gzip filter and ngx_brotli's on the responses of the proxy's `location /` (proxied
/// responses and Kong's own answers): Kong's `nginx_{http,proxy,location}_gzip*` and
/// `..._brotli*` properties, each directive inherited from the enclosing level as nginx does.
///
/// Both run after Kong's `header_filter` and nginx's `add_header`, on the final head. The
/// brotli filter comes first in Kong's filter chain: a client accepting both gets `br`.
struct ResponseCompression: Sendable {
    /// One filter's settings.
    struct Filter: Sendable {
        /// The MIME types compressed (lower-case, without parameters); nil for `*`.
        let types: Set<String>?
        /// Responses of a known length below this are sent as they are.
        let minLength: Int
        let coding: ContentCoding

        /// Whether a response of this type and length is one the filter is for.
        func covers(contentType: Substring?, length: Int?) -> Bool {
            if let length, length < minLength { return false }
            guard let types else { return true }
            guard let contentType, !contentType.isEmpty else { return false }
            return types.contains(contentType.lowercased())
        }
    }

    let gzip: Filter?
    let brotli: Filter?
    /// `gzip_vary`: `Vary: Accept-Encoding` on every response a filter covers.
    let vary: Bool
    /// `gzip_http_version`: the lowest request minor version gzip compresses for.
    let gzipMinimumMinorVersion: Int
    /// `gzip_proxied`.
    let proxied: CompressionDirectives.Proxied
    /// `gzip_disable`: `User-Agent` patterns (case-insensitive) gzip skips, and `msie6`.
    let disabledAgents: [PCRERegex]
    let disablesMSIE6: Bool

    /// The settings in force in `location /`; nil when neither filter is on there.
    init?(http: CompressionDirectives, proxy: CompressionDirectives, location: CompressionDirectives) {
        let d = location.merged(over: proxy.merged(over: http))
        gzip = d.gzip ? Filter(types: d.gzipTypes, minLength: d.gzipMinLength, coding: .gzip(level: d.gzipLevel)) : nil
        brotli =
            d.brotli
            ? Filter(
                types: d.brotliTypes, minLength: d.brotliMinLength,
                coding: .brotli(level: d.brotliLevel, windowBits: d.brotliWindowBits)) : nil
        guard gzip != nil || brotli != nil else { return nil }
        vary = d.gzipVary
        gzipMinimumMinorVersion = d.gzipMinimumMinorVersion
        proxied = d.gzipProxied
        let patterns = d.gzipDisable
        disablesMSIE6 = patterns.contains("msie6")
        // Checked when the settings were read.
        disabledAgents = patterns.filter { $0 != "msie6" }.compactMap { try? PCRERegex($0, options: .caseless) }
    }

    /// What the filters make of a response.
    struct Decision: Equatable {
        /// The coding to compress the body with; nil to send it as it is.
        var coding: ContentCoding?
        /// Add `Vary: Accept-Encoding` (`gzip_vary`, and a filter covered the response).
        var vary: Bool
    }

    /// The filters' decision on a response head (final status and fields) for a request.
    ///
    /// As nginx: only 200, 403 and 404 responses with a body, not already encoded, of a
    /// listed type and not known to be shorter than the minimum; then brotli when the client
    /// accepts `br`, else gzip when it accepts `gzip` and the request passes `gzip_http_version`,
    /// `gzip_proxied` and `gzip_disable`.
    func decide(status: Int, response: borrowing MessageHead, request: borrowing MessageHead, isHEAD: Bool) -> Decision {
        guard status == 200 || status == 403 || status == 404, !isHEAD else { return Decision(coding: nil, vary: false) }
        var contentType: Substring?
        var length: Int?
        for field in response.fields {
            if response.nameEquals(field, "content-encoding") {
                if field.valueLength > 0 { return Decision(coding: nil, vary: false) }
            } else if response.nameEquals(field, "content-length") {
                length = Int(response.value(field))
            } else if response.nameEquals(field, "content-type"), contentType == nil {
                contentType = Self.mediaType(response.value(field))
            }
        }
        var covered = false
        if let brotli, brotli.covers(contentType: contentType, length: length) {
            covered = true
            if let accept = request.firstValue("accept-encoding"), AcceptEncoding.acceptsBrotli(accept) {
                return Decision(coding: brotli.coding, vary: vary)
            }
        }
        if let gzip, gzip.covers(contentType: contentType, length: length) {
            covered = true
            if gzipAllowed(response: response, request: request) { return Decision(coding: gzip.coding, vary: vary) }
        }
        return Decision(coding: nil, vary: vary && covered)
    }

    /// nginx's `ngx_http_gzip_ok`.
    private func gzipAllowed(response: borrowing MessageHead, request: borrowing MessageHead) -> Bool {
        guard let accept = request.firstValue("accept-encoding"), AcceptEncoding.acceptsGzip(accept) else { return false }
        let agent = request.firstValue("user-agent")
        if disablesMSIE6, let agent, Self.isMSIE6(agent) { return false }
        guard request.version.minor >= gzipMinimumMinorVersion else { return false }
        if request.firstValue("via") != nil, !proxiedAllowed(response: response, request: request) { return false }
        if let agent, disabledAgents.contains(where: { $0.matches(agent) }) { return false }
        return true
    }

    /// `gzip_proxied` for a request that came through a proxy.
    private func proxiedAllowed(response: borrowing MessageHead, request: borrowing MessageHead) -> Bool {
        if proxied.contains(.off) { return false }
        if proxied.contains(.any) { return true }
        if proxied.contains(.auth), request.firstValue("authorization") != nil { return true }
        if let expires = response.firstValue("expires") {
            guard proxied.contains(.expired), let expiry = HTTPTime.parse(expires) else { return false }
            let date: Int
            if let text = response.firstValue("date") {
                guard let parsed = HTTPTime.parse(text) else { return false }
                date = parsed
            } else {
                date = Int(time(nil))
            }
            return expiry < date
        }
        if let cacheControl = response.firstValue("cache-control") {
            let directives = cacheControl.lowercased()
            if proxied.contains(.noCache), directives.contains("no-cache") { return true }
            if proxied.contains(.noStore), directives.contains("no-store") { return true }
            if proxied.contains(.private), directives.contains("private") { return true }
            return false
        }
        if proxied.contains(.noLastModified), response.firstValue("last-modified") != nil { return false }
        if proxied.contains(.noETag), response.firstValue("etag") != nil { return false }
        return true
    }

    /// nginx's `msie6` test: MSIE 4 to 6 without SV1.
    private static func isMSIE6(_ agent: String) -> Bool {
        guard let range = agent.range(of: "MSIE ") else { return false }
        let version = agent[range.upperBound...].prefix(1)
        guard let major = Int(version), (4...6).contains(major) else { return false }
        return !agent.contains("SV1")
    }

    /// The media type of a `Content-Type` value: before any `;`, without trailing spaces.
    static func mediaType(_ value: String) -> Substring {
        var type = value[...]
        if let semicolon = type.firstIndex(of: ";") { type = type[..<semicolon] }
        while type.last == " " || type.last == "\t" { type = type.dropLast() }
        return type
    }

    // MARK: Heads

    /// Writes the head of a response the filter compresses: `Content-Encoding` added;
    /// `Content-Length` and `Accept-Ranges` removed, a strong `ETag` made weak (nginx's
    /// `ngx_http_weak_etag`); `Vary` when asked; the framing fields for the body that follows
    /// (chunked for an HTTP/1.1 client, else the connection's close ends it).
    static func writeHead(
        _ head: borrowing MessageHead, coding: ContentCoding?, vary: Bool, chunked: Bool, into out: inout ByteBuffer
    ) {
        out.clear()
        let statusLineEnd = head.buffer.withUnsafeReadableBytes { raw in
            (raw.firstIndex(of: 0x0A) ?? raw.count - 1) + 1
        }
        out.writeImmutableBuffer(head.buffer.getSlice(at: 0, length: statusLineEnd)!)
        for field in head.fields {
            let framing =
                head.nameEquals(field, "content-length") || head.nameEquals(field, "transfer-encoding")
                || head.nameEquals(field, "connection")
            if coding != nil, framing || head.nameEquals(field, "accept-ranges") { continue }
            let start = Int(field.nameStart)
            if coding != nil, head.nameEquals(field, "etag"), let etag = head.buffer.getString(
                at: Int(field.valueStart), length: Int(field.valueLength)), etag.hasPrefix("\"")
            {
                out.writeStaticString("ETag: W/")
                out.writeString(etag)
            } else {
                out.writeImmutableBuffer(
                    head.buffer.getSlice(at: start, length: Int(field.valueStart) + Int(field.valueLength) - start)!)
            }
            out.writeStaticString("\r\n")
        }
        if coding != nil {
            out.writeStaticString(chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n")
            if chunked, let connection = head.firstValue("connection") {
                out.writeStaticString("Connection: ")
                out.writeString(connection)
                out.writeStaticString("\r\n")
            }
        }
        if vary { out.writeStaticString("Vary: Accept-Encoding\r\n") }
        if let coding {
            out.writeStaticString("Content-Encoding: ")
            out.writeStaticString(coding.name)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
    }
}

/// `Accept-Encoding` as nginx's gzip filter and ngx_brotli read it: the token anywhere in the
/// value (after the start, a comma or a space), refused only with a zero `q`.
enum AcceptEncoding {
    /// nginx's `ngx_http_gzip_accept_encoding`.
    static func acceptsGzip(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let at = find(bytes, "gzip", where: { $0 == nil || $0 == 0x2C || $0 == 0x20 }) else { return false }
        var p = at + 4
        while p < bytes.count {
            let c = bytes[p]
            p += 1
            switch c {
            case 0x2C: return true
            case 0x20: continue
            case 0x3B:
                // `;q=...`
                while p < bytes.count, bytes[p] == 0x20 { p += 1 }
                guard p < bytes.count, bytes[p] | 0x20 == 0x71 else { return p >= bytes.count }
                p += 1
                guard p + 2 <= bytes.count, bytes[p] == 0x3D else { return false }
                return quantity(bytes[(p + 1)...]) > 0
            default: return false
            }
        }
        return true
    }

    /// nginx's `ngx_http_gzip_quantity` (its own reading of `q`, digits added up).
    private static func quantity(_ s: ArraySlice<UInt8>) -> Int {
        var i = s.startIndex
        let c = s[i]
        i += 1
        guard c == 0x30 || c == 0x31 else { return 0 }
        var q = Int(c - 0x30) * 100
        guard i < s.endIndex else { return q }
        let d = s[i]
        i += 1
        if d == 0x2C || d == 0x20 { return q }
        guard d == 0x2E else { return 0 }
        var n = 0
        while i < s.endIndex {
            let e = s[i]
            i += 1
            if e == 0x2C || e == 0x20 { break }
            guard e >= 0x30, e <= 0x39 else { return 0 }
            q += Int(e - 0x30)
            n += 1
        }
        return q > 100 || n > 3 ? 0 : q
    }

    /// ngx_brotli's `check_accept_encoding`: `br` between separators, not with `q=0`.
    static func acceptsBrotli(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        var from = 0
        while let at = find(bytes, "br", from: from, where: { $0 == nil || $0 == 0x2C || $0 == 0x20 }) {
            from = at + 2
            var p = at + 2
            let after: UInt8 = p < bytes.count ? bytes[p] : 0x20
            guard after == 0x2C || after == 0x20 || after == 0x3B else { continue }
            func next() -> UInt8 {
                defer { p += 1 }
                return p < bytes.count ? bytes[p] : 0
            }
            func skipSpaces() { while p < bytes.count, bytes[p] == 0x20 { p += 1 } }
            skipSpaces()
            guard next() == 0x3B else { return true }
            skipSpaces()
            guard next() == 0x71 else { return true }
            skipSpaces()
            guard next() == 0x3D else { return true }
            skipSpaces()
            guard next() == 0x30 else { return true }
            guard next() == 0x2E else { return false }
            for _ in 0..<3 {
                let digit = next()
                guard digit >= 0x30, digit <= 0x39 else { return false }
                if digit > 0x30 { return true }
            }
            return false
        }
        return false
    }

    /// The first case-insensitive occurrence of `token` at or after `from` whose preceding
    /// byte (nil at the start) passes `before`.
    private static func find(
        _ bytes: [UInt8], _ token: StaticString, from: Int = 0, where before: (UInt8?) -> Bool
    ) -> Int? {
        let n = token.utf8CodeUnitCount
        return token.withUTF8Buffer { t -> Int? in
            var i = from
            while i + n <= bytes.count {
                var match = true
                for k in 0..<n where bytes[i + k] | 0x20 != t[k] {
                    match = false
                    break
                }
                if match, before(i == 0 ? nil : bytes[i - 1]) { return i }
                i += 1
            }
            return nil
        }
    }
}
