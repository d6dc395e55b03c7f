import NIOCore
import NIOSSL

/// TLS for the Admin API's and the Status API's `ssl` addresses (Kong's default `admin_listen`
/// has `127.0.0.1:8444 http2 ssl`): the certificate made at start-up, as Kong presents its
/// generated `admin-kong-default` one when `admin_ssl_cert` is not set. HTTP/1.1 only.
public enum ListenerTLS {
    /// Adds a TLS server handler with the default certificate to a new connection; nil when
    /// the default certificate could not be made.
    public static var defaultSecureChannel: (@Sendable (any Channel) throws -> Void)? {
        guard let context = ServerCertificates.defaultContext else { return nil }
        return { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
    }
}
