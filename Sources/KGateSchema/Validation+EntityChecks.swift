/// Kong's entity checkers (`Schema.entity_checkers`, `run_entity_check`).
extension Schema {
    func runEntityChecks(_ input: Object, fullCheck: Bool, errors: inout ErrorNode) {
        let whole = Value.object(input)
        for check in entityChecks {
            run(check, on: whole, in: FieldLookup(primary: self, fallback: nil), fullCheck: fullCheck, errors: &errors)
        }
        if let sub = subschema(for: input) {
            // Subschema checks see the subschema's fields first, then the parent's.
            let lookup = FieldLookup(primary: sub, fallback: self)
            for check in sub.entityChecks {
                run(check, on: whole, in: lookup, fullCheck: fullCheck, errors: &errors)
            }
        }
        if let check, fullCheck {
            var ok = true
            for (name, field) in fields where input[name] == nil && !field.nilable {
                errors[.field(name)] = .message(SchemaMessages.requiredForEntityCheck)
                ok = false
            }
            if ok, let errs = check(input) { errors.merge(errs) }
        }
    }

    /// Field definitions as a check sees them: a subschema's first, then its parent's.
    struct FieldLookup {
        let primary: Schema
        let fallback: Schema?

        func field(path: String) -> Field? {
            primary.field(path: path) ?? fallback?.field(path: path)
        }

        func validateField(_ field: Field, _ value: Value) -> ErrorValue? {
            primary.validateField(field, value)
        }
    }

    /// What each checker reads and how it treats missing or invalid fields.
    private struct CheckerTraits {
        var fields: [String]
        /// Few names: a list is cheaper to make and search than a set.
        var required: [String]
        var runWithMissing: Bool
        var runWithInvalid: Bool
    }

    private func traits(of check: EntityCheck) -> CheckerTraits {
        switch check {
        case .atLeastOneOf(let f):
            return .init(fields: f, required: f, runWithMissing: true, runWithInvalid: true)
        case .onlyOneOf(let f), .distinct(let f):
            return .init(fields: f, required: f, runWithMissing: false, runWithInvalid: true)
        case .mutuallyRequired(let f), .mutuallyExclusive(let f):
            return .init(fields: f, required: f, runWithMissing: true, runWithInvalid: false)
        case .mutuallyExclusiveSets(let a, let b):
            let both = a + b
            return .init(fields: both, required: both, runWithMissing: true, runWithInvalid: false)
        case .conditional(let c):
            return .init(fields: [c.ifField, c.thenField], required: [c.ifField], runWithMissing: false, runWithInvalid: true)
        case .conditionalAtLeastOneOf(let c):
            return .init(
                fields: [c.ifField] + c.thenAtLeastOneOf + c.elseThenAtLeastOneOf, required: [],
                runWithMissing: true, runWithInvalid: true)
        case .custom(let c):
            return .init(
                fields: c.fieldSources, required: c.fieldSources, runWithMissing: c.runWithMissingFields,
                runWithInvalid: c.runWithInvalidFields)
        }
    }

    private func run(_ check: EntityCheck, on input: Value, in schema: FieldLookup, fullCheck: Bool, errors: inout ErrorNode) {
        let t = traits(of: check)
        var missing: [String] = []
        var allNil = true
        var allOK = true
        for name in t.fields {
            let value = input.lookup(path: name)
            if let value {
                allNil = false
                if case .string(let s) = value, VaultReference.isReference(s), let f = schema.field(path: name),
                    f.type == .string, f.referenceable
                {
                    return
                }
            } else if !t.runWithMissing, t.required.contains(name), !(schema.field(path: name)?.nilable ?? false) {
                missing.append(name)
            }
            if errors.hasError(at: name) { allOK = false }
        }
        if !allOK && !t.runWithInvalid { return }
        if allNil && !(t.runWithMissing && fullCheck) { return }
        if !missing.isEmpty {
            for name in missing { errors.set(path: name, SchemaMessages.requiredForEntityCheck) }
            return
        }
        // Checkers read only their own fields, so they can read the whole entity; a custom
        // check gets the projection Kong gives it.
        if let message = evaluate(check, input, fields: t.fields, schema: schema, errors: &errors) {
            errors.addEntityError(message)
        }
    }

