import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTP upstream for live tests, on 127.0.0.1 and an ephemeral port (unless told otherwise).
/// Behaviour by path:
///
/// - the paths of `canned`: their fixed answers
/// - `/echo...` (and anything unknown): 200, body = `METHOD URI\n` + `name: value\n` per header
/// - `/bytes/<n>`: `n` bytes with `Content-Length`, produced in 64 KiB writes with back-pressure
/// - `/chunked/<n>`: `n` bytes, chunked
/// - `/chunks/<n>`: `n` chunks of `line\n`, written at once (one TCP segment)
/// - `/upload`: reads the body, answers its length and a checksum
/// - `/echo-body...`: 200, body = the request body (up to 1 MiB); the request line and its
///   framing in `X-Echo-Request` (`METHOD URI`), `X-Echo-Content-Length`,
///   `X-Echo-Content-Type` and `X-Echo-Transfer-Encoding` (each only when the request had it)
/// - `/json...`: 200, body = the request body, `Content-Type: application/json`
/// - `/v1/chat/completions`, `/v1/completions`: an OpenAI API answer (model `gpt-4o-2024-08-06`,
///   one choice, usage 12 + 5 tokens, a `Set-Cookie`)
/// - `/slow/<ms>`: answers after a delay
/// - `/close`: closes the connection without answering
/// - `/status/<code>`: that status, empty body
/// - `/hop`: a response with hop-by-hop headers
/// - `/ws`: `101 Switching Protocols`, then echoes bytes
/// - `/http10`: an HTTP/1.0 response without `Content-Length` (ends with a close)
/// - `/2015-03-31/functions/<name>/invocations`: Kong's mock of AWS Lambda's `Invoke`
///   (spec/fixtures/aws-lambda.lua), by function name (see `lambda`)
/// - `/latest/...` (EC2 instance metadata, see `metadata`), `/ecs-credentials/...` (ECS
///   container credentials, `Authorization: ecs-auth`), `/?Action=AssumeRoleWithWebIdentity`
///   (STS, `WebIdentityToken=web-identity-token`), `/?Action=AssumeRole` (STS, signed by
///   `base-key`): AWS credential services
final class TestUpstream: Sendable {
    let name: String
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?
    private let channel = Mutex<Channel?>(nil)
    private let accepted = Atomic<Int>(0)
    private let log = Mutex<[RecordedRequest]>([])
    private let children = Mutex<[Channel]>([])

    struct RecordedRequest: Sendable {
        var head: HTTPRequestHead
        var bodyBytes: Int
        /// The body's first MiB.
        var body: [UInt8] = []
    }

    /// A fixed answer for one path: a fake service (an LLM provider, say) the test describes.
    struct Canned: Sendable {
        var status = 200
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        /// The body's parts: one is sent with `Content-Length`, several chunked (a stream),
        /// each flushed on its own.
        var parts: [String]
        /// Binary parts, sent chunked instead of `parts` (an AWS event stream).
        var bytes: [[UInt8]]?

        init(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], _ parts: String...) {
            self.status = status
            self.headers = headers
            self.parts = parts
        }
    }

    /// Answers by path (without the query), before the built-in behaviours.
    let canned: [String: Canned]

    init(name: String = "upstream", group: any EventLoopGroup, tls: NIOSSLContext? = nil, canned: [String: Canned] = [:]) {
        self.name = name
        self.group = group
        self.tls = tls
        self.canned = canned
    }

    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
    /// Connections accepted so far.
    var connectionsAccepted: Int { accepted.load(ordering: .relaxed) }
    /// Requests fully received so far.
    var requests: [RecordedRequest] { log.withLock { $0 } }

    /// Listens on `host` (another loopback address, say) and `port` (0: an ephemeral one).
    func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self, tls] channel in
                accepted.add(1, ordering: .relaxed)
                children.withLock { $0.append(channel) }
                do {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: false, withOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(UpstreamBehaviour(server: self))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let bound = try await bootstrap.bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
    }

    func stop() async {
        let bound = channel.withLock { c -> Channel? in
            defer { c = nil }
            return c
        }
        try? await bound?.close()
    }

    /// Closes every accepted connection (an upstream restart, as the proxy sees it).
    func closeConnections() async {
        let all = children.withLock { c -> [Channel] in
            defer { c = [] }
            return c
        }
        for channel in all { try? await channel.close() }
    }

    fileprivate func record(_ request: RecordedRequest) {
        log.withLock { $0.append(request) }
    }
}

