import KGateSchema

extension EntitySchemas {
    /// Kong's `certificates` entity (`kong/db/schema/entities/certificates.lua`).
    public static let certificates = Schema(
        name: "certificates",
        workspaceable: true,
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            EntityFields.updatedAt,
            ("cert", PEM.certificate.with { $0.required = true; $0.referenceable = true }),
            ("key", PEM.key.with { $0.required = true; $0.referenceable = true; $0.encrypted = true }),
            ("cert_alt", PEM.certificate.with { $0.referenceable = true }),
            ("key_alt", PEM.key.with { $0.referenceable = true; $0.encrypted = true }),
            EntityFields.tags,
            ("snis", Field.array(of: Typedefs.wildcardHost).with { $0.transient = true }),
        ],
        entityChecks: [
            .mutuallyRequired(["cert_alt", "key_alt"]),
            .custom(
                .init(fieldSources: ["cert", "key"]) { entity in
                    guard case .string(let cert)? = entity["cert"], case .string(let key)? = entity["key"] else {
                        return nil
                    }
                    return PEM.certificate(cert, matchesKey: key) == false ? "certificate does not match key" : nil
                }),
            .custom(
                .init(fieldSources: ["cert_alt", "key_alt"]) { entity in
                    guard case .string(let cert)? = entity["cert_alt"], case .string(let key)? = entity["key_alt"]
                    else { return nil }
                    return PEM.certificate(cert, matchesKey: key) == false
                        ? "alternative certificate does not match key" : nil
                }),
            .custom(
                .init(fieldSources: ["cert", "cert_alt"]) { entity in
                    guard case .string(let cert)? = entity["cert"], case .string(let alt)? = entity["cert_alt"] else {
                        return nil
                    }
                    guard PEM.sameKeyType(cert, alt) == true else { return nil }
                    return "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), "
                        + "the provided certificates were both of the same type"
                }),
        ])
}
