import KGateSchema

/// The schema of a whole declarative file, generated from the entity catalogue as Kong's
/// `declarative_config.lua` does: one top-level array per entity, nested arrays for children,
/// foreign keys as strings at top level and forced to null inside nested records.
struct DeclarativeSchema: Sendable {
    /// The schema that validates the file.
    let schema: Schema
    /// Entity names in Kong's topological order.
    let order: [String]
    /// Entity schemas as declared (used for ids, references and uniqueness).
    let entities: [String: Schema]
    /// entity → foreign field → referenced entity.
    let foreignReferences: [String: [String: String]]
    /// parent entity → child entity → the child's foreign field that points at the parent.
    let foreignChildren: [String: [String: String]]

    /// Builds the schema; `includeForeign` keeps foreign keys typed (Kong's "full" schema used
    /// for the second validation pass, after names were resolved to ids).
    init(catalog: EntityCatalog, includeForeign: Bool = false) {
        order = catalog.order
        entities = catalog.schemas
        var refs: [String: [String: String]] = [:]
        var children: [String: [String: String]] = [:]
        for entity in order {
            guard let schema = entities[entity] else { continue }
            for (name, field) in schema.fields where field.type == .foreign {
                guard let target = field.reference else { continue }
                refs[entity, default: [:]][name] = target
                children[target, default: [:]][entity] = name
            }
        }
        foreignReferences = refs
        foreignChildren = children

        let builder = RecordBuilder(order: order, entities: entities, children: children, includeForeign: includeForeign)
        var fields: [(String, Field)] = [
            ("_format_version", Field.string.with {
                $0.required = true
                $0.oneOf = ["1.1", "2.1", "3.0"]
            }),
            ("_transform", Field.boolean.with { $0.defaultValue = true }),
        ]
        fields += RecordBuilder.extraAttributes
        for entity in order where entities[entity] != nil {
            fields.append((entity, .array(of: .record(builder.record(entity, nested: false)))))
        }
        schema = Schema(name: "declarative_config", primaryKey: [], fields: fields)
    }

    /// Kong's `extract_pk_values`.
    func primaryKey(of entity: String, _ item: Object) -> Object {
        var pk = Object()
        for k in entities[entity]?.primaryKey ?? ["id"] { pk[k] = item[k] }
        return pk
    }
}

/// Builds the record schema of an entity at top level or nested under a parent.
private struct RecordBuilder {
    let order: [String]
    let entities: [String: Schema]
    let children: [String: [String: String]]
    let includeForeign: Bool

    static let extraAttributes: [(String, Field)] = [
        ("_comment", Field.string),
        ("_ignore", Field.array(of: Field(.any))),
    ]

    func record(_ entity: String, nested: Bool) -> Schema {
        let schema = entities[entity]!
        var fields: [(String, Field)] = schema.fields.map { name, field in
            guard field.type == .foreign, !includeForeign else { return (name, field) }
            if nested {
                return (name, field.with {
                    $0.eq = .null
                    $0.defaultValue = .null
                    $0.required = false
                })
            }
            // Top level: a foreign key is written as the referenced entity's name or id.
            var asString = Field.string
            asString.required = field.required
            asString.err = field.err
            return (name, asString)
        }
        fields += Self.extraAttributes
        // Children nest under their parent; a nested array replaces a same-named field (certificates.snis).
        for child in order {
            guard children[entity]?[child] != nil else { continue }
            let nestedField = Field.array(of: .record(record(child, nested: true)))
            if let i = fields.firstIndex(where: { $0.0 == child }) {
                fields[i] = (child, nestedField)
            } else {
                fields.append((child, nestedField))
            }
        }
        return schema.copy(fields: fields)
    }
}
