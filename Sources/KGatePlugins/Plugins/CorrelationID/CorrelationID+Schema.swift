import KGateSchema

extension CorrelationIDPlugin {
    /// Kong's `correlation-id` config schema (`kong/plugins/correlation-id/schema.lua`).
    public static let schema = Schema.record([
        ("header_name", Field.string.defaulting("Kong-Request-ID")),
        ("generator", Field.string.with {
            $0.required = true
            $0.defaultValue = "uuid#counter"
            $0.oneOf = ["uuid", "uuid#counter", "tracker"]
        }),
        ("echo_downstream", Field.boolean.isRequired.defaulting(false)),
    ])
}
