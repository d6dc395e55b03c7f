import NIOSSL

/// nginx's `proxy_ssl_verify_depth` on a verified upstream connection: the chain BoringSSL
/// built from the upstream's certificate to a trust anchor may hold at most `depth`
/// intermediate certificates (OpenSSL's levels 0 to `depth + 1`), Kong's service
/// `tls_verify_depth`, else nginx's default 1.
///
/// BoringSSL still verifies the chain; the per-certificate callback only counts its levels.
/// It is called once per level of a chain that verifies (from the anchor down to the
/// upstream's certificate), so a level past the limit fails the handshake, as OpenSSL's
/// `X509_V_ERR_CERT_CHAIN_TOO_LONG` does in nginx (a 502 for the client).
enum VerifyDepthLimit {
    /// nginx's `proxy_ssl_verify_depth` default.
    static let nginxDefault = 1

    /// A client handler for `context` whose verified chains are limited to `depth`; the reason
    /// a verification fails is left in `recorder`.
    static func clientHandler(
        context: NIOSSLContext, serverHostname: String?, depth: Int, recorder: CertificateVerifyRecorder
    ) throws -> NIOSSLClientHandler {
        try makeHandler(
            DepthCountingHandlerMaker.self, context: context, serverHostname: serverHostname, depth: depth,
            recorder: recorder)
    }

    /// Calls the maker through its protocol: see ``DepthCountingHandlerMaker``.
    private static func makeHandler<Maker: ClientHandlerMaking>(
        _ maker: Maker.Type, context: NIOSSLContext, serverHostname: String?, depth: Int,
        recorder: CertificateVerifyRecorder
    ) throws -> NIOSSLClientHandler {
        try maker.make(context: context, serverHostname: serverHostname, maxLevels: depth + 2, recorder: recorder)
    }
}

private protocol ClientHandlerMaking {
    static func make(
        context: NIOSSLContext, serverHostname: String?, maxLevels: Int, recorder: CertificateVerifyRecorder
    ) throws -> NIOSSLClientHandler
}

/// NIOSSL marks its per-certificate verification callback deprecated in favour of a callback
/// that replaces BoringSSL's verification altogether; kgate wants BoringSSL's verification
/// (as nginx's OpenSSL does it) plus the depth limit, which only the per-certificate callback
/// can add. The call sits in a deprecated witness reached through a protocol, which keeps the
/// build free of the deprecation warning without hiding any other.
private enum DepthCountingHandlerMaker: ClientHandlerMaking {
    @available(*, deprecated, message: "uses NIOSSL's per-certificate verification callback")
    static func make(
        context: NIOSSLContext, serverHostname: String?, maxLevels: Int, recorder: CertificateVerifyRecorder
    ) throws -> NIOSSLClientHandler {
        var levels = 0
        return try NIOSSLClientHandler(context: context, serverHostname: serverHostname) { preverified, certificate in
            guard preverified == .certificateVerified else {
                if recorder.failure == nil {
                    recorder.failure = CertificateVerifyError.classify(certificate, verifiedAbove: levels)
                }
                return preverified
            }
            levels += 1
            guard levels <= maxLevels else {
                recorder.failure = .chainTooLong
                return .failed
            }
            return .certificateVerified
        }
    }
}
