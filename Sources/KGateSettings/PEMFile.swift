/// A PEM file a property names, read when the settings are read (nginx and Kong refuse to start
/// without it too): `nginx_http_proxy_ssl_trusted_certificate` (the CAs that verify upstream
/// certificates), `ssl_cert` and `ssl_cert_key` (the proxy's default certificate).
public struct PEMFile: Sendable, Hashable, CustomStringConvertible {
    /// What a file must hold.
    public enum Content: Sendable {
        case certificate
        case privateKey

        /// The PEM label that shows the content, and the problem when it is missing.
        var marker: (text: String, missing: String) {
            switch self {
            case .certificate: return ("-----BEGIN CERTIFICATE-----", "no PEM certificate in the file")
            case .privateKey: return ("PRIVATE KEY-----", "no PEM private key in the file")
            }
        }
    }

    /// The file, as configured.
    public let path: String
    /// Its PEM text.
    public let pem: String

    /// A file given as text (tests, embedders).
    public init(path: String, pem: String) {
        self.path = path
        self.pem = pem
    }

    /// The largest file read.
    public static let maximumSize = 4 << 20

    /// Reads the file; a relative path is taken from `directory` (nginx takes its directives'
    /// paths from the prefix; Kong makes `ssl_cert` absolute from the working directory, "").
    public static func load(
        path: String, relativeTo directory: String, content: Content
    ) throws(ErrorTemplate.Problem) -> PEMFile {
        let full = path.hasPrefix("/") || directory.isEmpty ? path : directory + "/" + path
        let text = String(decoding: try TemplateFile.contents(of: full, limit: maximumSize), as: UTF8.self)
        guard text.contains(content.marker.text) else { throw ErrorTemplate.Problem(content.marker.missing) }
        return PEMFile(path: path, pem: text)
    }

    /// The path, as configured.
    public var description: String { path }
}
