import CLibCrypto
import NIOSSL
import Synchronization

/// `ssl_ciphers` strings read as nginx reads them, with OpenSSL (`HIGH:!aNULL`, `FIPS`, names):
/// the TLSv1.2-and-older ciphers the string selects, in its order, kept to those the TLS library
/// kgate serves with (swift-nio-ssl's BoringSSL) offers. Handing BoringSSL the string itself
/// would differ from nginx (BoringSSL knows fewer aliases) and stop the process on a string it
/// takes nothing from.
enum CipherListCheck {
    /// Strings already read: a node reads one, for each certificate's contexts.
    private static let read = Mutex<[String: [NIOTLSCipher]]>([:])

    /// The ciphers both OpenSSL selects and the TLS library offers; throws when none is left.
    static func ciphers(_ text: String) throws(UnusableCipherList) -> [NIOTLSCipher] {
        if let known = read.withLock({ $0[text] }) { return known }
        let selected = try select(text)
        read.withLock { $0[text] = selected }
        return selected
    }

    private static func select(_ text: String) throws(UnusableCipherList) -> [NIOTLSCipher] {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw UnusableCipherList(ciphers: text) }
        defer {
            SSL_CTX_free(context)
            ERR_clear_error()
        }
        guard SSL_CTX_set_cipher_list(context, text) == 1, let list = SSL_CTX_get_ciphers(context) else {
            throw UnusableCipherList(ciphers: text)
        }
        var selected: [NIOTLSCipher] = []
        let stack = list
        for i in 0..<OPENSSL_sk_num(stack) {
            guard let cipher = OPENSSL_sk_value(stack, i) else { continue }
            let id = SSL_CIPHER_get_protocol_id(OpaquePointer(cipher))
            if offered.contains(id), !selected.contains(NIOTLSCipher(rawValue: id)) {
                selected.append(NIOTLSCipher(rawValue: id))
            }
        }
        guard !selected.isEmpty else { throw UnusableCipherList(ciphers: text) }
        return selected
    }

    /// The TLSv1.2-and-older ciphers swift-nio-ssl names (certificate-based, no PSK).
    static let offered: Set<UInt16> = Set(
        [
            NIOTLSCipher.TLS_RSA_WITH_AES_128_CBC_SHA, .TLS_RSA_WITH_AES_256_CBC_SHA, .TLS_RSA_WITH_AES_128_GCM_SHA256,
            .TLS_RSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
            .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
            .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ].map(\.rawValue))
}

/// A cipher string that leaves no cipher kgate can offer (nginx: `SSL_CTX_set_cipher_list(...)
/// failed`).
struct UnusableCipherList: Error, CustomStringConvertible {
    let ciphers: String
    var description: String {
        "ssl_ciphers: no cipher of '\(ciphers)' is one kgate's TLS library offers (check ssl_cipher_suite and ssl_ciphers)"
    }
}
