import KGatePlugins
import KGateRouter
import KGateSchema
import NIOCore
import NIOHTTP1

/// Kong's plugin phases in the request path (`runloop/handler.lua`): `rewrite` before routing,
/// `access` after it (which may answer, or change what goes upstream), `header_filter` and
/// `body_filter` on the response, whether it comes from upstream, from a plugin's exit or from
/// kgate itself, and `log` at the end.
///
/// A request of a generation without plugins never gets here past one nil check; a request
/// whose route has none pays one dictionary read (`PluginRunner.hasPlugins(route:)`).
extension ProxyHandler {
    /// Largest request body kept in memory for plugins that read it whole (they answer 413
    /// beyond it).
    static let requestBodyHoldLimit = 64 << 20

    // MARK: Before and after routing
    //
    // The context lives in the exchange and is only ever handed out `inout` (in place): a
    // struct read through the handler's property would be copied whole on every call. What
    // the response phases need is decided once (`x.pluginWork`).

    /// Runs the global `rewrite` configs before routing; false when a plugin answered.
    func runRewrite(_ runner: PluginRunner) -> Bool {
        if x.plugins == nil { x.plugins = makePluginContext(runner) }
        runner.rewrite(&x.plugins!)
        // The global configs' response work, until access (if reached) decides.
        x.pluginWork = runner.responseWork(&x.plugins!)
        guard x.plugins!.exitResponse == nil else {
            respondWithExit()
            return false
        }
        return true
    }

    /// Starts the request's trace (`tracing_instrumentations`) with its root span: the plugin
    /// context that holds the spans is made now, before `rewrite`.
    func startTrace(_ runner: PluginRunner, _ tracer: TracerSettings) {
        x.plugins = makePluginContext(runner)
        x.pluginWork = runner.responseWork(&x.plugins!)
        // The request's start as Kong's (`ngx.req.start_time()`), on the clock the tries use.
        x.plugins!.trace = RequestTrace(
            settings: tracer, request: x.plugins!.request, requestURI: request.target,
            startNanos: UInt64(x.plugins!.request.startTime * 1e9))
        x.traced = true
    }

    /// Starts the plugins of a routed request: false when they took the exchange over (they
    /// wait for the body, or answered).
    func runPlugins(_ runner: PluginRunner, match: RouteMatch, routedTarget: String) -> Bool {
        if x.plugins == nil {
            guard runner.hasPlugins(route: match.route.id) else { return true }
            x.plugins = makePluginContext(runner)
        }
        x.plugins!.setRoute(match)
        x.plugins!.routedTarget = routedTarget
        if let prefix = x.forwarding?.forwardedPrefix { x.plugins!.forwardedPrefix = prefix }
        if !x.requestEndReceived, runner.needsRequestBody(route: match.route.id, hasContentLength: x.facts.contentLength != nil) {
            beginReadingBodyForPlugins()
            return false
        }
        return runAccess(runner)
    }

    /// Kong's access phase, then the request changes; false when a plugin answered or waits
    /// for I/O (the exchange then goes on from ``waitForPlugin(_:_:)``).
    private func runAccess(_ runner: PluginRunner) -> Bool {
        runner.access(&x.plugins!)
        return accessEnded(runner)
    }

    /// After `access` ran or resumed: waits for a suspended plugin, or answers its exit, or
    /// applies the request changes; true when the request goes on to `dispatch`.
    private func accessEnded(_ runner: PluginRunner) -> Bool {
        if let suspension = x.plugins!.takeSuspension() {
            waitForPlugin(runner, suspension)
            return false
        }
        x.pluginWork = runner.responseWork(&x.plugins!)
        guard x.plugins!.exitResponse == nil else {
            respondWithExit()
            return false
        }
        if let failure = applyRequestChanges() {
            respond(failure)
            return false
        }
        if !x.plugins!.serviceOverride.isEmpty { applyServiceOverride() }
        return true
    }

    /// Reaches the service as plugins said (`kong.service.set_target`, `set_upstream`,
    /// `set_retries`, `set_timeouts`): the request's plan is a copy with the changes.
    private func applyServiceOverride() {
        guard let plan = x.plan else { return }
        let change = x.plugins!.serviceOverride
        let plans = x.generation?.artifact(for: ProxyPlansBuilder.self)
        let overridden = plan.overridden(by: change, balancers: plans?.balancers ?? [:], defaultTLS: plans?.defaultTLS)
        x.plan = overridden
        if change.host != nil {
            x.lease = nil
            if case .balancer(let balancer) = overridden.destination, balancer.needsLease {
                x.lease = BalancerLease(balancer: balancer, captures: x.plugins!.captures)
            }
        }
        if let host = change.upstreamHost { x.preservedHost = host }
    }

