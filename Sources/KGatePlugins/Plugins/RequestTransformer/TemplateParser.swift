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

    static func tokenize(_ source: String) -> [Token]? {
        let b = Array(source.utf8)
        var tokens: [Token] = []
        var i = 0
        func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        while i < b.count {
            let c = b[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
            } else if isAlpha(c) {
                var j = i
                while j < b.count, isAlpha(b[j]) || isDigit(b[j]) { j += 1 }
                tokens.append(.name(String(decoding: b[i..<j], as: UTF8.self)))
                i = j
            } else if isDigit(c) || (c == 0x2E && i + 1 < b.count && isDigit(b[i + 1])) {
                var j = i
                while j < b.count, isDigit(b[j]) || b[j] == 0x2E || b[j] == 0x65 || b[j] == 0x45 { j += 1 }
                guard let d = Double(String(decoding: b[i..<j], as: UTF8.self)) else { return nil }
                tokens.append(.number(d))
                i = j
            } else if c == 0x22 || c == 0x27 {
                var out: [UInt8] = []
                var j = i + 1
                while j < b.count, b[j] != c {
                    if b[j] == 0x5C, j + 1 < b.count {
                        j += 1
                        switch b[j] {
                        case UInt8(ascii: "n"): out.append(0x0A)
                        case UInt8(ascii: "t"): out.append(0x09)
                        case UInt8(ascii: "r"): out.append(0x0D)
                        default: out.append(b[j])
                        }
                    } else {
                        out.append(b[j])
                    }
                    j += 1
                }
                guard j < b.count else { return nil }
                tokens.append(.string(String(decoding: out, as: UTF8.self)))
                i = j + 1
            } else {
                let two = i + 1 < b.count ? String(decoding: b[i...(i + 1)], as: UTF8.self) : ""
                if ["..", "==", "~=", "<=", ">="].contains(two) {
                    tokens.append(.symbol(two))
                    i += 2
                } else if "+-*/%#<>()[].,".utf8.contains(c) {
                    tokens.append(.symbol(String(UnicodeScalar(c))))
                    i += 1
                } else {
                    return nil
                }
            }
        }
        return tokens
    }

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
