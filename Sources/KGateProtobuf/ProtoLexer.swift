import OrderedCollections

/// The tokenizer of protoc.lua's language, over the bytes of one file. Every read first skips
/// whitespace and comments; errors carry `file:line:column`.
struct ProtoLexer {
    let name: String
    let src: [UInt8]
    var pos = 0

    init(name: String, source: String) {
        self.name = name
        self.src = Array(source.utf8)
    }

    // MARK: Errors and positions

    func location(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var i = 0
        let end = min(offset, src.count)
        while i < end {
            if src[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return (line, offset - lineStart + 1)
    }

    func error(_ message: String, at offset: Int? = nil) -> ProtoError {
        let (line, column) = location(offset ?? pos)
        return ProtoError("\(name):\(line):\(column): \(message)")
    }

    // MARK: Characters

    func peek(_ ahead: Int = 0) -> UInt8 { pos + ahead < src.count ? src[pos + ahead] : 0 }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    static func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || Lua.isDigit(c) }

    /// Skips whitespace and `//` / `/* */` comments.
    mutating func skipSpace() throws(ProtoError) {
        while pos < src.count {
            let c = src[pos]
            if Lua.isSpace(c) {
                pos += 1
            } else if c == 0x2F && peek(1) == 0x2F {
                while pos < src.count && src[pos] != 0x0A { pos += 1 }
            } else if c == 0x2F && peek(1) == 0x2A {
                let start = pos
                pos += 2
                while pos < src.count && !(src[pos] == 0x2A && peek(1) == 0x2F) { pos += 1 }
                if pos >= src.count { throw error("unfinished comment", at: start) }
                pos += 2
            } else {
                return
            }
        }
    }

    mutating func atEOF() throws(ProtoError) -> Bool {
        try skipSpace()
        return pos >= src.count
    }

    /// Consumes `symbol` (punctuation or a word) if it comes next.
    mutating func test(_ symbol: String) throws(ProtoError) -> Bool {
        try skipSpace()
        let bytes = Array(symbol.utf8)
        guard pos + bytes.count <= src.count, Array(src[pos..<pos + bytes.count]) == bytes else { return false }
        if let last = bytes.last, Self.isIdentChar(last), Self.isIdentChar(peek(bytes.count)) { return false }
        pos += bytes.count
        return true
    }

    mutating func expect(_ symbol: String) throws(ProtoError) {
        if try !test(symbol) { throw error("expected '\(symbol)'") }
    }

    /// Skips `;` empty statements (protoc.lua never requires them).
    mutating func lineEnd() throws(ProtoError) {
        while true {
            try skipSpace()
            guard peek() == 0x3B else { return }
            pos += 1
        }
    }

    // MARK: Names

    /// `[A-Za-z_][A-Za-z0-9_]*`, or nil (nothing consumed).
    mutating func optionalIdent() throws(ProtoError) -> (String, Int)? {
        try skipSpace()
        guard Self.isIdentStart(peek()) else { return nil }
        let start = pos
        while Self.isIdentChar(peek()) { pos += 1 }
        return (String(decoding: src[start..<pos], as: UTF8.self), start)
    }

    mutating func ident(_ what: String = "name") throws(ProtoError) -> (String, Int) {
        guard let result = try optionalIdent() else { throw error("expected \(what)") }
        return result
    }

    /// `[A-Za-z_.][A-Za-z0-9_.]*` without `..`, or nil (nothing consumed).
    mutating func optionalFullIdent() throws(ProtoError) -> (String, Int)? {
        try skipSpace()
        guard Self.isIdentStart(peek()) || peek() == 0x2E else { return nil }
        let start = pos
        var end = pos
        while end < src.count && (Self.isIdentChar(src[end]) || src[end] == 0x2E) {
            if src[end] == 0x2E && end + 1 < src.count && src[end + 1] == 0x2E { return nil }
            end += 1
        }
        pos = end
        return (String(decoding: src[start..<end], as: UTF8.self), start)
    }

    /// A (possibly dotted, possibly fully qualified) type name.
    mutating func typeName(_ what: String = "type name") throws(ProtoError) -> (String, Int) {
        guard let result = try optionalFullIdent() else { throw error("expected \(what)") }
        return result
    }

    /// An option name: `ident`, `(full.ident)`, then `.ident`s; parentheses are dropped.
    mutating func optionName() throws(ProtoError) -> String {
        var name: String
        if try test("(") {
            name = try typeName("option name").0
            try expect(")")
        } else {
            name = try ident("option name").0
        }
        while try test(".") {
            name += "." + (try ident("option name").0)
        }
        return name
    }

    // MARK: Literals

    /// protoc.lua's `Lexer:integer`: `[+-]` then hex (`0x`), octal (leading `0`) or decimal.
    mutating func integer(_ what: String = "integer") throws(ProtoError) -> Int64 {
        try skipSpace()
        let start = pos
        var negative = false
        if peek() == 0x2B || peek() == 0x2D {
            negative = peek() == 0x2D
            pos += 1
        }
        var base: UInt64 = 10
        if peek() == 0x30 && peek(1) | 0x20 == 0x78 && Lua.hexDigit(peek(2)) != nil {
            base = 16
            pos += 2
        } else if peek() == 0x30 && Lua.isDigit(peek(1)) {
            base = 8
            pos += 1
        }
        var value: UInt64 = 0
        var digits = 0
        var overflow = false
        while let d = Lua.hexDigit(peek()), UInt64(d) < base {
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            overflow = overflow || o1 || o2
            value = a
            digits += 1
            pos += 1
        }
        if digits == 0 || Self.isIdentChar(peek()) || peek() == 0x2E {
            pos = start
            throw error("expected \(what)")
        }
        if overflow || value > UInt64(Int64.max) {
            throw error("integer out of range", at: start)
        }
        return negative ? -Int64(value) : Int64(value)
    }

    /// A floating-point or integer constant (protoc.lua's `Lexer:number`, plus hex and signed
    /// `inf`/`nan`), or nil (nothing consumed).
    mutating func optionalNumber() throws(ProtoError) -> Double? {
        try skipSpace()
        let start = pos
        var end = pos
        if src.indices.contains(end) && (src[end] == 0x2B || src[end] == 0x2D) { end += 1 }
        let body = end
        func byte(_ i: Int) -> UInt8 { i < src.count ? src[i] : 0 }
        if byte(body) == 0x30 && byte(body + 1) | 0x20 == 0x78 {
            end = body + 2
            while Lua.hexDigit(byte(end)) != nil { end += 1 }
            guard end > body + 2 else { return nil }
        } else if Self.isIdentStart(byte(body)) {
            // Signed inf/nan ("inf" alone is read as an identifier first, as protoc.lua does).
            guard body > start else { return nil }
            while Self.isIdentChar(byte(end)) { end += 1 }
            let word = String(decoding: src[body..<end], as: UTF8.self)
            guard word == "inf" || word == "nan" else { return nil }
        } else {
            var digits = 0
            if byte(end) == 0x2E { end += 1 }
            while Lua.isDigit(byte(end)) {
                end += 1
                digits += 1
            }
            guard digits > 0 else { return nil }
            if byte(end) == 0x2E && src[body] != 0x2E { end += 1 }
            while Lua.isDigit(byte(end)) { end += 1 }
            if byte(end) | 0x20 == 0x65 {
                var e = end + 1
                if byte(e) == 0x2B || byte(e) == 0x2D { e += 1 }
                if Lua.isDigit(byte(e)) {
                    while Lua.isDigit(byte(e)) { e += 1 }
                    end = e
                }
            }
        }
        guard let value = Lua.scan(String(decoding: src[start..<end], as: UTF8.self)) else {
            throw error("malformed number", at: start)
        }
        pos = end
        return value
    }

    /// One or more adjacent string literals (single or double quotes, C escapes), or nil.
    mutating func optionalQuote() throws(ProtoError) -> String? {
        try skipSpace()
        guard peek() == 0x22 || peek() == 0x27 else { return nil }
        var bytes: [UInt8] = []
        repeat {
            try readLiteral(into: &bytes)
            try skipSpace()
        } while peek() == 0x22 || peek() == 0x27
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func quote(_ what: String = "string") throws(ProtoError) -> String {
        guard let s = try optionalQuote() else { throw error("expected \(what)") }
        return s
    }

    private mutating func readLiteral(into out: inout [UInt8]) throws(ProtoError) {
        let start = pos
        let q = src[pos]
        pos += 1
        while true {
            guard pos < src.count else { throw error("unfinished string", at: start) }
            let c = src[pos]
            pos += 1
            if c == q { return }
            guard c == 0x5C else {
                out.append(c)
                continue
            }
            guard pos < src.count else { throw error("unfinished string", at: start) }
            let e = src[pos]
            pos += 1
            switch e {
            case 0x61: out.append(0x07)  // a
            case 0x62: out.append(0x08)  // b
            case 0x66: out.append(0x0C)  // f
            case 0x6E: out.append(0x0A)  // n
            case 0x72: out.append(0x0D)  // r
            case 0x74: out.append(0x09)  // t
            case 0x76: out.append(0x0B)  // v
            case 0x78, 0x58:  // \xHH
                var v = 0
                var n = 0
                while n < 2, let d = Lua.hexDigit(peek()) {
                    v = v * 16 + d
                    pos += 1
                    n += 1
                }
                if n == 0 { throw error("invalid escape '\\x'", at: pos - 2) }
                out.append(UInt8(v))
            case 0x30...0x37:  // \ooo
                var v = Int(e - 0x30)
                var n = 1
                while n < 3, peek() >= 0x30, peek() <= 0x37 {
                    v = v * 8 + Int(peek() - 0x30)
                    pos += 1
                    n += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            default:
                out.append(e)
            }
        }
    }

    // MARK: Constants

    /// protoc.lua's `Lexer:constant`. Returns `.none` for the `none` constant (no value).
    mutating func constant() throws(ProtoError) -> ProtoOptionValue? {
        if let (word, _) = try optionalFullIdent() {
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "none": return nil
            default: return .identifier(word)
            }
        }
        if let n = try optionalNumber() { return .number(n) }
        if let s = try optionalQuote() { return .string(s) }
        if try test("{") { return .structure(try structureBody()) }
        if try test("[") { return .array(try arrayBody()) }
        throw error("expected constant")
    }

    private mutating func structureBody() throws(ProtoError) -> OrderedDictionary<String, ProtoOptionValue> {
        var table = OrderedDictionary<String, ProtoOptionValue>()
        while try !test("}") {
            if pos >= src.count { throw error("expected '}'") }
            let key: String
            if peek() == 0x5B {  // [extension.name]: kept with its brackets, as protoc.lua does
                let start = pos
                var depth = 0
                repeat {
                    if src[pos] == 0x5B { depth += 1 }
                    if src[pos] == 0x5D { depth -= 1 }
                    pos += 1
                } while depth > 0 && pos < src.count
                if depth > 0 { throw error("expected ']'", at: start) }
                key = String(decoding: src[start..<pos], as: UTF8.self)
            } else {
                key = try typeName("field name").0
            }
            _ = try test(":")
            let value = try constant()
            _ = try test(",")
            try lineEnd()
            if let value { table[key] = value } else { table.removeValue(forKey: key) }
        }
        return table
    }

    private mutating func arrayBody() throws(ProtoError) -> [ProtoOptionValue] {
        var values: [ProtoOptionValue] = []
        while try !test("]") {
            if pos >= src.count { throw error("expected ']'") }
            if let value = try constant() { values.append(value) }
            _ = try test(",")
        }
        return values
    }
}
