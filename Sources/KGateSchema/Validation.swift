/// Kong's schema validation (`Schema:validate`, `Schema:validate_field`), same order, same messages.
extension Schema {
    /// Validates an entity or record. Returns Kong's error table, or nil when the input is valid.
    ///
    /// - Parameter fullCheck: Kong's `full_check`: missing required fields are errors (insert),
    ///   rather than only explicit nulls (update).
    /// - Parameter preprocessed: the input already went through `processAutoFields` (which
    ///   processes nested records too), so records are validated as they are instead of being
    ///   processed again first, except a record that still holds a shorthand field (its
    ///   processing failed and must be redone to report why).
    public func validate(_ input: Object, fullCheck: Bool = true, preprocessed: Bool = false) -> ErrorNode? {
        if let key = subschemaKey {
            let selector = input[key]
            if selector == nil || selector == .null {
                return ErrorNode([(.field(key), .message(SchemaMessages.required))])
            }
            if subschema(for: input) == nil {
                let shown: String
                switch selector! {
                case .string(let s): shown = s
                case .array(let a): shown = a.first?.luaString ?? "nil"
                default: shown = selector!.luaString
                }
                let format = subschemaError ?? "unknown type: %s"
                return ErrorNode([(.field(key), .message(format.replacingFirst("%s", with: shown)))])
            }
        }

        var errors = validateFields(input, preprocessed: preprocessed)

        for (name, field) in fields where field.required {
            let v = input[name]
            if v == .null || (fullCheck && v == nil) {
                errors[.field(name)] = .message(SchemaMessages.required)
            }
        }

        runEntityChecks(input, fullCheck: fullCheck, errors: &errors)
        runTransformationChecks(input, errors: &errors)
        return errors.isEmpty ? nil : errors
    }

    /// Kong's `validate_fields`: each input key against its (sub)schema definition.
    private func validateFields(_ input: Object, preprocessed: Bool) -> ErrorNode {
        var errors = ErrorNode()
        let sub = subschema(for: input)
        for (k, v) in input {
            if k == "updated_at" || (k == "ttl" && ttl) { continue }
            guard let field = resolvedField(k, subschema: sub) else {
                errors[.field(k)] = .message(SchemaMessages.unknownField)
                continue
            }
            if let err = validateField(field, v, preprocessed: preprocessed) {
                errors[.field(k)] = err
            }
        }
        return errors
    }

    /// Kong's `validate_field`: type check, then validators in Kong's order; the first failure wins.
    public func validateField(_ field: Field, _ value: Value) -> ErrorValue? {
        validateField(field, value, preprocessed: false)
    }

