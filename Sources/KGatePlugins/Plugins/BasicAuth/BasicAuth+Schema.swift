import KGateSchema

extension BasicAuthPlugin {
    /// Kong's `basic-auth` config schema (`kong/plugins/basic-auth/schema.lua`).
    public static let schema = Schema.record([
        ("anonymous", Field.string),
        ("hide_credentials", Field.boolean.isRequired.defaulting(false)),
        ("realm", Field.string.isRequired.defaulting("service")),
    ])
}
