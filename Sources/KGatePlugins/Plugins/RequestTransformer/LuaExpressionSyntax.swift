/// Whether a template's `$(...)` is a Lua expression, as Penlight's `pl.template.compile` finds
/// when it loads `__tostring((expr) or '')`: Kong's schema refuses a request-transformer value
/// that does not compile (`check_for_value`).
///
/// This is LuaJIT's expression grammar, syntax only: names, literals (short and long strings,
/// decimal and hex numbers), table constructors, calls (`f(...)`, `f"s"`, `f{...}`,
/// `o:m(...)`), indexing, unary and binary operators. A `function ... end` body is not
/// checked (the expression is taken as valid), so nothing Lua accepts is refused. Messages are
/// Lua's (`[string "TMP"]:1: ')' expected near 'user2'`).
enum LuaExpressionSyntax {
    /// Lua's message for the first syntax error of `(expr) or ''`, or nil when it compiles.
    static func error(in expression: String) -> String? {
        var lexer = Lexer(Array(expression.utf8))
        var tokens: [Token] = [Token(kind: .symbol("("), text: "(", line: 1)]
        while true {
            switch lexer.next() {
            case .token(let t): tokens.append(t)
            case .end: break
            case .failure(let message): return message
            }
            if lexer.atEnd { break }
        }
        let line = lexer.line
        tokens += [")", "or", "''", ")"].map { Token(kind: $0 == "''" ? .literal : .symbol($0), text: $0, line: line) }
        var parser = Parser(tokens: tokens)
        do throws(Failure) {
            try parser.expression()
            guard parser.peek.kind == .symbol(")") else { throw parser.failure("')' expected") }
            return nil
        } catch {
            switch error {
            case .unchecked: return nil
            case .syntax(let message): return message
            }
        }
    }

    struct Token: Equatable {
        enum Kind: Equatable {
            case name
            case literal
            case symbol(String)
            case end
        }

        var kind: Kind
        var text: String
        var line: Int
    }

    enum Failure: Error {
        /// A syntax error, with Lua's message.
        case syntax(String)
        /// A construct this checker does not look into (`function`).
        case unchecked
    }

    static func message(_ line: Int, _ text: String) -> String { "[string \"TMP\"]:\(line): \(text)" }

    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local", "nil", "not",
        "goto", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    struct Lexer {
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
                        if !skipLongBracket(level) { return .failure(Lua.message(line, "unfinished long comment near '<eof>'")) }
                        continue
                    }
                    return .failure(Lua.message(line, "')' expected near '<eof>'"))
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
                return token(Lua.keywords.contains(text) ? .symbol(text) : .name)
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
                guard Self.isNumber(text) else { return .failure(Lua.message(line, "malformed number near '\(text)'")) }
                return token(.literal)
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                i += 1
                while i < b.count, b[i] != c {
                    if b[i] == 0x0A { return .failure(Lua.message(line, "unfinished string near '\(String(decoding: b[start..<i], as: UTF8.self))'")) }
                    if b[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
                guard i < b.count else { return .failure(Lua.message(line, "unfinished string near '<eof>'")) }
                i += 1
                return token(.literal)
            }
            if let level = longBracketLevel() {
                guard skipLongBracket(level) else { return .failure(Lua.message(line, "unfinished long string near '<eof>'")) }
                return token(.literal)
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
            return .failure(Lua.message(line, "unexpected symbol near '\(String(decoding: b[start..<i], as: UTF8.self))'"))
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

    private typealias Lua = LuaExpressionSyntax

    struct Parser {
        let tokens: [Token]
        var position = 0

        var peek: Token { position < tokens.count ? tokens[position] : Token(kind: .end, text: "<eof>", line: tokens.last?.line ?? 1) }

        func failure(_ text: String) -> Failure { .syntax(Lua.message(peek.line, "\(text) near '\(peek.text)'")) }

        mutating func accept(_ symbol: String) -> Bool {
            guard peek.kind == .symbol(symbol) else { return false }
            position += 1
            return true
        }

        /// `what` expected; names the opener when it is on another line, as Lua does.
        mutating func expect(_ what: String, closing opener: Token? = nil) throws(Failure) {
            if accept(what) { return }
            if let opener, opener.line != peek.line {
                throw failure("'\(what)' expected (to close '\(opener.text)' at line \(opener.line))")
            }
            throw failure("'\(what)' expected")
        }

        /// A string literal (call arguments may be one, never a number).
        static func isString(_ token: Token) -> Bool { token.text.first.map { "\"'[".contains($0) } ?? false }

        static let binary: Set<String> = ["+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=", "and", "or"]

        mutating func expression() throws(Failure) {
            if accept("not") || accept("-") || accept("#") {
                try expression()
                return
            }
            try simple()
            if case .symbol(let s) = peek.kind, Self.binary.contains(s) {
                position += 1
                try expression()
            }
        }

        mutating func simple() throws(Failure) {
            switch peek.kind {
            case .literal:
                position += 1
            case .symbol("nil"), .symbol("true"), .symbol("false"):
                position += 1
            case .symbol("..."):
                throw failure("cannot use '...' outside a vararg function")
            case .symbol("function"):
                throw .unchecked
            case .symbol("{"):
                try table()
            default:
                try suffixed()
            }
        }

        mutating func suffixed() throws(Failure) {
            let opener = peek
            if peek.kind == .name {
                position += 1
            } else if accept("(") {
                try expression()
                try expect(")", closing: opener)
            } else {
                throw failure("unexpected symbol")
            }
            while true {
                let previousLine = position > 0 ? tokens[position - 1].line : 1
                switch peek.kind {
                case .symbol("."):
                    position += 1
                    try name()
                case .symbol("["):
                    position += 1
                    try expression()
                    try expect("]")
                case .symbol(":"):
                    position += 1
                    try name()
                    try arguments(previousLine: tokens[position - 1].line)
                case .symbol("("), .symbol("{"):
                    try arguments(previousLine: previousLine)
                case .literal where Self.isString(peek):
                    try arguments(previousLine: previousLine)
                default:
                    return
                }
            }
        }

        mutating func name() throws(Failure) {
            guard peek.kind == .name else { throw failure("<name> expected") }
            position += 1
        }

        mutating func arguments(previousLine: Int) throws(Failure) {
            let opener = peek
            switch peek.kind {
            case .symbol("("):
                if opener.line != previousLine { throw failure("ambiguous syntax (function call x new statement)") }
                position += 1
                if accept(")") { return }
                repeat { try expression() } while accept(",")
                try expect(")", closing: opener)
            case .symbol("{"):
                try table()
            case .literal where Self.isString(opener):
                position += 1
            default:
                throw failure("function arguments expected")
            }
        }

        mutating func table() throws(Failure) {
            let opener = peek
            try expect("{")
            while !accept("}") {
                if accept("[") {
                    try expression()
                    try expect("]")
                    try expect("=")
                    try expression()
                } else if peek.kind == .name, position + 1 < tokens.count, tokens[position + 1].kind == .symbol("=") {
                    position += 2
                    try expression()
                } else {
                    try expression()
                }
                if !accept(","), !accept(";") {
                    try expect("}", closing: opener)
                    return
                }
            }
        }
    }
}
