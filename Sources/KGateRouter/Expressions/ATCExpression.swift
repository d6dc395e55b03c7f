import KGateRegex
import KGateSchema

/// A router expression (Kong's `expressions` flavor, atc-router's language):
/// `http.path ^= "/api" && (http.method == "GET" || lower(http.host) =^ ".example.com")`.
///
/// `&&` and `||` associate to the left and `||` binds tighter than `&&`, as atc-router's
/// parser has them; `!( ... )` negates a parenthesised expression.
public indirect enum ATCExpression: Sendable {
    /// `field op value`.
    case predicate(ATCPredicate)
    /// Both.
    case and(ATCExpression, ATCExpression)
    /// Either.
    case or(ATCExpression, ATCExpression)
    /// `!(...)`.
    case not(ATCExpression)

    /// Each predicate, left to right.
    public var predicates: [ATCPredicate] {
        switch self {
        case .predicate(let p): return [p]
        case .and(let l, let r), .or(let l, let r): return l.predicates + r.predicates
        case .not(let e): return e.predicates
        }
    }
}

/// One comparison of a request field with a literal.
public struct ATCPredicate: Sendable {
    /// The field (`http.headers.x_api_version`).
    public var field: String
    /// `lower(field)`: compared lower-cased.
    public var lower: Bool
    /// `any(field)`: one value of a many-valued field is enough (else all must match).
    public var any: Bool
    /// The operator.
    public var op: ATCOperator
    /// The literal.
    public var value: ATCValue
    /// The literal as written.
    public var literal: String = ""
}

extension ATCPredicate: CustomStringConvertible {
    /// The predicate as written, spaced (`lower(http.host) == "a"`).
    public var description: String {
        var lhs = field
        if lower { lhs = "lower(\(lhs))" }
        if any { lhs = "any(\(lhs))" }
        return "\(lhs) \(op.rawValue) \(literal)"
    }
}

/// atc-router's binary operators.
public enum ATCOperator: String, Sendable, CaseIterable {
    case equals = "=="
    case notEquals = "!="
    case regex = "~"
    case prefix = "^="
    case postfix = "=^"
    case greaterOrEqual = ">="
    case greater = ">"
    case lessOrEqual = "<="
    case less = "<"
    case `in` = "in"
    case notIn = "not in"
    case contains = "contains"
}

/// A literal of an expression.
public enum ATCValue: Sendable {
    /// `"text"` or `r#"raw"#`.
    case string(String)
    /// `42`, `-1`, `0x1F`, `017`.
    case int(Int64)
    /// `10.0.0.1`, `::1`.
    case ip(IPAddress)
    /// `10.0.0.0/8`.
    case cidr(CIDR)
    /// The string of a `~` predicate, compiled.
    case regex(PCRERegex, source: String)

    /// The literal's type.
    var type: ATCType {
        switch self {
        case .string, .regex: return .string
        case .int: return .int
        case .ip: return .ipAddr
        case .cidr: return .ipCidr
        }
    }
}

/// The types of fields and literals.
public enum ATCType: Sendable, Hashable {
    case string, int, ipAddr, ipCidr
}

/// Why an expression does not parse or does not fit the schema; the text is what Kong puts
/// after `Router Expression failed validation: `.
public struct ATCError: Error, Sendable, CustomStringConvertible {
    /// The message.
    public let description: String
}

extension ATCExpression {
    /// Kong's HTTP fields and their types (`kong/router/fields.lua`); `*` stands for any name.
    static func httpFieldType(_ field: String) -> ATCType? {
        switch field {
        case "net.protocol", "tls.sni", "http.method", "http.host", "http.path": return .string
        case "net.src.port", "net.dst.port", "http.path.segments.len": return .int
        case "net.src.ip", "net.dst.ip": return .ipAddr
        default:
            for prefix in ["http.headers.", "http.queries.", "http.path.segments."] where field.hasPrefix(prefix) {
                return field.utf8.count > prefix.utf8.count ? .string : nil
            }
            return nil
        }
    }

    /// Kong's check of a route's `expression` (`routes.lua`'s `validate_expression`): nil when
    /// it parses and fits the HTTP schema, else atc-router's message (which Kong prefixes with
    /// `Router Expression failed validation: `).
    public static func validationError(_ source: String) -> String? {
        do {
            _ = try compile(ExpressionEngine.amended(source))
            return nil
        } catch {
            return error.description
        }
    }

    /// Parses and checks an expression against Kong's HTTP schema (atc-router's `validate`).
    public static func compile(_ source: String) throws(ATCError) -> ATCExpression {
        var parser = ATCParser(source)
        let expression = try parser.parseMatcher()
        for p in expression.predicates { try p.check() }
        return expression
    }
}

extension ATCPredicate {
    /// atc-router's semantic checks, with its messages.
    func check() throws(ATCError) {
        guard let lhs = ATCExpression.httpFieldType(field) else { throw ATCError(description: "Unknown LHS field") }
        if op != .regex, op != .in, op != .notIn, lhs != value.type {
            throw ATCError(description: "Type mismatch between the LHS and RHS values of predicate")
        }
        if lower, lhs != .string {
            throw ATCError(description: "lower-case transformation function only supported with String type fields")
        }
        switch op {
        case .equals, .notEquals: return
        case .regex:
            if lhs != .string { throw ATCError(description: "Regex operators only supports string operands") }
        case .prefix, .postfix:
            guard case .string = value else {
                throw ATCError(description: "Prefix/Postfix operators only supports string operands")
            }
        case .greater, .greaterOrEqual, .less, .lessOrEqual:
            guard case .int = value else {
                throw ATCError(description: "Greater/GreaterOrEqual/Less/LessOrEqual operators only supports integer operands")
            }
        case .in, .notIn:
            guard lhs == .ipAddr, case .cidr = value else {
                throw ATCError(description: "In/NotIn operators only supports IP in CIDR")
            }
        case .contains:
            guard case .string = value else { throw ATCError(description: "Contains operator only supports string operands") }
        }
    }
}