private final class UpstreamBehaviour: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: TestUpstream
    var head: HTTPRequestHead?
    var bodyBytes = 0
    var checksum: UInt64 = 0
    var bodyData: [UInt8] = []
    var streaming: (remaining: Int, chunked: Bool)?

    init(server: TestUpstream) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
            checksum = 0
            bodyData = []
        case .body(let b):
            bodyBytes += b.readableBytes
            if bodyBytes < 1 << 20 {
                for byte in b.readableBytesView { checksum = checksum &* 31 &+ UInt64(byte) }
                bodyData.append(contentsOf: b.readableBytesView)
            }
        case .end:
            guard let head else { return }
            server.record(.init(head: head, bodyBytes: bodyBytes, body: bodyData))
            respond(context: context, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        // A request sent to a forward proxy names its target in absolute form: served as if
        // this were the target (the recorded request keeps the absolute URI).
        var target = Substring(head.uri)
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            let authority = target.drop { $0 != "/" }.dropFirst(2)
            target = authority.firstIndex(of: "/").map { authority[$0...] } ?? "/"
        }
        let path = target.split(separator: "?").first.map(String.init) ?? String(target)
        let parts = path.split(separator: "/").map(String.init)
        let keepAlive = head.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "X-Upstream", value: server.name)
        if let canned = server.canned[path] {
            for (name, value) in canned.headers { headers.add(name: name, value: value) }
            let status = HTTPResponseStatus(statusCode: canned.status)
            guard canned.parts.count > 1 || canned.bytes != nil else {
                return send(context, status: status, headers: headers, body: canned.parts.first ?? "", keepAlive: keepAlive)
            }
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            for part in canned.bytes ?? canned.parts.map({ Array($0.utf8) }) {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: part)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        switch parts.first ?? "" {
        case "bytes", "chunked":
            let n = Int(parts.count > 1 ? parts[1] : "0") ?? 0
            let chunked = parts[0] == "chunked"
            if chunked { headers.add(name: "Transfer-Encoding", value: "chunked") } else { headers.add(name: "Content-Length", value: String(n)) }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            // A HEAD response has no body (NIO's encoder would send one): stray bytes after it
            // would make reusing the connection depend on when they arrive.
            streaming = (head.method == .HEAD ? 0 : n, chunked)
            pump(context: context, keepAlive: keepAlive)
        case "chunks":
            let n = Int(parts.count > 1 ? parts[1] : "0") ?? 0
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            for _ in 0..<n { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "line\n")))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "echo-body":
            headers.add(name: "X-Echo-Request", value: "\(head.method.rawValue) \(head.uri)")
            for name in ["Content-Length", "Content-Type", "Transfer-Encoding"] {
                if let value = head.headers.first(name: name) { headers.add(name: "X-Echo-\(name)", value: value) }
            }
            send(context, status: .ok, headers: headers, body: String(decoding: bodyData, as: UTF8.self), keepAlive: keepAlive)
        case "v1" where parts.last == "completions":
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Set-Cookie", value: "llm=1")
            let answer = #"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#
            send(context, status: .ok, headers: headers, body: answer, keepAlive: keepAlive)
        case "json":
            headers.add(name: "Content-Type", value: "application/json")
            send(context, status: .ok, headers: headers, body: String(decoding: bodyData, as: UTF8.self), keepAlive: keepAlive)
        case "upload":
            send(context, status: .ok, headers: headers, body: "\(bodyBytes) \(checksum)", keepAlive: keepAlive)
        case "slow":
            let ms = Int64(parts.count > 1 ? parts[1] : "100") ?? 100
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(ms)) { [self] in
                send(context, status: .ok, headers: headers, body: "slow", keepAlive: keepAlive)
            }
        case "close":
            context.close(promise: nil)
        case "partial":
            // Four of ten body bytes, then silence (`/partial`) or a close (`/partial/close`).
            headers.add(name: "Content-Length", value: "10")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "part")))), promise: nil)
            if parts.count > 1, parts[1] == "close" { context.close(promise: nil) }
        case "status":
            let code = Int(parts.count > 1 ? parts[1] : "200") ?? 200
            send(context, status: HTTPResponseStatus(statusCode: code), headers: headers, body: "", keepAlive: keepAlive)
        case "hop":
            headers.add(name: "Connection", value: "X-Foo, keep-alive")
            headers.add(name: "X-Foo", value: "remove-me")
            headers.add(name: "Keep-Alive", value: "timeout=5")
            headers.add(name: "Trailer", value: "Expires")
            headers.add(name: "Upgrade", value: "h2c")
            headers.add(name: "X-Accel-Buffering", value: "no")
            headers.add(name: "Via", value: "1.1 upstream-proxy")
            headers.add(name: "Server", value: "test-upstream")
            headers.add(name: "X-Keep", value: "kept")
            send(context, status: .ok, headers: headers, body: "hop", keepAlive: keepAlive)
        case "response-headers":
            // Kong's mock upstream: each query argument becomes a response header (a name
            // given twice, twice); `_chunked` sends the body chunked.
            var chunked = false
            for pair in (head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? "").split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { Self.percentDecoded($0) }
                if kv[0] == "_chunked" { chunked = true } else { headers.add(name: kv[0], value: kv.count > 1 ? kv[1] : "") }
            }
            guard chunked else { return send(context, status: .ok, headers: headers, body: "response-headers", keepAlive: keepAlive) }
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "response-headers")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "latest":
            metadata(context, head: head, path: path, headers: headers, keepAlive: keepAlive)
        case "ecs-credentials":
            let authorized = head.headers.first(name: "Authorization") == "ecs-auth"
            send(
                context, status: authorized ? .ok : .unauthorized, headers: headers,
                body: authorized ? Self.credentialsJSON(key: "ecs-key") : "", keepAlive: keepAlive)
        case "" where target.contains("Action=AssumeRoleWithWebIdentity"):
            let xml = """
                <AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                <AccessKeyId>sts-key</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey>\
                <SessionToken>sts-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
                </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
                """
            let tokenSent = head.uri.contains("WebIdentityToken=web-identity-token")
            send(context, status: tokenSent ? .ok : .forbidden, headers: headers, body: tokenSent ? xml : "", keepAlive: keepAlive)
        case "" where target.contains("Action=AssumeRole"):
            let signed = head.headers.first(name: "Authorization")?.contains("Credential=base-key/") == true
                && head.headers.first(name: "Authorization")?.contains("/sts/aws4_request") == true
            let xml = """
                <AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>role-key</AccessKeyId>\
                <SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-session</SessionToken>\
                <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>
                """
            send(context, status: signed ? .ok : .forbidden, headers: headers, body: signed ? xml : "", keepAlive: keepAlive)
        case "2015-03-31":
            lambda(context, head: head, function: parts.count > 2 ? parts[2] : "", headers: headers, keepAlive: keepAlive)
        case "ws":
            upgrade(context: context, headers: headers)
        case "http10":
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_0, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "old style body")))))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            var text = "\(head.method.rawValue) \(head.uri)\n"
            for (name, value) in head.headers { text += "\(name): \(value)\n" }
            headers.add(name: "Content-Type", value: "text/plain")
            send(context, status: .ok, headers: headers, body: text, keepAlive: keepAlive)
        }
    }

    /// The EC2 instance metadata service (IMDSv2): a token for `PUT /latest/api/token`, then
    /// the role `kgate-role` and its credentials for requests carrying it.
    private func metadata(_ context: ChannelHandlerContext, head: HTTPRequestHead, path: String, headers: HTTPHeaders, keepAlive: Bool) {
        if head.method == .PUT, path == "/latest/api/token" {
            return send(context, status: .ok, headers: headers, body: "imds-token", keepAlive: keepAlive)
        }
        guard head.headers.first(name: "X-aws-ec2-metadata-token") == "imds-token" else {
            return send(context, status: .unauthorized, headers: headers, body: "", keepAlive: keepAlive)
        }
        switch path {
        case "/latest/meta-data/iam/security-credentials/":
            send(context, status: .ok, headers: headers, body: "kgate-role", keepAlive: keepAlive)
        case "/latest/meta-data/iam/security-credentials/kgate-role":
            send(context, status: .ok, headers: headers, body: Self.credentialsJSON(key: "imds-key"), keepAlive: keepAlive)
        default:
            send(context, status: .notFound, headers: headers, body: "", keepAlive: keepAlive)
        }
    }

    static func credentialsJSON(key: String) -> String {
        #"{"Code": "Success", "AccessKeyId": "\#(key)", "SecretAccessKey": "secret", "Token": "\#(key)-session", "Expiration": "2099-01-01T00:00:00Z"}"#
    }

    /// Kong's Lambda mock: `x-amzn-RequestId: foo`; `Event` invocations 202 and `DryRun` 204
    /// with no body; `functionWithUnhandledError` adds `X-Amz-Function-Error: Unhandled`; the
    /// `functionWith...` names answer their canned bodies (`functionWithLatency` after 300 ms);
    /// any other echoes the payload.
    private func lambda(_ context: ChannelHandlerContext, head: HTTPRequestHead, function: String, headers: HTTPHeaders, keepAlive: Bool) {
        var headers = headers
        headers.add(name: "x-amzn-RequestId", value: "foo")
        if function.contains("functionWithUnhandledError") { headers.add(name: "X-Amz-Function-Error", value: "Unhandled") }
        switch head.headers.first(name: "X-Amz-Invocation-Type") {
        case "Event": return send(context, status: .accepted, headers: headers, body: "", keepAlive: keepAlive)
        case "DryRun": return send(context, status: .noContent, headers: headers, body: "", keepAlive: keepAlive)
        default: break
        }
        if function.contains("functionWithLatency") {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(300)) { [self] in
                send(context, status: .ok, headers: headers, body: "{\"statusCodge\": 200}\n", keepAlive: keepAlive)
            }
            return
        }
        let canned: [(String, String)] = [
            ("functionWithBadJSON", "{\"foo\":\"bar\"\n"),
            ("functionWithNoResponse", ""),
            ("functionWithBase64EncodedResponse", "{\"statusCode\": 200, \"body\": \"dGVzdA==\", \"isBase64Encoded\": true}\n"),
            ("functionWithNotBase64EncodedResponse", "{\"statusCode\": 200, \"body\": \"dGVzdA=\", \"isBase64Encoded\": false}\n"),
            ("functionWithIllegalBase64EncodedResponse", "{\"statusCode\": 200, \"body\": \"dGVzdA=\", \"isBase64Encoded\": \"abc\"}\n"),
            (
                "functionWithMultiValueHeadersResponse",
                "{\"statusCode\": 200, \"headers\": { \"Age\": \"3600\"}, \"multiValueHeaders\": {\"Access-Control-Allow-Origin\": [\"site1.com\", \"site2.com\"]}}\n"
            ),
            ("functionWithTransferEncodingHeader", "{\"statusCode\": 200, \"headers\": { \"Transfer-Encoding\": \"chunked\", \"transfer-encoding\": \"chunked\"}}\n"),
            ("functionWithEmptyArray", "{\"statusCode\": 200, \"testbody\": [], \"isBase64Encoded\": false}\n"),
            ("functionWithFailure", "{\"Message\": \"Function not found\"}"),
        ]
        let json: Set<String> = [
            "functionWithBase64EncodedResponse", "functionWithNotBase64EncodedResponse", "functionWithMultiValueHeadersResponse",
            "functionWithEmptyArray", "functionWithFailure",
        ]
        if let (name, body) = canned.first(where: { function.contains($0.0) }) {
            if json.contains(name) { headers.add(name: "Content-Type", value: "application/json") }
            let status: HTTPResponseStatus = name == "functionWithFailure" ? .notFound : .ok
            return send(context, status: status, headers: headers, body: body, keepAlive: keepAlive)
        }
        send(context, status: .ok, headers: headers, body: String(decoding: bodyData, as: UTF8.self) + "\n", keepAlive: keepAlive)
    }

    private func send(_ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, body: String, keepAlive: Bool) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    /// `%XX` escapes decoded (and `+` as a space, as in a form).
    private static func percentDecoded(_ text: Substring) -> String {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes the next 64 KiB of a streamed body while the channel is writable.
    private func pump(context: ChannelHandlerContext, keepAlive: Bool) {
        guard var s = streaming else { return }
        while s.remaining > 0, context.channel.isWritable {
            let n = min(s.remaining, 65536)
            var buffer = context.channel.allocator.buffer(capacity: n)
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: n)
            s.remaining -= n
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if s.remaining == 0 {
            streaming = nil
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            streaming = s
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context: context, keepAlive: true) }
        context.fireChannelWritabilityChanged()
    }

    private func upgrade(context: ChannelHandlerContext, headers: HTTPHeaders) {
        var headers = headers
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Sec-WebSocket-Accept", value: "test")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let pipeline = context.pipeline.syncOperations
        try? pipeline.addHandler(EchoHandler())
        if let p = try? pipeline.handler(type: HTTPServerPipelineHandler.self) { pipeline.removeHandler(p, promise: nil) }
        if let e = try? pipeline.handler(type: HTTPResponseEncoder.self) { pipeline.removeHandler(e, promise: nil) }
        pipeline.removeHandler(context: context, promise: nil)
        if let d = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            pipeline.removeHandler(d, promise: nil)
        }
    }
}

/// Echoes bytes back (the WebSocket stand-in after a 101).
private final class EchoHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
