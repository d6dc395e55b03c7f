import KGateHTTP
import KGateSettings
import NIOCore
import NIOSSL

/// TLS for the Admin API's and the Status API's `ssl` addresses (Kong's default `admin_listen`
/// has `127.0.0.1:8444 http2 ssl`): `admin_ssl_cert` / `status_ssl_cert` with their keys
/// (the first pair), else the certificate made at start-up, as Kong presents its generated
/// `admin-kong-default` one. ALPN offers `h2` before `http/1.1` on `http2` addresses,
/// `http/1.1` alone on the others. The TLS versions and ciphers are the proxy's (`ssl_cipher_suite`
/// applies to every server block of Kong's nginx).
public enum ListenerTLS {
    /// Adds a TLS server handler to a new connection. Throws when the configured certificate
    /// cannot be used; nil when there is none and no certificate could be made at start-up.
    public static func secureChannel(
        certificates: [PEMFile], keys: [PEMFile], setting: String, policy: ServerTLSPolicy = .intermediate
    ) throws -> HTTPListener.SecureChannel? {
        let contexts: ServerCertificates.Contexts
        if let certificate = certificates.first, let key = keys.first {
            contexts = try ServerCertificates.makeContexts(
                ServerCertificates.Identity(certificate: certificate.pem, key: key.pem), offersHTTP2: true, policy: policy,
                source: setting)
        } else {
            guard let made = ServerCertificates.defaultContexts(policy) else { return nil }
            contexts = made
        }
        return { channel, http2 in
            let context = http2 ? contexts.http2 ?? contexts.http1 : contexts.http1
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }
    }
}
