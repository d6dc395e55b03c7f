/// `nginx_http_proxy_ssl_trusted_certificate` (nginx's `proxy_ssl_trusted_certificate`): the PEM
/// file of the CAs that verify upstream certificates when a service names no
/// `ca_certificates`, read when the settings are read (nginx refuses to start without it too).
public struct TrustedCertificates: Sendable, Hashable, CustomStringConvertible {
    /// The file, as configured.
    public let path: String
    /// Its PEM text.
    public let pem: String

    /// Certificates given as text (tests, embedders).
    public init(path: String, pem: String) {
        self.path = path
        self.pem = pem
    }

    /// The largest file read.
    public static let maximumSize = 4 << 20

    /// Reads the file; a relative path is taken from `prefix`, as nginx takes it from the
    /// directory of its `nginx.conf` (Kong's prefix).
    public static func load(path: String, prefix: String) throws(ErrorTemplate.Problem) -> TrustedCertificates {
        let full = path.hasPrefix("/") || prefix.isEmpty ? path : prefix + "/" + path
        let text = String(decoding: try TemplateFile.contents(of: full, limit: maximumSize), as: UTF8.self)
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            throw ErrorTemplate.Problem("no PEM certificate in the file")
        }
        return TrustedCertificates(path: path, pem: text)
    }

    /// The path, as configured.
    public var description: String { path }
}
