import KGateConfig
import KGateHTTP
import KGateSchema
import NIOHTTP1

/// `/schemas/...` (`kong/api/routes/kong.lua`) and the deprecated `/plugins/schema/{name}`.
extension AdminAPI {
    /// Kong's `tags` entity (not part of the declarative catalogue, but a DAO with a schema).
    static let tagsSchema = Schema(
        name: "tags", primaryKey: ["tag"], endpointKey: "tag", dbExport: false,
        fields: [
            ("tag", Typedefs.tag),
            ("entity_name", Field.string.isRequired),
            ("entity_id", Typedefs.uuid.with { $0.required = true }),
        ])

    /// Any entity Kong has a DAO for.
    func entitySchema(_ name: String) -> Schema? {
        name == "tags" ? Self.tagsSchema : catalog.schemas[name]
    }

    /// `GET /schemas/{name}`: 404 `No entity named '<name>'`.
    func schemaOfEntity(_ name: String) -> HTTPResponse {
        guard let schema = entitySchema(name) else { return .message(.notFound, "No entity named '\(name)'") }
        return .kong(.ok, SchemaJSON.schema(schema))
    }

    /// `GET /schemas/plugins/{name}` and `/schemas/vaults/{name}`: a subschema, or 404
    /// `No plugin named '<name>'` / `No vault named '<name>'`.
    func subschema(of entity: String, _ name: String, missing: String) -> HTTPResponse {
        guard let sub = catalog.schemas[entity]?.subschemas[name] else {
            return .message(.notFound, "No \(missing) named '\(name)'")
        }
        return .kong(.ok, SchemaJSON.schema(sub))
    }

    /// `GET /plugins/schema/{name}`: the plugin's `config` record only.
    func legacyPluginSchema(_ name: String) -> HTTPResponse {
        guard let sub = catalog.schemas["plugins"]?.subschemas[name] else {
            return .message(.notFound, "No plugin named '\(name)'")
        }
        let record = sub.field(named: "config")?.record
        return .kong(
            .ok,
            [
                "fields": .array((record?.fields ?? []).map { ["\($0.name)": SchemaJSON.field($0.field)] }),
                "entity_checks": .array((record?.entityChecks ?? []).map(SchemaJSON.check)),
            ])
    }

    /// `POST /schemas/{entity}/validate`: 200 `schema validation successful`, or 400 code 2.
    func validate(_ name: String, _ params: Object) -> HTTPResponse {
        guard let schema = entitySchema(name) else { return .message(.notFound, "No entity named '\(name)'") }
        switch schema.processAutoFields(params, context: .insert) {
        case .failure(let errors):
            return KongDAOError.schemaViolation(errors)
        case .success(let processed):
            if let errors = schema.validate(processed) { return KongDAOError.schemaViolation(errors) }
            return .message(.ok, "schema validation successful")
        }
    }
}
