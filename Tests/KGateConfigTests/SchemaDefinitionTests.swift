import KGateSchema
import Testing

@testable import KGateConfig

/// Every bundled schema follows the metaschema's rules (checked once, not per request).
struct SchemaDefinitionTests {
    @Test(arguments: [RouterFlavor.traditional, .traditionalCompatible, .expressions])
    func bundledSchemasAreWellFormed(_ flavor: RouterFlavor) {
        let catalog = EntityCatalog(routerFlavor: flavor)
        for name in catalog.order {
            let errors = catalog.schemas[name]?.definitionErrors() ?? ["\(name): missing"]
            #expect(errors.isEmpty, "\(name): \(errors)")
        }
    }

    @Test func brokenDefinitionsAreReported() {
        let s = Schema(
            name: "things", primaryKey: ["id"], cacheKey: ["name"],
            fields: [("name", .string), ("list", Field(.array))],
            entityChecks: [.atLeastOneOf(["nope"])])
        let errors = s.definitionErrors()
        #expect(errors.contains("things: primary key 'id' is not a field"))
        #expect(errors.contains("things: a field used as a single cache key must be unique"))
        #expect(errors.contains("things.list: field of type 'array' must declare 'elements'"))
        #expect(errors.contains("things: entity check refers to unknown field 'nope'"))
    }
}
