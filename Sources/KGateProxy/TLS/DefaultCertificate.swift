import Crypto
import Foundation
import X509

/// The certificate a TLS listener presents when no `snis` entry matches (or the client sends no
/// SNI): as Kong's `kong-default` certificate, a self-signed one made at start-up (ECDSA P-256,
/// `CN=localhost`), kept in memory only.
enum DefaultCertificate {
    /// The certificate and key (PEM), made once per process; also what `client_ssl` presents to
    /// upstreams when no `client_ssl_cert` is set, as Kong's generated client certificate.
    static let identity: Result<ServerCertificates.Identity, any Error> = Result { try make() }

    /// Whether the certificate could be made (TLS listeners are skipped otherwise). The
    /// contexts presenting it are made with the generation, under the node's TLS policy.
    static var isAvailable: Bool { (try? identity.get()) != nil }

    private static func make() throws -> ServerCertificates.Identity {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CountryName("US")
            OrganizationName("kgate")
            CommonName("localhost")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(20 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost")])
            },
            issuerPrivateKey: .init(key))
        return ServerCertificates.Identity(certificate: try certificate.serializeAsPEM().pemString, key: key.pemRepresentation)
    }
}
