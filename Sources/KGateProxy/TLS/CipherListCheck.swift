// NIOSSL's own BoringSSL, for the one check NIOSSL does not offer: it stops the process
// (a precondition) on a cipher string BoringSSL rejects, so the string is tried here first.
@_implementationOnly import CNIOBoringSSL

/// Whether the TLS library takes an OpenSSL cipher string (`ssl_ciphers`): at least one
/// cipher it knows must remain, as `SSL_CTX_set_cipher_list` requires.
enum CipherListCheck {
    static func accepts(_ ciphers: String) -> Bool {
        guard let context = SSL_CTX_new(TLS_method()) else { return false }
        defer { SSL_CTX_free(context) }
        return SSL_CTX_set_cipher_list(context, ciphers) == 1
    }
}

/// A cipher string the TLS library takes no cipher from (nginx: `SSL_CTX_set_cipher_list(...)
/// failed`).
struct UnusableCipherList: Error, CustomStringConvertible {
    let ciphers: String
    var description: String {
        "ssl_ciphers: no cipher of '\(ciphers)' is one kgate's TLS library offers (check ssl_cipher_suite and ssl_ciphers)"
    }
}
