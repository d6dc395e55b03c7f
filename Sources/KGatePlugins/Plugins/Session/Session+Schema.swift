import KGateSchema

extension SessionPlugin {
    /// Kong's `session` plugin subschema (`kong/plugins/session/schema.lua`).
    public static let schema: Schema = {
        let headers = Field.set(of: Field.string.with {
            $0.oneOf = ["id", "audience", "subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"]
        })
        let config = Schema.record(
            [
                ("secret", Field.string.with {
                    $0.defaultValue = .string(defaultSecret)
                    $0.encrypted = true
                    $0.referenceable = true
                }),
                ("storage", Field.string.with {
                    $0.oneOf = ["cookie", "kong"]
                    $0.defaultValue = "cookie"
                    // Kong's `kong` storage keeps sessions in its database, which a DB-less
                    // node does not have: refused here with its position, never ignored.
                    $0.customValidator = { value in
                        value == .string("kong") ? "storage 'kong' is not supported by kgate: sessions are kept in cookies" : nil
                    }
                }),
                ("audience", Field.string.defaulting("default")),
                ("idling_timeout", Field.number.defaulting(900)),
                ("rolling_timeout", Field.number.defaulting(3600)),
                ("absolute_timeout", Field.number.defaulting(86400)),
                ("stale_ttl", Field.number.defaulting(10)),
                ("cookie_name", Field.string.defaulting("session")),
                ("cookie_path", Field.string.defaulting("/")),
                ("cookie_domain", Field.string),
                ("cookie_same_site", Field.string.with {
                    $0.defaultValue = "Strict"
                    $0.oneOf = ["Strict", "Lax", "None", "Default"]
                }),
                ("cookie_http_only", Field.boolean.defaulting(true)),
                ("cookie_secure", Field.boolean.defaulting(true)),
                ("remember", Field.boolean.defaulting(false)),
                ("remember_cookie_name", Field.string.defaulting("remember")),
                ("remember_rolling_timeout", Field.number.defaulting(604800)),
                ("remember_absolute_timeout", Field.number.defaulting(2_592_000)),
                ("response_headers", headers),
                ("request_headers", headers),
                ("read_body_for_logout", Field.boolean.defaulting(false)),
                ("logout_methods", Field.set(of: Field.string.with { $0.oneOf = ["GET", "POST", "DELETE"] }).with {
                    $0.defaultValue = .array(["POST", "DELETE"])
                }),
                ("logout_query_arg", Field.string.defaulting("session_logout")),
                ("logout_post_arg", Field.string.defaulting("session_logout")),
                ("hash_subject", Field.boolean.defaulting(false)),
                ("store_metadata", Field.boolean.defaulting(false)),
            ],
            // Kong's deprecated forms (to be removed in 4.0), without a deprecation notice.
            shorthandFields: [
                Schema.Shorthand("cookie_lifetime", .number) { ["rolling_timeout": $0] },
                Schema.Shorthand("cookie_idletime", .number) { ["idling_timeout": $0 == .null ? .number(0) : $0] },
                Schema.Shorthand("cookie_renew", .number) { _ in [:] },
                Schema.Shorthand("cookie_discard", .number) { ["stale_ttl": $0] },
                Schema.Shorthand("cookie_samesite", .string) {
                    ["cookie_same_site": $0 == .string("off") ? .string("Lax") : $0]
                },
                Schema.Shorthand("cookie_httponly", .boolean) { ["cookie_http_only": $0] },
                Schema.Shorthand("cookie_persistent", .boolean) { ["remember": $0] },
            ])
        return Schema(name: "session", primaryKey: [], fields: [("config", Field.record(config))])
    }()

    /// Kong's default `secret`: 32 random bytes in base64 with `/`, `+` and `=` replaced by a
    /// random digit, upper-case and lower-case letter; made once per process, as Kong's schema
    /// module makes it once when loaded.
    static let defaultSecret: String = {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let digit = Character(UnicodeScalar(UInt8.random(in: 48...57, using: &g)))
        let upper = Character(UnicodeScalar(UInt8.random(in: 65...90, using: &g)))
        let lower = Character(UnicodeScalar(UInt8.random(in: 97...122, using: &g)))
        return String(Base64.encode(bytes).map { $0 == "/" ? digit : $0 == "+" ? upper : $0 == "=" ? lower : $0 })
    }()
}
