/// Kong's entity checkers: cross-field rules of a schema (`Schema.entity_checkers`).
public enum EntityCheck: Sendable {
    /// Changes a field definition into the validator bundle of a `conditional` check
    /// (Kong's `if_match` / `then_match`, which inherit the field's own attributes).
    public typealias Match = @Sendable (inout Field) -> Void

    public struct Conditional: Sendable {
        public var ifField: String
        public var ifMatch: Match
        public var thenField: String
        public var thenMatch: Match
        /// Whether `thenMatch` sets `required = true` (handled first, as Kong does).
        public var thenRequired: Bool
        /// A message format with `%s` for the if-field, replacing the default entity error.
        public var thenErr: String?
        /// The if/then field definitions with the matches applied, computed by the owning schema.
        package var resolvedIf: Field?
        package var resolvedThen: Field?
        public init(
            ifField: String, ifMatch: @escaping Match, thenField: String, thenRequired: Bool = false,
            thenMatch: @escaping Match = { _ in }, thenErr: String? = nil
        ) {
            self.ifField = ifField
            self.ifMatch = ifMatch
            self.thenField = thenField
            self.thenMatch = thenMatch
            self.thenRequired = thenRequired
            self.thenErr = thenErr
        }
    }

    public struct ConditionalAtLeastOneOf: Sendable {
        public var ifField: String
        public var ifMatch: Match
        public var thenAtLeastOneOf: [String]
        public var thenErr: String?
        public var elseMatch: Match?
        public var elseThenAtLeastOneOf: [String]
        public var elseThenErr: String?
        package var resolvedIf: Field?
        package var resolvedElse: Field?
        public init(
            ifField: String, ifMatch: @escaping Match, thenAtLeastOneOf: [String], thenErr: String? = nil,
            elseMatch: Match? = nil, elseThenAtLeastOneOf: [String] = [], elseThenErr: String? = nil
        ) {
            self.ifField = ifField
            self.ifMatch = ifMatch
            self.thenAtLeastOneOf = thenAtLeastOneOf
            self.thenErr = thenErr
            self.elseMatch = elseMatch
            self.elseThenAtLeastOneOf = elseThenAtLeastOneOf
            self.elseThenErr = elseThenErr
        }
    }

    public struct Custom: Sendable {
        public var fieldSources: [String]
        public var runWithMissingFields: Bool
        public var runWithInvalidFields: Bool
        /// Returns an error message, or nil when the entity passes. Receives only `fieldSources`.
        public var fn: @Sendable (Object) -> String?
        public init(
            fieldSources: [String], runWithMissingFields: Bool = false, runWithInvalidFields: Bool = false,
            fn: @escaping @Sendable (Object) -> String?
        ) {
            self.fieldSources = fieldSources
            self.runWithMissingFields = runWithMissingFields
            self.runWithInvalidFields = runWithInvalidFields
            self.fn = fn
        }
    }

    case atLeastOneOf([String])
    case onlyOneOf([String])
    case distinct([String])
    case mutuallyRequired([String])
    case mutuallyExclusive([String])
    case mutuallyExclusiveSets(set1: [String], set2: [String])
    case conditional(Conditional)
    case conditionalAtLeastOneOf(ConditionalAtLeastOneOf)
    case custom(Custom)
}

extension EntityCheck {
    /// The check with its match bundles applied to the field definitions `lookup` finds, so
    /// validation does not rebuild them for every entity.
    /// A field `lookup` cannot find keeps the resolution it already has (a subschema's check
    /// resolved by its parent against the parent's fields).
    func resolved(using lookup: (String) -> Field?) -> EntityCheck {
        func apply(_ path: String, _ match: Match, _ current: Field?) -> Field {
            if let f = lookup(path) { return f.with(match) }
            return current ?? Field(.any).with(match)
        }
        switch self {
        case .conditional(var c):
            c.resolvedIf = apply(c.ifField, c.ifMatch, c.resolvedIf)
            c.resolvedThen = apply(c.thenField, c.thenMatch, c.resolvedThen)
            return .conditional(c)
        case .conditionalAtLeastOneOf(var c):
            c.resolvedIf = apply(c.ifField, c.ifMatch, c.resolvedIf)
            if let elseMatch = c.elseMatch { c.resolvedElse = apply(c.ifField, elseMatch, c.resolvedElse) }
            return .conditionalAtLeastOneOf(c)
        default:
            return self
        }
    }
}
