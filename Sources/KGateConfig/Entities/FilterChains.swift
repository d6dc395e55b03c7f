import KGateSchema

extension EntitySchemas {
    /// Kong's status text when wasm is off (`kong/runloop/wasm.lua`); kgate has no wasm.
    public static let wasmDisabled = "wasm support is not enabled"

    /// Kong's `filter_chains` entity (wasm). kgate runs no wasm filters: no filter name is
    /// valid (`no such filter`) and the entity check always reports that wasm is disabled.
    public static let filterChains = Schema(
        name: "filter_chains",
        endpointKey: "name",
        cacheKey: ["route", "service"],
        workspaceable: true,
        adminAPIName: "filter-chains",
        fields: [
            EntityFields.id,
            ("name", Typedefs.utf8Name),
            ("enabled", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
            ("route", EntityFields.foreign("routes", onDelete: "cascade", defaultNull: true, unique: true)),
            ("service", EntityFields.foreign("services", onDelete: "cascade", defaultNull: true, unique: true)),
            (
                "filters",
                Field.array(of: .record(wasmFilter)).with {
                    $0.required = true
                    $0.lenMin = 1
                }
            ),
            EntityFields.createdAt,
            EntityFields.updatedAt,
            EntityFields.tags,
        ],
        entityChecks: [
            .mutuallyExclusive(["service", "route"]),
            .atLeastOneOf(["service", "route"]),
            .custom(.init(fieldSources: ["filters"], runWithInvalidFields: true, fn: { _ in wasmDisabled })),
        ])

    /// Kong's `wasm_filter` record (`kong/db/schema/others/wasm_filter.lua`).
    static let wasmFilter = Schema.record([
        (
            "name",
            Field.string.with {
                $0.required = true
                $0.oneOf = []
                $0.err = "no such filter"
            }
        ),
        ("enabled", Field.boolean.with { $0.defaultValue = true; $0.required = true }),
        ("config", Field(.json)),
    ])
}
