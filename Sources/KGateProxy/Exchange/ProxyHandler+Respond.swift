import NIOCore
import NIOHTTP1

extension ProxyHandler {
    // MARK: Ending an exchange

    /// The response was written: flush, then wait for the next request or close.
    func finishResponse() {
        logExchange()
        if x.keepAlive, x.requestEndReceived {
            flushClient()
            becomeIdle()
        } else if x.keepAlive {
            phase = .responding
            x.responseFinished = true
            flushClient()
        } else {
            // The client may still be sending (a body not read, bytes after a bad head):
            // closing now would reset the connection and lose the response with it.
            let linger = !tls && (!x.requestEndReceived || inbound.readableBytes > 0)
            phase = .closing
            stopWaitingForClient()
            let context = self.context!
            context.writeAndFlush(wrapOutboundOut(empty)).assumeIsolated().whenComplete { [self] result in
                if linger, case .success = result {
                    lingerBeforeClosing(context)
                } else {
                    context.close(promise: nil)
                }
            }
        }
    }

    /// nginx's lingering close (`lingering_close on`): the response is out and our side shut;
    /// what the client still sends is read and dropped until it closes, for at most
    /// `lingering_timeout` between reads and `lingering_time` in all.
    private func lingerBeforeClosing(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        lingeringEnds = loop.now + Self.lingeringTime
        waitForClient(.lingering, Self.lingeringTimeout)
        resumeClientReads()
    }

    /// Input dropped while lingering keeps the connection for another `lingering_timeout`,
    /// within `lingering_time`.
    func lingeringInput() {
        guard clientWait == .lingering else { return }
        let left = lingeringEnds - loop.now
        clientTimer.arm(in: left < Self.lingeringTimeout ? left : Self.lingeringTimeout)
    }

    /// Ready for the next request on this connection.
    func becomeIdle() {
        phase = .idle
        x.reset()
        requestBody = BodyTracker(.none)
        pendingBody.removeAll(keepingCapacity: true)
        pendingBodyBytes = 0
        upstreamWait = .none
        upstreamTimer.disarm()
        if quiescing || loop.isQuiescing {
            quiescing = true
            return close()
        }
        clientWait = .keepalive
        clientTimer.arm(at: (lastNow ?? loop.now) + env.configuration.keepaliveTimeout)
        lastNow = nil
        resumeClientReads()
        if inbound.readableBytes > 0 {
            // A pipelined request: take it up once the current call stack has unwound.
            let current = serial
            context.eventLoop.assumeIsolated().execute { [self] in
                guard current == serial, phase == .idle else { return }
                processInput()
                flushUpstreamIfNeeded()
            }
        }
    }

    // MARK: Generated responses

    /// Answers the request with a generated response (router outcome, upstream failure, bad
    /// input). The connection stays open when the request is complete (or has no body) and the
    /// client allows it.
    func respond(_ response: LocalResponse, forceClose: Bool = false) {
        abandonUpstream()
        pendingBody.removeAll(keepingCapacity: true)
        pendingBodyBytes = 0
        // A client that waits for `100 Continue` may never send the body it announced: close.
        let keepAlive =
            !forceClose && x.facts.keepAlive && !quiescing && !loop.isQuiescing
            && !(x.facts.expectContinue && !x.requestEndReceived)
            && requestsOnConnection < env.configuration.keepaliveRequests
        x.keepAlive = keepAlive
        let bytes = rendered(response, keepAlive: keepAlive, filtered: true)
        phase = .responding
        output.write(bytes, context)
        finishResponse()
    }

    /// A generated response's bytes, through `header_filter` when `filtered`.
    func rendered(_ response: LocalResponse, keepAlive: Bool, filtered: Bool) -> ByteBuffer {
        let now = loop.now
        let sentUpstreamAt = x.tries > 0 && x.upstreamStart > x.start ? x.upstreamStart : now
        let c = responseContext(now: now, sentUpstreamAt: sentUpstreamAt, keepAlive: keepAlive)
        let format = LocalResponse.RequestFormat(
            accept: response.origin.isKong ? allAcceptValues() : x.facts.accept.map(request.value),
            contentType: x.facts.contentType.map(request.value))
        let bytes = response.render(format: format, c, isHEAD: request.method == .HEAD, allocator: context.channel.allocator)
        x.responseHeadSent = true
        x.responseStatus = Int(response.status.code)
        let filteredBytes = filtered && x.runner != nil ? filterGeneratedResponse(bytes, proxied: response.origin.isProxied, own: response.extraHeaders) : bytes
        let withHeaders = withConfiguredHeaders(filteredBytes, origin: response.origin)
        // nginx's own error pages are the server's, where the location's compression is not.
        guard env.configuration.compression != nil, response.origin.isKong,
            let (head, body) = PluginHeads.splitHead(withHeaders)
        else {
            noteGeneratedHead(withHeaders)
            return withHeaders
        }
        let whole = compressedWhole(head: head, body: body) ?? withHeaders
        noteGeneratedHead(whole)
        return whole
    }

