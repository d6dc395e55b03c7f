#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema
import OrderedCollections

/// A JSON reader that sees a document as Kong's `cjson.safe.decode` does, with source positions.
///
/// Mirrors lua-cjson (OpenResty's, default settings): whitespace is space, tab, CR and LF; a NUL
/// byte ends the text; strings are taken byte for byte with the escapes `\" \\ \/ \b \f \n \r \t
/// \uXXXX` (surrogate pairs combined); numbers are read by `strtoll`/`strtod`, so cjson's lenient
/// forms (`+1`, `007`, `0x1F`, `1.`, `Infinity`, `NaN`) are accepted. Numbers without a
/// fraction, exponent or hex prefix become `.integer` (`.number` when they overflow `Int`), the
/// others `.number`. Duplicate keys: the last wins.
///
/// Error messages are cjson's (`Expected colon but found T_STRING at character 12`); the error's
/// `mark` gives the same position as a line and column. Nesting deeper than
/// ``ConfigText/maxDepth`` is refused as cjson refuses more than its limit
/// (`Found too many nested data structures (513) at character 513`).
public enum JSONReader {
    /// Parses `bytes` as one JSON value. Errors carry cjson's message (no Kong prefix).
    public static func read(_ bytes: [UInt8]) -> Result<SourceDocument, ConfigTextError> {
        if bytes.count >= 2, bytes[0] == 0 || bytes[1] == 0 {
            return .failure(ConfigTextError(message: "JSON parser does not support UTF-16 or UTF-32", mark: nil))
        }
        // A NUL-terminated copy: the NUL is cjson's end token and stops strtod/strtoll.
        var data = [UInt8]()
        data.reserveCapacity(bytes.count + 1)
        data.append(contentsOf: bytes)
        data.append(0)
        return data.withUnsafeBufferPointer { buf in
            var parser = JSONParser(buf)
            do throws(ConfigTextError) {
                let (value, node) = try parser.parseDocument()
                return .success(SourceDocument(value: value, root: node, fileName: nil))
            } catch {
                return .failure(error)
            }
        }
    }
}

/// cjson's token types, named as cjson names them in messages.
private enum JSONToken: UInt8 {
    case objBegin, objEnd, arrBegin, arrEnd, string, number, integer, boolean, null, colon, comma, end, error

    var name: String {
        switch self {
        case .objBegin: return "T_OBJ_BEGIN"
        case .objEnd: return "T_OBJ_END"
        case .arrBegin: return "T_ARR_BEGIN"
        case .arrEnd: return "T_ARR_END"
        case .string: return "T_STRING"
        case .number: return "T_NUMBER"
        case .integer: return "T_INTEGER"
        case .boolean: return "T_BOOLEAN"
        case .null: return "T_NULL"
        case .colon: return "T_COLON"
        case .comma: return "T_COMMA"
        case .end: return "T_END"
        case .error: return "T_ERROR"
        }
    }
}

private struct JSONParser {
    /// The input followed by one NUL byte.
    let b: UnsafeBufferPointer<UInt8>
    var pos = 0

    // Line tracking: `line` is the 1-based line of `lineStart`.
    var line = 1
    var lineStart = 0
    // Column cursor on the current line: `colCount` scalars lie between `lineStart` and `colPos`.
    var colPos = 0
    var colCount = 0

    // The current token.
    var token = JSONToken.end
    var tokenIndex = 0
    var tokenMark = SourceMark(line: 1, column: 1)
    var tokenString = ""
    var tokenValue = Value.null
    var tokenError = ""

    /// Reused buffer for strings with escapes.
    var scratch: [UInt8] = []

    init(_ b: UnsafeBufferPointer<UInt8>) {
        self.b = b
    }

    // MARK: Positions

