import KGateSchema

/// A schema as Kong's `GET /schemas/...` shows it (`api_helpers.schema_to_jsonable`):
/// `{"fields": [{"<name>": {...}}, ...], "entity_checks": [{"<checker>": ...}, ...]}`, functions
/// (custom validators, check functions) left out and foreign schemas not expanded.
enum SchemaJSON {
    /// The whole schema.
    static func schema(_ schema: Schema) -> Value {
        [
            "fields": .array(schema.fields.map { ["\($0.name)": field($0.field)] }),
            "entity_checks": .array(schema.entityChecks.map(check)),
        ]
    }

    /// One field definition: its type and the attributes it sets.
    static func field(_ f: Field) -> Value {
        var o = attributes(f)
        o.updateValue(.string(f.type.rawValue), forKey: "type", insertingAt: 0)
        return .object(o)
    }

    /// The attributes a field sets, without its type (also the form of `if_match` / `then_match`).
    static func attributes(_ f: Field) -> Object {
        var o = Object()
        if f.required { o["required"] = true }
        if let d = f.defaultValue { o["default"] = d }
        if f.auto { o["auto"] = true }
        if f.unique { o["unique"] = true }
        if f.uniqueAcrossWorkspaces { o["unique_across_ws"] = true }
        if f.referenceable { o["referenceable"] = true }
        if f.transient { o["transient"] = true }
        if f.immutable { o["immutable"] = true }
        if f.encrypted { o["encrypted"] = true }
        if f.abstract { o["abstract"] = true }
        if let err = f.err { o["err"] = .string(err) }
        if let reference = f.reference { o["reference"] = .string(reference) }
        if let onDelete = f.onDelete { o["on_delete"] = .string(onDelete) }
        if let eq = f.eq { o["eq"] = eq }
        if let ne = f.ne { o["ne"] = ne }
        if let list = f.notOneOf { o["not_one_of"] = .array(list) }
        if let list = f.oneOf { o["one_of"] = .array(list) }
        if let gt = f.gt { o["gt"] = number(gt) }
        if f.timestamp { o["timestamp"] = true }
        if f.uuid { o["uuid"] = true }
        if f.isRegex { o["is_regex"] = true }
        if let between = f.between { o["between"] = [number(between.lowerBound), number(between.upperBound)] }
        if let n = f.lenEq { o["len_eq"] = .integer(n) }
        if let n = f.lenMin { o["len_min"] = .integer(n) }
        if let n = f.lenMax { o["len_max"] = .integer(n) }
        if let s = f.startsWith { o["starts_with"] = .string(s) }
        if let s = f.notMatch { o["not_match"] = .string(s) }
        if let rules = f.matchNone { o["match_none"] = .array(rules.map(rule)) }
        if let s = f.match { o["match"] = .string(s) }
        if let rules = f.matchAll { o["match_all"] = .array(rules.map(rule)) }
        if let any = f.matchAny {
            o["match_any"] = ["patterns": .array(any.patterns.map(Value.string)), "err": .string(any.err)]
        }
        if let c = f.contains { o["contains"] = c }
        if let subsets = f.mutuallyExclusiveSubsets {
            o["mutually_exclusive_subsets"] = .array(subsets.map { .array($0.map(Value.string)) })
        }
        if let notice = f.deprecation { o["deprecation"] = deprecation(notice, replacedWith: nil) }
        if let e = f.elements { o["elements"] = field(e) }
        if let k = f.keys { o["keys"] = field(k) }
        if let v = f.values { o["values"] = field(v) }
        if let record = f.record {
            o["fields"] = .array(record.fields.map { ["\($0.name)": field($0.field)] })
            if !record.entityChecks.isEmpty { o["entity_checks"] = .array(record.entityChecks.map(check)) }
            if !record.shorthandFields.isEmpty {
                o["shorthand_fields"] = .array(record.shorthandFields.map(shorthand))
            }
        }
        return o
    }

