#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSettings
import NIOCore
import NIOHTTP1

/// Buffers one request at a time (bounded), answers it with the responder, and keeps the
/// connection alive as HTTP/1.1 asks. Requests over `maxBodySize` get 413 and the connection closes.
/// Every answer carries `Date` and, over HTTP/1.x, `Connection` (`keep-alive` or `close`), as
/// nginx adds them to every response of Kong's admin and status servers. Over HTTP/2 it serves
/// one stream, behind NIO's HTTP/2-to-HTTP/1 codec. The listener counts connections
/// (``ConnectionCounting``); this counts requests.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// An asynchronous answer is being computed; pipelined requests are not read meanwhile.
        case answering
        case discarding
    }

    private let answering: HTTPAnswering
    private let maxBodySize: Int
    private let counters: ServerCounters?
    /// The request line behind a parser error.
    private let requestLines: RequestTargetEscapingHandler?
    private var state = State.idle
    private var dates = HTTPDateCache()
    /// nginx `add_header`s of the http block (`nginx_http_add_header`), which the admin and
    /// status servers inherit.
    private let addedHeaders: [AddHeaderDirective]
    /// The access log and this connection's line buffer (written out after each answer).
    private let accessLog: AccessLog?
    private var logLines: AccessLogWriter?

    convenience init(responder: @escaping HTTPResponder, maxBodySize: Int, counters: ServerCounters? = nil) {
        self.init(answering: .inline(responder), maxBodySize: maxBodySize, counters: counters)
    }

    init(
        answering: HTTPAnswering, maxBodySize: Int, counters: ServerCounters? = nil,
        requestLines: RequestTargetEscapingHandler? = nil, accessLog: AccessLog? = nil,
        addedHeaders: [AddHeaderDirective] = []
    ) {
        self.requestLines = requestLines
        self.addedHeaders = addedHeaders
        self.accessLog = accessLog
        self.logLines = accessLog.map { AccessLogWriter(format: $0.format) }
        self.answering = answering
        self.maxBodySize = maxBodySize
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), _):
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var chunk), .receiving(let head, var body)):
            if body.readableBytes + chunk.readableBytes > maxBodySize {
                state = .discarding
                let response = HTTPResponse.json(.payloadTooLarge, #"{"message":"Request size limit exceeded"}"#)
                write(response, for: head, keepAlive: false, context: context)
                return
            }
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            counters?.requestStarted()
            let request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            switch answering {
            case .inline(let responder):
                state = .idle
                write(responder(request), for: head, keepAlive: Self.keepsAlive(head), context: context)
                counters?.requestFinished()
            case .task(let responder):
                state = .answering
                let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
                promise.completeWithTask { await responder(request) }
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                promise.futureResult.whenSuccess { response in
                    let (handler, context) = bound.value
                    handler.state = .idle
                    handler.write(response, for: head, keepAlive: Self.keepsAlive(head), context: context)
                    handler.counters?.requestFinished()
                }
            }
        case (.body, _), (.end, _):
            break
        }
    }

    /// HTTP/1.x as the request asks; an HTTP/2 stream ends with its answer, its connection stays.
    private static func keepsAlive(_ head: HTTPRequestHead) -> Bool {
        head.version.major >= 2 || head.isKeepAlive
    }

    private func write(
        _ response: HTTPResponse, for request: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext,
        requestLine: [UInt8]? = nil
    ) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        if !headers.contains(name: "Date") { headers.add(name: "Date", value: dates.current()) }
        if request.version.major < 2 { headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close") }
        for added in addedHeaders where !added.value.isEmpty && added.applies(toStatus: Int(response.status.code)) {
            headers.add(name: added.name, value: added.value)
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        if accessLog != nil {
            let version = "HTTP/\(request.version.major).\(request.version.minor)"
            let line = requestLine ?? Array("\(request.method.rawValue) \(request.uri) \(version)".utf8)
            logAnswer(
                request, requestLine: line, status: Int(response.status.code),
                bodyBytes: request.method == .HEAD ? 0 : response.body.readableBytes, context: context)
        }
    }

    /// Appends the answer's line to the access log.
    private func logAnswer(
        _ request: HTTPRequestHead, requestLine: [UInt8], status: Int, bodyBytes: Int, context: ChannelHandlerContext
    ) {
        guard let accessLog, var lines = logLines else { return }
        // Moved out while in use: the writer's buffer is appended to without a copy.
        logLines = nil
        defer { logLines = lines }
        let address = Array((context.channel.remoteAddress?.ipAddress ?? "").utf8)
        let user = request.headers.first(name: "authorization").flatMap { value in
            Array(value.utf8).withUnsafeBytes { BasicAuthUser.decode($0) }
        }
        let referer = request.headers.first(name: "referer").map { Array($0.utf8) }
        let agent = request.headers.first(name: "user-agent").map { Array($0.utf8) }
        address.withUnsafeBytes { address in
            requestLine.withUnsafeBytes { line in
                withOptionalBytes(user) { user in
                    withOptionalBytes(referer) { referer in
                        withOptionalBytes(agent) { agent in
                            lines.append(
                                AccessLogEntry(
                                    remoteAddress: address, remoteUser: user, requestLine: line, status: status,
                                    bodyBytesSent: bodyBytes, referer: referer, userAgent: agent),
                                epochSeconds: Int(time(nil)))
                        }
                    }
                }
            }
        }
        lines.drain(to: accessLog.file)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A malformed request: answer when nothing was sent yet, then close. A request line with
        // a method token the parser does not know (`GEEEET`) is one nginx would pass on, for
        // which Kong's Admin API answers 405; anything else malformed is a 400.
        if let parserError = error as? HTTPParserError, case .idle = state {
            let response =
                parserError == .invalidMethod && requestLines?.latestRequestLineIsWellFormed == true
                ? HTTPResponse.json(.methodNotAllowed, #"{"message":"Method not allowed"}"#)
                : HTTPResponse.json(.badRequest, #"{"message":"Bad request"}"#)
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
            write(
                response, for: head, keepAlive: false, context: context,
                requestLine: requestLines?.latestRequestLine ?? [])
            return
        }
        context.close(promise: nil)
    }
}

private extension ChannelHandlerContext {
    func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
