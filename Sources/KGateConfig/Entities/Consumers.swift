import KGateSchema

extension EntitySchemas {
    /// Kong's `consumers` entity (`kong/db/schema/entities/consumers.lua`).
    public static let consumers = Schema(
        name: "consumers",
        endpointKey: "username",
        workspaceable: true,
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            EntityFields.updatedAt,
            ("username", Field.string.with { $0.unique = true }),
            ("custom_id", Field.string.with { $0.unique = true }),
            EntityFields.tags,
        ],
        entityChecks: [.atLeastOneOf(["custom_id", "username"])])
}
