import KGateSchema

extension RequestTransformerPlugin {
    /// Kong's `get_headers()` table as the transformer edits it (`headers.host` cleared).
    ///
    /// Keys are Lua's: the fields' lower-cased names to start with, then the names rules
    /// write, case kept. Reads go through the table's `__index` (the key, else the key
    /// lower-cased with `_` as `-`, so `x_foo` reads a field sent as `X-Foo`); writes and
    /// clears touch the exact key only. Several values are a Lua table, shared by every key it
    /// was assigned to: appending to it changes them all.
    struct HeaderTable {
        /// A Lua table of values (a reference, as in Lua).
        final class Values {
            var list: [String]
            init(_ list: [String]) { self.list = list }
        }

        /// A key's value: a string, or a table.
        enum Value {
            case string(String)
            case table(Values)

            var list: [String] {
                switch self {
                case .string(let s): return [s]
                case .table(let t): return t.list
                }
            }
        }

        struct Entry {
            var key: String
            var value: Value
        }

        private(set) var entries: [Entry] = []

        init(_ fields: HTTPFields) {
            for f in fields {
                let key = HTTPFields.lowercased(f.name)
                guard key != "host" else { continue }
                guard let i = rawIndex(key) else {
                    entries.append(Entry(key: key, value: .string(f.value)))
                    continue
                }
                switch entries[i].value {
                case .string(let first): entries[i].value = .table(Values([first, f.value]))
                case .table(let t): t.list.append(f.value)
                }
            }
        }

        private func rawIndex(_ key: String) -> Int? { entries.firstIndex { $0.key == key } }

        /// `headers[name]`: the key itself, else the `__index` key.
        private func index(_ name: String) -> Int? { rawIndex(name) ?? rawIndex(HTTPFields.tableKey(name)) }

        /// `headers[name]`.
        func value(_ name: String) -> Value? { index(name).map { entries[$0].value } }

        func contains(_ name: String) -> Bool { index(name) != nil }

        /// `headers[key] = value` (nil clears the key).
        mutating func set(_ key: String, _ value: Value?) {
            switch (rawIndex(key), value) {
            case (let i?, let value?): entries[i].value = value
            case (let i?, nil): entries.remove(at: i)
            case (nil, let value?): entries.append(Entry(key: key, value: value))
            case (nil, nil): break
            }
        }

        /// Kong's `rename`: the value read under `old` moves to `new`; true when there was one.
        mutating func rename(_ old: String, to new: String) -> Bool {
            guard old != new, let value = value(old) else { return false }
            set(old, nil)
            set(new, value)
            return true
        }

        /// Kong's `append_value`: a string becomes a table of it and `value`; a table gets
        /// `value` appended (every key holding it sees it); nothing becomes `{ value }`.
        mutating func append(_ name: String, _ value: String) {
            switch self.value(name) {
            case .string(let s)?: set(name, .table(Values([s, value])))
            case .table(let t)?:
                t.list.append(value)
                set(name, .table(t))
            case nil: set(name, .table(Values([value])))
            }
        }
    }

    /// The template environment, loaded on first use (Kong's lazy `__index`), so templates see
    /// the request as it was then.
    struct LazyEnvironment {
        let luaEnabled: Bool
        private var loaded: TemplateEnvironment?
        private var queryArgs: QueryArgs?

        init(luaEnabled: Bool = true) {
            self.luaEnabled = luaEnabled
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