    /// A plugin's `access` waits for I/O (rate-limiting's Redis call): the request waits in
    /// `connecting` (body bytes are held, reads pause past the high-water mark) and access goes
    /// on when the work ends, unless the exchange ended meanwhile (the client left).
    private func waitForPlugin(_ runner: PluginRunner, _ suspension: PluginSuspension) {
        phase = .connecting
        let current = serial
        suspension.whenReady(on: loop.eventLoop) { [self] resume in
            guard current == serial, phase == .connecting, x.plugins != nil else { return }
            runner.resumeAccess(&x.plugins!, resume)
            guard accessEnded(runner) else { return }
            resumeClientReads()
            dispatch()
        }
    }

    /// The request as plugins see it.
    private func makePluginContext(_ runner: PluginRunner) -> PluginContext {
        var method = request.method.rawValue
        var target = request.target
        if let line = x.refusedLine {
            let refused = RefusedRequestLine(line)
            method = refused.method ?? method
            target = refused.target ?? ""
        }
        let rawPath = Self.pathWithoutQuery(target)
        let u = target.utf8
        let rawQuery: String? =
            rawPath.utf8.count < u.count ? String(Substring(u[u.index(u.startIndex, offsetBy: rawPath.utf8.count + 1)...])) : nil
        // Built whole and handed over: a request changed after its init would be copied.
        var ctx = runner.makeContext(
            PluginRequest(
                method: method, scheme: tls ? "https" : "http", host: hostName(),
                port: serverPortNumber ?? 0, rawPath: rawPath, rawQuery: rawQuery, headers: PluginHeads.fields(of: request),
                forwardedIP: realClientIP(), ip: remoteIP, serverName: serverName, startTime: loop.wallClock(),
                requestIDWords: (x.requestID.high, x.requestID.low),
                connection: (
                    connectionNumber, requestsOnConnection,
                    http2 ? 2 : Double(request.version.major) + Double(request.version.minor) / 10, serverIP,
                    remotePort
                )))
        ctx.peerTrusted = peerTrusted
        ctx.hostPort = hostPortNumber
        return ctx
    }

    // MARK: Reading the body for plugins

    /// Holds the body until it has all arrived (`ngx.req.read_body`), then runs access. The
    /// body bytes come through `processInput` once the head's handling returns.
    private func beginReadingBodyForPlugins() {
        phase = .readingBody
        sendContinueIfExpected()
    }

    /// Body bytes while plugins wait for the whole body.
    func holdBodyForPlugins(_ slice: ByteBuffer) {
        pendingBody.append(slice)
        pendingBodyBytes += slice.readableBytes
        if pendingBodyBytes > Self.requestBodyHoldLimit { respond(.nginx(413), forceClose: true) }
    }

    /// The body plugins waited for is complete: run access, then proxy.
    func bodyCompleteForPlugins() {
        guard let runner = x.runner else { return }
        attachPendingBody()
        phase = .connecting
        if runAccess(runner) { dispatch() }
    }

    /// Gives plugins the body held in `pendingBody` (chunk framing removed), or only its size
    /// when it is larger than nginx keeps in memory.
    private func attachPendingBody() {
        // nginx's `client_body_buffer_size`: beyond it nginx keeps the body in a file,
        // `kong.request.get_raw_body()` returns nil and plugins read the file's size
        // (request-size-limiting).
        // A plugin reading nginx's body file (aws-lambda without `skip_large_bodies`) gets all
        // of it.
        let spooled = x.plugins!.routeID.map { x.runner?.readsSpooledBody(route: $0) == true } ?? false
        let limit = spooled ? Int.max : env.configuration.clientBodyBufferSize
        var body: [UInt8] = []
        var size = 0
        body.reserveCapacity(min(pendingBodyBytes, limit))
        if x.facts.chunked {
            // Chunk data only; appending stops once past the limit.
            forEachHeldChunk { data in
                size += data.count
                if size <= limit { body.append(contentsOf: data) }
            }
        } else {
            size = pendingBodyBytes
            if size <= limit { for part in pendingBody { body.append(contentsOf: part.readableBytesView) } }
        }
        if size <= env.configuration.clientBodyBufferSize {
            x.plugins!.request.attachBody(body)
        } else {
            x.plugins!.request.attachBodyFile(size: size, bytes: spooled ? body : nil)
        }
    }

