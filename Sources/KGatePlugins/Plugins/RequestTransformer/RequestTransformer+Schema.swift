import KGateSchema

extension RequestTransformerPlugin {
    /// Kong's `request-transformer` config schema (`kong/plugins/request-transformer/schema.lua`).
    public static let schema: Schema = {
        let strings = Field.array(of: .string).with {
            $0.required = true
            $0.defaultValue = .array([])
        }
        func array(_ element: Field) -> Field {
            Field.array(of: element).with {
                $0.required = true
                $0.defaultValue = .array([])
            }
        }
        let headers = array(Field.string.with { $0.customValidator = TransformerRules.validateHeaders(value: false) })
        let colonStrings = array(Field.string.with { $0.customValidator = checkForValue })
        let colonHeaderValues = array(Field.string.with {
            $0.match = "^[^:]+:.*$"
            $0.customValidator = TransformerRules.validateHeaders(value: false)
        })
        let colonHeaders = array(Field.string.with {
            $0.match = "^[^:]+:.*$"
            $0.customValidator = TransformerRules.validateHeaders(value: true)
        })
        func record(_ headerField: Field, body: Field, querystring: Field, uri: Bool = false) -> Field {
            var fields: [(String, Field)] = [("body", body), ("headers", headerField), ("querystring", querystring)]
            if uri { fields.append(("uri", .string)) }
            return .record(Schema.record(fields))
        }
        return Schema.record([
            ("http_method", Typedefs.httpMethod),
            ("remove", record(headers, body: strings, querystring: strings)),
            ("rename", record(colonHeaders, body: colonStrings, querystring: colonStrings)),
            ("replace", record(colonHeaderValues, body: colonStrings, querystring: colonStrings, uri: true)),
            ("add", record(colonHeaderValues, body: colonStrings, querystring: colonStrings)),
            ("append", record(colonHeaderValues, body: colonStrings, querystring: colonStrings)),
        ])
    }()

    /// Kong's `check_for_value`: `name:value` with a non-empty value that compiles as a
    /// template (each `$(...)` a Lua expression).
    static let checkForValue: Field.Validator = { value in
        guard case .string(let entry) = value, let (name, v) = TransformerRules.split(entry) else { return nil }
        if v.isEmpty { return "key '\(name)' has no value" }
        for case .expression(_, let source) in Template(v).pieces {
            if let error = LuaExpressionSyntax.error(in: source) {
                return "value '\(v)' is not in supported format, error:\(error)"
            }
        }
        return nil
    }

    /// One `name:value` entry of a rule list; the value is a template (nil when empty).
    struct Rule: Sendable {
        var name: String
        var value: Template?

        static func parse(_ entries: [String]) -> [Rule] {
            entries.compactMap { entry in
                TransformerRules.split(entry).map { Rule(name: $0.name, value: $0.value.isEmpty ? nil : Template($0.value)) }
            }
        }
    }

    /// One of remove / rename / replace / add / append.
    struct Section: Sendable {
        var body: [Rule]
        var headers: [Rule]
        var querystring: [Rule]

        init(_ record: Object?) {
            body = Rule.parse(record?.strings("body") ?? [])
            headers = Rule.parse(record?.strings("headers") ?? [])
            querystring = Rule.parse(record?.strings("querystring") ?? [])
        }
    }
}
