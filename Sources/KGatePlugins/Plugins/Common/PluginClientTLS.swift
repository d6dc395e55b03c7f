import NIOSSL

/// TLS for the servers plugins call (log collectors, Azure Functions): Kong's `ssl_verify =
/// false` by default, so one client context without certificate verification serves every
/// such connection; a verifying one (the system's trust store) when a config asks for it.
/// Each is made once.
enum PluginClientTLS {
    static let unverified: Result<NIOSSLContext, any Error> = Result {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLContext(configuration: configuration)
    }

    static let verified: Result<NIOSSLContext, any Error> = Result {
        try NIOSSLContext(configuration: TLSConfiguration.makeClientConfiguration())
    }

    /// The context for a server whose certificate is checked, or not.
    static func context(verifying: Bool) throws -> NIOSSLContext {
        try (verifying ? verified : unverified).get()
    }

    /// The SNI a handshake with `host` names: none for an IP address.
    static func serverName(for host: String) -> String? {
        host.first?.isNumber == true || host.contains(":") ? nil : host
    }
}
