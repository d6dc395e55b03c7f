import KGateRegex
import KGateSchema

/// A recursive-descent reader of atc-router's grammar (`atc_grammar.pest`): whitespace
/// between tokens, identifiers of letters, digits, `_` and `.`, string, raw string
/// (`r#"..."#`), IP, CIDR and integer (decimal, `0x` hex, `0`-led octal) literals.
struct ATCParser {
    private let bytes: [UInt8]
    private let source: String
    private var at = 0

    init(_ source: String) {
        self.source = source
        bytes = Array(source.utf8)
    }

    mutating func parseMatcher() throws(ATCError) -> ATCExpression {
        let e = try parseAnd()
        skipSpace()
        guard at == bytes.count else { throw failure("expected logical_operator") }
        return e
    }

    // MARK: Expressions: `||` binds tighter than `&&` (atc-router's Pratt table)

    private mutating func parseAnd() throws(ATCError) -> ATCExpression {
        var e = try parseOr()
        while take("&&") { e = .and(e, try parseOr()) }
        return e
    }

    private mutating func parseOr() throws(ATCError) -> ATCExpression {
        var e = try parseTerm()
        while take("||") { e = .or(e, try parseTerm()) }
        return e
    }

    private mutating func parseTerm() throws(ATCError) -> ATCExpression {
        if take("!") {
            guard take("(") else { throw failure("expected parenthesised_expression") }
            return .not(try parenthesised())
        }
        if take("(") { return try parenthesised() }
        return .predicate(try parsePredicate())
    }

    private mutating func parenthesised() throws(ATCError) -> ATCExpression {
        let e = try parseAnd()
        guard take(")") else { throw failure("expected logical_operator") }
        return e
    }

    // MARK: Predicates

    private mutating func parsePredicate() throws(ATCError) -> ATCPredicate {
        let (field, lower, any) = try parseLHS()
        let op = try parseOperator()
        skipSpace()
        let start = at
        let literal = try parseRHS()
        var value = literal
        if op == .regex {
            guard case .string(let pattern) = literal else {
                throw failure("regex operator can only be used with String operands", at: start)
            }
            do {
                value = .regex(try PCRERegex(pattern, options: .utf), source: pattern)
            } catch {
                throw failure("\(error)", at: start)
            }
        }
        let text = String(decoding: bytes[start..<at], as: UTF8.self)
        return ATCPredicate(field: field, lower: lower, any: any, op: op, value: value, literal: text)
    }

    /// `ident` or `lower(...)` / `any(...)` around one.
    private mutating func parseLHS() throws(ATCError) -> (String, lower: Bool, any: Bool) {
        skipSpace()
        let start = at
        guard let name = identifier() else { throw failure("expected term") }
        let save = at
        if take("(") {
            var inner = try parseLHS()
            guard take(")") else { throw failure("expected binary_operator") }
            switch name {
            case "lower": inner.lower = true
            case "any": inner.any = true
            default: throw failure("unknown transformation function: \(name)", at: start)
            }
            return inner
        }
        at = save
        return (name, false, false)
    }

    private mutating func identifier() -> String? {
        guard at < bytes.count, Self.isAlpha(bytes[at]) else { return nil }
        let start = at
        at += 1
        while at < bytes.count, Self.isAlpha(bytes[at]) || Self.isDigit(bytes[at]) || bytes[at] == UInt8(ascii: "_") || bytes[at] == UInt8(ascii: ".") {
            at += 1
        }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }

    private mutating func parseOperator() throws(ATCError) -> ATCOperator {
        skipSpace()
        for op in [ATCOperator.equals, .notEquals, .regex, .prefix, .postfix, .greaterOrEqual, .greater, .lessOrEqual, .less, .in] {
            if take(op.rawValue, skippingSpace: false) { return op }
        }
        let save = at
        if take("not", skippingSpace: false), take("in") { return .notIn }
        at = save
        if take("contains", skippingSpace: false) { return .contains }
        throw failure("expected binary_operator")
    }

    // MARK: Literals

    private mutating func parseRHS() throws(ATCError) -> ATCValue {
        guard at < bytes.count else { throw failure("expected rhs") }
        if bytes[at] == UInt8(ascii: "\"") { return .string(try stringLiteral()) }
        if startsWith("r#\"") { return .string(try rawStringLiteral()) }
        if let ip = try ipLiteral() { return ip }
        if let n = try intLiteral() { return .int(n) }
        throw failure("expected rhs")
    }

