import KGateSchema

extension EntitySchemas {
    /// Kong's `snis` entity (`kong/db/schema/entities/snis.lua`).
    public static let snis = Schema(
        name: "snis",
        endpointKey: "name",
        workspaceable: true,
        fields: [
            EntityFields.id,
            (
                "name",
                Typedefs.wildcardHost.with {
                    $0.required = true
                    $0.unique = true
                    $0.uniqueAcrossWorkspaces = true
                }
            ),
            EntityFields.createdAt,
            EntityFields.updatedAt,
            EntityFields.tags,
            ("certificate", EntityFields.foreign("certificates", required: true)),
        ])
}
