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
        var lexer = LuaLexer(Array(expression.utf8))
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

    enum Failure: Error {
        /// A syntax error, with Lua's message.
        case syntax(String)
        /// A construct this checker does not look into (`function`).
        case unchecked
    }

    typealias Token = LuaLexer.Token

    struct Parser {
        let tokens: [Token]
        var position = 0

        var peek: Token { position < tokens.count ? tokens[position] : Token(kind: .end, text: "<eof>", line: tokens.last?.line ?? 1) }

        func failure(_ text: String) -> Failure { .syntax(LuaLexer.message(peek.line, "\(text) near '\(peek.text)'")) }

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
