import KGateSettings
import NIOCore
import NIOHTTP1

/// A response the gateway generates itself: router outcomes, upstream failures, bad input.
struct LocalResponse {
    /// Who would have produced it in Kong, which decides the body format and the headers.
    enum Origin {
        /// `kong.response.error` (router 404, 426, 503...): format by `Accept`, JSON by default.
        case kong
        /// An nginx error page through `kong/error_handlers.lua` (400, 408, 413, 414, 502, 504):
        /// format by `Accept`, then `Content-Type`, then `error_default_type`; or nginx's own
        /// page (``nginxBuiltin(_:)``).
        case nginx
        /// As `.nginx`, after Kong decided to proxy (`KONG_PROXIED`): the proxied-response
        /// headers (`Via`, upstream and proxy latencies) instead of `X-Kong-Response-Latency`.
        case nginxProxied
        /// As `.kong`, for a plugin's exit that counts as proxied (proxy-cache's hit sets
        /// `KONG_PROXIED`): the proxied-response headers; a `Date` or `Server` among its
        /// headers is kept, as nginx keeps them when Lua set them.
        case kongProxied

        /// Kong's answer from the `location` (format by `Accept`, compression, `add_header`).
        var isKong: Bool { self == .kong || self == .kongProxied }
        /// `KONG_PROXIED`: the proxied-response headers.
        var isProxied: Bool { self == .nginxProxied || self == .kongProxied }
    }

    var status: HTTPResponseStatus
    /// The message; nil for an empty body (redirects).
    var message: String?
    var origin: Origin
    var extraHeaders: [(String, String)] = []
    /// A body sent as it is when there is no `message` (a plugin's `kong.response.exit`).
    var rawBody: [UInt8]?
    /// The `Content-Type` of `rawBody`.
    var rawContentType: String?

    /// The message for an nginx error page of this status.
    static func nginx(_ status: Int, proxied: Bool = false) -> LocalResponse {
        LocalResponse(
            status: HTTPResponseStatus(statusCode: status == 494 ? 400 : status),
            message: ErrorBody.nginxMessage(status: status), origin: proxied ? .nginxProxied : .nginx)
    }

    /// nginx's own HTML page, for the statuses Kong's template sends to no `error_page` (501
    /// for an unknown `Transfer-Encoding`, 505 for HTTP/2 and later on an HTTP/1 connection):
    /// Kong's `header_filter` still adds its headers, but `kong/error_handlers.lua` never runs.
    static func nginxBuiltin(_ status: Int) -> LocalResponse {
        LocalResponse(
            status: HTTPResponseStatus(statusCode: status), message: nil, origin: .nginx,
            rawBody: ErrorBody.nginxBuiltinPage(status: status), rawContentType: "text/html")
    }

    /// What the request said about formats.
    struct RequestFormat {
        var accept: String?
        var contentType: String?
    }

    /// The latencies and identity headers of the response.
    struct Context {
        var enabled: ResponseHeaders
        var serverToken: String
        var viaToken: String
        var requestID: String
        var date: String
        var keepAlive: Bool
        var errorDefaultType: ErrorDefaultType
        /// `error_template_*`.
        var errorTemplates = ErrorTemplates()
        /// `X-Kong-Response-Latency` (not proxied) in milliseconds.
        var responseLatency: Int
        /// `X-Kong-Proxy-Latency` and `X-Kong-Upstream-Latency` (proxied) in milliseconds.
        var proxyLatency: Int
        var upstreamLatency: Int
        /// `Kong-Route-Id` and co., for a `Kong-Debug` request with `allow_debug_header` on.
        var debug: RouteDebugHeaders? = nil
        /// `nginx_http_charset`.
        var charset: ResponseCharset? = nil
    }

    /// The whole response, head and body, as bytes (no body for `HEAD`).
    func render(format: RequestFormat, _ c: Context, isHEAD: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var bodyText = ""
        var templated: (template: ErrorTemplate, message: String)?
        var contentType = rawContentType
        if let message {
            let errorFormat: ErrorFormat
            switch origin {
            case .kong, .kongProxied: errorFormat = ErrorFormat.negotiate(accept: format.accept)
            case .nginx, .nginxProxied:
                errorFormat = ErrorBody.nginxFormat(
                    accept: format.accept, contentType: format.contentType, defaultType: c.errorDefaultType)
            }
            if let template = c.errorTemplates.template(for: errorFormat) {
                templated = (template, message)
            } else {
                bodyText = ErrorBody.text(message, requestID: c.requestID, format: errorFormat)
            }
            if errorFormat != .grpc { contentType = errorFormat.contentType }
        }
        let bodyLength =
            rawBody?.count ?? templated.map { $0.template.renderedLength(message: $0.message, requestID: c.requestID) }
            ?? bodyText.utf8.count
        // No body, and no `Content-Length`, for the statuses that cannot have one.
        let bodiless = status.code < 200 || status.code == 204 || status.code == 304
        // nginx drops a 204's `Content-Type` (`ngx_http_header_filter` and
        // `ngx_http_special_response_handler` clear `headers_out.content_type`).
        if status.code == 204 { contentType = nil }
        if let type = contentType, let charset = c.charset, ResponseCharset.applies(to: type, status: Int(status.code)) {
            contentType = type + charset.suffix
        }
        var out = allocator.buffer(capacity: 512 + bodyLength + (c.debug?.byteCount ?? 0))
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(status.code))
        out.writeStaticString(" ")
        out.writeString(StatusLine.reason(Int(status.code)))
        out.writeStaticString("\r\n")
        func header(_ name: String, _ value: String) {
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        if let contentType { header("Content-Type", contentType) }
        var connection = c.keepAlive ? "keep-alive" : "close"
        var date = c.date
        var hasServer = false
        for (name, value) in extraHeaders {
            switch name.lowercased() {
            case "connection": connection = value
            case "content-length", "transfer-encoding": continue
            case "date" where origin == .kongProxied: date = value
            case "server" where origin == .kongProxied:
                hasServer = true
                header(name, value)
            default: header(name, value)
            }
        }
        c.debug?.write(into: &out)
        if !bodiless { header("Content-Length", String(bodyLength)) }
        header("Date", date)
        header("Connection", connection)
        switch origin {
        case .kong, .nginx:
            if c.enabled.contains(.responseLatency) { header("X-Kong-Response-Latency", String(c.responseLatency)) }
            if c.enabled.contains(.server) { header("Server", c.serverToken) }
        case .nginxProxied, .kongProxied:
            if c.enabled.contains(.upstreamLatency) { header("X-Kong-Upstream-Latency", String(c.upstreamLatency)) }
            if c.enabled.contains(.proxyLatency) { header("X-Kong-Proxy-Latency", String(c.proxyLatency)) }
            if c.enabled.contains(.via) { header("Via", c.viaToken) }
            // Kong's header_filter sets `Server` only where none was set.
            if c.enabled.contains(.server), !hasServer { header("Server", c.serverToken) }
            // Kong's header_filter for a proxied request: `$upstream_status` of the last try,
            // which nginx sets to the 502 or 504 it answers with.
            if c.enabled.contains(.upstreamStatus) { header("X-Kong-Upstream-Status", String(status.code)) }
        }
        if c.enabled.contains(.requestID) { header("X-Kong-Request-Id", c.requestID) }
        out.writeStaticString("\r\n")
        if !isHEAD, !bodiless {
            if let rawBody {
                out.writeBytes(rawBody)
            } else if let templated {
                templated.template.write(message: templated.message, requestID: c.requestID, into: &out)
            } else {
                out.writeString(bodyText)
            }
        }
        return out
    }
}
