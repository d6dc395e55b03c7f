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
