/// The environment of Kong's `$(...)` templates (request-transformer's values,
/// opentelemetry's `resource_attributes`): `headers`, `query_params`, `uri_captures` and
/// `shared`, loaded on first use (Kong's lazy `__index`), so templates see the request as it
/// was then.
struct LazyTemplateEnvironment {
    let luaEnabled: Bool
    /// The plugin named in render failures (`[request-transformer] failed to render ...`).
    let plugin: String
    private var loaded: TemplateEnvironment?
    private var queryArgs: QueryArgs?

    init(luaEnabled: Bool = true, plugin: String = "request-transformer") {
        self.luaEnabled = luaEnabled
        self.plugin = plugin
    }

    /// Renders a rule's value; nil when the rule has none.
    mutating func render(_ template: Template?, _ ctx: PluginContext) throws(TemplateError) -> String? {
        guard let template else { return nil }
        return try renderTemplate(template, ctx)
    }

    mutating func renderTemplate(_ template: Template, _ ctx: PluginContext) throws(TemplateError) -> String {
        if !luaEnabled {
            // Kong's `str_find(source, "%$%(.*%)")`: a `$(` with a `)` after it.
            let bytes = Array(template.source.utf8)
            guard let open = bytes.indices.dropLast().first(where: { bytes[$0] == 0x24 && bytes[$0 + 1] == 0x28 }),
                bytes[(open + 2)...].contains(0x29)
            else { return template.source }
            throw TemplateError(PluginConstants.untrustedLuaDisabled)
        }
        if template.isLiteral { return template.source }
        do {
            return try template.render(environment(ctx))
        } catch {
            throw TemplateError("[\(plugin)] failed to render the template \(template.source), error:\(error)")
        }
    }

    /// `query_params` (loaded now if no template did).
    mutating func query(_ ctx: PluginContext) -> QueryArgs {
        if let queryArgs { return queryArgs }
        let q = ctx.request.query
        queryArgs = q
        return q
    }

    private mutating func environment(_ ctx: PluginContext) -> TemplateEnvironment {
        if let loaded { return loaded }
        var headers = TemplateTable(headerKeys: true)
        for f in ctx.request.headers {
            let key = HTTPFields.lowercased(f.name)
            switch headers.named[key] {
            case .string(let s)?: headers.named[key] = .table(TemplateTable(sequence: [.string(s), .string(f.value)]))
            case .table(var t)?:
                t.sequence.append(.string(f.value))
                headers.named[key] = .table(t)
            default: headers.named[key] = .string(f.value)
            }
        }
        let q = query(ctx)
        var params = TemplateTable()
        for name in q.names {
            switch q[name] {
            case .string(let s)?: params.named[name] = .string(s)
            case .flag?: params.named[name] = .bool(true)
            case .multiple(let list)?:
                params.named[name] = .table(TemplateTable(sequence: list.map { $0.map(TemplateValue.string) ?? .bool(true) }))
            case nil: break
            }
        }
        var captures = TemplateTable()
        if let c = ctx.captures {
            captures.zero = c[0].map(TemplateValue.string) ?? .none
            captures.sequence = c.numbered.dropFirst().map { $0.map(TemplateValue.string) ?? .bool(false) }
            captures.named = c.named.mapValues(TemplateValue.string)
        }
        var shared = TemplateTable()
        for (k, v) in ctx.shared {
            switch v {
            case let s as String: shared.named[k] = .string(s)
            case let n as Int: shared.named[k] = .number(Double(n))
            case let d as Double: shared.named[k] = .number(d)
            case let b as Bool: shared.named[k] = .bool(b)
            case let list as [String]: shared.named[k] = TemplateTable.value(list)
            default: break
            }
        }
        let env = TemplateEnvironment(tables: [
            "headers": .table(headers), "query_params": .table(params), "uri_captures": .table(captures),
            "shared": .table(shared),
        ])
        loaded = env
        return env
    }
}
