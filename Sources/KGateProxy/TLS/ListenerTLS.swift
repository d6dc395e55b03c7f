import KGateHTTP
import KGateSettings
import NIOCore
import NIOSSL

/// TLS for the Admin API's and the Status API's `ssl` addresses (Kong's default `admin_listen`
/// has `127.0.0.1:8444 http2 ssl`): `admin_ssl_cert` / `status_ssl_cert` with their keys
/// (the first pair), else the certificate made at start-up, as Kong presents its generated
/// `admin-kong-default` one. HTTP/1.1 only.
public enum ListenerTLS {
    /// Adds a TLS server handler to a new connection. Throws when the configured certificate
    /// cannot be used; nil when there is none and no certificate could be made at start-up.
    public static func secureChannel(
        certificates: [PEMFile], keys: [PEMFile], setting: String
    ) throws -> HTTPListener.SecureChannel? {
        let context: NIOSSLContext
        if let certificate = certificates.first, let key = keys.first {
            context = try ServerCertificates.makeContext(
                ServerCertificates.Identity(certificate: certificate.pem, key: key.pem), source: setting)
        } else {
            guard let made = ServerCertificates.defaultContext else { return nil }
            context = made
        }
        return { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
    }
}
