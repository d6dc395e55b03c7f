import KGateSchema

/// nginx's check of a request target's path (`ngx_http_parse_complex_uri`), which refuses a
/// request with 400 before Kong runs: percent-escapes must be two hex digits and not `%00`,
/// and `..` segments (escaped dots and slashes included) must not climb above the root.
enum RequestPath {
    /// Whether nginx takes the path of `target` (up to its first `?` or `#`).
    static func isValid(_ target: UnsafeRawBufferPointer) -> Bool {
        // The usual path has neither escapes nor dots: nothing to check.
        var needsCheck = false
        for b in target {
            if b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            if b == UInt8(ascii: "%") || b == UInt8(ascii: ".") {
                needsCheck = true
                break
            }
        }
        return !needsCheck || segmentsStayUnderRoot(target)
    }

    private static func segmentsStayUnderRoot(_ target: UnsafeRawBufferPointer) -> Bool {
        var depth = 0
        // The current segment: its length, and whether it is all dots so far.
        var length = 0
        var dots = 0
        var i = 0
        let n = target.count
        func endSegment() -> Bool {
            if length == 2, dots == 2 {
                depth -= 1
                if depth < 0 { return false }
            } else if length > 0, !(length == 1 && dots == 1) {
                depth += 1
            }
            length = 0
            dots = 0
            return true
        }
        // The target starts with `/` (or is empty before a query, in an absolute URI).
        if i < n, target[i] == UInt8(ascii: "/") { i += 1 }
        while i < n {
            var b = target[i]
            i += 1
            if b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            if b == UInt8(ascii: "%") {
                guard i + 1 < n, let high = PathNormalizer.hexValue(target[i]), let low = PathNormalizer.hexValue(target[i + 1]) else { return false }
                i += 2
                b = high << 4 | low
                if b == 0 { return false }
                // An escaped `%`, `#` or `?` is a plain byte of the segment.
                if b == UInt8(ascii: "%") || b == UInt8(ascii: "#") || b == UInt8(ascii: "?") {
                    length += 1
                    continue
                }
            }
            if b == UInt8(ascii: "/") {
                guard endSegment() else { return false }
                continue
            }
            length += 1
            if b == UInt8(ascii: ".") { dots += 1 }
        }
        return endSegment()
    }
}
