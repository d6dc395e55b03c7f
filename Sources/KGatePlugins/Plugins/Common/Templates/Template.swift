/// request-transformer's templates (Penlight's `pl.template` with `$(...)`): literal text with
/// `$(expr)` pieces, each rendered as `expr or ''` and concatenated, so nil renders empty, a
/// number as Lua prints it, and a table or boolean fails the request (500), as in Kong.
///
/// Expressions are the part of Lua templates use: the environment tables `headers`,
/// `query_params`, `uri_captures`, `shared`; field and index access; string and number
/// literals; `or`, `and`, `not`, comparisons, `..`, arithmetic, `#`; and the functions
/// `type`, `tostring`, `tonumber`. Anything else fails at render time (500), as Lua would with
/// an undefined global.
struct Template: Sendable {
    enum Piece: Sendable {
        case text(String)
        case expression(TemplateExpr, source: String)
    }

    let pieces: [Piece]
    let source: String

    /// Whether the text has no `$(...)`.
    var isLiteral: Bool { pieces.allSatisfy { if case .text = $0 { return true } else { return false } } }

    /// Whether every `$(...)` parsed (Penlight's `compile` would succeed).
    var compiles: Bool {
        pieces.allSatisfy { if case .expression(.invalid, _) = $0 { return false } else { return true } }
    }

    /// Splits a template; `$(` without its balanced `)` stays text (Lua's `%b()`).
    init(_ source: String) {
        self.source = source
        var pieces: [Piece] = []
        let b = Array(source.utf8)
        var text: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "$"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "(") {
                var depth = 0
                var j = i + 1
                var end: Int?
                while j < b.count {
                    if b[j] == UInt8(ascii: "(") { depth += 1 }
                    if b[j] == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 {
                            end = j
                            break
                        }
                    }
                    j += 1
                }
                if let end {
                    if !text.isEmpty { pieces.append(.text(String(decoding: text, as: UTF8.self))) }
                    text.removeAll()
                    let inner = String(decoding: b[(i + 2)..<end], as: UTF8.self)
                    pieces.append(.expression(TemplateParser.parse(inner), source: inner))
                    i = end + 1
                    continue
                }
            }
            text.append(b[i])
            i += 1
        }
        if !text.isEmpty { pieces.append(.text(String(decoding: text, as: UTF8.self))) }
        self.pieces = pieces
    }

    /// Renders with an environment.
    func render(_ env: TemplateEnvironment) throws(TemplateError) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let t): out += t
            case .expression(let e, _):
                // Penlight's template: `tostring(expr or '')`.
                let v = try e.evaluate(env)
                out += v.isTruthy ? v.luaString : ""
            }
        }
        return out
    }
}

/// A template failure (Kong logs it and answers 500).
struct TemplateError: Error, Sendable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// What expressions read: Kong's lazily loaded `headers`, `query_params`, `uri_captures`,
/// `shared`.
struct TemplateEnvironment {
    var tables: [String: TemplateValue]
    static let functions: Set<String> = ["type", "tostring", "tonumber"]

    func global(_ name: String) -> TemplateValue {
        if let t = tables[name] { return t }
        return Self.functions.contains(name) ? .function(name) : .none
    }
}

/// An expression tree.
indirect enum TemplateExpr: Sendable {
    case literal(TemplateValue)
    case global(String)
    case index(TemplateExpr, TemplateExpr)
    case call(TemplateExpr, [TemplateExpr])
    case unary(String, TemplateExpr)
    case binary(String, TemplateExpr, TemplateExpr)
    /// Text that does not parse as a supported expression.
    case invalid(String)

    func evaluate(_ env: TemplateEnvironment) throws(TemplateError) -> TemplateValue {
        switch self {
        case .literal(let v): return v
        case .global(let name): return env.global(name)
        case .invalid(let message): throw TemplateError(message)
        case .index(let base, let key):
            let b = try base.evaluate(env)
            guard case .table(let t) = b else { throw TemplateError("attempt to index a \(b.luaType) value") }
            return t[try key.evaluate(env)]
        case .call(let fn, let args):
            let f = try fn.evaluate(env)
            guard case .function(let name) = f else { throw TemplateError("attempt to call a \(f.luaType) value") }
            var values: [TemplateValue] = []
            for a in args { values.append(try a.evaluate(env)) }
            let first = values.first ?? .none
            switch name {
            case "type": return .string(first.luaType)
            case "tostring": return .string(first.luaString)
            default: return first.arithmeticNumber.map(TemplateValue.number) ?? .none
            }
        case .unary(let op, let e):
            let v = try e.evaluate(env)
            switch op {
            case "not": return .bool(!v.isTruthy)
            case "#":
                if case .string(let s) = v { return .number(Double(s.utf8.count)) }
                if case .table(let t) = v { return .number(Double(t.length)) }
                throw TemplateError("attempt to get length of a \(v.luaType) value")
            default:
                guard let d = v.arithmeticNumber else { throw TemplateError("attempt to perform arithmetic on a \(v.luaType) value") }
                return .number(-d)
            }
        case .binary(let op, let l, let r):
            if op == "or" {
                let a = try l.evaluate(env)
                return a.isTruthy ? a : try r.evaluate(env)
            }
            if op == "and" {
                let a = try l.evaluate(env)
                return a.isTruthy ? try r.evaluate(env) : a
            }
            let a = try l.evaluate(env)
            let b = try r.evaluate(env)
            switch op {
            case "==": return .bool(a.luaEquals(b))
            case "~=": return .bool(!a.luaEquals(b))
            case "..":
                guard let x = a.concatString, let y = b.concatString else {
                    throw TemplateError("attempt to concatenate a \((a.concatString == nil ? a : b).luaType) value")
                }
                return .string(x + y)
            case "<", ">", "<=", ">=":
                if case .string(let x) = a, case .string(let y) = b { return .bool(Self.compare(op, x < y, x == y)) }
                if case .number(let x) = a, case .number(let y) = b { return .bool(Self.compare(op, x < y, x == y)) }
                throw TemplateError("attempt to compare \(a.luaType) with \(b.luaType)")
            default:
                guard let x = a.arithmeticNumber, let y = b.arithmeticNumber else {
                    throw TemplateError(
                        "attempt to perform arithmetic on a \((a.arithmeticNumber == nil ? a : b).luaType) value")
                }
                switch op {
                case "+": return .number(x + y)
                case "-": return .number(x - y)
                case "*": return .number(x * y)
                case "/": return .number(x / y)
                default: return .number(x - (x / y).rounded(.down) * y)
                }
            }
        }
    }

    private static func compare(_ op: String, _ less: Bool, _ equal: Bool) -> Bool {
        switch op {
        case "<": return less
        case ">": return !less && !equal
        case "<=": return less || equal
        default: return !less
        }
    }
}
