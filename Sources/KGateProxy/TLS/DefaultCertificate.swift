import Crypto
import Foundation
import NIOSSL
import X509

/// The certificate a TLS listener presents when no `snis` entry matches (or the client sends no
/// SNI): as Kong's `kong-default` certificate, a self-signed one made at start-up (ECDSA P-256,
/// `CN=localhost`), kept in memory only.
enum DefaultCertificate {
    /// The certificate chain and key, made once per process.
    static let shared: Result<(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey), any Error> = pem.flatMap { pem in
        Result {
            (
                [try NIOSSLCertificate(bytes: Array(pem.certificate.utf8), format: .pem)],
                try NIOSSLPrivateKey(bytes: Array(pem.key.utf8), format: .pem)
            )
        }
    }

    /// The same certificate and key as PEM text (also what `client_ssl` presents to upstreams
    /// when no `client_ssl_cert` is set, as Kong's generated client certificate).
    static let pem: Result<(certificate: String, key: String), any Error> = Result { try make() }

    private static func make() throws -> (certificate: String, key: String) {
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
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
