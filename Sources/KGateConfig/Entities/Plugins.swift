import KGateSchema

extension EntitySchemas {
    /// Kong's message for a plugin name without subschema.
    public static let pluginNotEnabled = "plugin '%s' not enabled; add it to the 'plugins' configuration property"

    /// The base fields of Kong's `plugins` entity (`kong/db/schema/entities/plugins.lua`).
    static let pluginFields: [(String, Field)] = [
        EntityFields.id,
        ("name", Field.string.isRequired),
        ("instance_name", Typedefs.utf8Name),
        EntityFields.createdAt,
        EntityFields.updatedAt,
        ("route", EntityFields.foreign("routes", onDelete: "cascade", defaultNull: true)),
        ("service", EntityFields.foreign("services", onDelete: "cascade", defaultNull: true)),
        ("consumer", EntityFields.foreign("consumers", onDelete: "cascade", defaultNull: true)),
        ("config", Field(.record).with { $0.abstract = true }),
        ("protocols", Typedefs.protocols),
        ("enabled", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
        EntityFields.tags,
    ]

    /// Kong's `plugins` entity with one subschema per enabled plugin.
    ///
    /// - Parameters:
    ///   - enabled: plugin names (Kong's `plugins` setting).
    ///   - configSchemas: per plugin, either the schema of its `config` record, or a whole plugin
    ///     subschema (a schema with a `config` field, which may also carry plugin-level entity
    ///     checks and its own `protocols`/`consumer`/`route`/`service` overrides). A plugin
    ///     without an entry gets a free `config` record that accepts any object.
    public static func plugins(enabled: [String], configSchemas: [String: Schema] = [:]) -> Schema {
        var subschemas: [String: Schema] = [:]
        for name in enabled {
            subschemas[name] = pluginSubschema(name, given: configSchemas[name])
        }
        return Schema(
            name: "plugins",
            endpointKey: "instance_name",
            cacheKey: ["name", "route", "service", "consumer"],
            workspaceable: true,
            fields: pluginFields,
            subschemaKey: "name",
            subschemaError: pluginNotEnabled,
            subschemas: subschemas)
    }

    /// One plugin's subschema: forbidden foreign keys, `protocols`, and `config`.
    static func pluginSubschema(_ name: String, given: Schema?) -> Schema {
        let info = BundledPlugins.info(name)
        let isWhole = given?.field(named: "config") != nil
        var fields: [(String, Field)] = []
        if info?.noConsumer == true { fields.append(("consumer", Typedefs.noConsumer)) }
        if info?.noService == true { fields.append(("service", Typedefs.noService)) }
        if info?.noRoute == true { fields.append(("route", Typedefs.noRoute)) }
        fields.append(("protocols", info?.protocols ?? Typedefs.protocols))

        // Entity.new_subschema makes `config` and the records inside it required
        // (`make_records_required`): `requiringRecords()` below.
        fields.append(("config", isWhole ? Field(.record) : given.map(Field.record) ?? Field(.record)))

        guard let given, isWhole else {
            return Schema(name: name, primaryKey: [], fields: fields).requiringRecords()
        }
        // A whole plugin subschema: its own fields win over the defaults above.
        for (fname, field) in given.fields {
            if let i = fields.firstIndex(where: { $0.0 == fname }) {
                fields[i] = (fname, field)
            } else {
                fields.append((fname, field))
            }
        }
        return Schema(
            name: name, primaryKey: [], fields: fields, entityChecks: given.entityChecks,
            shorthandFields: given.shorthandFields, transformations: given.transformations, check: given.check
        ).requiringRecords()
    }
}
