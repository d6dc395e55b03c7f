/// LuaJIT's lexer, for the Lua expressions of request-transformer templates: names, keywords,
/// short and long strings, decimal and hex numbers, comments and symbols, with line numbers
/// and Lua's messages for what does not lex. The schema's syntax check
/// (``LuaExpressionSyntax``) and the template evaluator (``TemplateParser``) both read
/// expressions through it, so both see the same tokens Lua would.
struct LuaLexer {
    struct Token: Equatable {
        enum Kind: Equatable {
            case name
            case literal
            case symbol(String)
            case end
        }

        var kind: Kind
        /// The token as written (Lua names it so in its messages).
        var text: String
        var line: Int
        /// A string literal's value: escapes decoded, a long string's first newline dropped.
        var string: String? = nil
    }

    /// Lua's form of a compile error of the chunk Penlight loads (named `TMP`).
    static func message(_ line: Int, _ text: String) -> String { "[string \"TMP\"]:\(line): \(text)" }

    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local", "nil", "not",
        "goto", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    enum Step {
        case token(Token)
        case end
        case failure(String)
    }

    let b: [UInt8]
    var i = 0
    var line = 1

    init(_ bytes: [UInt8]) { b = bytes }

    var atEnd: Bool { i >= b.count }

    func at(_ k: Int) -> UInt8 { i + k < b.count ? b[i + k] : 0 }

