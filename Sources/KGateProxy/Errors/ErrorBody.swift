import KGateSettings
import NIOCore

/// The body formats of Kong's generated errors (`kong/tools/http.lua`).
enum ErrorFormat: Sendable, Hashable {
    case json, html, xml, plain, grpc
    /// `{"message":"..."}`: what nginx error pages give a client that accepts `application/grpc`
    /// over HTTP/1 (the handler passes a table that `kong.response.exit` encodes).
    case messageTable

    /// `Content-Type` of the body (`MIME_TYPES`).
    var contentType: String {
        switch self {
        case .json, .messageTable: return "application/json; charset=utf-8"
        case .html: return "text/html; charset=utf-8"
        case .xml: return "application/xml; charset=utf-8"
        case .plain: return "text/plain; charset=utf-8"
        case .grpc: return ""
        }
    }

    init(_ type: ErrorDefaultType) {
        switch type {
        case .json: self = .json
        case .xml: self = .xml
        case .html: self = .html
        case .plain: self = .plain
        }
    }

    /// Kong's `get_response_type(accept)`: the media range with the highest `q` (first wins on
    /// ties) mapped to a format; JSON by default.
    static func negotiate(accept: String?) -> ErrorFormat {
        guard let accept else { return .json }
        var best: ErrorFormat = .json
        var bestQuality = 0.0
        for entry in accept.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let (mediaType, quality) = parseAcceptEntry(entry) else { continue }
            if quality > bestQuality {
                bestQuality = quality
                best = mimeType(mediaType) ?? best
            }
        }
        return best
    }

    /// Kong's `get_mime_type`: `type/subtype` (case as written) → format; `*/*` and unknown
    /// types give JSON, `text/*` plain text, `application/*` JSON.
    static func mimeType(_ mediaType: Substring.UTF8View) -> ErrorFormat? {
        let text = String(Substring(mediaType))
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count > 1 else { return .json }
        if parts[1] == "*" {
            switch parts[0] {
            case "*", "application": return .json
            case "text": return .plain
            default: return .json
            }
        }
        switch text {
        case "text/html": return .html
        case "application/json": return .json
        case "text/plain": return .plain
        case "application/xml": return .xml
        case "application/grpc": return .grpc
        default: return .json
        }
    }

    /// One entry of `Accept` as Kong's `ACCEPT_PATTERN` reads it (anchored at its start, after
    /// trimming): the media type and its `q` (1 when absent); nil when it does not match.
    static func parseAcceptEntry(_ raw: Substring.UTF8View) -> (Substring.UTF8View, Double)? {
        var s = raw
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        let start = s.startIndex
        var i = start
        guard scanToken(s, &i), i < s.endIndex, s[i] == UInt8(ascii: "/") else { return nil }
        i = s.index(after: i)
        guard scanToken(s, &i) else { return nil }
        let mediaType = s[start..<i]
        var quality = 1.0
        // Parameters: `;q=...` or `;token[=value]`, as many as match in a row.
        while true {
            var j = i
            while j < s.endIndex, isSpace(s[j]) { j = s.index(after: j) }
            guard j < s.endIndex, s[j] == UInt8(ascii: ";") else { break }
            j = s.index(after: j)
            while j < s.endIndex, isSpace(s[j]) { j = s.index(after: j) }
            if let (q, end) = scanQuality(s, from: j) {
                quality = q
                i = end
                continue
            }
            var k = j
            guard scanToken(s, &k, allowStar: false) else { break }
            if k < s.endIndex, s[k] == UInt8(ascii: "=") {
                k = s.index(after: k)
                while k < s.endIndex, s[k] != UInt8(ascii: ";") { k = s.index(after: k) }
            }
            i = k
        }
        return (mediaType, quality)
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    private static func isTokenByte(_ b: UInt8, first: Bool) -> Bool {
        let lower = b | 0x20
        if (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39) { return true }
        if first { return false }
        return "-!#$&^_+.".utf8.contains(b)
    }

    /// `[a-z0-9][a-z0-9-!#$&^_+.]+` or `*`.
    private static func scanToken(_ s: Substring.UTF8View, _ i: inout Substring.UTF8View.Index, allowStar: Bool = true)
        -> Bool
    {
        guard i < s.endIndex else { return false }
        if allowStar, s[i] == UInt8(ascii: "*") {
            i = s.index(after: i)
            return true
        }
        guard isTokenByte(s[i], first: true) else { return false }
        var j = s.index(after: i)
        var count = 1
        while j < s.endIndex, isTokenByte(s[j], first: false) {
            j = s.index(after: j)
            count += 1
        }
        guard count >= 2 else { return false }
        i = j
        return true
    }

    /// `q = ( 1(?:\.0{0,3}|) | 0(?:\.\d{0,3}|) )`, spaces allowed around `=`.
    private static func scanQuality(_ s: Substring.UTF8View, from start: Substring.UTF8View.Index)
        -> (Double, Substring.UTF8View.Index)?
    {
        var i = start
        guard i < s.endIndex, s[i] | 0x20 == UInt8(ascii: "q") else { return nil }
        i = s.index(after: i)
        while i < s.endIndex, isSpace(s[i]) { i = s.index(after: i) }
        guard i < s.endIndex, s[i] == UInt8(ascii: "=") else { return nil }
        i = s.index(after: i)
        while i < s.endIndex, isSpace(s[i]) { i = s.index(after: i) }
        guard i < s.endIndex, s[i] == UInt8(ascii: "0") || s[i] == UInt8(ascii: "1") else { return nil }
        let numberStart = i
        let one = s[i] == UInt8(ascii: "1")
        i = s.index(after: i)
        if i < s.endIndex, s[i] == UInt8(ascii: ".") {
            i = s.index(after: i)
            var digits = 0
            while i < s.endIndex, digits < 3, one ? s[i] == UInt8(ascii: "0") : (s[i] >= 0x30 && s[i] <= 0x39) {
                i = s.index(after: i)
                digits += 1
            }
        }
        let value = Double(String(Substring(s[numberStart..<i]))) ?? (one ? 1 : 0)
        return (value, i)
    }
}

