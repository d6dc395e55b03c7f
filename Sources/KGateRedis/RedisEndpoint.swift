import NIOCore

/// Where and how to reach a Redis server: Kong's `redis` record of a plugin config (host,
/// port, database, credentials, TLS, one timeout for connecting, sending and reading).
///
/// Connections are shared by every config naming the same endpoint, as lua-resty-redis shares
/// its keepalive pool by `host:port` (and database).
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// The database `SELECT`ed after connecting (0: none sent).
    public var database: Int
    /// `AUTH` user name (with `password`).
    public var username: String?
    /// `AUTH` password; nil or empty: no `AUTH`.
    public var password: String?
    /// TLS to the server.
    public var ssl: Bool
    /// Verify the server's certificate (with the client's trust: ``RedisClient/verify(with:)``).
    public var sslVerify: Bool
    /// SNI and name checked when verifying; nil: `host` when it is a name.
    public var serverName: String?
    /// The connect, send and read timeout, in milliseconds.
    public var timeoutMilliseconds: Int

    /// An endpoint.
    public init(
        host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
        ssl: Bool = false, sslVerify: Bool = false, serverName: String? = nil, timeoutMilliseconds: Int = 2000
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.ssl = ssl
        self.sslVerify = sslVerify
        self.serverName = serverName
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The timeout as a NIO amount.
    public var timeout: TimeAmount { .milliseconds(Int64(max(1, timeoutMilliseconds))) }

    /// `host:port;database`, as Kong names a pool (no secrets).
    public var description: String { "\(host):\(port);\(database)" }
}

/// Why a Redis call failed, in lua-resty-redis's words where it has them (Kong logs them
/// after `failed to get usage: `).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Connecting failed (`connection refused`, a name that does not resolve, TLS).
    case connect(String)
    /// No reply within the endpoint's timeout.
    case timeout
    /// The connection closed before the reply.
    case closed
    /// The server refused a command (`WRONGPASS ...`, `NOSCRIPT ...`).
    case server(String)
    /// The server's reply broke the protocol.
    case protocolError(String)

    /// The message.
    public var description: String {
        switch self {
        case .connect(let message): return message
        case .timeout: return "timeout"
        case .closed: return "closed"
        case .server(let message): return message
        case .protocolError(let message): return "protocol error: \(message)"
        }
    }
}
