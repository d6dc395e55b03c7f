import KGatePlugins
import KGateRouter
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    // MARK: Request

    /// A request head was parsed: check it, route it, start proxying or answer.
    func requestHead() {
        serial &+= 1
        requestsOnConnection += 1
        if !requestInProgress {
            requestInProgress = true
            loop.stats.requestStarted()
        }
        stopWaitingForClient()
        // `x` was reset when the connection became idle (`becomeIdle`), or is fresh.
        x.start = loop.now
        x.requestID = loop.requestIDs.next()
        x.outputMark = output.bytesWritten
        x.facts.read(request, realIPHeader: env.customRealIPHeader, previousHost: recent.host)
        recent.remember(host: x.facts.host)
        requestBody = BodyTracker(x.facts.framing)
        x.requestHasBody = !requestBody.isComplete
        if x.requestHasBody {
            // nginx buffers request bodies, so a retry sends the body again; kgate streams them
            // and keeps a copy of up to `client_body_buffer_size` bytes for idempotent methods.
            x.bodyReplayable = Self.isIdempotent(request.method)
            replayableBody.clear()
        }
        x.requestEndReceived = requestBody.isComplete

        // Bad input nginx refuses before Kong runs.
        if x.facts.malformed || (x.facts.host == nil && request.version.minor >= 1) {
            return respond(.nginx(400), forceClose: true)
        }
        if x.facts.unsupportedTransferEncoding {
            return respond(.nginxBuiltin(501), forceClose: true)
        }
        // Refused before nginx decides on keep-alive (`ngx_http_handler`), so the connection
        // closes after the 405, as nginx's does.
        if request.method == .TRACE || request.method == .CONNECT { return respond(.nginx(405), forceClose: true) }
        let limit = env.configuration.clientMaxBodySize
        if limit > 0, let length = x.facts.contentLength, length > limit {
            return respond(.nginx(413), forceClose: true)
        }
        if x.requestHasBody { waitForClient(.body, env.configuration.clientBodyTimeout) }
        route()
    }

    /// Body bytes of the current request (framing included for chunked bodies).
    func requestBodyBytes(_ slice: ByteBuffer) {
        x.bodyBytes += slice.readableBytes
        if clientWait == .body, !readsPaused { clientTimer.arm(in: env.configuration.clientBodyTimeout) }
        let limit = env.configuration.clientMaxBodySize
        if limit > 0, x.bodyBytes > limit, phase == .readingBody || phase == .connecting || phase == .proxying {
            abandonUpstream()
            if x.responseHeadSent { return close() }
            return respond(.nginx(413), forceClose: true)
        }
        switch phase {
        case .readingBody:
            holdBodyForPlugins(slice)
        case .connecting:
            if let spool = x.spool {
                if !spool.append(slice) { spoolFailed() }
                return
            }
            pendingBody.append(slice)
            pendingBodyBytes += slice.readableBytes
            if x.awaitingBody {
                if pendingBodyBytes > env.configuration.clientBodyBufferSize, !requestBody.isComplete { startSpooling() }
            } else if pendingBodyBytes > Self.inputHighWater {
                pauseClientReads()
            }
        case .proxying:
            guard let upstream = x.upstream else { return }
            sendBody(slice, to: upstream)
            upstreamNeedsFlush = true
            if !upstream.handler.isWritable { pauseClientReads() }
        case .idle, .responding, .tunnel, .closing:
            break
        }
    }

    /// The request body ended.
    func requestEnd() {
        x.requestEndReceived = true
        if clientWait == .body { stopWaitingForClient() }
        switch phase {
        case .proxying:
            if let plan = x.plan { requestSent(readTimeout: plan.readTimeout) }
        case .responding:
            if x.responseFinished { becomeIdle() }
        case .readingBody:
            bodyCompleteForPlugins()
        case .connecting:
            if x.awaitingBody { heldBodyReady() }
        case .idle, .tunnel, .closing:
            break
        }
    }

    /// A chunked body that does not parse: 400 if nothing was answered yet, else close.
    func badRequestBody() {
        inbound = empty
        abandonUpstream()
        if x.responseHeadSent || phase == .responding { return close() }
        respond(.nginx(400), forceClose: true)
    }

    // MARK: Routing

    /// Routes the request and starts proxying it, or answers it.
    func route() {
        let (generation, plans) = env.currentPlans()
        x.generation = generation
        if let runner = plans.activePlugins {
            x.runner = runner
            if let tracer = env.configuration.tracer { startTrace(runner, tracer) }
            if runner.needsRewrite, !runRewrite(runner) { return }
        }
        let router = plans.router
        let target = request.target(reusing: recent.target)
        recent.remember(target: target)
        let routerSpan = x.traced ? x.plugins!.trace!.startRouter() : nil
        // The answer is read in place from the memo (a class): copying a match retains each
        // of its strings.
        if let memo = recent.route, memo.answers(router, request.method, target, x.facts.host) {
            // The connection's previous request asked the same (Kong caches matches too).
            if let routerSpan { x.plugins!.trace!.finish(routerSpan) }
            return routed(memo.match, plans: plans, target: target, upstreamTarget: memo.upstreamTarget)
        }
        let match = router.match(routeRequest(router, target: target))
        if let routerSpan { x.plugins!.trace!.finish(routerSpan) }
        guard !router.usesHeaders, !router.usesAddresses else {
            return routed(match, plans: plans, target: target, upstreamTarget: nil)
        }
        let memo = RouteMemo(
            router: router, method: request.method, target: target, host: x.facts.host, match: match,
            upstreamTarget: match.map { Self.upstreamTarget($0, target: target) })
        recent.route = memo
        routed(memo.match, plans: plans, target: target, upstreamTarget: memo.upstreamTarget)
    }

    /// Goes on with the router's answer: proxies, or answers (no route, protocol refused).
    private func routed(_ match: RouteMatch?, plans: ProxyPlans, target: String, upstreamTarget: String?) {
        if let match, env.configuration.allowDebugHeader, RouteDebugHeaders.requested(by: request) {
            x.debugHeaders = RouteDebugHeaders(match)
        }
        let hostOnly = hostName()
        let forwardedProto = trusted(x.facts.forwardedProto) ?? (tls ? "https" : "http")
        let forwardedHost = trusted(x.facts.forwardedHost) ?? hostOnly
        // The usual route (the connection's protocol allowed, no gRPC) needs none of Kong's
        // protocol checks.
        if let match, Self.serves(tls ? "https" : "http", match.route.protocols) {
            return proceed(
                match, plans: plans, target: target, upstreamTarget: upstreamTarget, forwardedProto: forwardedProto,
                forwardedHost: forwardedHost)
        }
        switch RouteOutcome.evaluate(
            match, forwardedProto: forwardedProto, forwardedHost: forwardedHost, requestURI: target,
            contentType: x.facts.contentType.map(request.value), httpMajorVersion: http2 ? 2 : 1)
        {
        case .respond(let response):
            respond(
                LocalResponse(
                    status: HTTPResponseStatus(statusCode: response.status), message: response.message, origin: .kong,
                    extraHeaders: response.headers.map { ($0.name, $0.value) }))
        case .proceed(let match):
            proceed(match, plans: plans, target: target, forwardedProto: forwardedProto, forwardedHost: forwardedHost)
        }
    }

    /// Whether a route's protocols accept a request of this scheme with no further check.
    static func serves(_ scheme: String, _ protocols: [String]) -> Bool {
        var allowed = false
        for p in protocols {
            if p == scheme { allowed = true } else if p == "grpc" || p == "grpcs" { return false }
        }
        return allowed
    }

    /// What the router is asked for the current request.
    private func routeRequest(_ router: Router, target: String) -> RouteRequest {
        var routeRequest = RouteRequest(
            method: request.method.rawValue, target: target, host: x.facts.host, scheme: tls ? .https : .http,
            sni: serverName, headers: router.usesHeaders ? request.headerPairs.map { .init($0.0, $0.1) } : [],
            destinationPort: hostPortNumber)
        if router.usesAddresses {
            // Expression routes on `net.src.*` / `net.dst.ip`.
            let remote = context.channel.remoteAddress
            routeRequest.sourceIP = remote?.ip
            routeRequest.sourcePort = remote?.port
            routeRequest.destinationIP = serverIP
        }
        return routeRequest
    }

    /// Prepares the upstream request of a matched route, runs the plugins, then proxies;
    /// `upstreamTarget` when already worked out for this match.
    private func proceed(
        _ match: RouteMatch, plans: ProxyPlans, target: String, upstreamTarget: String? = nil, forwardedProto: String,
        forwardedHost: String
    ) {
        // Kong's `upstream_uri` as the router set it (plugins read it).
        var routedTarget = target
        if let response = RouteOutcome.afterAccess(match) {
            x.afterAccess = LocalResponse(
                status: HTTPResponseStatus(statusCode: response.status), message: response.message, origin: .kong)
        } else if let plan = plans.service(for: match) {
            x.plan = plan
            if case .balancer(let balancer) = plan.destination, balancer.needsLease {
                x.lease = BalancerLease(balancer: balancer, captures: match.captures)
            }
            // nginx's `grpc_pass` streams both ways, trailers included.
            x.buffersRequest = match.route.requestBuffering && !plan.http2
            x.buffersResponse = match.route.responseBuffering && !plan.http2
            // nginx's `grpc_pass` sends the request's own target: a gRPC service's path and
            // the route's `strip_path` do not apply (only a plugin's rewrite does).
            routedTarget = upstreamTarget ?? Self.upstreamTarget(match, target: target)
            x.upstreamTarget = plan.http2 ? target : routedTarget
            x.preservedHost = match.upstreamHost
            x.forwarding = forwardingValues(match, target: target, forwardedProto: forwardedProto, forwardedHost: forwardedHost)
        } else {
            x.afterAccess = LocalResponse(status: .serviceUnavailable, message: "no Service found with those values", origin: .kong)
        }
        if let runner = x.runner, !runPlugins(runner, match: match, routedTarget: routedTarget) { return }
        dispatch()
    }

    /// After `access`: answers what routing decided, or starts the first try.
    func dispatch() {
        if let response = x.afterAccess { return respond(response) }
        // nginx's proxy reads the body before it connects, answering `Expect` first, even when
        // the body already came or there is none.
        sendContinueIfExpected()
        // With request buffering the first try waits for the whole body (a body plugins
        // rewrote is whole already).
        if x.buffersRequest, x.rewrittenRequest == nil {
            if x.requestEndReceived {
                x.bodyHeldWhole = true
                if x.facts.chunked { sendHeldBodyWithLength() }
            } else {
                return awaitBody()
            }
        }
        startAttempt()
    }

    // MARK: Request buffering

    /// With `request_buffering` on (the default), nginx reads the whole body before it
    /// connects (so `X-Kong-Proxy-Latency` includes reading it, and the upstream gets it at
    /// full speed) and sends a chunked one with `Content-Length`. kgate holds the body in
    /// memory up to `client_body_buffer_size`, then in a temporary file
    /// (``RequestBodySpool``), and starts the first try once it is whole. With
    /// `request_buffering` off, the body is streamed from the start, chunked as it came.
    private func awaitBody() {
        x.awaitingBody = true
        phase = .connecting
    }

    /// The interim answer to `Expect: 100-continue` (not part of the response's body bytes).
    static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// Answers `Expect: 100-continue` of an HTTP/1.1 request once, when its body is about to
    /// be read (nginx's `ngx_http_test_expect`).
    ///
    /// Flushed with the tick's batch, not here: a flush that fails closes the connection at
    /// once, inside this call, and the exchange must not go on from under its caller.
    func sendContinueIfExpected() {
        guard x.facts.expectContinue, !x.continueSent, request.version == .http1_1 else { return }
        x.continueSent = true
        output.write(context.channel.allocator.buffer(staticString: Self.continueLine), context)
        flushClient()
    }

    /// The held body ended (or cannot be held): the first try starts.
    func heldBodyReady() {
        x.awaitingBody = false
        x.bodyHeldWhole = x.requestEndReceived
        if let spool = x.spool {
            // Stored decoded: it goes upstream with its length.
            x.facts.chunked = false
            x.facts.contentLength = spool.size
        } else if x.requestEndReceived, x.facts.chunked {
            sendHeldBodyWithLength()
        }
        startAttempt()
    }

    /// The held body outgrew `client_body_buffer_size`: it goes on in a temporary file.
    private func startSpooling() {
        guard let spool = RequestBodySpool(directory: env.configuration.clientBodyTempPath, chunked: x.facts.chunked) else {
            // No file to hold it in: it streams, as with `request_buffering` off.
            env.logger.warning("proxy.body_spool_unavailable", metadata: ["path": "\(env.configuration.clientBodyTempPath)"])
            return heldBodyReady()
        }
        let stored = pendingBody.allSatisfy { spool.append($0) }
        guard stored else { return spoolFailed() }
        pendingBody.removeAll(keepingCapacity: true)
        pendingBodyBytes = 0
        x.spool = spool
    }

    /// The temporary file of a body could not be written or read back: nginx's 500.
    func spoolFailed() {
        env.logger.error("proxy.body_spool_failed", metadata: ["path": "\(env.configuration.clientBodyTempPath)"])
        x.spool = nil
        respond(.nginx(500), forceClose: true)
    }

    /// Replaces the held chunked body (framing, extensions, trailers) by its data, sent with
    /// `Content-Length`.
    private func sendHeldBodyWithLength() {
        var data = context.channel.allocator.buffer(capacity: pendingBodyBytes)
        forEachHeldChunk { data.writeBytes($0) }
        pendingBody.removeAll(keepingCapacity: true)
        if data.readableBytes > 0 { pendingBody.append(data) }
        pendingBodyBytes = data.readableBytes
        x.facts.chunked = false
        x.facts.contentLength = data.readableBytes
    }

    /// Calls `body` with the data of each chunk of the chunked body held in `pendingBody`.
    func forEachHeldChunk(_ body: (UnsafeRawBufferPointer) -> Void) {
        var decoder = ChunkedDecoder()
        for part in pendingBody {
            _ = part.withUnsafeReadableBytes { raw in
                decoder.feed(raw) { range in body(UnsafeRawBufferPointer(rebasing: raw[range])) }
            }
        }
    }

    /// A forwarding header's value when the peer is trusted.
    private func trusted(_ field: HeaderField?) -> String? {
        guard peerTrusted, let field else { return nil }
        return request.value(field)
    }

    /// The `X-Forwarded-*`, `X-Real-IP`, `Via` and request-id values sent upstream.
    private func forwardingValues(_ match: RouteMatch, target: String, forwardedProto: String, forwardedHost: String)
        -> ForwardingValues
    {
        let clientIP = realClientIP()
        let path = trusted(x.facts.forwardedPath).map { $0[...] } ?? Self.pathPart(of: target)
        var prefix = trusted(x.facts.forwardedPrefix)
        if prefix == nil, let matched = match.prefix, matched != "/" { prefix = String(matched) }
        // Kong writes `ngx.req.http_version()` as a Lua number: 1.0 prints as `1`, 2.0 as `2`.
        let inbound =
            http2 ? env.http2ViaToken
            : request.version.minor >= 1 ? env.viaToken : "1 " + env.configuration.serverToken
        return ForwardingValues(
            forwardedFor: x.facts.forwardedFor.map { $0 + ", " + remoteIP } ?? clientIP,
            forwardedProto: forwardedProto, forwardedHost: forwardedHost,
            forwardedPort: trusted(x.facts.forwardedPort) ?? serverPort, forwardedPath: path, forwardedPrefix: prefix,
            realIP: clientIP, via: x.facts.via.map { $0 + ", " + inbound } ?? inbound,
            requestID: env.configuration.requestIDUpstream ? x.requestID : nil)
    }

    /// The client address after nginx's realip module: a trusted peer's `real_ip_header`.
    func realClientIP() -> String {
        guard peerTrusted else { return remoteIP }
        let value: String?
        switch env.realIPSource {
        case .xRealIP: value = x.facts.realIP.map(request.value)
        case .xForwardedFor: value = x.facts.forwardedForAll ?? x.facts.forwardedFor
        case .proxyProtocol: value = proxyProtocolAddress
        case .header: value = x.facts.customRealIP.map(request.value)
        }
        guard let value else { return remoteIP }
        return env.configuration.trustedIPs.realAddress(in: value, recursive: env.configuration.realIPRecursive)
            ?? remoteIP
    }

    // MARK: Helpers

    /// Kong's upstream request target (`match.upstreamTarget`), taking the request target as
    /// is when joining and escaping cannot change it: the service path is `/`, the route keeps
    /// the path or strips just `/` (path handling v0), the path needed no normalisation, and
    /// every byte of it is one `kong.tools.uri.escape` leaves alone.
    static func upstreamTarget(_ match: RouteMatch, target: String) -> String {
        // Fields are read one by one: a copy of the route or service would retain each of their
        // strings and arrays.
        guard match.serviceAtRoot, match.route.pathHandling == .v0 || match.flavor != .traditional,
            !match.route.stripPath || match.prefix == "/"
        else { return match.upstreamTarget }
        let path = match.path
        let u = target.utf8
        let pathEnd = u.count > 1 ? (u.dropFirst().firstIndex(of: UInt8(ascii: "?")) ?? u.endIndex) : u.endIndex
        guard u[..<pathEnd].elementsEqual(path.utf8), u[..<pathEnd].allSatisfy(isSafeToForward) else {
            return match.upstreamTarget
        }
        return target
    }

    /// The bytes `kong.tools.uri.escape` keeps: letters, digits and `!#$&'()*+,/:;=?@[]-_.~%`.
    private static let safeBytes: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = true }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = true }
        for c in "!#$&'()*+,/:;=?@[]-_.~%".utf8 { t[Int(c)] = true }
        return t
    }()

    @inline(__always)
    private static func isSafeToForward(_ b: UInt8) -> Bool { safeBytes[Int(b)] }

    /// nginx's `$host`: the host of an absolute-form target, else the `Host` header's host,
    /// lower-cased, without its port and a trailing dot, else (HTTP/1.0 without `Host`) the
    /// server's name, `kong` in Kong's nginx template.
    func hostName() -> String {
        Self.hostWithoutPort(request.uriHost ?? x.facts.host)
    }

    static func hostWithoutPort(_ host: String?) -> String {
        guard var host else { return "kong" }
        let (end, upper) = host.withUTF8 { u -> (Int, Bool) in
            var end = u.count
            var upper = false
            if u.first == UInt8(ascii: "[") {
                if let close = u.firstIndex(of: UInt8(ascii: "]")) { end = close + 1 }
            } else if let colon = u.firstIndex(of: UInt8(ascii: ":")) {
                end = colon
            }
            if end > 1, u[end - 1] == UInt8(ascii: ".") { end -= 1 }
            for i in 0..<end where u[i] >= 0x41 && u[i] <= 0x5A { upper = true }
            return (end, upper)
        }
        if end == host.utf8.count, !upper { return host }
        let h = host.utf8.prefix(end)
        let s = String(Substring(h))
        return upper ? s.lowercased() : s
    }

    /// The request target up to its query (a `?` found from the second byte on, as Kong).
    static func pathWithoutQuery(_ uri: String) -> String {
        String(pathPart(of: uri))
    }

    /// ``pathWithoutQuery(_:)`` sharing the target's storage.
    static func pathPart(of uri: String) -> Substring {
        let u = uri.utf8
        guard u.count > 1, let q = u.dropFirst().firstIndex(of: UInt8(ascii: "?")) else { return uri[...] }
        return uri[..<q]
    }
}
