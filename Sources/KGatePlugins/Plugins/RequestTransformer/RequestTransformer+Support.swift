import KGateSchema

extension RequestTransformerPlugin {
    /// Kong's `get_headers()` table as the transformer edits it: one entry per name (host left
    /// out), looked up case-insensitively, keeping the key the transformer wrote.
    struct HeaderTable {
        struct Entry {
            var name: String
            var values: [String]
            /// Set by a rule: to be written upstream.
            var touched = false
        }

        private(set) var entries: [Entry] = []

        init(_ fields: HTTPFields) {
            for f in fields where !HTTPFields.sameName(f.name, "host") {
                let key = f.name.lowercased()
                if let i = index(key) { entries[i].values.append(f.value) } else { entries.append(Entry(name: key, values: [f.value])) }
            }
        }

        private func index(_ name: String) -> Int? { entries.firstIndex { HTTPFields.sameName($0.name, name) } }

        func contains(_ name: String) -> Bool { index(name) != nil }

        func values(_ name: String) -> [String]? { index(name).map { entries[$0].values } }

        mutating func remove(_ name: String) -> Bool {
            guard let i = index(name) else { return false }
            entries.remove(at: i)
            return true
        }

        /// Replaces (or adds) an entry under `name`.
        mutating func set(_ name: String, _ values: [String]) {
            if let i = index(name) {
                entries[i] = Entry(name: name, values: values, touched: true)
            } else {
                entries.append(Entry(name: name, values: values, touched: true))
            }
        }

        /// Moves a value to a new key (case change included); true when `old` existed.
        mutating func rename(_ old: String, to new: String) -> Bool {
            guard old != new, let i = index(old) else { return false }
            let values = entries.remove(at: i).values
            set(new, values)
            return true
        }

        /// Keeps the value, written under `name`'s case.
        mutating func rekey(_ name: String) {
            guard let i = index(name) else { return }
            entries[i].name = name
            entries[i].touched = true
        }
    }

    /// The template environment, loaded on first use (Kong's lazy `__index`), so templates see
    /// the request as it was then.
    struct LazyEnvironment {
        private var loaded: TemplateEnvironment?
        private var queryArgs: QueryArgs?

        /// Renders a rule's value; nil when the rule has none.
        mutating func render(_ template: Template?, _ ctx: PluginContext) throws(TemplateError) -> String? {
            guard let template else { return nil }
            return try renderTemplate(template, ctx)
        }

        mutating func renderTemplate(_ template: Template, _ ctx: PluginContext) throws(TemplateError) -> String {
            if template.isLiteral { return template.source }
            do {
                return try template.render(environment(ctx))
            } catch {
                throw TemplateError("[request-transformer] failed to render the template \(template.source), error:\(error)")
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
                let key = TemplateTable.headerKey(f.name)
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

    enum BodyKind { case json, multipart, form }

    /// Kong's `get_content_type`: by substring of the lower-cased `Content-Type`.
    static func bodyKind(_ ctx: PluginContext) -> BodyKind? {
        guard let type = ctx.request.header("content-type")?.lowercased() else { return nil }
        if type.contains("application/json") { return .json }
        if type.contains("multipart/form-data") { return .multipart }
        if type.contains("application/x-www-form-urlencoded") { return .form }
        return nil
    }
}
