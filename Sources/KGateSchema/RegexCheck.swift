import KGateRegex

/// Kong's `is_regex` validator: the value compiles as a PCRE regex.
enum RegexCheck {
    static func isValid(_ pattern: String) -> Bool {
        RegexSyntax.compiles(pattern)
    }
}
