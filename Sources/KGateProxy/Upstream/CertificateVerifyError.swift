import Foundation
import NIOSSL
import X509

/// Why an upstream's certificate failed verification, as OpenSSL's `X509_V_ERR_*` code and
/// text, which nginx logs (`upstream SSL certificate verify error: (21:unable to verify the
/// first certificate) while SSL handshaking to upstream`).
///
/// BoringSSL reports only that verification failed; the reason is worked out from the
/// certificate at which it failed, as OpenSSL would name it: chain building stops at the first
/// certificate whose issuer is not trusted, so a certificate that is not a CA there is the
/// upstream's own, sent without its chain.
struct CertificateVerifyError: Error, Equatable, CustomStringConvertible {
    let code: Int
    let text: String

    static let notYetValid = CertificateVerifyError(code: 9, text: "certificate is not yet valid")
    static let expired = CertificateVerifyError(code: 10, text: "certificate has expired")
    static let selfSigned = CertificateVerifyError(code: 18, text: "self-signed certificate")
    static let issuerUnknown = CertificateVerifyError(code: 20, text: "unable to get local issuer certificate")
    static let firstUnverifiable = CertificateVerifyError(code: 21, text: "unable to verify the first certificate")
    static let chainTooLong = CertificateVerifyError(code: 22, text: "certificate chain too long")

    var description: String { "\(code):\(text)" }

    /// The reason for a failure at `certificate`, the first certificate BoringSSL's callback
    /// saw fail; nil when it cannot be told.
    ///
    /// - Parameter verifiedAbove: how many certificates above it (towards the anchor) verified.
    static func classify(_ certificate: NIOSSLCertificate, verifiedAbove: Int, now: Date = Date()) -> Self? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        if parsed.notValidAfter < now { return .expired }
        if parsed.notValidBefore > now { return .notYetValid }
        // Below a verified issuer, the failure is not a missing issuer.
        guard verifiedAbove == 0 else { return nil }
        if parsed.issuer == parsed.subject { return .selfSigned }
        if let constraints = try? parsed.extensions.basicConstraints, case .isCertificateAuthority = constraints {
            return .issuerUnknown
        }
        return .firstUnverifiable
    }
}

/// Where the verify callback of one handshake leaves the reason it failed. Confined to the
/// connection's event loop (the callback runs inside the handshake, on that loop).
final class CertificateVerifyRecorder {
    var failure: CertificateVerifyError?
}