    /// A record's shorthand as Kong's `fdata_to_jsonable` leaves it: its field definition and its
    /// `deprecation` (`func` and `reverse_mapping_function` are functions, so left out).
    static func shorthand(_ s: Schema.Shorthand) -> Value {
        var o = attributes(s.field)
        o.updateValue(.string(s.field.type.rawValue), forKey: "type", insertingAt: 0)
        if let notice = s.notice { o["deprecation"] = deprecation(notice, replacedWith: s.replacedWith) }
        return [s.name: .object(o)]
    }

    /// A `deprecation` attribute: `message`, `removal_in_version`, and `old_default` (fields) or
    /// `replaced_with` (shorthands) when set.
    private static func deprecation(_ notice: Schema.DeprecationNotice, replacedWith path: String?) -> Value {
        var o: Object = ["message": .string(notice.message), "removal_in_version": .string(notice.removalInVersion)]
        if let old = notice.oldDefault { o["old_default"] = old }
        if let path {
            o["replaced_with"] = [["path": .array(path.split(separator: ".").map { .string(String($0)) })]]
        }
        return .object(o)
    }

    private static func rule(_ r: Field.PatternRule) -> Value {
        ["pattern": .string(r.pattern), "err": .string(r.err)]
    }

    /// A Lua number: integral values as integers.
    private static func number(_ d: Double) -> Value {
        d == d.rounded() && abs(d) < 1e15 ? .integer(Int(d)) : .number(d)
    }

    private static func names(_ list: [String]) -> Value { .array(list.map(Value.string)) }

    /// The attributes a match bundle sets (`if_match`, `then_match`).
    private static func match(_ apply: EntityCheck.Match) -> Value {
        .object(attributes(Field(.any).with(apply)))
    }

    /// One entity check: `{"at_least_one_of": [...]}`, `{"conditional": {...}}`...
    static func check(_ c: EntityCheck) -> Value {
        switch c {
        case .atLeastOneOf(let l): return ["at_least_one_of": names(l)]
        case .onlyOneOf(let l): return ["only_one_of": names(l)]
        case .distinct(let l): return ["distinct": names(l)]
        case .mutuallyRequired(let l): return ["mutually_required": names(l)]
        case .mutuallyExclusive(let l): return ["mutually_exclusive": names(l)]
        case .mutuallyExclusiveSets(let a, let b):
            return ["mutually_exclusive_sets": ["set1": names(a), "set2": names(b)]]
        case .conditional(let c):
            var then = Field(.any).with(c.thenMatch)
            if c.thenRequired { then.required = true }
            var o: Object = [
                "if_field": .string(c.ifField), "if_match": match(c.ifMatch),
                "then_field": .string(c.thenField), "then_match": .object(attributes(then)),
            ]
            if let err = c.thenErr { o["then_err"] = .string(err) }
            return ["conditional": .object(o)]
        case .conditionalAtLeastOneOf(let c):
            var o: Object = [
                "if_field": .string(c.ifField), "if_match": match(c.ifMatch),
                "then_at_least_one_of": names(c.thenAtLeastOneOf),
            ]
            if let err = c.thenErr { o["then_err"] = .string(err) }
            if let elseMatch = c.elseMatch { o["else_match"] = match(elseMatch) }
            if !c.elseThenAtLeastOneOf.isEmpty { o["else_then_at_least_one_of"] = names(c.elseThenAtLeastOneOf) }
            if let err = c.elseThenErr { o["else_then_err"] = .string(err) }
            return ["conditional_at_least_one_of": .object(o)]
        case .custom(let c):
            var o: Object = ["field_sources": names(c.fieldSources)]
            if c.runWithMissingFields { o["run_with_missing_fields"] = true }
            if c.runWithInvalidFields { o["run_with_invalid_fields"] = true }
            return ["custom_entity_check": .object(o)]
        }
    }
}
