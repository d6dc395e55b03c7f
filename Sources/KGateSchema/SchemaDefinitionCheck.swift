/// The metaschema: rules every schema definition must follow (Kong's `metaschema.lua`),
/// checked once when the schemas are assembled, never while validating data.
extension Schema {
    /// Problems with this schema's definition (empty when it is well-formed), with Kong's texts.
    public func definitionErrors() -> [String] {
        var errors: [String] = []
        func need(_ name: String, _ what: String) {
            if field(named: name) == nil { errors.append("\(self.name): \(what) '\(name)' is not a field") }
        }
        for key in primaryKey { need(key, "primary key") }
        if let endpointKey { need(endpointKey, "endpoint key") }
        if let cacheKey {
            for key in cacheKey { need(key, "cache key") }
            if cacheKey.count == 1, let f = field(named: cacheKey[0]), !f.unique {
                errors.append("\(name): a field used as a single cache key must be unique")
            }
        }
        if let subschemaKey { need(subschemaKey, "subschema key") }
        for (fieldName, f) in fields { errors += Self.fieldErrors(f, path: "\(name).\(fieldName)") }
        // Custom checks may name fields a flavor leaves out (routes' `expression`), as in Kong.
        for check in entityChecks where !check.isCustom {
            for path in check.fieldNames where field(path: path) == nil {
                errors.append("\(name): entity check refers to unknown field '\(path)'")
            }
        }
        for (subName, sub) in subschemas.sorted(by: { $0.key < $1.key }) {
            for (fieldName, f) in sub.fields {
                guard let parent = field(named: fieldName) else {
                    errors.append("error in definition of '\(subName)': \(fieldName): cannot create a new field")
                    continue
                }
                if !(parent.type == f.type || (parent.type == .record && f.type == .json)) {
                    errors.append("error in definition of '\(subName)': \(fieldName): cannot change type in a specialized field")
                }
            }
            for (fieldName, f) in fields where f.abstract && sub.field(named: fieldName) == nil {
                errors.append("error in definition of '\(subName)': \(fieldName): abstract field was not specialized")
            }
        }
        return errors
    }

    private static func fieldErrors(_ f: Field, path: String) -> [String] {
        switch f.type {
        case .array, .set:
            guard let e = f.elements else { return ["\(path): field of type '\(f.type.rawValue)' must declare 'elements'"] }
            return fieldErrors(e, path: path + ".elements")
        case .map:
            guard let k = f.keys, let v = f.values else { return ["\(path): field of type 'map' must declare 'keys' and 'values'"] }
            return fieldErrors(k, path: path + ".keys") + fieldErrors(v, path: path + ".values")
        case .record:
            return f.record?.definitionErrors() ?? []
        case .foreign:
            return f.reference == nil ? ["\(path): foreign field must declare 'reference'"] : []
        default:
            return []
        }
    }
}

extension EntityCheck {
    var isCustom: Bool {
        if case .custom = self { return true } else { return false }
    }

    /// The fields a check reads (for definition checks).
    var fieldNames: [String] {
        switch self {
        case .atLeastOneOf(let f), .onlyOneOf(let f), .distinct(let f), .mutuallyRequired(let f), .mutuallyExclusive(let f):
            return f
        case .mutuallyExclusiveSets(let a, let b): return a + b
        case .conditional(let c): return [c.ifField, c.thenField]
        case .conditionalAtLeastOneOf(let c): return [c.ifField] + c.thenAtLeastOneOf + c.elseThenAtLeastOneOf
        case .custom(let c): return c.fieldSources
        }
    }
}
