import KGateSchema

extension JWTPlugin {
    /// Kong's `jwt` plugin subschema (`kong/plugins/jwt/schema.lua`): the config record, and
    /// `maximum_expiration` above 0 requiring `exp` in `claims_to_verify`.
    public static let schema = Schema(
        name: "jwt", primaryKey: [],
        fields: [
            (
                "config",
                Field.record(
                    Schema.record([
                        ("uri_param_names", Field.set(of: .string).defaulting(["jwt"])),
                        ("cookie_names", Field.set(of: .string).defaulting([])),
                        ("key_claim_name", Field.string.defaulting("iss")),
                        ("secret_is_base64", Field.boolean.isRequired.defaulting(false)),
                        ("claims_to_verify", Field.set(of: Field.string.with { $0.oneOf = [.string("exp"), .string("nbf")] })),
                        ("anonymous", Field.string),
                        ("run_on_preflight", Field.boolean.isRequired.defaulting(true)),
                        ("maximum_expiration", Field.number.with {
                            $0.defaultValue = 0
                            $0.between = 0...31_536_000
                        }),
                        ("header_names", Field.set(of: .string).defaulting(["authorization"])),
                        ("realm", Field.string),
                    ]))
            )
        ],
        entityChecks: [
            .conditional(
                EntityCheck.Conditional(
                    ifField: "config.maximum_expiration", ifMatch: { $0.gt = 0 }, thenField: "config.claims_to_verify",
                    thenMatch: { $0.contains = "exp" }))
        ])
}
