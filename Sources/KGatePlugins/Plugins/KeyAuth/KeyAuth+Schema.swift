import KGateSchema

extension KeyAuthPlugin {
    /// Kong's `key-auth` config schema (`kong/plugins/key-auth/schema.lua`).
    public static let schema = Schema.record([
        ("key_names", Field.array(of: Typedefs.headerName).with {
            $0.required = true
            $0.defaultValue = ["apikey"]
        }),
        ("hide_credentials", Field.boolean.isRequired.defaulting(false)),
        ("anonymous", Field.string),
        ("key_in_header", Field.boolean.isRequired.defaulting(true)),
        ("key_in_query", Field.boolean.isRequired.defaulting(true)),
        ("key_in_body", Field.boolean.isRequired.defaulting(false)),
        ("run_on_preflight", Field.boolean.isRequired.defaulting(true)),
        ("realm", Field.string),
    ])
}