    // MARK: The upstream request

    /// Applies what plugins changed (method, path, query, headers, body) to the request sent
    /// upstream; a response to answer with (500) when it cannot be sent.
    private func applyRequestChanges() -> LocalResponse? {
        // Fields are read one at a time from the exchange (the exchange is written in between).
        let changed = x.plugins!.request.changes
        guard !changed.isEmpty else { return nil }
        if changed.contains(.method) { x.rewrittenMethod = HTTPMethod(rawValue: x.plugins!.request.method) }
        if changed.contains(.path) || changed.contains(.query) {
            // Kong's `set_path` escapes the path it is given (`kong.tools.uri.escape`).
            let path = x.plugins!.request.upstreamPath.map(UpstreamPath.escape) ?? Self.pathWithoutQuery(x.upstreamTarget)
            // Kong's runloop adds `?args` when nginx's `$is_args` is `?` (the query is not
            // empty) or the client's target ended with `?`: a query emptied by a plugin
            // (key-auth's hide_credentials) leaves no `?`.
            if let query = x.plugins!.request.rawQuery, !query.isEmpty || request.target.utf8.last == UInt8(ascii: "?") {
                x.upstreamTarget = path + "?" + query
            } else {
                x.upstreamTarget = path
            }
        }
        if changed.contains(.body), !x.requestEndReceived {
            // The client's body is still coming and would follow the replacement.
            env.logger.error("a plugin replaced a request body it did not read", metadata: ["request.id": "\(x.requestID.string)"])
            return LocalResponse(status: .internalServerError, message: "An unexpected error occurred", origin: .kong)
        }
        guard changed.contains(.headers) || changed.contains(.body) else { return nil }
        let headers = x.plugins!.request.headers
        if !changed.contains(.body), let added = PluginHeads.addedFields(headers, after: request) {
            // The usual case (auth plugins' X-Consumer-* headers): fields appended to the
            // client's, sent after them as they are.
            x.addedFields = added
            return nil
        }
        let newBody = changed.contains(.body) ? x.plugins!.request.body ?? [] : nil
        guard let head = PluginHeads.requestHead(headers, bodyLength: newBody?.count, allocator: context.channel.allocator)
        else {
            return LocalResponse(status: .internalServerError, message: "An unexpected error occurred", origin: .kong)
        }
        let facts = RequestFacts(head, realIPHeader: env.customRealIPHeader)
        if let host = facts.host, host != x.facts.host { x.preservedHost = host }
        x.rewrittenRequest = (head, facts)
        if let newBody {
            pendingBody.removeAll(keepingCapacity: true)
            var buffer = context.channel.allocator.buffer(capacity: newBody.count)
            buffer.writeBytes(newBody)
            if !newBody.isEmpty { pendingBody.append(buffer) }
            pendingBodyBytes = newBody.count
        }
        return nil
    }

    // MARK: Responses

    /// A plugin's `kong.response.exit` / `kong.response.error`.
    func respondWithExit() {
        guard let exit = x.plugins?.exitResponse else { return }
        let status = HTTPResponseStatus(statusCode: exit.status)
        let headers = exit.headers.compactMap { f -> (String, String)? in
            HTTPFields.sameName(f.name, "content-type") ? nil : (f.name, f.value)
        }
        switch NotModifiedFilter.evaluate(status: exit.status, headers: exit.headers, request: request) {
        case .send: break
        case .preconditionFailed: return respond(.nginx(412))
        case .notModified:
            let fields = NotModifiedFilter.notModifiedFields(exit.headers).map { ($0.name, $0.value) }
            return respond(LocalResponse(status: .notModified, message: nil, origin: .kong, extraHeaders: fields, rawBody: []))
        }
        let origin: LocalResponse.Origin = x.plugins?.exitIsProxied == true ? .kongProxied : .kong
        switch exit.body {
        case .kongError(let message):
            respond(LocalResponse(status: status, message: message, origin: origin, extraHeaders: headers))
        case .empty, .bytes, .json:
            respond(
                LocalResponse(
                    status: status, message: nil, origin: origin, extraHeaders: headers, rawBody: exit.encodedBody ?? [],
                    rawContentType: exit.contentType))
        }
    }

