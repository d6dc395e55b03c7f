import KGateSchema

extension EntityRelationships {
    /// The relationships declared by a catalogue's schemas: every `foreign` field except `ws_id`,
    /// in the catalogue's (topological) order.
    public init(catalog: EntityCatalog) {
        var foreignKeys: [ForeignKey] = []
        for name in catalog.order {
            guard let schema = catalog.schemas[name] else { continue }
            for (fieldName, field) in schema.fields where field.type == .foreign && fieldName != "ws_id" {
                if let reference = field.reference {
                    foreignKeys.append(ForeignKey(entity: name, field: fieldName, reference: reference))
                }
            }
        }
        self.init(foreignKeys)
    }
}