    private mutating func stringLiteral() throws(ATCError) -> String {
        let start = at
        at += 1
        var out: [UInt8] = []
        while at < bytes.count {
            let c = bytes[at]
            if c == UInt8(ascii: "\"") {
                at += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                guard at + 1 < bytes.count else { break }
                switch bytes[at + 1] {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                default: throw failure("expected str_esc", at: at)
                }
                at += 2
                continue
            }
            out.append(c)
            at += 1
        }
        throw failure("expected str_char", at: start)
    }

    private mutating func rawStringLiteral() throws(ATCError) -> String {
        let start = at
        at += 3
        let contentStart = at
        while at + 1 < bytes.count {
            if bytes[at] == UInt8(ascii: "\""), bytes[at + 1] == UInt8(ascii: "#") {
                let s = String(decoding: bytes[contentStart..<at], as: UTF8.self)
                at += 2
                return s
            }
            at += 1
        }
        throw failure("expected rawstr_char", at: start)
    }

    /// An IPv4/IPv6 address or CIDR, when the text has one's shape.
    private mutating func ipLiteral() throws(ATCError) -> ATCValue? {
        let start = at
        var end = at
        while end < bytes.count, Self.isHex(bytes[end]) || bytes[end] == UInt8(ascii: ":") || bytes[end] == UInt8(ascii: ".") {
            end += 1
        }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        let isV4 = Self.hasIPv4Shape(text)
        let isV6 = !isV4 && text.contains(":")
        guard isV4 || isV6 else { return nil }
        var cidrEnd = end
        if end < bytes.count, bytes[end] == UInt8(ascii: "/") {
            cidrEnd = end + 1
            while cidrEnd < bytes.count, Self.isDigit(bytes[cidrEnd]) { cidrEnd += 1 }
            let whole = String(decoding: bytes[start..<cidrEnd], as: UTF8.self)
            guard cidrEnd > end + 1, let cidr = CIDR(whole) else { throw failure("invalid IP network: \(whole)", at: start) }
            at = cidrEnd
            return .cidr(cidr)
        }
        guard let ip = IPAddress(text) else { throw failure("invalid IP address syntax", at: start) }
        at = end
        return .ip(ip)
    }

    private mutating func intLiteral() throws(ATCError) -> Int64? {
        let start = at
        var negative = false
        if bytes[at] == UInt8(ascii: "-") {
            negative = true
            at += 1
        }
        var digitsStart = at
        var radix = 10
        if startsWith("0x") {
            radix = 16
            at += 2
            digitsStart = at
            while at < bytes.count, Self.isHex(bytes[at]) { at += 1 }
        } else if at + 1 < bytes.count, bytes[at] == UInt8(ascii: "0"), Self.isOctal(bytes[at + 1]) {
            radix = 8
            at += 1
            digitsStart = at
            while at < bytes.count, Self.isOctal(bytes[at]) { at += 1 }
        } else {
            while at < bytes.count, Self.isDigit(bytes[at]) { at += 1 }
        }
        guard at > digitsStart else {
            at = start
            return nil
        }
        guard let n = Int64(String(decoding: bytes[digitsStart..<at], as: UTF8.self), radix: radix) else {
            throw failure("number too large to fit in target type", at: start)
        }
        return negative ? -n : n
    }

    // MARK: Tokens

    private mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[at]) { at += 1 }
    }

    private func startsWith(_ token: String) -> Bool {
        let t = Array(token.utf8)
        return bytes.count - at >= t.count && Array(bytes[at..<at + t.count]) == t
    }

    /// Consumes `token` (after whitespace) when it comes next.
    private mutating func take(_ token: String, skippingSpace: Bool = true) -> Bool {
        if skippingSpace { skipSpace() }
        guard startsWith(token) else { return false }
        at += token.utf8.count
        return true
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func isOctal(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "7") }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || ((c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f"))
    }

    /// Four dot-separated runs of 1 to 3 digits.
    private static func hasIPv4Shape(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { (1...3).contains($0.count) && $0.utf8.allSatisfy(isDigit) }
    }

    /// pest's error layout: position, the line with a caret, the message.
    private func failure(_ message: String, at position: Int? = nil) -> ATCError {
        let p = min(position ?? at, bytes.count)
        var line = 1
        var lineStart = 0
        for (i, c) in bytes[..<p].enumerated() where c == 0x0A {
            line += 1
            lineStart = i + 1
        }
        let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
        let column = String(decoding: bytes[lineStart..<p], as: UTF8.self).count + 1
        let text = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
        let gutter = String(repeating: " ", count: String(line).count)
        return ATCError(
            description: "\(gutter)--> \(line):\(column)\n\(gutter) |\n\(line) | \(text)\n\(gutter) | "
                + String(repeating: " ", count: column - 1) + "^---\n\(gutter) |\n\(gutter) = \(message)")
    }
}
