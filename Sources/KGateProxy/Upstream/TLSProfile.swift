import NIOCore
import NIOSSL

/// The TLS client settings of an `https` service: `tls_verify`, `ca_certificates`,
/// `client_certificate`, made into one `NIOSSLContext` (expensive, so built once per distinct
/// setting and carried over to the next generation when unchanged).
///
/// The pool keys TLS connections by profile identity (and SNI): a pooled connection holds its
/// profile, so identities stay unique while such connections exist.
final class TLSProfile: Sendable {
    /// What makes two profiles interchangeable.
    struct Identity: Sendable, Hashable {
        /// `tls_verify` is true.
        var verify: Bool
        /// `tls_verify_depth`, else the node's `nginx_http_proxy_ssl_verify_depth`.
        var verifyDepth: Int
        /// PEM texts of the service's `ca_certificates` (empty: the default trust store).
        var caCertificates: [String]
        /// The client certificate and key (`client_certificate`, else `client_ssl`'s).
        var client: ServerCertificates.Identity?
        /// ALPN offers `h2` (`grpcs` services).
        var http2 = false
    }

    let identity: Identity
    let context: NIOSSLContext

    init(identity: Identity, defaultTrustPEM: String?) throws {
        self.identity = identity
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.verifySignatureAlgorithms = Self.signatureAlgorithms
        configuration.certificateVerification = identity.verify ? .fullVerification : .none
        if identity.verify {
            if !identity.caCertificates.isEmpty {
                let certificates = try identity.caCertificates.flatMap {
                    try NIOSSLCertificate.fromPEMBytes(Array($0.utf8))
                }
                configuration.trustRoots = .certificates(certificates)
            } else if let defaultTrustPEM {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(defaultTrustPEM.utf8)))
            } else {
                configuration.trustRoots = .default
            }
        }
        if let client = identity.client {
            (configuration.certificateChain, configuration.privateKey) = try client.tlsSources()
        }
        if identity.http2 { configuration.applicationProtocols = ["h2"] }
        self.context = try NIOSSLContext(configuration: CloseNotify.applied(to: configuration))
    }

    /// A TLS client handler for one connection with this profile: verified connections limit
    /// the chain's depth as nginx does (``VerifyDepthLimit``).
    func clientHandler(serverHostname: String?, recorder: CertificateVerifyRecorder) throws -> NIOSSLClientHandler {
        guard identity.verify else { return try NIOSSLClientHandler(context: context, serverHostname: serverHostname) }
        return try VerifyDepthLimit.clientHandler(
            context: context, serverHostname: serverHostname, depth: identity.verifyDepth,
            recorder: recorder)
    }

    /// The signatures an upstream may prove its key with: BoringSSL's defaults plus what nginx's
    /// OpenSSL also offers, `ecdsa_secp521r1_sha512` (a P-521 key, as Kong's test certificate
    /// `kong_spec.crt` has) and `ed25519`. Without them such an upstream fails the handshake.
    static let signatureAlgorithms: [SignatureAlgorithm] = [
        .ecdsaSecp256R1Sha256, .rsaPssRsaeSha256, .rsaPkcs1Sha256,
        .ecdsaSecp384R1Sha384, .rsaPssRsaeSha384, .rsaPkcs1Sha384,
        .ecdsaSecp521R1Sha512, .rsaPssRsaeSha512, .rsaPkcs1Sha512,
        .ed25519, .rsaPkcs1Sha1,
    ]

    /// The SNI / verification name for an upstream `Host`: the host without its port, nil for
    /// an IP literal (which SNI cannot carry), as nginx's `proxy_ssl_name`.
    static func serverName(forHostHeader host: String) -> String? {
        var name = Substring(host)
        if name.hasPrefix("[") { return nil }
        if let colon = name.lastIndex(of: ":"), name.firstIndex(of: ":") == colon { name = name[..<colon] }
        if name.isEmpty || IPBytes(parsing: String(name)) != nil { return nil }
        return String(name)
    }
}