/// Kong's error bodies (`ERROR_TEMPLATES` filled with the message and the request id).
enum ErrorBody {
    /// The body text for a message in a format.
    static func text(_ message: String, requestID: String, format: ErrorFormat) -> String {
        switch format {
        case .json:
            return "{\n  \"message\":\"\(message)\",\n  \"request_id\":\"\(requestID)\"\n}"
        case .plain:
            return "\(message)\nrequest_id: \(requestID)\n"
        case .html:
            return """
                <!doctype html>
                <html>
                  <head>
                    <meta charset="utf-8">
                    <title>Error</title>
                  </head>
                  <body>
                    <h1>Error</h1>
                    <p>\(message).</p>
                    <p>request_id: \(requestID)</p>
                  </body>
                </html>

                """
        case .xml:
            return """
                <?xml version="1.0" encoding="UTF-8"?>
                <error>
                  <message>\(message)</message>
                  <requestid>\(requestID)</requestid>
                </error>

                """
        case .messageTable:
            return "{\"message\":\"\(message)\"}"
        case .grpc:
            return ""
        }
    }

    /// nginx-generated errors (`kong/error_handlers.lua`): the format comes from `Accept`, else
    /// `Content-Type`, else `error_default_type`; an `application/grpc` one gets a JSON table.
    static func nginxFormat(accept: String?, contentType: String?, defaultType: ErrorDefaultType) -> ErrorFormat {
        if let value = accept ?? contentType {
            if value.hasPrefix("application/grpc") { return .messageTable }
            return ErrorFormat.negotiate(accept: value)
        }
        return ErrorFormat.negotiate(accept: defaultType.rawValue)
    }

    /// nginx's own page for a status Kong's template routes to no `error_page` (501, 505):
    /// `ngx_http_special_response.c`'s HTML with the tail Kong's build leaves (no server
    /// token), CRLF line ends.
    static func nginxBuiltinPage(status: Int) -> [UInt8] {
        let title = "\(status) \(StatusLine.reason(status))"
        return Array(
            "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n</body>\r\n</html>\r\n"
                .utf8)
    }

    /// The message nginx's error pages carry for a status (`BODIES`).
    static func nginxMessage(status: Int) -> String {
        switch status {
        case 400: return "Bad request"
        case 404: return "Not found"
        case 405: return "Method not allowed"
        case 408: return "Request timeout"
        case 411: return "Length required"
        case 412: return "Precondition failed"
        case 413: return "Payload too large"
        case 414: return "URI too long"
        case 417: return "Expectation failed"
        case 494: return "Request header or cookie too large"
        case 500: return "An unexpected error occurred"
        case 502: return "An invalid response was received from the upstream server"
        case 503: return "The upstream server is currently unavailable"
        case 504: return "The upstream server is timing out"
        default: return "The upstream server responded with \(status)"
        }
    }
}