    func validateField(_ field: Field, _ value: Value, preprocessed: Bool) -> ErrorValue? {
        if value == .null {
            if field.ne == .null { return .message(field.err ?? "value must not be null") }
            if let eq = field.eq, eq != .null { return .message("value must be \(eq.luaString)") }
            if field.required { return .message(SchemaMessages.required) }
            return nil
        }
        if field.eq == .null { return .message(field.err ?? "value must be null") }
        if field.abstract { return .message(SchemaMessages.abstractField) }

        var lenMin = field.lenMin
        switch field.type {
        case .array, .set:
            guard let items = value.sequenceElements else {
                return .message(field.type == .array ? SchemaMessages.expectedArray : SchemaMessages.expectedSet)
            }
            if let element = field.elements {
                let results = ParallelMap.map(items) { self.validateField(element, $0, preprocessed: preprocessed) }
                var errs = ErrorNode()
                for (i, e) in results.enumerated() { if let e { errs.append(.index(i + 1), e) } }
                if !errs.isEmpty { return .node(errs) }
            }
        case .map:
            guard value.isTable else { return .message(SchemaMessages.expectedMap) }
            let keyField = field.keys ?? Self.anyRequired
            let valueField = field.values ?? Self.anyRequired
            for (k, v) in value.tableEntries {
                if let e = validateField(keyField, k) { return e }
                if let e = validateField(valueField, v) { return e }
            }
        case .record:
            guard value.isTable else { return .message(SchemaMessages.expectedRecord) }
            guard let schema = field.record else { break }  // a free record: any table
            guard case .object(let object) = value else {
                // A non-empty Lua sequence used as a record: every index is an unknown field.
                var errs = ErrorNode()
                for i in (value.sequenceElements ?? []).indices { errs[.index(i + 1)] = .message(SchemaMessages.unknownField) }
                return errs.isEmpty ? nil : .node(errs)
            }
            let needsProcessing = !preprocessed || schema.shorthandFields.contains { object[$0.name] != nil }
            if !needsProcessing {
                if let errs = schema.validate(object, preprocessed: true) { return .node(errs) }
                break
            }
            switch schema.processAutoFields(object, context: .insert) {
            case .failure(let errs): return .node(errs)
            case .success(let copy):
                // Processing also processed the nested records.
                if let errs = schema.validate(copy, preprocessed: true) { return .node(errs) }
            }
        case .foreign:
            return validateForeignKey(field, value)
        case .integer:
            guard value.integerValue != nil else { return .message(SchemaMessages.expectedInteger) }
        case .number:
            guard value.doubleValue != nil else { return .message(SchemaMessages.expectedNumber) }
        case .boolean:
            guard case .bool = value else { return .message(SchemaMessages.expectedBoolean) }
        case .string:
            guard case .string(let s) = value else { return .message(SchemaMessages.expectedString) }
            if lenMin == nil { lenMin = 1 }
            if field.referenceable && VaultReference.isReference(s) { return nil }
        case .any, .json:
            break
        }
        return runValidators(field, value, lenMin: lenMin).map { .message($0) }
    }

    private static let anyRequired = Field(.any).with { $0.required = true }

    /// A foreign key is validated as the referenced entity's primary key (`{id = ...}`). Like
    /// Kong, an object that is not a valid primary key is then validated as the referenced
    /// entity (not a full check, when its schema is known): its errors are reported if it has
    /// any, the primary key's otherwise.
    private func validateForeignKey(_ field: Field, _ value: Value) -> ErrorValue? {
        guard let keyErrors = primaryKeyErrors(value) else { return nil }
        if case .object(let entity) = value, let referenced = field.foreignSchema,
            let errors = referenced.validate(entity, fullCheck: false)
        {
            return .node(errors)
        }
        return .node(keyErrors)
    }

    /// Kong's `validate_primary_key(value, true)` for an `id` primary key.
    private func primaryKeyErrors(_ value: Value) -> ErrorNode? {
        // Kong indexes the value as a table; a scalar has no `id`.
        guard case .object(let pk) = value, let id = pk["id"] else {
            return ErrorNode([(.field("id"), .message(SchemaMessages.missingPrimaryKey))])
        }
        if id == .null { return ErrorNode([(.field("id"), .message(SchemaMessages.required))]) }
        return validateField(Typedefs.uuid, id).map { ErrorNode([(.field("id"), $0)]) }
    }
}

extension Value {
    /// Entries of a Lua table: object members, or 1-based integer keys of an array.
    var tableEntries: [(Value, Value)] {
        switch self {
        case .object(let o): return o.map { (.string($0.key), $0.value) }
        case .array(let a): return a.enumerated().map { (.integer($0.offset + 1), $0.element) }
        default: return []
        }
    }
}

/// `{vault://...}` references (Kong's `kong.vault.is_reference`).
public enum VaultReference {
    public static func isReference(_ s: String) -> Bool {
        let u = s.utf8
        return u.count >= 10 && s.hasPrefix("{vault://") && u.last == UInt8(ascii: "}")
    }
}

extension String {
    /// Replaces the first `%s` (Lua `string.format` with one string argument).
    package func replacingFirst(_ token: String, with replacement: String) -> String {
        let chars = Array(self)
        let t = Array(token)
        guard !t.isEmpty, chars.count >= t.count else { return self }
        for i in 0...(chars.count - t.count) where Array(chars[i..<(i + t.count)]) == t {
            return String(chars[..<i]) + replacement + String(chars[(i + t.count)...])
        }
        return self
    }
}
