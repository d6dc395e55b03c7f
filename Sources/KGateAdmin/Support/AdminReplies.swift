import KGateConfig
import KGateHTTP
import KGateSchema
import NIOHTTP1

/// The Admin API's responses: JSON bodies written as Kong's cjson writes them.
extension HTTPResponse {
    /// A JSON body.
    static func kong(_ status: HTTPResponseStatus, _ body: Value) -> HTTPResponse {
        .json(status, body.jsonText)
    }

    /// `{"message": text}`.
    static func message(_ status: HTTPResponseStatus, _ text: String) -> HTTPResponse {
        .kong(status, ["message": .string(text)])
    }

    /// 404 `{"message":"Not found"}`.
    static var notFound: HTTPResponse { .message(.notFound, "Not found") }

    /// 405 `{"message":"Method not allowed"}`.
    static var methodNotAllowed: HTTPResponse { .message(.methodNotAllowed, "Method not allowed") }

    /// A status without a body (204, 304, 415).
    static func empty(_ status: HTTPResponseStatus) -> HTTPResponse { HTTPResponse(status: status) }
}

/// Kong's DAO error objects (`kong/db/errors.lua`) and the statuses the Admin API gives them.
enum KongDAOError {
    static let invalidPrimaryKey = 1
    static let schemaViolation = 2
    static let invalidOffset = 7
    static let invalidSize = 9
    static let invalidUnique = 10
    static let invalidOptions = 11
    static let operationUnsupported = 12

    /// `{code, name, message[, fields|options]}`.
    static func object(code: Int, name: String, message: String, fields: Value? = nil, key: String = "fields") -> Value
    {
        var body: Object = ["code": .integer(code), "name": .string(name), "message": .string(message)]
        if let fields { body[key] = fields }
        return .object(body)
    }

    /// 405 code 12: `cannot create 'routes' entities when not using a database`.
    static func unsupported(_ operation: String, _ entity: String, byField field: String? = nil) -> HTTPResponse {
        let by = field.map { " by '\($0)'" } ?? ""
        let message = "cannot \(operation) '\(entity)' entities\(by) when not using a database"
        return .kong(
            .methodNotAllowed, object(code: operationUnsupported, name: "operation unsupported", message: message))
    }

    /// 400 code 2 with Kong's one-line summary of the error table.
    static func schemaViolation(_ errors: ErrorNode) -> HTTPResponse {
        .kong(
            .badRequest,
            object(
                code: schemaViolation, name: "schema violation", message: schemaViolationMessage(errors),
                fields: KongErrorBody.fieldsValue(errors)))
    }

    /// `schema violation (host: required field missing)` or `2 schema violations (a; b)`:
    /// `@entity` messages first, then fields in sorted order, one level of nesting as `a.b: msg`
    /// (deeper tables in penlight's compact form).
    static func schemaViolationMessage(_ errors: ErrorNode) -> String {
        var parts: [String] = []
        if case .node(let list)? = errors["@entity"] {
            for (_, value) in list.entries { if let m = value.message { parts.append(m) } }
        }
        for key in sortedKeys(errors) where key != .field("@entity") {
            switch errors[key]! {
            case .message(let m):
                parts.append("\(key): \(m)")
            case .node(let child):
                for sub in sortedKeys(child) {
                    let text: String
                    switch child[sub]! {
                    case .message(let m): text = m
                    case .node(let deeper): text = KongErrorBody.penlightText(deeper)
                    }
                    parts.append("\(key).\(sub): \(text)")
                }
            }
        }
        if parts.count == 1 { return "schema violation (\(parts[0]))" }
        return "\(parts.count) schema violations (\(parts.joined(separator: "; ")))"
    }

    /// Lua's `table.sort` of keys: indexes in numeric order, then names bytewise.
    static func sortedKeys(_ node: ErrorNode) -> [ErrorKey] {
        node.entries.map(\.key).sorted { a, b in
            switch (a, b) {
            case (.index(let x), .index(let y)): return x < y
            case (.index, .field): return true
            case (.field, .index): return false
            case (.field(let x), .field(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
            }
        }
    }

    /// 400 code 1: `invalid primary key: '{id="expected a valid UUID"}'`.
    static func invalidPrimaryKey(_ errors: ErrorNode) -> HTTPResponse {
        .kong(
            .badRequest,
            object(
                code: invalidPrimaryKey, name: "invalid primary key",
                message: "invalid primary key: '\(KongErrorBody.penlightText(errors))'",
                fields: KongErrorBody.fieldsValue(errors)))
    }

    /// 400 code 7: `'x' is not a valid offset: bad base64 encoding`.
    static func invalidOffset(_ offset: String, _ reason: String) -> HTTPResponse {
        .kong(
            .badRequest,
            object(code: invalidOffset, name: "invalid offset", message: "'\(offset)' is not a valid offset: \(reason)")
        )
    }

    /// 400 code 9: `size must be an integer between 1 and 1000`.
    static func invalidSize(_ message: String) -> HTTPResponse {
        .kong(.badRequest, object(code: invalidSize, name: "invalid size", message: message))
    }

    /// 400 code 10: `invalid unique name`, with the validator's message.
    static func invalidUnique(_ field: String, _ message: String) -> HTTPResponse {
        .kong(.badRequest, object(code: invalidUnique, name: "invalid unique \(field)", message: message))
    }

    /// 400 code 11: `invalid option (tags: invalid filter syntax)`, the options under `options`.
    static func invalidOption(_ option: String, _ message: String) -> HTTPResponse {
        .kong(
            .badRequest,
            object(
                code: invalidOptions, name: "invalid options", message: "invalid option (\(option): \(message))",
                fields: [option: .string(message)], key: "options"))
    }
}

/// A value, or the response that refuses the request (`Result` needs an `Error`).
enum Checked<T> {
    case ok(T)
    case refused(HTTPResponse)
}
