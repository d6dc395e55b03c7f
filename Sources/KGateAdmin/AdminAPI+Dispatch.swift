import KGateHTTP
import KGateSchema
import NIOHTTP1

extension AdminAPI {
    /// Answers a routed request whose method the route defines (HEAD as GET).
    func dispatch(_ context: AdminContext) -> HTTPResponse {
        let method = context.request.method == .HEAD ? HTTPMethod.GET : context.request.method
        let isGet = method == .GET
        let params = context.match.params
        let kind = context.match.route.kind
        if let fixed = Self.fixedAnswer(kind) { return fixed }
        switch kind {
        case .root: return nodeInfo(context.page)
        case .endpoints: return endpointList()
        case .status: return status(context.query)
        case .plugin(let index): return pluginRoutes[index].answer(method, params, context.generation)
        case .statusReady:
            if isGet { return readiness.answer(context.generation) }
            return readiness.update(status: context.body.params["status"] ?? context.query["status"].map(Value.string))
        case .config: return exportedConfig(context.page)
        case .timers: return timers()
        case .pluginsEnabled: return enabledPlugins()
        case .legacyPluginSchema: return legacyPluginSchema(params["name"] ?? "")
        case .entitySchema: return schemaOfEntity(params["name"] ?? "")
        case .pluginSchema: return subschema(of: "plugins", params["name"] ?? "", missing: "plugin")
        case .vaultSchema: return subschema(of: "vaults", params["name"] ?? "", missing: "vault")
        case .filterSchema: return .message(.notFound, "Filter '\(params["name"] ?? "")' not found")
        case .validateEntity: return validate(params["db_entity_name"] ?? "", context.body.decodedArgs)
        case .validatePlugin: return validate("plugins", context.body.decodedArgs)
        case .validateVault: return validate("vaults", context.body.decodedArgs)
        case .tags: return isGet ? context.allTags() : AdminContext.tagsRefusal
        case .tagsByTag: return isGet ? context.entitiesTagged() : AdminContext.tagsRefusal
        case .logLevel: return logLevel()
        case .collection(let entity):
            return isGet ? context.collection(entity) : context.create(entity)
        case .item(let entity):
            if isGet { return context.answer(entity, context.select(param: entity)) }
            return context.writeItem(entity, method: method, key: params[entity] ?? "")
        case .foreignEntity(let entity, let field, let target):
            if isGet { return context.foreignEntity(entity: entity, field: field, target: target) }
            return context.writeForeignEntity(entity: entity, field: field, target: target, method: method)
        case .nestedCollection(let parent, let child, let field):
            if isGet { return context.nestedCollection(parent: parent, child: child, field: field) }
            return context.createNested(parent: parent, child: child, field: field)
        case .nestedItem(let parent, let child, let field):
            if isGet { return context.nestedItem(parent: parent, child: child, field: field) }
            return context.writeNestedItem(parent: parent, child: child, field: field, method: method)
        case .upstreamTargets:
            return isGet ? context.upstreamTargets(all: false) : context.createTarget()
        case .upstreamTargetsAll:
            return context.upstreamTargets(all: true)
        case .upstreamTarget:
            if isGet { return context.answer("targets", context.upstreamTarget()) }
            return context.writeTarget(method: method)
        case .upstreamHealth:
            return context.upstreamHealth(nodeID: nodeID, provider: upstreamHealth)
        case .targetHealth:
            return context.setTargetHealth(provider: upstreamHealth)
        case .cacheKey:
            let key = params["key"] ?? ""
            if isGet { return cache?.answer(key) ?? .notFound }
            cache?.invalidate(key)
            return .empty(.noContent)
        case .cache:
            cache?.purge()
            return .empty(.noContent)
        case .disabled, .setLogLevel, .controlPlaneOnly, .statusDNS, .wasmDisabled:
            return .notFound  // answered by `fixedAnswer` (disabled routes never get here)
        }
    }
}
