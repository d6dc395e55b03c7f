/// What nginx knows of a client's TLS session (`$ssl_protocol`, `$ssl_cipher`,
/// `$ssl_client_verify`): the `tls` table of Kong's log serializer (`build_tls_info`), on
/// `request` for HTTPS and on `session` for terminated TLS streams.
public struct ClientTLS: Sendable, Hashable {
    /// OpenSSL's protocol name: `TLSv1.3`, `TLSv1.2`.
    public var version: String
    /// OpenSSL's cipher name: `TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`.
    public var cipher: String
    /// `$ssl_client_verify`: `NONE` when the client sent no certificate (kgate's listeners ask
    /// for none, as Kong's).
    public var clientVerify: String

    public init(version: String, cipher: String, clientVerify: String = "NONE") {
        self.version = version
        self.cipher = cipher
        self.clientVerify = clientVerify
    }
}
