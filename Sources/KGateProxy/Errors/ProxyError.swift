#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import NIOSSL

/// Why an exchange with an upstream failed: where it failed, whether another try may follow,
/// and (in one place) what Kong answers for it.
struct ProxyError: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// Connecting (TCP or TLS handshake) failed: refused, reset, unreachable.
        case connectFailed
        /// Connecting took longer than `connect_timeout`.
        case connectTimeout
        /// The upstream accepted no more bytes for `write_timeout`.
        case writeTimeout
        /// The upstream sent nothing for `read_timeout`.
        case readTimeout
        /// The upstream closed or reset the connection, or sent an invalid response.
        case badResponse
        /// The balancer had no target (`failure to get a peer from the ring-balancer`).
        case noPeer
        /// DNS said the name does not exist (`name resolution failed`).
        case nameResolution
        /// Another DNS failure (`failed the initial dns/balancer resolve for '<host>' with: <err>`).
        case resolveFailed(host: String, message: String)
    }

    var kind: Kind
    /// The underlying error, for logs.
    var underlying: (any Error)?

    /// Retrying elsewhere is allowed: nothing was sent to this upstream yet.
    var isConnectFailure: Bool { kind == .connectFailed || kind == .connectTimeout }

    /// nginx's default `proxy_next_upstream error timeout`, which Kong keeps: a try that failed
    /// or timed out before the response head arrived may go to the next target (the caller
    /// checks the method and that the request can be sent again). An invalid response head
    /// (`invalid_header`) is not retried.
    var allowsNextUpstream: Bool {
        switch kind {
        case .connectFailed, .connectTimeout, .writeTimeout, .readTimeout: return true
        case .badResponse: return !(underlying is HeadError)
        case .noPeer, .nameResolution, .resolveFailed: return false
        }
    }

    var description: String {
        switch kind {
        case .connectFailed: return "failed to connect to upstream: \(underlying.map { "\($0)" } ?? "")"
        case .connectTimeout: return "upstream timed out while connecting"
        case .writeTimeout: return "upstream timed out while sending the request"
        case .readTimeout: return "upstream timed out while reading the response"
        case .badResponse: return "upstream failed: \(underlying.map { "\($0)" } ?? "closed")"
        case .noPeer: return "failure to get a peer from the ring-balancer"
        case .nameResolution: return "name resolution failed"
        case .resolveFailed(let host, let message):
            return "failed the initial dns/balancer resolve for '\(host)' with: \(message)"
        }
    }

    /// What nginx writes to its error log for this failure (`connect() failed (111: Connection
    /// refused) while connecting to upstream`), without the request's context.
    ///
    /// - Parameters:
    ///   - serverName: the name checked against an upstream certificate (`proxy_ssl_name`).
    ///   - headReceived: the response head had arrived (a read timeout then happened in the body).
    func nginxMessage(serverName: String?, headReceived: Bool) -> String {
        let timedOut = "upstream timed out (110: Connection timed out)"
        switch kind {
        case .connectFailed:
            return Self.connectMessage(underlying, serverName: serverName)
        case .connectTimeout: return "\(timedOut) while connecting to upstream"
        case .writeTimeout: return "\(timedOut) while sending request to upstream"
        case .readTimeout:
            return headReceived ? "\(timedOut) while reading upstream" : "\(timedOut) while reading response header from upstream"
        case .badResponse:
            if underlying is HeadError { return "upstream sent invalid header while reading response header from upstream" }
            return headReceived
                ? "upstream prematurely closed connection while reading upstream"
                : "upstream prematurely closed connection while reading response header from upstream"
        case .noPeer, .nameResolution, .resolveFailed:
            return description
        }
    }

    /// nginx's message for a failed connect or TLS handshake.
    private static func connectMessage(_ error: (any Error)?, serverName: String?) -> String {
        var error = error
        if let multi = error as? NIOConnectionError, let first = multi.connectionErrors.first?.error { error = first }
        switch error {
        case let io as IOError:
            return "connect() failed (\(io.errnoCode): \(String(cString: strerror(io.errnoCode)))) while connecting to upstream"
        case let tls as NIOSSLExtraError where tls == .failedToValidateHostname:
            return "upstream SSL certificate does not match \"\(serverName ?? "")\" while SSL handshaking to upstream"
        case let verify as CertificateVerifyError:
            return "upstream SSL certificate verify error: (\(verify)) while SSL handshaking to upstream"
        case let tls as NIOSSLError:
            return "SSL_do_handshake() failed (SSL: \(Self.openSSLErrors(tls))) while SSL handshaking to upstream"
        case let other?:
            return "\(other) while connecting to upstream"
        case nil:
            return "connect() failed while connecting to upstream"
        }
    }

    /// The `error:...` strings of a BoringSSL error, as OpenSSL prints its error queue
    /// (`error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED`), without
    /// NIOSSL's wrapping and source locations.
    static func openSSLErrors(_ error: NIOSSLError) -> String {
        let text = "\(error)"
        var found: [Substring] = []
        var rest = text[...]
        while let start = rest.range(of: "error:") {
            var entry = rest[start.lowerBound...]
            if let end = entry.range(of: " at ") ?? entry.range(of: "]") { entry = entry[..<end.lowerBound] }
            found.append(entry)
            rest = rest[entry.endIndex...]
        }
        return found.isEmpty ? text : found.joined(separator: ":")
    }

    /// Kong's answer.
    var response: LocalResponse {
        switch kind {
        case .connectFailed, .badResponse: return .nginx(502, proxied: true)
        case .connectTimeout, .writeTimeout, .readTimeout: return .nginx(504, proxied: true)
        case .noPeer, .nameResolution:
            return LocalResponse(status: .serviceUnavailable, message: description, origin: .kong)
        case .resolveFailed:
            return LocalResponse(status: .internalServerError, message: description, origin: .kong)
        }
    }

    /// Classifies a connect error.
    static func connect(_ error: any Error) -> ProxyError {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return ProxyError(kind: .connectTimeout, underlying: error)
        }
        if error is UpstreamConnectTimeout { return ProxyError(kind: .connectTimeout, underlying: error) }
        if let multi = error as? NIOConnectionError,
            multi.connectionErrors.contains(where: { ($0.error as? ChannelError).map(Self.isTimeout) ?? false })
        {
            return ProxyError(kind: .connectTimeout, underlying: error)
        }
        return ProxyError(kind: .connectFailed, underlying: error)
    }

    private static func isTimeout(_ error: ChannelError) -> Bool {
        if case .connectTimeout = error { return true }
        return false
    }
}