    /// Runs one checker; returns the entity-level message on failure.
    private func evaluate(
        _ check: EntityCheck, _ entity: Value, fields: [String], schema: FieldLookup, errors: inout ErrorNode
    ) -> String? {
        func nonEmpty(_ name: String) -> Bool { entity.lookup(path: name)?.isNonEmpty ?? false }
        switch check {
        case .atLeastOneOf(let names):
            return names.contains(where: nonEmpty) ? nil
                : "at least one of these fields must be non-empty: \(SchemaMessages.quotedList(names))"
        case .onlyOneOf(let names):
            return names.filter(nonEmpty).count == 1 ? nil
                : "exactly one of these fields must be non-empty: \(SchemaMessages.quotedList(names))"
        case .distinct(let names):
            var seen: [Value] = []
            for name in names {
                guard let v = entity.lookup(path: name), v.isNonEmpty else { continue }
                if seen.contains(v) { return "values of these fields must be distinct: \(SchemaMessages.quotedList(names))" }
                seen.append(v)
            }
            return nil
        case .mutuallyRequired(let names):
            let n = names.filter(nonEmpty).count
            return n == 0 || n == names.count ? nil
                : "all or none of these fields must be set: \(SchemaMessages.quotedList(names))"
        case .mutuallyExclusive(let names):
            return names.filter(nonEmpty).count <= 1 ? nil
                : "only one or none of these fields must be set: \(SchemaMessages.quotedList(names))"
        case .mutuallyExclusiveSets(let set1, let set2):
            let a = set1.filter(nonEmpty)
            let b = set2.filter(nonEmpty)
            return a.isEmpty || b.isEmpty ? nil
                : "these sets are mutually exclusive: (\(SchemaMessages.quotedList(a))), (\(SchemaMessages.quotedList(b)))"
        case .conditional(let c):
            return evaluateConditional(c, entity, schema: schema, errors: &errors)
        case .conditionalAtLeastOneOf(let c):
            guard let ifValue = entity.lookup(path: c.ifField) else { return nil }
            let base = schema.field(path: c.ifField) ?? Field(.any)
            if schema.validateField(c.resolvedIf ?? base.with(c.ifMatch), ifValue) == nil {
                if c.thenAtLeastOneOf.contains(where: nonEmpty) { return nil }
                let list = SchemaMessages.quotedList(c.thenAtLeastOneOf)
                return (c.thenErr ?? "at least one of these fields must be non-empty: %s").replacingFirst("%s", with: list)
            }
            guard let elseMatch = c.elseMatch,
                schema.validateField(c.resolvedElse ?? base.with(elseMatch), ifValue) == nil
            else { return nil }
            if c.elseThenAtLeastOneOf.contains(where: nonEmpty) { return nil }
            let list = SchemaMessages.quotedList(c.elseThenAtLeastOneOf)
            return (c.elseThenErr ?? "at least one of these fields must be non-empty: %s").replacingFirst("%s", with: list)
        case .custom(let c):
            var subset = Object()
            for name in fields { if let v = entity.lookup(path: name) { subset.setValue(v, atPath: name) } }
            return c.fn(subset)
        }
    }

    private func evaluateConditional(
        _ c: EntityCheck.Conditional, _ entity: Value, schema: FieldLookup, errors: inout ErrorNode
    ) -> String? {
        let ifValue = entity.lookup(path: c.ifField) ?? .null
        let thenValue = entity.lookup(path: c.thenField) ?? .null
        let ifField = c.resolvedIf ?? (schema.field(path: c.ifField) ?? Field(.any)).with(c.ifMatch)
        guard schema.validateField(ifField, ifValue) == nil else { return nil }
        let defaultMessage = "failed conditional validation given value of field '\(c.ifField)'"
        if c.thenRequired && thenValue == .null {
            errors.set(path: c.thenField, SchemaMessages.required)
            return defaultMessage
        }
        let thenField = c.resolvedThen ?? (schema.field(path: c.thenField) ?? Field(.any)).with(c.thenMatch)
        guard let err = schema.validateField(thenField, thenValue) else { return nil }
        switch err {
        case .message(let m): errors.set(path: c.thenField, m)
        case .node: errors.setValue(err, atPath: c.thenField)
        }
        return c.thenErr.map { $0.replacingFirst("%s", with: c.ifField) } ?? defaultMessage
    }

    /// Kong's transformation `input`/`needs` checks (`all or none of these fields must be set`).
    func runTransformationChecks(_ input: Object, errors: inout ErrorNode) {
        let whole = Value.object(input)
        func nonEmpty(_ name: String) -> Bool { whole.lookup(path: name)?.isNonEmpty ?? false }
        var schemas = [self]
        if let sub = subschema(for: input) { schemas.append(sub) }
        for schema in schemas {
            for t in schema.transformations where !(t.input.isEmpty && t.needs.isEmpty) {
                guard t.input.contains(where: nonEmpty) else { continue }
                let args = t.input + t.needs
                let n = args.filter(nonEmpty).count
                if n != 0 && n != args.count {
                    errors.addEntityError("all or none of these fields must be set: \(SchemaMessages.quotedList(args))")
                } else {
                    let m = t.input.filter(nonEmpty).count
                    if m != 0 && m != t.input.count {
                        errors.addEntityError("all or none of these fields must be set: \(SchemaMessages.quotedList(t.input))")
                    }
                }
            }
        }
    }
}

extension ErrorNode {
    /// Sets an error value (message or table) at a dotted path.
    mutating func setValue(_ value: ErrorValue, atPath path: String) {
        guard let (head, tail) = path.splitAtFirstDot() else {
            self[.field(path)] = value
            return
        }
        updateChild(.field(head)) { $0.setValue(value, atPath: tail) }
    }
}

extension Object {
    /// Kong's `set_field(tbl, "a.b", v)`.
    mutating func setValue(_ value: Value, atPath path: String) {
        guard let (head, tail) = path.splitAtFirstDot() else {
            self[path] = value
            return
        }
        var child = self[head]?.objectValue ?? Object()
        child.setValue(value, atPath: tail)
        self[head] = .object(child)
    }
}