    /// Runs `header_filter` over a response head about to go to the client (the exact head
    /// bytes in `head`) and rewrites it with what the plugins left. Requests that never
    /// reached `access` run the global configs.
    ///
    /// - Parameters:
    ///   - upstream: the upstream response head `head` was made from (nil for a generated
    ///     response).
    ///   - proxied: Kong had decided to proxy (`KONG_PROXIED`): an upstream's response, or an
    ///     error after access such as a 502.
    ///   - own: a generated response's own headers (see ``KongHeadersAfterPlugins``).
    /// - Returns: whether `head` changed.
    @discardableResult
    func filterResponseHead(
        _ head: inout ByteBuffer, fromService: Bool, proxied: Bool, upstream: MessageHead? = nil,
        own: [(String, String)] = []
    ) -> Bool {
        guard let runner = x.runner, startDownstreamPhases(runner) else { return false }
        let work = x.pluginWork
        if !work.contains(.headerFilter) {
            guard !x.plugins!.response.pendingEdits.isEmpty else { return false }
            if !work.contains(.log), !work.contains(.bodyFilter),
                PluginHeads.appendEdits(x.plugins!.response.pendingEdits, to: &head, upstream: upstream, scratch: &scratchHead)
            {
                // Only header changes recorded during access, none clashing with the head's fields.
                return true
            }
        }
        var parsed = MessageHead()
        guard HeadParser.parseResponse(head, into: &parsed) == nil else { return false }
        var before = PluginHeads.fields(of: parsed)
        // nginx's charset filter runs after Lua's header filter: plugins see the type without
        // the charset kgate added, and the charset goes on whatever type they leave.
        if let charset = env.charset {
            charset.remove(from: &before, upstreamType: upstream.map { $0.firstValue("content-type") }, status: parsed.status)
        }
        let view =
            upstream.map { KongHeadersAfterPlugins.pluginView(of: before, upstream: $0) }
            ?? KongHeadersAfterPlugins.pluginView(of: before, proxied: proxied, own: own)
        runner.headerFilter(&x.plugins!, status: parsed.status, headers: view, fromService: fromService)
        if let charset = env.charset { charset.add(to: &x.plugins!.response) }
        setKongHeadersAfterPlugins(before: before, proxied: proxied)
        if let exit = x.plugins!.headerFilterExit {
            let body = exit.encodedBody ?? []
            x.bodyReplacement = .pending(body)
            PluginHeads.writeResponseHead(
                status: x.plugins!.response.status, fields: x.plugins!.response.headers, original: parsed,
                contentLength: body.count, into: &head)
            x.responseStatus = x.plugins!.response.status
            return true
        }
        let lengthRemoved =
            x.plugins!.response.headers.tableValue("content-length") == nil && PluginHeads.contains(parsed, "content-length")
        // A body_filter that changes the body's length needs its plugin to remove
        // `Content-Length` in header_filter (as under nginx); the body then goes chunked. So
        // does an empty upstream body (`Content-Length: 0`) once its length is removed: nginx's
        // chunked filter sends its last chunk alone.
        let status = x.plugins!.response.status
        let bodiless = request.method == .HEAD || status < 200 || status == 204 || status == 304
        let chunks =
            lengthRemoved
            && ((x.filtersBody && x.framing == .passthrough)
                || (x.framing == .none && upstream != nil && !bodiless && request.version.minor >= 1))
        if chunks { x.framing = .rechunk }
        // A response without a body (HEAD) whose `Content-Length` a plugin removed goes without
        // one, as nginx sends it.
        let removedLength = x.framing == .none && lengthRemoved
        PluginHeads.writeResponseHead(
            status: x.plugins!.response.status, fields: x.plugins!.response.headers, original: parsed,
            omitsLength: removedLength, chunks: chunks, into: &head)
        x.responseStatus = x.plugins!.response.status
        return true
    }

    /// The headers Kong sets once the plugins are done with the response (`header_filter.after`),
    /// from their values in the head the plugins were given (`before`).
    private func setKongHeadersAfterPlugins(before: HTTPFields, proxied: Bool) {
        KongHeadersAfterPlugins.apply(
            to: &x.plugins!.response, before: before, proxied: proxied, enabled: env.responseHeaders,
            serverToken: env.configuration.serverToken)
    }

