import KGateSchema

/// The entity schemas a node knows, as Kong's `DeclarativeConfig.load` assembles them: core
/// entities (without `tags`), then the DAO entities of the enabled plugins, topologically sorted.
public struct EntityCatalog: Sendable {
    /// Entity schemas by name (`"services"`, `"keyauth_credentials"`, ...).
    public let schemas: [String: Schema]
    /// Kong's topological order of known entities (workspaces first; core before plugin
    /// entities; ties alphabetical; `tags` excluded).
    public let order: [String]
    /// Enabled plugin names (Kong's `plugins` setting; default all 45 bundled).
    public let enabledPlugins: [String]
    /// The router flavor the routes schema was built for.
    public let routerFlavor: RouterFlavor

    /// Builds the catalogue.
    ///
    /// - Parameters:
    ///   - routerFlavor: Kong's `router_flavor` (routes `snis` elements, `expression`, ATC checks).
    ///   - enabledPlugins: Kong's `plugins` setting; each gets a `plugins` subschema, and bundled
    ///     ones bring their DAO entities (`keyauth_credentials`, ...).
    ///   - pluginConfigSchemas: per plugin, the `config` record schema or a whole plugin
    ///     subschema (see `EntitySchemas.plugins(enabled:configSchemas:)`); plugins without one
    ///     accept any `config` object.
    ///   - routeExpressionValidator: the ATC expression check for the ATC router flavors.
    public init(
        routerFlavor: RouterFlavor = .traditionalCompatible, enabledPlugins: [String] = BundledPlugins.names,
        pluginConfigSchemas: [String: Schema] = [:],
        routeExpressionValidator: EntitySchemas.RouteExpressionValidator? = nil
    ) {
        var plugins: [String] = []
        for name in enabledPlugins where !plugins.contains(name) { plugins.append(name) }
        self.enabledPlugins = plugins
        self.routerFlavor = routerFlavor

        var list: [Schema] = [
            EntitySchemas.workspaces,
            EntitySchemas.consumers,
            EntitySchemas.certificates,
            EntitySchemas.services,
            EntitySchemas.routes(flavor: routerFlavor, expressionValidator: routeExpressionValidator),
            EntitySchemas.snis,
            EntitySchemas.upstreams,
            EntitySchemas.targets,
            EntitySchemas.plugins(enabled: plugins, configSchemas: pluginConfigSchemas),
            EntitySchemas.caCertificates,
            EntitySchemas.clusteringDataPlanes,
            EntitySchemas.parameters,
            EntitySchemas.vaults,
            EntitySchemas.keySets,
            EntitySchemas.keys,
            EntitySchemas.filterChains,
        ]
        for plugin in plugins {
            for entity in BundledPlugins.info(plugin)?.daoEntities ?? [] {
                if let schema = EntitySchemas.pluginEntities[entity], !list.contains(where: { $0.name == entity }) {
                    list.append(schema)
                }
            }
        }
        var byName: [String: Schema] = [:]
        for schema in list { byName[schema.name] = schema }
        let order = Self.topologicalOrder(list)
        // Referenced entities come first in `order`, so each one is resolved before its users.
        for name in order { byName[name] = byName[name]?.resolvingForeignSchemas(byName) }
        self.schemas = byName
        self.order = order
    }

    /// Kong's `schema_topological_sort`: a referenced entity before the entities that reference
    /// it, core entities before plugin entities, `workspaces` first, otherwise alphabetical.
    public static func topologicalOrder(_ schemas: [Schema]) -> [String] {
        let core = Set(EntitySchemas.coreEntities)
        func score(_ name: String) -> Int { name == "workspaces" ? 2 : core.contains(name) ? 1 : 0 }
        // Kong sorts by score ascending, then name descending; the DFS below reverses it.
        let items = schemas.sorted { a, b in
            let sa = score(a.name)
            let sb = score(b.name)
            return sa == sb ? a.name > b.name : sa < sb
        }
        let known = Set(items.map(\.name))
        // For each entity, the entities pointing to it, in `items` order.
        var pointing: [String: [String]] = [:]
        for source in items {
            for (_, field) in source.fields where field.type == .foreign {
                guard let target = field.reference, known.contains(target) else { continue }
                pointing[target, default: []].append(source.name)
            }
        }
        var sorted: [String] = []
        var visited: Set<String> = []
        var marked: Set<String> = []
        func visit(_ current: String) {
            if visited.contains(current) || marked.contains(current) { return }  // a cycle: Kong fails; skip
            marked.insert(current)
            for neighbor in pointing[current] ?? [] { visit(neighbor) }
            marked.remove(current)
            visited.insert(current)
            sorted.insert(current, at: 0)
        }
        for item in items { visit(item.name) }
        return sorted
    }
}

extension EntitySchemas {
    /// The bundled plugins' DAO entities by name.
    public static let pluginEntities: [String: Schema] = {
        let all: [Schema] = [
            keyauthCredentials, basicauthCredentials, hmacauthCredentials, jwtSecrets, acls, oauth2Credentials,
            oauth2AuthorizationCodes, oauth2Tokens, acmeStorage, sessions, sessionMetadatas, ratelimitingMetrics,
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    }()
}
