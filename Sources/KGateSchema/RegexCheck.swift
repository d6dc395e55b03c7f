import KGateRegex

/// Kong's `is_regex` validator: `ngx.re.match("any string", value)` raises no error.
enum RegexCheck {
    static func isValid(_ pattern: String) -> Bool {
        PCRERegex.ngxReError(pattern: pattern, subject: "any string", options: []) == nil
    }
}
