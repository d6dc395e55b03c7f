#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateConfig

/// `lua_ssl_trusted_certificate`: the CAs kgate's own TLS clients trust when they verify a
/// server (active `https` health probes with `https_verify_certificate`, Redis with
/// `ssl_verify`), as Kong's cosockets trust nginx's `lua_ssl_trusted_certificate`.
///
/// Kong's entries, comma-separated: `system` (the system's trust store, the default), a
/// certificate file, or a certificate's PEM text, raw or base64-encoded.
public struct TrustedCertificates: Sendable, Hashable {
    /// `system` is listed.
    public var includesSystem: Bool
    /// The certificates listed, each as configured and as PEM text.
    public var certificates: [PEMFile]

    /// Kong's default, `system`.
    public static let system = TrustedCertificates(includesSystem: true, certificates: [])

    /// Trusts `certificates`, and the system's store when `includesSystem`.
    public init(includesSystem: Bool, certificates: [PEMFile]) {
        self.includesSystem = includesSystem
        self.certificates = certificates
    }

    /// Reads the property's entries; Kong's message names the first one that is neither a
    /// readable file nor a certificate.
    init(entries: [String]) throws(InvalidValue) {
        self.init(includesSystem: false, certificates: [])
        for entry in entries {
            if entry == "system" {
                includesSystem = true
            } else if let file = Self.certificate(entry) {
                certificates.append(file)
            } else {
                throw InvalidValue("lua_ssl_trusted_certificate: failed loading certificate from \(entry)")
            }
        }
    }

    /// An entry's certificate: the file it names (from the working directory, as Kong makes
    /// the paths absolute), else its own text or its base64 decoding when that is PEM.
    private static func certificate(_ entry: String) -> PEMFile? {
        let marker = PEMFile.Content.certificate.marker.text
        if access(entry, F_OK) == 0 {
            return try? PEMFile.load(path: entry, relativeTo: "", content: .certificate)
        }
        if entry.contains(marker) { return PEMFile(path: entry, pem: entry) }
        guard let bytes = Base64.decode(entry) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.contains(marker) ? PEMFile(path: entry, pem: text) : nil
    }

    /// The entries, as configured.
    public var entries: [String] {
        (includesSystem ? ["system"] : []) + certificates.map(\.path)
    }
}
