import NIOSSL

/// TLS to log collectors (http-log, tcp-log): Kong's `ssl_verify = false`, so one client
/// context without certificate verification serves every connection, made once.
enum LogCollectorTLS {
    static let context: Result<NIOSSLContext, any Error> = Result {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLContext(configuration: configuration)
    }
}
