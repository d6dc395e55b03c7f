import KGateSchema

extension Schema {
    /// A plugin's schema when it has checks on the whole plugin row (Kong's `entity_checks` on
    /// `config.*` paths): a `config` record of `fields`, with `checks`.
    static func plugin(_ name: String, config fields: [(String, Field)], checks: [EntityCheck]) -> Schema {
        Schema(name: name, primaryKey: [], fields: [("config", Field.record(Schema.record(fields)))], entityChecks: checks)
    }
}
