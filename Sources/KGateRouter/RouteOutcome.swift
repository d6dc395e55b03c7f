/// What the proxy does with a request once it is routed: Kong's protocol rules of the access
/// phase (kong-reference §5.6, `kong/runloop/handler.lua` and `kong/init.lua`).
///
/// The order is Kong's: no route → 404; an https-only route on a plain request → 426 or a
/// redirect; gRPC checks; then the access plugins run, and only after them a route without
/// service gets its 503 (``afterAccess(_:)``).
public enum RouteOutcome: Sendable {
    /// Run the access plugins, then call ``afterAccess(_:)``, then proxy.
    case proceed(RouteMatch)
    /// Answer with a Kong-generated response.
    case respond(RouteResponse)

    /// The router's decision for a request.
    ///
    /// - Parameters:
    ///   - match: the router's answer.
    ///   - forwardedProto: the scheme, or the trusted `X-Forwarded-Proto`.
    ///   - forwardedHost: the host, or the trusted `X-Forwarded-Host` (for redirects).
    ///   - requestURI: the request target as received (for redirects).
    ///   - contentType: the request `Content-Type` (gRPC checks).
    ///   - httpMajorVersion: 1 or 2 (gRPC checks).
    public static func evaluate(
        _ match: RouteMatch?, forwardedProto: String, forwardedHost: String, requestURI: String,
        contentType: String? = nil, httpMajorVersion: Int = 1
    ) -> RouteOutcome {
        guard let match else { return .respond(.noRoute) }
        let protocols = Set(match.route.protocols)
        if protocols.contains("https"), !protocols.contains("http"), forwardedProto != "https" {
            switch match.route.httpsRedirectStatusCode {
            case 301, 302, 307, 308:
                let code = match.route.httpsRedirectStatusCode
                return .respond(
                    RouteResponse(
                        status: code, message: nil, headers: [("Location", "https://" + forwardedHost + requestURI)]))
            default:
                return .respond(
                    RouteResponse(
                        status: 426, message: "Please use HTTPS protocol",
                        headers: [("Connection", "Upgrade"), ("Upgrade", "TLS/1.2, HTTP/1.1")]))
            }
        }
        if protocols.contains("grpc") || protocols.contains("grpcs") {
            guard let contentType, contentType.hasPrefix("application/grpc") else {
                return .respond(RouteResponse(status: 415, message: "Non-gRPC request matched gRPC route"))
            }
            if httpMajorVersion != 2 {
                return .respond(
                    RouteResponse(
                        status: 426, message: "Please use HTTP2 protocol",
                        headers: [("connection", "Upgrade"), ("upgrade", "HTTP/2")]))
            }
            if !protocols.contains("grpc"), forwardedProto != "https" {
                return .respond(
                    RouteResponse(
                        status: 200, message: nil,
                        headers: [
                            ("content-type", "application/grpc"), ("grpc-status", "1"),
                            ("grpc-message", "gRPC request matched gRPCs route"),
                        ]))
            }
        }
        return .proceed(match)
    }

    /// After the access plugins: a route without service answers 503
    /// `no Service found with those values`; nil means proxy.
    public static func afterAccess(_ match: RouteMatch) -> RouteResponse? {
        match.serviceID == nil ? .noService : nil
    }
}

/// A response Kong generates instead of proxying.
public struct RouteResponse: Sendable, Hashable {
    /// The status code.
    public var status: Int
    /// The `kong.response.error` message (rendered by `Accept`); nil for an empty body.
    public var message: String?
    /// Headers to add.
    public var headers: [Header]

    /// A response header.
    public struct Header: Sendable, Hashable {
        /// The header name.
        public var name: String
        /// The header value.
        public var value: String
        /// Makes a header.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Makes a response.
    public init(status: Int, message: String?, headers: [(String, String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers.map { Header($0.0, $0.1) }
    }

    /// 404 `no Route matched with those values`.
    public static let noRoute = RouteResponse(status: 404, message: "no Route matched with those values")
    /// 503 `no Service found with those values`.
    public static let noService = RouteResponse(status: 503, message: "no Service found with those values")
}
