import KGateSchema

extension EntitySchemas {
    /// Kong's bundled vaults (`BUNDLED_VAULTS`).
    public static let bundledVaults = ["env"]

    /// Kong's `vaults` entity (`kong/db/schema/entities/vaults.lua`, table `sm_vaults`) with the
    /// bundled `env` vault as its only subschema.
    public static let vaults = Schema(
        name: "vaults",
        endpointKey: "prefix",
        cacheKey: ["prefix"],
        workspaceable: true,
        adminAPIName: "vaults",
        fields: [
            EntityFields.id,
            (
                "prefix",
                Field.string.with {
                    $0.required = true
                    $0.unique = true
                    $0.uniqueAcrossWorkspaces = true
                    $0.match = "^[a-z][a-z%d-]-[a-z%d]+$"
                    $0.notOneOf = EntityFields.strings(bundledVaults)
                }
            ),
            ("name", Field.string.isRequired),
            ("description", .string),
            ("config", Field(.record).with { $0.abstract = true }),
            EntityFields.createdAt,
            EntityFields.updatedAt,
            EntityFields.tags,
        ],
        subschemaKey: "name",
        subschemaError: "vault '%s' is not installed",
        subschemas: [
            // kong/vaults/env/schema.lua
            "env": Schema(
                name: "env", primaryKey: [],
                fields: [
                    (
                        "config",
                        Field.record(
                            Schema.record([("prefix", Field.string.with { $0.match = "^[%a_-][%a%d_-]*$" })])
                        ).isRequired
                    )
                ])
        ])
}
