import KGateRegex
import KGateSchema

extension CORSPlugin {
    /// Kong's default `methods`.
    static let allMethods = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    /// Kong's `cors` config schema (`kong/plugins/cors/schema.lua`).
    public static let schema = Schema.record([
        ("origins", Field.array(of: Field.string.with { $0.customValidator = validateOrigin })),
        ("headers", Field.array(of: .string)),
        ("exposed_headers", Field.array(of: .string)),
        ("methods", Field.array(of: Field.string.with { $0.oneOf = allMethods.map(Value.string) }).with {
            $0.defaultValue = .array(allMethods.map(Value.string))
        }),
        ("max_age", Field.number),
        ("credentials", Field.boolean.isRequired.defaulting(false)),
        ("private_network", Field.boolean.isRequired.defaulting(false)),
        ("preflight_continue", Field.boolean.isRequired.defaulting(false)),
        ("allow_origin_absent", Field.boolean.isRequired.defaulting(true)),
    ])

    /// `validate_asterisk_or_regex`.
    static let validateOrigin: Field.Validator = { value in
        guard case .string(let s) = value else { return nil }
        if s == "*" || PCRERegex.ngxReError(pattern: s, subject: "any string", options: []) == nil { return nil }
        return "'\(s)' is not a valid regex"
    }
}