    /// Makes sure a request that never reached access has a context when global configs run
    /// in the response phases; false when no plugin runs for it.
    private func startDownstreamPhases(_ runner: PluginRunner) -> Bool {
        if x.plugins != nil { return true }
        guard runner.hasGlobalDownstreamPlugins else { return false }
        x.plugins = makePluginContext(runner)
        x.pluginWork = runner.responseWork(&x.plugins!)
        return true
    }

    /// A generated response (head and body in one buffer) after `header_filter` and
    /// `body_filter` (which sees the whole body as its one chunk); a body whose length changed
    /// goes with its new `Content-Length`. `own`: the headers the response carries itself.
    func filterGeneratedResponse(_ bytes: ByteBuffer, proxied: Bool, own: [(String, String)]) -> ByteBuffer {
        guard let runner = x.runner, x.plugins != nil || runner.hasGlobalDownstreamPlugins,
            let (head, body) = PluginHeads.splitHead(bytes)
        else { return bytes }
        var filtered = head
        let headChanged = filterResponseHead(&filtered, fromService: false, proxied: proxied, own: own)
        var replacement: [UInt8]?
        if case .pending(let bytes) = x.bodyReplacement {
            replacement = bytes
            x.bodyReplacement = .sent
        }
        guard responseNeedsBodyFilter() || replacement != nil else {
            guard headChanged else { return bytes }
            filtered.writeImmutableBuffer(body)
            return filtered
        }
        var chunk = replacement ?? Array(body.readableBytesView)
        let length = chunk.count
        if responseNeedsBodyFilter() { runner.bodyFilter(&x.plugins!, chunk: &chunk, last: true) }
        if chunk.count != length {
            var parsed = MessageHead()
            if HeadParser.parseResponse(filtered, into: &parsed) == nil {
                PluginHeads.writeResponseHead(
                    status: x.plugins!.response.status, fields: x.plugins!.response.headers, original: parsed,
                    contentLength: chunk.count, into: &filtered)
            }
        }
        filtered.writeBytes(chunk)
        return filtered
    }

    /// Whether the upstream response body goes through `body_filter`.
    func responseNeedsBodyFilter() -> Bool {
        x.plugins != nil && x.pluginWork.contains(.bodyFilter)
    }

    /// One chunk of the response body through `body_filter`.
    func filterBody(_ bytes: ByteBuffer, last: Bool) -> ByteBuffer {
        guard let runner = x.runner, x.plugins != nil else { return bytes }
        var chunk = Array(bytes.readableBytesView)
        runner.bodyFilter(&x.plugins!, chunk: &chunk, last: last)
        var out = context.channel.allocator.buffer(capacity: chunk.count)
        out.writeBytes(chunk)
        return out
    }

    /// A response body chunk through `body_filter` and compression, then to the client
    /// (chunked, or until the connection closes for an HTTP/1.0 client).
    func upstreamBodyFiltered(_ bytes: ByteBuffer, last: Bool) {
        if !last, upstreamWait == .read, let plan = x.plan { upstreamTimer.arm(in: plan.readTimeout) }
        var bytes = bytes
        var last = last
        switch x.bodyReplacement {
        case nil: break
        case .sent: return
        case .pending(let replacement):
            // A header_filter exit: its body goes through body_filter as the whole body (Kong's
            // `ctx.response_body`), the upstream's is dropped.
            x.bodyReplacement = .sent
            bytes = ByteBuffer(bytes: replacement)
            last = true
        }
        var out = responseNeedsBodyFilter() ? filterBody(bytes, last: last) : bytes
        if let compressor = x.compressor { out = compressed(out, by: compressor, last: last) }
        writePendingResponseHead()
        writeResponseBody(out)
    }

    // MARK: Buffered proxying

    /// Largest upstream body buffered for `response` plugins.
    static let bufferedResponseLimit = 64 << 20

