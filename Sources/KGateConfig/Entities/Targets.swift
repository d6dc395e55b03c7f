import KGateSchema

extension EntitySchemas {
    /// Kong's `targets.target` validator: a host name or IP address with an optional port.
    static let targetValidator: Field.Validator = { value in
        guard case .string(let target) = value else { return nil }
        if (try? HostAndIP.normalize(target)) != nil { return nil }
        return "Invalid target ('\(target)'); not a valid hostname or ip address"
    }

    /// Kong's `targets` entity (`kong/db/schema/entities/targets.lua`); timestamps in ms.
    public static let targets = Schema(
        name: "targets",
        endpointKey: "target",
        cacheKey: ["upstream", "target"],
        workspaceable: true,
        fields: [
            EntityFields.id,
            ("created_at", Typedefs.autoTimestampMS),
            ("updated_at", Typedefs.autoTimestampMS),
            ("upstream", EntityFields.foreign("upstreams", required: true, onDelete: "cascade")),
            ("target", Field.string.with { $0.required = true; $0.customValidator = targetValidator }),
            ("weight", Field.integer.with { $0.defaultValue = 100; $0.between = 0...65535 }),
            EntityFields.tags,
        ])
}
