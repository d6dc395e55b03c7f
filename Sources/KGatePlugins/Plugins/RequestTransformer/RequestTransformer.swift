import KGateSchema

/// Kong's `request-transformer` (PRIORITY 801): changes the upstream request's URI, method,
/// headers, query string and body (form, JSON, multipart) with remove / rename / replace /
/// add / append rules, in Kong's order; values may be templates over `headers`,
/// `query_params`, `uri_captures` and `shared` (`$(uri_captures.user or 'anonymous')`).
public struct RequestTransformerPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var httpMethod: String?
        var remove: Section
        var rename: Section
        var replace: Section
        var add: Section
        var append: Section
        var uri: Template?

        var hasQueryRules: Bool {
            ![remove, rename, replace, add, append].allSatisfy { $0.querystring.isEmpty }
        }
        var hasBodyRules: Bool { ![remove, rename, replace, add, append].allSatisfy { $0.body.isEmpty } }
    }

    /// `request-transformer`.
    public static let name = "request-transformer"
    /// 801.
    public static let priority = 801
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Whether templates are rendered: false with `untrusted_lua = off`, where a value with
    /// an expression fails (500) and the others pass as written.
    let luaEnabled: Bool

    /// Makes the plugin.
    public init(luaEnabled: Bool = true) {
        self.luaEnabled = luaEnabled
    }

    /// Parses the config and compiles the templates.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            httpMethod: config.string("http_method"), remove: Section(config.record("remove")),
            rename: Section(config.record("rename")), replace: Section(config.record("replace")),
            add: Section(config.record("add")), append: Section(config.record("append")),
            uri: config.record("replace")?.string("uri").map(Template.init))
    }

    /// Body rules, and GET/HEAD/TRACE rewrites of form bodies, read the body.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed {
        config.hasBodyRules || ["GET", "HEAD", "TRACE"].contains(config.httpMethod ?? "") ? .always : .never
    }

    /// Transforms (a template failure answers 500).
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var env = LazyTemplateEnvironment(luaEnabled: luaEnabled)
        if let uri = config.uri {
            try ctx.request.setPath(env.renderTemplate(uri, ctx))
        }
        transformMethod(config, &ctx)
        try transformHeaders(config, &ctx, &env)
        try transformBody(config, &ctx, &env)
        try transformQuery(config, &ctx, &env)
    }

    // MARK: Method

    private func transformMethod(_ config: Config, _ ctx: inout PluginContext) {
        guard let method = config.httpMethod else { return }
        ctx.request.setMethod(method.uppercased())
        guard ["GET", "HEAD", "TRACE"].contains(method), Self.bodyKind(ctx) == .form else { return }
        let params = QueryArgs(parsing: String(decoding: ctx.request.body ?? [], as: UTF8.self))
        guard !params.isEmpty else { return }
        var query = ctx.request.query
        for name in params.names {
            guard let value = params[name] else { continue }
            switch (query[name], value) {
            case (nil, _): query.set(name, value)
            case (let old?, _): query.set(name, .multiple(Self.list(old) + Self.list(value)))
            }
        }
        ctx.request.setQuery(query)
    }

    // MARK: Headers

    private func transformHeaders(_ config: Config, _ ctx: inout PluginContext, _ env: inout LazyTemplateEnvironment) throws {
        var table = HeaderTable(ctx.request.headers)
        var toRemove: [String] = []
        for rule in config.remove.headers {
            let name = HTTPFields.lowercased(rule.name)
            if table.contains(name) {
                table.set(name, nil)
                toRemove.append(name)
            }
        }
        for rule in config.rename.headers {
            guard let new = try env.render(rule.value, ctx) else { continue }
            let (old, lowerNew) = (HTTPFields.lowercased(rule.name), HTTPFields.lowercased(new))
            if old == lowerNew ? table.rename(rule.name, to: new) : table.rename(old, to: lowerNew) {
                toRemove.append(rule.name)
            }
        }
        for rule in config.replace.headers {
            let value = try env.render(rule.value, ctx)
            let name = HTTPFields.lowercased(rule.name)
            if let value, table.contains(name) || name == "host" { table.set(name, .string(value)) }
        }
        for rule in config.add.headers {
            let value = try env.render(rule.value, ctx)
            if let value, !table.contains(rule.name), HTTPFields.lowercased(rule.name) != "host" {
                table.set(rule.name, .string(value))
            }
        }
        for rule in config.append.headers {
            guard let value = try env.render(rule.value, ctx) else { continue }
            let lower = HTTPFields.lowercased(rule.name)
            if lower != "host", rule.name != lower, let current = table.value(rule.name) {
                // Kong keeps the value under the configured case: `headers[name] = headers[name]`.
                table.set(rule.name, current)
                table.set(lower, nil)
            }
            table.append(rule.name, value)
        }
        for name in toRemove { ctx.request.clearHeader(name) }
        // Kong's `set_headers(headers)` sets every key; one whose fields already hold its
        // values is left as it is (nginx would only rewrite the same values).
        for entry in table.entries {
            let values = entry.value.list
            if ctx.request.headers.values(entry.key) == values { continue }
            ctx.request.setHeader(entry.key, values: values)
        }
    }

    // MARK: Query string

    private func transformQuery(_ config: Config, _ ctx: inout PluginContext, _ env: inout LazyTemplateEnvironment) throws {
        guard config.hasQueryRules else { return }
        var query = env.query(ctx)
        for rule in config.remove.querystring { query.set(rule.name, nil) }
        for rule in config.rename.querystring {
            guard let new = try env.render(rule.value, ctx), new != rule.name, let value = query[rule.name] else {
                continue
            }
            query.set(rule.name, nil)
            query.set(new, value)
        }
        for rule in config.replace.querystring where query[rule.name] != nil {
            query.set(rule.name, try env.render(rule.value, ctx).map(QueryArgs.Value.string))
        }
        for rule in config.add.querystring where query[rule.name] == nil {
            query.set(rule.name, try env.render(rule.value, ctx).map(QueryArgs.Value.string))
        }
        for rule in config.append.querystring {
            guard let value = try env.render(rule.value, ctx) else { continue }
            query.set(rule.name, .multiple(Self.appended(query[rule.name], value)))
        }
        ctx.request.setQuery(query)
    }

    /// Kong's `append_value`: a string becomes a list, a list grows, anything else is replaced.
    static func appended(_ old: QueryArgs.Value?, _ value: String) -> [String?] {
        switch old {
        case .string(let s)?: return [s, value]
        case .multiple(let list)?: return list + [value]
        default: return [value]
        }
    }

    static func list(_ v: QueryArgs.Value) -> [String?] {
        switch v {
        case .flag: return [nil]
        case .string(let s): return [s]
        case .multiple(let l): return l
        }
    }
}
