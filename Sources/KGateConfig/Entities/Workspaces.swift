import KGateSchema

extension EntitySchemas {
    /// Kong's `CORE_ENTITIES` (`kong/constants.lua`), in declaration order, `tags` included.
    public static let coreEntities: [String] = [
        "workspaces", "consumers", "certificates", "services", "routes", "snis", "upstreams", "targets", "plugins",
        "tags", "ca_certificates", "clustering_data_planes", "parameters", "vaults", "key_sets", "keys",
        "filter_chains",
    ]

    /// Kong's `workspaces` entity (`kong/db/schema/entities/workspaces.lua`); not workspaceable.
    public static let workspaces = Schema(
        name: "workspaces",
        endpointKey: "name",
        cacheKey: ["name"],
        fields: [
            EntityFields.id,
            (
                "name",
                Typedefs.utf8Name.with {
                    $0.required = true
                    $0.notOneOf = EntityFields.strings(coreEntities)
                }
            ),
            ("comment", .string),
            EntityFields.createdAt,
            EntityFields.updatedAt,
            ("meta", Field.record(Schema.record([])).isRequired),
            ("config", Field.record(Schema.record([])).isRequired),
        ])

    /// Kong's `parameters` entity (internal: cluster id and the like).
    public static let parameters = Schema(
        name: "parameters",
        primaryKey: ["key"],
        cacheKey: ["key"],
        fields: [
            EntityFields.createdAt,
            ("key", Field.string.with { $0.required = true; $0.unique = true }),
            ("value", Field.string.isRequired),
        ])

    /// Kong's `CLUSTERING_SYNC_STATUS` values.
    static let clusteringSyncStatuses = [
        "unknown", "normal", "kong_version_incompatible", "plugin_set_incompatible", "plugin_version_incompatible",
        "filter_set_incompatible",
    ]

    /// Kong's `clustering_data_planes` entity (hybrid mode bookkeeping; not exported).
    public static let clusteringDataPlanes = Schema(
        name: "clustering_data_planes",
        ttl: true,
        dbExport: false,
        adminAPIName: "clustering/data-planes",
        fields: [
            ("id", Typedefs.uuid.isRequired),
            ("last_seen", Typedefs.autoTimestampS),
            EntityFields.updatedAt,
            ("ip", Typedefs.ip.isRequired),
            ("config_hash", Field.string.with { $0.lenEq = 32 }),
            ("hostname", Typedefs.host.isRequired),
            ("version", Typedefs.semanticVersion),
            (
                "sync_status",
                Field.string.with {
                    $0.required = true
                    $0.oneOf = EntityFields.strings(clusteringSyncStatuses)
                    $0.defaultValue = "unknown"
                }
            ),
            ("labels", .map(keys: .string, values: .string)),
            (
                "cert_details",
                Field.record(Schema.record([("expiry_timestamp", Field.number.with { $0.timestamp = true })])).isRequired
            ),
            ("rpc_capabilities", .set(of: Typedefs.capability)),
        ])
}
