/// Kong's `Schema:process_auto_fields`: shorthand expansion, defaults, auto ids and timestamps.
extension Schema {
    public enum Context: Sendable { case insert, update, upsert, select }

    /// What `auto` fields get: injected so loads are reproducible in tests and cheap in bulk.
    public struct AutoValues: Sendable {
        public var uuid: @Sendable () -> String
        /// `auto_timestamp_s`: whole seconds (`ngx.time()`).
        public var nowSeconds: @Sendable () -> Int
        /// `auto_timestamp_ms`: seconds with their milliseconds (`ngx.now()`, `1795300452.325`).
        public var nowMilliseconds: @Sendable () -> Double
        public var randomString: @Sendable () -> String
        public init(
            uuid: @escaping @Sendable () -> String, nowSeconds: @escaping @Sendable () -> Int,
            nowMilliseconds: @escaping @Sendable () -> Double, randomString: @escaping @Sendable () -> String
        ) {
            self.uuid = uuid
            self.nowSeconds = nowSeconds
            self.nowMilliseconds = nowMilliseconds
            self.randomString = randomString
        }
        /// Placeholders used while only validating (the values are never kept).
        public static let validationOnly = AutoValues(
            uuid: { "00000000-0000-4000-8000-000000000000" }, nowSeconds: { 1 }, nowMilliseconds: { 1 },
            randomString: { "x" })
    }

    /// Fills defaults and expands shorthands; errors only come from invalid shorthand values.
    public func processAutoFields(
        _ input: Object, context: Context = .insert, auto: AutoValues = .validationOnly
    ) -> Result<Object, ErrorNode> {
        var data = input
        data.reserveCapacity(input.count + fields.count)
        if !shorthandFields.isEmpty {
            var errs = ErrorNode()
            for shorthand in shorthandFields {
                guard let value = data[shorthand.name] else { continue }
                if let err = validateField(shorthand.field, value) ?? replacedWithMismatch(shorthand, value, in: data) {
                    errs[.field(shorthand.name)] = err
                    continue
                }
                data[shorthand.name] = nil
                for (k, v) in shorthand.expand(value) {
                    if case .object(let expanded) = v {
                        var merged = data[k]?.objectValue ?? Object()
                        for (ek, ev) in expanded where !(shorthand.deprecated && merged[ek] != nil && merged[ek] != .null) {
                            merged[ek] = ev
                        }
                        data[k] = .object(merged)
                    } else if !shorthand.deprecated || data[k] == nil || data[k] == .null {
                        data[k] = v
                    }
                }
            }
            if !errs.isEmpty { return .failure(errs) }
        }

        let sub = subschema(for: data)
        for (name, base) in fields {
            let field = sub?.field(named: name) ?? base
            var value = data[name]
            if field.auto, context == .insert || context == .upsert {
                if field.uuid {
                    if value == nil { value = .string(auto.uuid()) }
                } else if field.type == .string {
                    if value == nil { value = .string(auto.randomString()) }
                } else if name == "created_at" && (value == nil || value == .null) || name == "updated_at" {
                    if field.type == .number { value = .number(auto.nowMilliseconds()) }
                    if field.type == .integer { value = .integer(auto.nowSeconds()) }
                }
            }
            data[name] = adjust(field, value, context: context, auto: auto)
        }
        return .success(data)
    }

    /// Kong's `adjust_field_for_context`: recurse into records, arrays, sets and maps.
    /// Never fails: a nested record whose shorthand is invalid stays as given, and validating
    /// it reports why.
    private func adjust(_ field: Field, _ value: Value?, context: Context, auto: AutoValues) -> Value? {
        if field.abstract { return value }
        var value = value
        if field.type == .record {
            let recurse = context == .update ? (value != nil && value != .null)
                : (value != .null && (value != nil || field.required))
            if recurse {
                if value == nil { value = missingValue(field) }
                if case .object(let o)? = value, let schema = field.record,
                    case .success(let processed) = schema.processAutoFields(o, context: context, auto: auto)
                {
                    return .object(processed)
                }
            }
        } else if let v = value {
            switch (field.type, v) {
            case (.array, .array(var items)), (.set, .array(var items)):
                if field.type == .set { items = items.uniquedPreservingOrder() }
                if let sub = field.elements, sub.needsAdjusting {
                    items = ParallelMap.map(items) { self.adjust(sub, $0, context: context, auto: auto) ?? $0 }
                }
                value = .array(items)
            case (.map, .object(var o)):
                if let sub = field.values, sub.needsAdjusting {
                    for (k, item) in o { o[k] = adjust(sub, item, context: context, auto: auto) }
                    value = .object(o)
                }
            default: break
            }
        }
        if value == nil && context != .update { return missingValue(field) }
        return value
    }

    /// Kong's `validate_deprecation_exclusiveness`: a deprecated shorthand and the field that
    /// replaces it may both be given only with the same value.
    private func replacedWithMismatch(_ shorthand: Shorthand, _ value: Value, in data: Object) -> ErrorValue? {
        guard let path = shorthand.replacedWith, value != .null,
            let current = Value.object(data).lookup(path: path), current != .null, !current.luaEquals(value)
        else { return nil }
        return .message(
            "both deprecated and new field are used but their values mismatch: "
                + "\(shorthand.name) = \(value.luaString) vs \(path) = \(current.luaString)")
    }

    /// Kong's `process_auto_fields` in the `select` context, for what reads answer: every
    /// shorthand with a `replacedWith` path is shown with that field's value (in records and a
    /// plugin's config too), so clients of the deprecated names still read them.
    public func withReplacedShorthands(_ data: Object) -> Object {
        guard showsShorthands else { return data }
        var data = data
        for shorthand in shorthandFields {
            guard let path = shorthand.replacedWith else { continue }
            data[shorthand.name] = Value.object(data).lookup(path: path)
        }
        let sub = subschema(for: data)
        for (name, base) in fields {
            guard let schema = (sub?.field(named: name) ?? base).record, schema.showsShorthands,
                case .object(let record)? = data[name]
            else { continue }
            data[name] = .object(schema.withReplacedShorthands(record))
        }
        return data
    }

    /// Kong's `handle_missing_field`.
    private func missingValue(_ field: Field) -> Value? {
        if let d = field.defaultValue { return d }
        if field.nilable { return nil }
        if !field.required { return .null }
        if field.abstract { return nil }
        if field.type == .record, let schema = field.record,
            case .success(let filled) = schema.processAutoFields([:], context: .insert)
        {
            return .object(filled)
        }
        return nil
    }
}

extension ErrorNode: Error {}

extension Field {
    /// Whether processing can change a present value of this field (records, sets, containers).
    var needsAdjusting: Bool {
        switch type {
        case .record, .array, .set, .map: return true
        default: return abstract
        }
    }
}

extension Array where Element == Value {
    /// A set's elements with duplicates removed, first occurrence kept (Kong's `make_set`).
    func uniquedPreservingOrder() -> [Value] {
        var seen = Set<Value>()
        var out: [Value] = []
        out.reserveCapacity(count)
        for v in self where seen.insert(v).inserted { out.append(v) }
        return out
    }
}