    /// The mark of byte offset `index` (at or after the start of the current line).
    mutating func mark(at index: Int) -> SourceMark {
        if colPos < lineStart || colPos > index {
            colPos = lineStart
            colCount = 0
        }
        var i = colPos
        var count = colCount
        while i < index {
            if b[i] & 0xC0 != 0x80 { count += 1 }
            i += 1
        }
        colPos = index
        colCount = count
        return SourceMark(line: line, column: count + 1)
    }

    func fail(_ message: String, _ mark: SourceMark) -> ConfigTextError {
        ConfigTextError(message: message, mark: mark)
    }

    /// cjson's `json_throw_parse_error`.
    mutating func unexpected(_ expected: String) -> ConfigTextError {
        let found = token == .error ? tokenError : token.name
        return fail("Expected \(expected) but found \(found) at character \(tokenIndex + 1)", tokenMark)
    }

    // MARK: Tokens

    /// cjson's `json_next_token`.
    mutating func next() {
        while true {
            let c = b[pos]
            if c == 0x20 || c == 0x09 || c == 0x0D {
                pos += 1
            } else if c == 0x0A {
                pos += 1
                line += 1
                lineStart = pos
            } else {
                break
            }
        }
        tokenIndex = pos
        tokenMark = mark(at: pos)
        let c = b[pos]
        switch c {
        case UInt8(ascii: "{"): token = .objBegin; pos += 1
        case UInt8(ascii: "}"): token = .objEnd; pos += 1
        case UInt8(ascii: "["): token = .arrBegin; pos += 1
        case UInt8(ascii: "]"): token = .arrEnd; pos += 1
        case UInt8(ascii: ","): token = .comma; pos += 1
        case UInt8(ascii: ":"): token = .colon; pos += 1
        case 0: token = .end
        case UInt8(ascii: "\""): scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): scanNumber()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "i"), UInt8(ascii: "I"),
            UInt8(ascii: "N"), UInt8(ascii: "+"):
            if matches("true") {
                token = .boolean; tokenValue = .bool(true); pos += 4
            } else if matches("false") {
                token = .boolean; tokenValue = .bool(false); pos += 5
            } else if matches("null") {
                token = .null; tokenValue = .null; pos += 4
            } else if isInvalidNumber() {
                scanNumber()
            } else {
                setError("invalid token")
            }
        default:
            setError("invalid token")
        }
    }

    mutating func setError(_ what: String) {
        token = .error
        tokenIndex = pos
        tokenMark = mark(at: pos)
        tokenError = what
    }

    func matches(_ word: StaticString) -> Bool {
        let p = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount where b[pos + k] != p[k] { return false }  // NUL stops early
        return true
    }

    /// cjson's `json_is_invalid_number` for tokens that do not start with `-` or a digit.
    func isInvalidNumber() -> Bool {
        var p = pos
        if b[p] == UInt8(ascii: "+") { return true }
        if b[p] == UInt8(ascii: "-") { p += 1 }
        if b[p] == UInt8(ascii: "0") {
            let c2 = b[p + 1]
            return c2 | 0x20 == UInt8(ascii: "x") || (c2 >= 0x30 && c2 <= 0x39)
        } else if b[p] <= UInt8(ascii: "9") {
            return false
        }
        func word(_ w: StaticString) -> Bool {
            let q = w.utf8Start
            for k in 0..<w.utf8CodeUnitCount where b[p + k] | 0x20 != q[k] { return false }
            return true
        }
        return word("inf") || word("nan")
    }

    /// cjson's `json_next_number_token`: `strtoll`, or `strtod` for `.`, `e`, `E`, `x` and non-integers.
    mutating func scanNumber() {
        let start = pos
        var i = start
        var negative = false
        if b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        let digitsStart = i
        var acc = 0
        var overflow = false
        while b[i] &- 48 < 10 {
            if !overflow {
                let (m, o1) = acc.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(b[i] &- 48))
                if o1 || o2 { overflow = true } else { acc = s }
            }
            i += 1
        }
        let after = b[i]
        if i > digitsStart && after != UInt8(ascii: ".") && after != UInt8(ascii: "e")
            && after != UInt8(ascii: "E") && after != UInt8(ascii: "x")
        {
            pos = i
            if overflow {
                // Beyond Int: the nearest double (cjson would saturate; Lua has doubles anyway).
                tokenValue = .number(strtodAt(start).value)
                token = .number
            } else {
                tokenValue = .integer(negative ? -acc : acc)
                token = .integer
            }
            return
        }
        let (d, end) = strtodAt(start)
        if end == start {
            setError("invalid number")
            return
        }
        pos = end
        token = .number
        tokenValue = .number(d)
    }

    /// The C library's `strtod` at byte offset `index` (the input is NUL-terminated).
    func strtodAt(_ index: Int) -> (value: Double, end: Int) {
        let base = UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self)
        let start = base + index
        var endPtr: UnsafeMutablePointer<CChar>? = nil
        let d = strtod(start, &endPtr)
        guard let e = endPtr else { return (d, index) }
        return (d, index + (UnsafePointer(e) - start))
    }

    /// cjson's `json_next_string_token`.
    mutating func scanString() {
        pos += 1
        let contentStart = pos
        // Fast path: no escapes.
        while true {
            let c = b[pos]
            if c == UInt8(ascii: "\"") {
                tokenString = String(decoding: UnsafeBufferPointer(rebasing: b[contentStart..<pos]), as: UTF8.self)
                pos += 1
                token = .string
                return
            }
            if c == UInt8(ascii: "\\") { break }
            if c == 0 {
                setError("unexpected end of string")
                return
            }
            if c == 0x0A {
                line += 1
                lineStart = pos + 1
            }
            pos += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[contentStart..<pos]))
        while true {
            let c = b[pos]
            if c == UInt8(ascii: "\"") { break }
            if c == 0 {
                setError("unexpected end of string")
                return
            }
            if c == UInt8(ascii: "\\") {
                let e = b[pos + 1]
                let out: UInt8
                switch e {
                case UInt8(ascii: "\""): out = e
                case UInt8(ascii: "\\"): out = e
                case UInt8(ascii: "/"): out = e
                case UInt8(ascii: "b"): out = 0x08
                case UInt8(ascii: "t"): out = 0x09
                case UInt8(ascii: "n"): out = 0x0A
                case UInt8(ascii: "f"): out = 0x0C
                case UInt8(ascii: "r"): out = 0x0D
                case UInt8(ascii: "u"):
                    if !appendUnicodeEscape() {
                        setError("invalid unicode escape code")
                        return
                    }
                    continue
                default:
                    setError("invalid escape code")
                    return
                }
                scratch.append(out)
                pos += 2
                continue
            }
            if c == 0x0A {
                line += 1
                lineStart = pos + 1
            }
            scratch.append(c)
            pos += 1
        }
        pos += 1
        tokenString = String(decoding: scratch, as: UTF8.self)
        token = .string
    }

    /// Four hex digits at `index`, or nil (a NUL or any non-hex byte fails).
    func hex4(_ index: Int) -> Int? {
        var v = 0
        for k in 0..<4 {
            let c = b[index + k]
            let d: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int(c - 55)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// cjson's `json_append_unicode_escape` at `pos` (`\u`).
    mutating func appendUnicodeEscape() -> Bool {
        guard var cp = hex4(pos + 2) else { return false }
        var length = 6
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 { return false }
            guard b[pos + 6] == UInt8(ascii: "\\"), b[pos + 7] == UInt8(ascii: "u"),
                let low = hex4(pos + 8), low & 0xFC00 == 0xDC00
            else { return false }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            length = 12
        }
        if cp <= 0x7F {
            scratch.append(UInt8(cp))
        } else if cp <= 0x7FF {
            scratch.append(UInt8(cp >> 6) | 0xC0)
            scratch.append(UInt8(cp & 0x3F) | 0x80)
        } else if cp <= 0xFFFF {
            scratch.append(UInt8(cp >> 12) | 0xE0)
            scratch.append(UInt8((cp >> 6) & 0x3F) | 0x80)
            scratch.append(UInt8(cp & 0x3F) | 0x80)
        } else {
            scratch.append(UInt8(cp >> 18) | 0xF0)
            scratch.append(UInt8((cp >> 12) & 0x3F) | 0x80)
            scratch.append(UInt8((cp >> 6) & 0x3F) | 0x80)
            scratch.append(UInt8(cp & 0x3F) | 0x80)
        }
        pos += length
        return true
    }

    // MARK: Values

    /// An open array or object.
    struct Frame {
        var isObject: Bool
        var mark: SourceMark
        /// The key mark of this container when it is an object member.
        var ownKeyMark: SourceMark?
        var elements: [Value] = []
        var elementNodes: [SourceNode] = []
        var members: Object = [:]
        var memberNodes: OrderedDictionary<String, SourceNode> = [:]
        var key = ""
        var keyMark = SourceMark(line: 1, column: 1)
    }

    /// cjson's `json_decode`: one value, then the end.
    mutating func parseDocument() throws(ConfigTextError) -> (Value, SourceNode) {
        var frames: [Frame] = []
        next()
        while true {
            // Here the current token must start a value (cjson's json_process_value).
            var value: Value
            var node: SourceNode
            let keyMark: SourceMark? =
                frames.isEmpty || !frames[frames.count - 1].isObject ? nil : frames[frames.count - 1].keyMark
            switch token {
            case .string:
                value = .string(tokenString)
                node = SourceNode(mark: tokenMark, keyMark: keyMark)
            case .number, .integer, .boolean, .null:
                value = tokenValue
                node = SourceNode(mark: tokenMark, keyMark: keyMark)
            case .objBegin, .arrBegin:
                let isObject = token == .objBegin
                if frames.count >= ConfigText.maxDepth {
                    throw fail(
                        "Found too many nested data structures (\(frames.count + 1)) at character \(pos)",
                        tokenMark)
                }
                frames.append(Frame(isObject: isObject, mark: tokenMark, ownKeyMark: keyMark))
                next()
                if token == (isObject ? .objEnd : .arrEnd) {
                    let f = frames.removeLast()
                    (value, node) = complete(f)
                } else {
                    if isObject { try readKey(&frames) }
                    continue
                }
            default:
                throw unexpected("value")
            }
            // Deliver the finished value to its container; close containers that end here.
            while true {
                guard !frames.isEmpty else {
                    next()
                    if token != .end { throw unexpected("the end") }
                    return (value, node)
                }
                let top = frames.count - 1
                if frames[top].isObject {
                    let key = frames[top].key
                    frames[top].members[key] = value
                    frames[top].memberNodes[key] = node
                    next()
                    if token == .objEnd {
                        (value, node) = complete(frames.removeLast())
                        continue
                    }
                    if token != .comma { throw unexpected("comma or object end") }
                    next()
                    try readKey(&frames)
                } else {
                    frames[top].elements.append(value)
                    frames[top].elementNodes.append(node)
                    next()
                    if token == .arrEnd {
                        (value, node) = complete(frames.removeLast())
                        continue
                    }
                    if token != .comma { throw unexpected("comma or array end") }
                    next()
                }
                break
            }
        }
    }

    /// At an object key: takes the key and the colon, and moves to the value's first token.
    mutating func readKey(_ frames: inout [Frame]) throws(ConfigTextError) {
        if token != .string { throw unexpected("object key string") }
        let top = frames.count - 1
        frames[top].key = tokenString
        frames[top].keyMark = tokenMark
        next()
        if token != .colon { throw unexpected("colon") }
        next()
    }

    func complete(_ f: Frame) -> (Value, SourceNode) {
        if f.isObject {
            return (.object(f.members), SourceNode(mark: f.mark, keyMark: f.ownKeyMark, children: .mapping(f.memberNodes)))
        }
        return (.array(f.elements), SourceNode(mark: f.mark, keyMark: f.ownKeyMark, children: .sequence(f.elementNodes)))
    }
}
