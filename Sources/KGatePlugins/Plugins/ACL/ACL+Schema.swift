import KGateSchema

extension ACLPlugin {
    /// Kong's `acl` plugin subschema (`kong/plugins/acl/schema.lua`): the config record and
    /// the plugin-level checks on `config.allow` / `config.deny`.
    public static let schema = Schema(
        name: "acl", primaryKey: [],
        fields: [
            (
                "config",
                Field.record(
                    Schema.record([
                        ("allow", Field.array(of: .string)),
                        ("deny", Field.array(of: .string)),
                        ("hide_groups_header", Field.boolean.isRequired.defaulting(false)),
                        ("always_use_authenticated_groups", Field.boolean.isRequired.defaulting(false)),
                    ]))
            )
        ],
        entityChecks: [
            .onlyOneOf(["config.allow", "config.deny"]),
            .atLeastOneOf(["config.allow", "config.deny"]),
        ])
}
