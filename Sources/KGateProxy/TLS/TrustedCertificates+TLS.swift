import KGateSettings
import NIOSSL

extension TrustedCertificates {
    /// Makes `configuration` trust these CAs: the system's store with the listed certificates
    /// added, or only the listed ones (none: every verification fails, as in Kong).
    public func apply(to configuration: inout TLSConfiguration) {
        let listed = certificates.flatMap { (try? NIOSSLCertificate.fromPEMBytes(Array($0.pem.utf8))) ?? [] }
        if includesSystem {
            configuration.trustRoots = .default
            if !listed.isEmpty { configuration.additionalTrustRoots = [.certificates(listed)] }
        } else {
            configuration.trustRoots = .certificates(listed)
        }
    }
}