    /// Every `Accept` of the request joined with `,`, as `kong.response.error` reads them
    /// (`ngx.req.get_headers()`); Kong's error handler, for nginx's errors, takes the first.
    private func allAcceptValues() -> String? {
        guard let first = x.facts.accept else { return nil }
        var joined = request.value(first)
        var seenFirst = false
        for field in request.fields where request.nameEquals(field, "accept") {
            if seenFirst { joined += "," + request.value(field) } else { seenFirst = true }
        }
        return joined
    }

    /// nginx's `add_header` on a generated response, after the plugins' `header_filter`:
    /// Kong's answers are `location /`'s, nginx's error pages the server's.
    private func withConfiguredHeaders(_ bytes: ByteBuffer, origin: LocalResponse.Origin) -> ByteBuffer {
        let added = env.configuration.addedHeaders
        guard !added.isEmpty else { return bytes }
        return added.apply(toResponse: bytes, status: x.responseStatus, scope: origin.isKong ? .location : .server)
    }

    private func responseContext(now: NIODeadline, sentUpstreamAt: NIODeadline, keepAlive: Bool) -> LocalResponse.Context {
        LocalResponse.Context(
            enabled: env.responseHeaders, serverToken: env.configuration.serverToken, viaToken: env.viaToken,
            requestID: x.requestID.string, date: loop.dates.current(), keepAlive: keepAlive,
            errorDefaultType: env.configuration.errorDefaultType, errorTemplates: env.configuration.errorTemplates,
            responseLatency: x.milliseconds(since: x.start, to: now),
            proxyLatency: x.milliseconds(since: x.start, to: sentUpstreamAt),
            upstreamLatency: x.milliseconds(since: sentUpstreamAt, to: now), debug: x.debugHeaders, charset: env.charset)
    }

    /// A head that cannot be parsed: 400, 414, 494-as-400 (`Request header or cookie too large`)
    /// or nginx's own 505 page, then close. `bytes` holds the head as far as it was read: the
    /// lines nginx had taken before the refused one choose the error body's format.
    func refuse(_ error: HeadError, bytes: ByteBuffer) {
        switch error {
        case .uriTooLong: refuseRaw(.nginx(414), line: bytes)
        case .versionNotSupported: refuseRaw(.nginxBuiltin(505), line: bytes)
        case .headerTooLarge: refuseRaw(.nginx(494), format: format(ofLinesTaken: bytes), line: bytes)
        case .badRequest, .badResponse: refuseRaw(.nginx(400), format: format(ofLinesTaken: bytes), line: bytes)
        }
    }

    /// `Accept` and `Content-Type` of the lines nginx had taken from a refused head, as Kong's
    /// error handler reads them (the first of each).
    func format(ofLinesTaken bytes: ByteBuffer) -> LocalResponse.RequestFormat {
        let head = HeadParser.linesTaken(bytes, lineLimit: env.configuration.largeHeaderBufferSize)
        return LocalResponse.RequestFormat(accept: head.firstValue("accept"), contentType: head.firstValue("content-type"))
    }

    /// Answers without a parsed request (a fresh request id), then closes. `format` is what
    /// the head's lines read so far said about formats.
    ///
    /// Kong's error page handler still runs the global plugins' `header_filter`, `body_filter`
    /// and `log` on these nginx errors (spec 04-plugins_triggering), with an empty request.
    func refuseRaw(_ response: LocalResponse, format: LocalResponse.RequestFormat = .init(), line: ByteBuffer? = nil) {
        inbound = empty
        x.reset()
        x.start = loop.now
        x.requestID = loop.requestIDs.next()
        x.outputMark = output.bytesWritten
        x.refusedLine = line.map(Self.firstLine)
        request = .placeholder
        let (generation, plans) = env.currentPlans()
        if let runner = plans.activePlugins {
            x.generation = generation
            x.runner = runner
        }
        let now = loop.now
        var bytes = response.render(
            format: format, responseContext(now: now, sentUpstreamAt: now, keepAlive: false), isHEAD: false,
            allocator: context.channel.allocator)
        x.responseStatus = Int(response.status.code)
        if x.runner != nil { bytes = filterGeneratedResponse(bytes, proxied: false, own: response.extraHeaders) }
        bytes = withConfiguredHeaders(bytes, origin: response.origin)
        x.keepAlive = false
        noteGeneratedHead(bytes)
        output.write(bytes, context)
        finishResponse()
    }

    // MARK: Log phase

    func logExchange() {
        if let lease = x.lease {
            let now = loop.now
            lease.finish(
                status: x.upstreamStatus != 0 ? x.upstreamStatus : x.responseStatus,
                rtt: Double((now - x.upstreamStart).nanoseconds) / 1e9, now: Double(now.uptimeNanoseconds) / 1e9)
        }
        if x.runner != nil { runLogPhase() }
        writeAccessLog(status: x.responseStatus)
        endRequest()
    }

    /// The request is over for `/status` (answered, or its connection closed).
    func endRequest() {
        guard requestInProgress else { return }
        requestInProgress = false
        loop.stats.requestEnded()
    }
}
