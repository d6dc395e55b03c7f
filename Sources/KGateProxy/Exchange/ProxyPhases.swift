import NIOCore
import NIOHTTP1

/// The plugins' hook into the request path: Kong's `access` phase (which may answer instead of
/// proxying) and the `log` phase. The server runs with none until the plugins module provides
/// one; then the cost is a nil check per request.
public protocol ProxyPhases: Sendable {
    /// Runs after routing, before the request goes upstream. Returning a response answers the
    /// request with it (Kong's `kong.response.exit`).
    func access(_ request: inout PhaseRequest) -> PhaseResponse?
    /// Runs after the response was sent (or the exchange failed).
    func log(_ entry: PhaseLogEntry)
}

/// The request as the `access` phase sees it.
///
/// The head is a copy of the request's: changing it does not change what goes upstream yet
/// (request transformation lands with the plugins that need it).
public struct PhaseRequest: Sendable {
    /// The request head as received.
    public var head: HTTPRequestHead
    /// The matched route's id.
    public var routeID: String
    /// The route's service id (nil for a route without service).
    public var serviceID: String?
    /// Kong's request id.
    public var requestID: String
    /// The client address (after `real_ip_header`).
    public var clientIP: String
}

/// A response a plugin answers with.
public struct PhaseResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// Headers (framing headers are set by the server).
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer

    /// Makes a response.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What the `log` phase learns about a finished request.
public struct PhaseLogEntry: Sendable {
    /// The status sent to the client (0 when none was sent).
    public var status: Int
    /// The matched route's id, if any.
    public var routeID: String?
    /// The service id, if any.
    public var serviceID: String?
    /// Kong's request id.
    public var requestID: String
    /// Milliseconds from the request head to the end of the response.
    public var totalLatency: Int
}
