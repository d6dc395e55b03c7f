import KGateSchema

extension ResponseTransformerPlugin {
    /// Kong's `response-transformer` config schema (`kong/plugins/response-transformer/schema.lua`).
    public static let schema: Schema = {
        func array(_ element: Field) -> Field {
            Field.array(of: element).with {
                $0.required = true
                $0.defaultValue = .array([])
            }
        }
        let strings = array(.string)
        let colonStrings = array(Field.string.with { $0.match = "^[^:]+:.*$" })
        let jsonTypes = array(Field.string.with { $0.oneOf = [.string("boolean"), .string("number"), .string("string")] })
        let colonHeaders = array(Field.string.with {
            $0.match = "^[^:]+:.*$"
            $0.customValidator = TransformerRules.validateHeaders(value: true)
        })
        let remove = Schema.record([("json", strings), ("headers", strings)])
        let rename = Schema.record([("json", colonStrings), ("headers", colonHeaders)])
        let withTypes = Schema.record([("json", colonStrings), ("json_types", jsonTypes), ("headers", colonStrings)])
        return Schema.record([
            ("remove", .record(remove)), ("rename", .record(rename)), ("replace", .record(withTypes)),
            ("add", .record(withTypes)), ("append", .record(withTypes)),
        ])
    }()
}
