import KGateSchema

extension EntitySchemas {
    /// Kong's `key_sets` entity (`kong/db/schema/entities/key_sets.lua`).
    public static let keySets = Schema(
        name: "key_sets",
        endpointKey: "name",
        workspaceable: true,
        adminAPIName: "key-sets",
        fields: [
            EntityFields.id,
            ("name", Field.string.with { $0.unique = true }),
            EntityFields.tags,
            EntityFields.createdAt,
            EntityFields.updatedAt,
        ])
}