    /// A plugin runs `response`: the upstream response is read whole before anything goes to
    /// the client (Kong's buffered proxying). Returns whether chunk framing is to be removed.
    func beginBufferedResponse(_ head: borrowing MessageHead, framing: BodyFraming) -> Bool {
        x.bufferedHead = copy head
        x.bufferedBody = []
        x.framing = .passthrough
        x.keepAlive =
            x.facts.keepAlive && x.requestEndReceived && !quiescing && !loop.isQuiescing && x.facts.upgrade == nil
            && requestsOnConnection < env.configuration.keepaliveRequests
        return framing == .chunked
    }

    /// Upstream body bytes while buffering.
    func bufferResponseBody(_ bytes: ByteBuffer) {
        if upstreamWait == .read, let plan = x.plan { upstreamTimer.arm(in: plan.readTimeout) }
        guard x.bufferedBody.count + bytes.readableBytes <= Self.bufferedResponseLimit else {
            env.logger.error("a buffered upstream response is too large", metadata: ["request.id": "\(x.requestID.string)"])
            x.bufferedHead = nil
            x.responseHeadSent = false
            return upstreamBroke(ProxyError(kind: .badResponse))
        }
        x.bufferedBody.append(contentsOf: bytes.readableBytesView)
    }

    /// The whole upstream response is in: `header_filter`, then `response` (which may change
    /// the status, headers and body), then `body_filter` on the whole body; sent with its
    /// `Content-Length` (a HEAD response, whose body is empty as Kong's subrequest gets it,
    /// keeps the upstream's framing fields). nginx's not-modified filter then applies, since
    /// Kong prints a buffered response itself.
    func finishBufferedResponse() {
        guard let upstreamHead = x.bufferedHead, let runner = x.runner, x.plugins != nil else { return }
        x.bufferedHead = nil
        DownstreamResponseHead.write(
            from: upstreamHead, upstreamChunked: false, framing: .passthrough,
            additions(upstreamLatency: x.milliseconds(since: x.upstreamStart, to: loop.now)), into: &headBuffer)
        var parsed = MessageHead()
        guard HeadParser.parseResponse(headBuffer, into: &parsed) == nil else { return }
        let before = PluginHeads.fields(of: parsed)
        // The body is there from header_filter on (`kong.service.response.get_raw_body()`).
        x.plugins!.response.body = x.bufferedBody
        x.bufferedBody = []
        runner.headerFilter(&x.plugins!, status: parsed.status, headers: before, fromService: true)
        var body: [UInt8]
        if let exit = x.plugins!.headerFilterExit {
            x.plugins!.response.body = nil
            body = exit.encodedBody ?? []
        } else {
            runner.response(&x.plugins!)
            body = x.plugins!.response.body ?? []
            x.plugins!.response.body = nil
        }
        if x.pluginWork.contains(.bodyFilter) { runner.bodyFilter(&x.plugins!, chunk: &body, last: true) }
        setKongHeadersAfterPlugins(before: before, proxied: true)
        var status = x.plugins!.response.status
        var fields = x.plugins!.response.headers
        switch NotModifiedFilter.evaluate(status: status, headers: fields, request: request) {
        case .send: break
        case .preconditionFailed:
            headBuffer = rendered(.nginx(412, proxied: true), keepAlive: x.keepAlive, filtered: false)
            responseHeadPending = true
            return
        case .notModified:
            status = 304
            fields = NotModifiedFilter.notModifiedFields(fields)
        }
        let bodiless = status < 200 || status == 204 || status == 304 || request.method == .HEAD
        PluginHeads.writeResponseHead(
            status: status, fields: fields, original: parsed, contentLength: bodiless ? nil : body.count,
            omitsLength: status == 304, into: &headBuffer)
        x.responseStatus = status
        addConfiguredHeaders(to: &headBuffer)
        if !bodiless {
            if let whole = compressedWhole(head: headBuffer, body: ByteBuffer(bytes: body)) {
                headBuffer = whole
            } else {
                headBuffer.writeBytes(body)
            }
        }
        x.headBytes = PluginHeads.headLength(headBuffer) ?? headBuffer.readableBytes
        if logsForPlugins { keepSentHead(headBuffer) }
        responseHeadPending = true
    }

    // MARK: Log

    /// Kong's log phase, once the response was sent (or the exchange failed).
    func runLogPhase() {
        guard let runner = x.runner, startDownstreamPhases(runner), x.pluginWork.contains(.log) else { return }
        x.plugins!.served = servedExchange()
        if x.traced { x.plugins!.endTrace() }
        runner.log(&x.plugins!)
    }
}
