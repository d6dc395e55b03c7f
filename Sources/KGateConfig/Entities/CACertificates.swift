#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema

extension EntitySchemas {
    /// Kong's `ca_certificates` entity (`kong/db/schema/entities/ca_certificates.lua`): not
    /// workspaceable; `cert_digest` is filled by the transformation.
    public static let caCertificates = caCertificates(now: { Int64(time(nil)) })

    /// The same schema with a clock for the expiry check (tests).
    public static func caCertificates(now: @escaping @Sendable () -> Int64) -> Schema {
        Schema(
            name: "ca_certificates",
            fields: [
                EntityFields.id,
                EntityFields.createdAt,
                EntityFields.updatedAt,
                ("cert", PEM.certificate.isRequired),
                ("cert_digest", Field.string.with { $0.unique = true }),
                EntityFields.tags,
            ],
            entityChecks: [
                .custom(
                    .init(fieldSources: ["cert"]) { entity in
                        guard case .string(let cert)? = entity["cert"] else { return nil }
                        return PEM.caCertificateError(cert, now: now())
                    })
            ],
            transformations: [
                Schema.Transformation(input: ["cert"]) { entity in
                    guard case .string(let cert)? = entity["cert"], let digest = PEM.digest(cert) else { return entity }
                    var out = entity
                    out["cert_digest"] = .string(digest)
                    return out
                }
            ])
    }
}
