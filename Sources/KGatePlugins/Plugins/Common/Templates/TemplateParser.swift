/// Parses template expressions (see `Template`); what it cannot parse becomes
/// `TemplateExpr.invalid`, which fails when rendered.
enum TemplateParser {
    enum Token: Equatable {
        case name(String)
        case string(String)
        case number(Double)
        case symbol(String)
    }

    static func parse(_ source: String) -> TemplateExpr {
        guard let tokens = tokenize(source) else { return .invalid("unsupported template expression: \(source)") }
        var p = Parser(tokens: tokens)
        guard let e = p.expression(), p.position == tokens.count else {
            return .invalid("unsupported template expression: \(source)")
        }
        return e
    }

    /// The expression's tokens, read by Lua's lexer; nil when it does not lex or uses a
    /// keyword templates cannot evaluate (`function`, `end`, ...).
    static func tokenize(_ source: String) -> [Token]? {
        var lexer = LuaLexer(Array(source.utf8))
        var tokens: [Token] = []
        while true {
            let t: LuaLexer.Token
            switch lexer.next() {
            case .token(let token): t = token
            case .end: return tokens
            case .failure: return nil
            }
            switch t.kind {
            case .name:
                tokens.append(.name(t.text))
            case .symbol(let s) where LuaLexer.keywords.contains(s):
                guard Self.operandKeywords.contains(s) else { return nil }
                tokens.append(.name(s))
            case .symbol(let s):
                tokens.append(.symbol(s))
            case .literal:
                if let string = t.string {
                    tokens.append(.string(string))
                } else if let number = LuaLexer.numberValue(t.text) {
                    tokens.append(.number(number))
                } else {
                    return nil
                }
            case .end:
                return tokens
            }
        }
    }

    /// The keywords the parser reads (as names): literals and logical operators.
    static let operandKeywords: Set<String> = ["nil", "true", "false", "and", "or", "not"]

    struct Parser {
        let tokens: [Token]
        var position = 0

        init(tokens: [Token]) { self.tokens = tokens }

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func accept(_ symbol: String) -> Bool {
            if peek == .symbol(symbol) || peek == .name(symbol) {
                position += 1
                return true
            }
            return false
        }

        mutating func expression() -> TemplateExpr? { binary(level: 0) }

        static let levels: [[String]] = [
            ["or"], ["and"], ["==", "~=", "<", ">", "<=", ">="], [".."], ["+", "-"], ["*", "/", "%"],
        ]

        mutating func binary(level: Int) -> TemplateExpr? {
            guard level < Self.levels.count else { return unary() }
            guard var left = binary(level: level + 1) else { return nil }
            while let op = Self.levels[level].first(where: { peek == .symbol($0) || peek == .name($0) }) {
                position += 1
                // `..` is right associative.
                guard let right = op == ".." ? binary(level: level) : binary(level: level + 1) else { return nil }
                left = .binary(op, left, right)
                if op == ".." { break }
            }
            return left
        }

        mutating func unary() -> TemplateExpr? {
            for op in ["not", "-", "#"] where accept(op) {
                return unary().map { .unary(op, $0) }
            }
            return postfix()
        }

        mutating func postfix() -> TemplateExpr? {
            guard var e = primary() else { return nil }
            while true {
                if accept(".") {
                    guard case .name(let n)? = peek else { return nil }
                    position += 1
                    e = .index(e, .literal(.string(n)))
                } else if accept("[") {
                    guard let key = expression(), accept("]") else { return nil }
                    e = .index(e, key)
                } else if accept("(") {
                    var args: [TemplateExpr] = []
                    if !accept(")") {
                        repeat {
                            guard let a = expression() else { return nil }
                            args.append(a)
                        } while accept(",")
                        guard accept(")") else { return nil }
                    }
                    e = .call(e, args)
                } else {
                    return e
                }
            }
        }

        mutating func primary() -> TemplateExpr? {
            guard let t = peek else { return nil }
            position += 1
            switch t {
            case .string(let s): return .literal(.string(s))
            case .number(let d): return .literal(.number(d))
            case .name("nil"): return .literal(.none)
            case .name("true"): return .literal(.bool(true))
            case .name("false"): return .literal(.bool(false))
            case .name(let n) where !["or", "and", "not"].contains(n): return .global(n)
            case .symbol("("):
                guard let e = expression(), accept(")") else { return nil }
                return e
            default: return nil
            }
        }
    }
}
