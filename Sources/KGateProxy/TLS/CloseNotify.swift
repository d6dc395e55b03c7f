import NIOCore
import NIOSSL

/// How kgate ends a TLS connection it closes, on either side: it sends its close_notify and
/// closes the socket without waiting for the peer's, as nginx does (`ngx_ssl_shutdown` calls
/// `SSL_shutdown` once).
///
/// NIOSSL would otherwise wait up to 5 s (`TLSConfiguration.shutdownTimeout`) for the peer's
/// close_notify, and a peer that simply closes its socket (nginx, most clients) leaves that
/// timer holding the closed connection's handler and its ~70 KB of buffers for the full 5 s: at a
/// few thousand TLS connections a second that was hundreds of megabytes waiting to be freed.
enum CloseNotify {
    /// `TLSConfiguration.shutdownTimeout` for kgate's contexts.
    static let wait = TimeAmount.zero

    /// `configuration` with kgate's close_notify handling.
    static func applied(to configuration: TLSConfiguration) -> TLSConfiguration {
        var configuration = configuration
        configuration.shutdownTimeout = wait
        return configuration
    }
}
