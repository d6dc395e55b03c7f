import NIOCore
import NIOHTTP1

/// A small buffered HTTP request, as the status and admin listeners see it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent (`/status?x=1`).
    public var uri: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    /// The path without the query string.
    public var path: Substring {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`Content-Type: application/json; charset=utf-8`, as Kong's Admin API).
    public static func json(_ status: HTTPResponseStatus, _ text: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }
}

/// Answers one request. Called on the connection's event loop: it must not block.
public typealias HTTPResponder = @Sendable (HTTPRequest) -> HTTPResponse

/// Answers one request that may wait (an Admin API config load); runs off the event loop.
public typealias HTTPAsyncResponder = @Sendable (HTTPRequest) async -> HTTPResponse

/// How a listener answers: inline on the event loop, or in a task.
public enum HTTPAnswering: Sendable {
    case inline(HTTPResponder)
    case task(HTTPAsyncResponder)
}
