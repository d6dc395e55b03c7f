/// Kong's field validators, run in `Schema.validators_order`.
extension Schema {
    func runValidators(_ field: Field, _ value: Value, lenMin: Int?) -> String? {
        func fail(_ message: String) -> String { field.err ?? message }

        if let eq = field.eq, !value.luaEquals(eq) { return fail("value must be \(eq.luaString)") }
        if let ne = field.ne, value.luaEquals(ne) { return fail("value must not be \(value.luaString)") }
        if let options = field.notOneOf, options.contains(where: value.luaEquals) {
            return fail("must not be one of: \(options.map(\.luaString).joined(separator: ", "))")
        }
        if let options = field.oneOf, !options.contains(where: value.luaEquals) {
            return fail("expected one of: \(options.map(\.luaString).joined(separator: ", "))")
        }
        if let gt = field.gt, let d = value.doubleValue, !(d > gt) {
            return fail("value must be greater than \(Value.formatNumber(gt))")
        }
        if field.timestamp, let d = value.doubleValue, !(d > 0) { return fail(SchemaMessages.expectedTimestamp) }
        if field.uuid, case .string(let s) = value, !UUIDFormat.isValid(s) { return fail(SchemaMessages.expectedUUID) }
        if field.isRegex, case .string(let s) = value, !RegexCheck.isValid(s) { return fail("not a valid regex: \(s)") }
        if let range = field.between, let d = value.doubleValue, !range.contains(d) {
            return fail("value should be between \(Self.luaInteger(range.lowerBound)) and \(Self.luaInteger(range.upperBound))")
        }
        if field.lenEq != nil || lenMin != nil || field.lenMax != nil, let len = value.luaLength {
            if let n = field.lenEq, len != n { return fail("length must be \(n)") }
            if let n = lenMin, len < n { return fail("length must be at least \(n)") }
            if let n = field.lenMax, len > n { return fail("length must be at most \(n)") }
        }
        if case .string(let s) = value {
            if let prefix = field.startsWith, !s.utf8.starts(with: prefix.utf8) { return fail("should start with: \(prefix)") }
            if let p = field.notMatch, LuaPattern.matches(s, p) { return fail("invalid value: \(s)") }
            if let rules = field.matchNone, let hit = rules.first(where: { LuaPattern.matches(s, $0.pattern) }) {
                return fail(hit.err)
            }
            if let p = field.match, !LuaPattern.matches(s, p) { return fail("invalid value: \(s)") }
            if let rules = field.matchAll, let miss = rules.first(where: { !LuaPattern.matches(s, $0.pattern) }) {
                return fail(miss.err)
            }
            if let any = field.matchAny, !any.patterns.contains(where: { LuaPattern.matches(s, $0) }) {
                return fail(any.err)
            }
        }
        if let wanted = field.contains, let items = value.sequenceElements, !items.contains(where: wanted.luaEquals) {
            return fail("expected to contain: \(wanted.luaString)")
        }
        if let validator = field.customValidator, let message = validator(value) { return fail(message) }
        if let subsets = field.mutuallyExclusiveSubsets, let items = value.sequenceElements {
            var used: [[String]] = []
            for item in items {
                guard let s = item.stringValue, let subset = subsets.first(where: { $0.contains(s) }) else { continue }
                if !used.contains(subset) { used.append(subset) }
            }
            if used.count > 1 { return fail("these sets are mutually exclusive: \(SchemaMessages.quotedSets(used))") }
        }
        return nil
    }

    /// Lua's `%d` of a limit.
    static func luaInteger(_ d: Double) -> String {
        d.isFinite && abs(d) < 9.2e18 ? String(Int(d)) : Value.formatNumber(d)
    }
}

extension Value {
    /// Lua's `#` for strings (bytes) and tables (elements; map keys count for objects).
    var luaLength: Int? {
        switch self {
        case .string(let s): return s.utf8.count
        case .array(let a): return a.count
        case .object(let o): return o.count
        default: return nil
        }
    }
}

/// Kong's UUID check: 36 chars, hex 8-4-4-4-12, case-insensitive.
public enum UUIDFormat {
    public static func isValid(_ s: String) -> Bool {
        let u = s.utf8
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            switch i {
            case 8, 13, 18, 23: if c != UInt8(ascii: "-") { return false }
            default:
                let hex = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
                if !hex { return false }
            }
        }
        return true
    }
}
