import KGateSchema

extension IPRestrictionPlugin {
    /// Kong's `ip-restriction` plugin subschema (`kong/plugins/ip-restriction/schema.lua`).
    public static let schema = Schema(
        name: "ip-restriction", primaryKey: [],
        fields: [
            (
                "config",
                Field.record(
                    Schema.record([
                        ("allow", Field.array(of: Typedefs.ipOrCIDR)),
                        ("deny", Field.array(of: Typedefs.ipOrCIDR)),
                        ("status", Field.number),
                        ("message", Field.string),
                    ]))
            )
        ],
        entityChecks: [.atLeastOneOf(["config.allow", "config.deny"])])
}