    static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A || c == 0x5F || c >= 0x80 }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// `[`, `=`*, `[`: the level of a long bracket starting here, or nil.
    func longBracketLevel() -> Int? {
        guard at(0) == UInt8(ascii: "[") else { return nil }
        var k = 1
        while at(k) == UInt8(ascii: "=") { k += 1 }
        return at(k) == UInt8(ascii: "[") ? k - 1 : nil
    }

    /// Skips a long bracket of `level` (the opening already checked); false if unfinished.
    mutating func skipLongBracket(_ level: Int) -> Bool {
        i += level + 2
        while i < b.count {
            if b[i] == 0x0A { line += 1 }
            if b[i] == UInt8(ascii: "]") {
                var k = 1
                while at(k) == UInt8(ascii: "=") { k += 1 }
                if k - 1 == level, at(k) == UInt8(ascii: "]") {
                    i += k + 1
                    return true
                }
            }
            i += 1
        }
        return false
    }

    mutating func next() -> Step {
        while i < b.count {
            let c = b[i]
            if c == 0x0A {
                line += 1
                i += 1
            } else if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C {
                i += 1
            } else if c == UInt8(ascii: "-"), at(1) == UInt8(ascii: "-") {
                // A comment swallows the rest of the line, with the `) or '')` Penlight
                // closes the expression with.
                i += 2
                if let level = longBracketLevel() {
                    if !skipLongBracket(level) { return .failure(Self.message(line, "unfinished long comment near '<eof>'")) }
                    continue
                }
                return .failure(Self.message(line, "')' expected near '<eof>'"))
            } else {
                break
            }
        }
        guard i < b.count else { return .end }
        let start = i
        let c = b[i]
        func token(_ kind: Token.Kind) -> Step {
            .token(Token(kind: kind, text: String(decoding: b[start..<i], as: UTF8.self), line: line))
        }
        if Self.isAlpha(c) {
            while i < b.count, Self.isAlpha(b[i]) || Self.isDigit(b[i]) { i += 1 }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            return token(Self.keywords.contains(text) ? .symbol(text) : .name)
        }
        if Self.isDigit(c) || (c == UInt8(ascii: ".") && Self.isDigit(at(1))) {
            // LuaJIT reads identifier characters and `.`, and a sign after the exponent
            // letter (`e`, `p` in hex), then converts.
            let exponent = c == UInt8(ascii: "0") && (at(1) | 0x20) == UInt8(ascii: "x") ? UInt8(ascii: "p") : UInt8(ascii: "e")
            while i < b.count {
                let d = b[i]
                let signed = d == UInt8(ascii: "+") || d == UInt8(ascii: "-")
                guard Self.isAlpha(d) || Self.isDigit(d) || d == UInt8(ascii: ".") || signed && (b[i - 1] | 0x20) == exponent
                else { break }
                i += 1
            }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            guard Self.isNumber(text) else { return .failure(Self.message(line, "malformed number near '\(text)'")) }
            return token(.literal)
        }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            i += 1
            var value: [UInt8] = []
            while i < b.count, b[i] != c {
                if b[i] == 0x0A { return .failure(Self.message(line, "unfinished string near '\(String(decoding: b[start..<i], as: UTF8.self))'")) }
                if b[i] == UInt8(ascii: "\\") {
                    guard readEscape(into: &value) else {
                        return .failure(Self.message(line, "invalid escape sequence near '\(String(decoding: b[start..<min(i, b.count)], as: UTF8.self))'"))
                    }
                } else {
                    value.append(b[i])
                    i += 1
                }
            }
            guard i < b.count else { return .failure(Self.message(line, "unfinished string near '<eof>'")) }
            i += 1
            var t = Token(kind: .literal, text: String(decoding: b[start..<i], as: UTF8.self), line: line)
            t.string = String(decoding: value, as: UTF8.self)
            return .token(t)
        }
        if let level = longBracketLevel() {
            let startLine = line
            guard skipLongBracket(level) else { return .failure(Self.message(line, "unfinished long string near '<eof>'")) }
            var t = Token(kind: .literal, text: String(decoding: b[start..<i], as: UTF8.self), line: startLine)
            var body = b[(start + level + 2)..<(i - level - 2)]
            // Lua drops a newline right after the opening bracket.
            if body.first == 0x0D { body = body.dropFirst() }
            if body.first == 0x0A { body = body.dropFirst() }
            t.string = String(decoding: body, as: UTF8.self)
            return .token(t)
        }
        for symbol in ["...", "..", "==", "~=", "<=", ">="] where b[i...].starts(with: symbol.utf8) {
            i += symbol.utf8.count
            return token(.symbol(symbol))
        }
        if "+-*/%^#<>=(){}[];:,.".utf8.contains(c) {
            i += 1
            return token(.symbol(String(UnicodeScalar(c))))
        }
        i += 1
        return .failure(Self.message(line, "unexpected symbol near '\(String(decoding: b[start..<i], as: UTF8.self))'"))
    }

    /// Decodes the escape at `i` (a backslash) into `value`, past it; false for one Lua refuses.
    /// LuaJIT's escapes: `\a \b \f \n \r \t \v \\ \" \'`, an escaped newline, `\xXX`,
    /// `\ddd` (up to 255), `\z` (skips the whitespace after it) and `\u{XXX}` (UTF-8).
    mutating func readEscape(into value: inout [UInt8]) -> Bool {
        i += 1
        guard i < b.count else { return false }
        let e = b[i]
        i += 1
        switch e {
        case UInt8(ascii: "a"): value.append(0x07)
        case UInt8(ascii: "b"): value.append(0x08)
        case UInt8(ascii: "f"): value.append(0x0C)
        case UInt8(ascii: "n"): value.append(0x0A)
        case UInt8(ascii: "r"): value.append(0x0D)
        case UInt8(ascii: "t"): value.append(0x09)
        case UInt8(ascii: "v"): value.append(0x0B)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): value.append(e)
        case 0x0A, 0x0D:
            line += 1
            value.append(0x0A)
            if i < b.count, b[i] == (e == 0x0A ? 0x0D : 0x0A) { i += 1 }
        case UInt8(ascii: "x"):
            guard let high = Self.hexValue(at(0)), let low = Self.hexValue(at(1)) else { return false }
            value.append(UInt8(high << 4 | low))
            i += 2
        case UInt8(ascii: "z"):
            while i < b.count, b[i] == 0x20 || (0x09...0x0D).contains(b[i]) {
                if b[i] == 0x0A { line += 1 }
                i += 1
            }
        case UInt8(ascii: "u"):
            guard at(0) == UInt8(ascii: "{") else { return false }
            i += 1
            var scalar: UInt32 = 0
            var digits = 0
            while let d = Self.hexValue(at(0)) {
                scalar = scalar << 4 | UInt32(d)
                guard scalar <= 0x10FFFF else { return false }
                digits += 1
                i += 1
            }
            guard digits > 0, at(0) == UInt8(ascii: "}") else { return false }
            i += 1
            // LuaJIT encodes any code point below 0x110000, surrogates included.
            value += Self.utf8(scalar)
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var n = Int(e - 0x30)
            for _ in 0..<2 where Self.isDigit(at(0)) {
                n = n * 10 + Int(at(0) - 0x30)
                i += 1
            }
            guard n <= 255 else { return false }
            value.append(UInt8(n))
        default:
            return false
        }
        return true
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - 0x30
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - 0x61 + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - 0x41 + 10
        default: nil
        }
    }

    /// UTF-8 bytes of a code point, as LuaJIT writes `\u{...}` (surrogates too).
    static func utf8(_ scalar: UInt32) -> [UInt8] {
        switch scalar {
        case ..<0x80: [UInt8(scalar)]
        case ..<0x800: [UInt8(0xC0 | scalar >> 6), UInt8(0x80 | scalar & 0x3F)]
        case ..<0x10000: [UInt8(0xE0 | scalar >> 12), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F)]
        default:
            [UInt8(0xF0 | scalar >> 18), UInt8(0x80 | scalar >> 12 & 0x3F), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F)]
        }
    }

    /// The value of a number token: decimal, or hex with an optional fraction and binary
    /// exponent. Nil for LuaJIT's `LL`, `ULL` and `i` suffixes: those make 64-bit integer and
    /// complex cdata, not Lua numbers.
    static func numberValue(_ text: String) -> Double? {
        let s = text.lowercased()
        guard isNumber(s), !s.hasSuffix("ll"), !s.hasSuffix("i") else { return nil }
        guard s.hasPrefix("0x") else { return Double(s) }
        let parts = s.dropFirst(2).split(separator: "p", maxSplits: 1, omittingEmptySubsequences: false)
        var mantissa = 0.0
        var scale = 0
        var fraction = false
        for c in parts[0].utf8 {
            if c == UInt8(ascii: ".") {
                fraction = true
            } else if let d = hexValue(c) {
                mantissa = mantissa * 16 + Double(d)
                if fraction { scale -= 4 }
            }
        }
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        return mantissa * pow2(scale + exponent)
    }

    private static func pow2(_ n: Int) -> Double {
        Double(sign: .plus, exponent: n, significand: 1)
    }

    /// LuaJIT's numbers: decimal with optional fraction and exponent, or hex (`0x`), with
    /// an optional `LL`, `ULL` or `i` suffix.
    static func isNumber(_ text: String) -> Bool {
        var s = Substring(text.lowercased())
        for suffix in ["ull", "ll", "i"] where s.hasSuffix(suffix) {
            s = s.dropLast(suffix.count)
            break
        }
        if s.hasPrefix("0x") {
            let body = s.dropFirst(2)
            let parts = body.split(separator: "p", maxSplits: 1, omittingEmptySubsequences: false)
            let mantissa = parts[0]
            guard !mantissa.isEmpty, mantissa != ".", mantissa.filter({ $0 == "." }).count <= 1,
                mantissa.allSatisfy({ $0.isHexDigit || $0 == "." })
            else { return false }
            return parts.count == 1 || Double("1e" + parts[1]) != nil
        }
        return Double(s) != nil && s.allSatisfy { $0.isNumber || "e.+-".contains($0) }
    }
}
