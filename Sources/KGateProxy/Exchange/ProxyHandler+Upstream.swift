import KGatePlugins
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    // MARK: Tries

    /// Picks a target (balancer, DNS or the service's address) and gets a connection to it.
    ///
    /// - Parameter countsAsTry: false for the silent retry after a pooled connection turned
    ///   out to be closed by the upstream (it does not use up `retries`).
    func startAttempt(countsAsTry: Bool = true) {
        // Not once the client connection is closing or gone (`channelInactive` may have run
        // inside a write that failed on the way here): nothing could take the response.
        guard phase != .closing, let plan = x.plan else { return }
        if countsAsTry { x.tries += 1 }
        phase = .connecting
        switch plan.destination {
        case .address(let ip):
            connect(ip: ip, port: plan.port, hostname: plan.host, hostHeader: plan.hostHeader, plan: plan)
        case .balancer(let balancer):
            let lease = x.lease
            lease?.retry(after: x.lastError.map(Self.healthReport))
            switch balancer.pick(now: loop.now, resolver: loop.resolver, on: loop.eventLoop, pickRequest(lease)) {
            case .address(let pick):
                lease?.begin(pick)
                let address = pick.address
                let hostHeader = ServicePlan.hostHeader(
                    balancer.hostHeader ?? address.host, port: address.port, scheme: plan.scheme)
                connect(ip: address.ip, port: address.port, hostname: address.host, hostHeader: hostHeader, plan: plan)
            case .noPeer:
                noTargetLeft(ProxyError(kind: .noPeer))
            case .waiting(let answered):
                // A name never asked before, and no other address: pick again once answered.
                let current = serial
                answered.hop(to: loop.eventLoop).assumeIsolated().whenComplete { [self] _ in
                    guard current == serial, phase == .connecting else { return }
                    startAttempt(countsAsTry: false)
                }
            }
        case .hostname:
            resolve(plan.host, port: plan.port) { [self] peer in
                // An SRV record's port wins over the service's, as Kong's `toip` gives it.
                connect(
                    ip: peer.ip, port: peer.port != 0 ? peer.port : plan.port, hostname: plan.host,
                    hostHeader: plan.hostHeader, plan: plan)
            }
        }
    }

    /// What the balancer should know of this request: nothing for a plain round-robin; the
    /// hashed value (worked out at the first try, as Kong's `get_value_to_hash`) and the
    /// addresses tried before.
    private func pickRequest(_ lease: BalancerLease?) -> PickRequest {
        guard let lease else { return PickRequest() }
        if lease.hashValue == nil, lease.balancer.algorithm == .consistentHashing {
            lease.hashValue = lease.balancer.hashing.value(from: HashedRequestView(handler: self, captures: lease.captures)) {
                lease.newCookie = $0
            }
        }
        return lease.request(now: Double(loop.now.uptimeNanoseconds) / 1e9)
    }

    /// What a failed try says about its address: a timeout (nginx's 504), else a TCP failure.
    static func healthReport(_ error: ProxyError) -> HealthReport {
        tryFailureStatus(error) == 504 ? .timeout : .tcpFailure
    }

    /// Resolves a service's host through the loop's DNS cache, then continues the same exchange.
    /// A traced request records the query as `kong.dns` (Kong spans every `toip`, cached or not).
    private func resolve(_ host: String, port: Int, then: @escaping (DNSPeer) -> Void) {
        let span = x.traced ? x.plugins!.trace!.startDNS() : nil
        if let peer = loop.dns.cachedPeer(host) {
            if let span { x.plugins!.trace!.finishDNS(span, host: host, port: port, result: .success(peer.ip.text)) }
            return then(peer)
        }
        let current = serial
        loop.dns.resolve(host) { [self] result in
            guard current == serial, phase == .connecting else { return }
            if let span {
                let outcome = result.map(\.ip.text).mapError { DNSQueryError(Self.dnsFailureMessage($0, host: host)) }
                x.plugins!.trace!.finishDNS(span, host: host, port: port, result: outcome)
            }
            switch result {
            case .success(let peer):
                then(peer)
            case .failure(.nameNotFound):
                noTargetLeft(ProxyError(kind: .nameResolution))
            case .failure(.other(let message)):
                noTargetLeft(ProxyError(kind: .resolveFailed(host: host, message: message)))
            }
        }
    }

    /// A failed query as Kong's DNS client words it.
    static func dnsFailureMessage(_ failure: DNSFailure, host: String) -> String {
        switch failure {
        case .nameNotFound: "dns server error: 3 name error"
        case .other(let message): message
        }
    }

    /// Connects to (or reuses a connection to) a peer; `hostname` is the target's or service's
    /// host, for the log phase.
    private func connect(ip: IPBytes, port: Int, hostname: String, hostHeader: String, plan: ServicePlan) {
        let host = x.preservedHost ?? hostHeader
        x.hostHeader = host
        x.peerIP = ip
        x.peerPort = port
        if logsForPlugins { recordTry(ip: ip, port: port, hostname: hostname) }
        let serverName = plan.tls != nil ? TLSProfile.serverName(forHostHeader: host) : nil
        let key = PeerKey(
            ip: ip, port: port, tls: plan.tls.map { ObjectIdentifier($0) }, serverName: serverName, http2: plan.http2)
        if let connection = loop.pool.leaseIdle(key) {
            // Inside a client read, the flush waits for the end of the read burst.
            return attach(connection, reused: true, flushNow: !inClientRead)
        }
        let current = serial
        loop.pool.connect(
            to: ip.socketAddress(port: port), key: key, tls: plan.tls, connectTimeout: plan.connectTimeout
        ) { [self] result in
            switch result {
            case .success(let connection):
                guard current == serial, phase == .connecting else {
                    return loop.pool.release(connection, reusable: true)
                }
                attach(connection, reused: false, flushNow: true)
            case .failure(let error):
                guard current == serial, phase == .connecting else { return }
                attemptFailed(ProxyError.connect(error))
            }
        }
    }

    /// No target or name can be had any more: the previous try's failure stands (it was logged
    /// when it happened), else `error`.
    private func noTargetLeft(_ error: ProxyError) {
        if let last = x.lastError {
            attemptFailed(last, logged: true)
        } else {
            attemptFailed(error)
        }
    }

    /// A try failed before anything reached the upstream: try the next target, or answer.
    ///
    /// - Parameter logged: `error` was logged when it happened.
    func attemptFailed(_ error: ProxyError, logged: Bool = false) {
        if !logged { logFailure(error) }
        x.lastError = error
        if let plan = x.plan, error.isConnectFailure, x.tries <= plan.retries, phase == .connecting {
            return startAttempt()
        }
        respond(error.response)
    }

    /// nginx never passes a request with a non-idempotent method (POST, LOCK, PATCH) to the next
    /// upstream once it was sent to one.
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .LOCK, .PATCH: return false
        default: return true
        }
    }

    /// Logs a failed try as nginx does, at `error` with the request's context:
    /// `*5 connect() failed (111: Connection refused) while connecting to upstream, client:
    /// 127.0.0.1, server: kong, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:9/",
    /// host: "example.com", request_id: "..."`.
    func logFailure(_ error: ProxyError) {
        guard env.logger.logLevel <= .error else { return }
        let serverName = ProxyHandler.hostWithoutPort(x.hostHeader.isEmpty ? nil : x.hostHeader)
        // nginx's `*<connection number>` prefix.
        var line = "*\(connectionNumber) " + error.nginxMessage(serverName: serverName, headReceived: x.responseHeadSent)
        line += ", client: \(remoteIP), server: kong, request: \"\(request.method.rawValue) \(request.target) \(protocolName)\""
        if let ip = x.peerIP, let plan = x.plan {
            let address = ip.isIPv6 ? "[\(ip.text)]" : ip.text
            line += ", upstream: \"\(plan.scheme)://\(address):\(x.peerPort)\(x.upstreamTarget)\""
        }
        if let host = x.facts.host { line += ", host: \"\(host)\"" }
        line += ", request_id: \"\(x.requestID.string)\""
        env.logger.error("\(line)")
    }

    // MARK: Sending

    /// The connection is ours: send the head, what arrived of the body, and maybe the end.
    private func attach(_ connection: UpstreamConnection, reused: Bool, flushNow: Bool) {
        guard let plan = x.plan, x.forwarding != nil else {
            return loop.pool.release(connection, reusable: true)
        }
        phase = .proxying
        x.upstream = connection
        x.reused = reused
        connection.requestsServed += 1
        let method = x.rewrittenMethod ?? request.method
        connection.handler.beginExchange(self, method: method)
        Self.writeUpstreamHead(method: method, exchange: &x, client: &request, into: &headBuffer)
        connection.handler.write(headBuffer)
        x.upstreamStart = loop.now
        while let part = pendingBody.popFirst() { sendBody(part, to: connection) }
        pendingBodyBytes = 0
        if x.spool != nil {
            x.spoolSent = 0
            pumpSpool()
        } else if x.requestEndReceived {
            requestSent(readTimeout: plan.readTimeout, now: x.upstreamStart)
        }
        upstreamNeedsFlush = true
        if inbound.readableBytes > 0, !requestBody.isComplete { processInput() }
        if flushNow { flushUpstreamIfNeeded() }
        if connection.handler.isWritable { resumeClientReads() } else { pauseClientReads() }
        if !clientWritable { connection.handler.pauseReads() }
    }

    /// Writes the upstream request head of the exchange into `out`.
    ///
    /// Everything is borrowed through `inout` where it lives: passing the handler's stored
    /// properties to the writer would copy them, retaining and releasing every reference inside
    /// (the head's buffer and fields, the forwarding strings) once per request.
    private static func writeUpstreamHead(
        method: HTTPMethod, exchange x: inout Exchange, client request: inout MessageHead, into out: inout ByteBuffer
    ) {
        guard let forwarding = x.forwarding.take() else { return }
        defer { x.forwarding = forwarding }
        if let (head, facts) = x.rewrittenRequest {
            // Plugins changed the headers or the body.
            UpstreamRequestHead.write(
                method: method, target: x.upstreamTarget, host: x.hostHeader, from: head, facts: facts,
                forwarding: forwarding, into: &out)
        } else {
            // Read before the call: a getter among the arguments would make the facts a copy.
            let added = x.addedFields
            UpstreamRequestHead.write(
                method: method, target: x.upstreamTarget, host: x.hostHeader, from: request, facts: x.facts,
                forwarding: forwarding, added: added, into: &out)
        }
    }

    /// Sends request body bytes upstream, keeping a copy while the body may be sent again.
    func sendBody(_ part: ByteBuffer, to connection: UpstreamConnection) {
        x.bodyForwarded = true
        if x.bodyReplayable {
            if x.bodyHeldWhole || replayableBody.readableBytes + part.readableBytes <= env.configuration.clientBodyBufferSize {
                replayableBody.writeImmutableBuffer(part)
            } else {
                x.bodyReplayable = false
                replayableBody.clear()
            }
        }
        connection.handler.write(part)
    }

    /// Sends the spooled body on from where it stopped, while the upstream connection takes
    /// it (the rest follows when it becomes writable again); then the request is sent.
    func pumpSpool() {
        guard let spool = x.spool, !x.requestEndSent, let connection = x.upstream, let plan = x.plan else { return }
        while x.spoolSent < spool.size, connection.handler.isWritable {
            guard let part = spool.read(at: x.spoolSent, count: Self.spoolReadSize, allocator: context.channel.allocator)
            else { return spoolFailed() }
            x.spoolSent += part.readableBytes
            x.bodyForwarded = true
            connection.handler.write(part)
            upstreamNeedsFlush = true
        }
        if x.spoolSent == spool.size { requestSent(readTimeout: plan.readTimeout) }
        flushUpstreamIfNeeded()
    }

    /// Puts the body sent so far back in front of what is still to be sent, for the next try.
    private func replayBody() {
        let sent = replayableBody
        replayableBody = ByteBuffer()
        pendingBody.prepend(sent)
        pendingBodyBytes += sent.readableBytes
        x.bodyForwarded = false
    }

    /// The whole request was handed to the upstream connection: the upstream has
    /// `read_timeout` to answer, counted once the bytes are out (`write_timeout` runs until
    /// then when they are queued).
    func requestSent(readTimeout: TimeAmount, now: NIODeadline? = nil) {
        x.requestEndSent = true
        if upstreamWait == .write { return }
        upstreamWait = .read
        upstreamTimer.arm(at: (now ?? loop.now) + readTimeout)
    }

    // MARK: Upstream timers

    func upstreamTimerFired() {
        let wait = upstreamWait
        upstreamWait = .none
        switch wait {
        case .none: return
        case .read: upstreamBroke(ProxyError(kind: .readTimeout))
        case .write: upstreamBroke(ProxyError(kind: .writeTimeout))
        }
    }

    /// Drops the upstream connection of the exchange (closing it).
    func abandonUpstream() {
        upstreamWait = .none
        upstreamTimer.disarm()
        guard let connection = x.upstream else { return }
        x.upstream = nil
        connection.handler.endExchange()
        connection.channel.close(promise: nil)
    }

    /// The upstream failed while serving the exchange.
    func upstreamBroke(_ error: ProxyError) {
        guard phase == .proxying || phase == .tunnel, let connection = x.upstream else { return }
        let sawResponse = connection.handler.receivedResponseBytes
        abandonUpstream()
        if phase == .tunnel || x.responseHeadSent {
            // nginx logs a body cut short (`... while reading upstream`), not a tunnel's end.
            if phase != .tunnel { logFailure(error) }
            // Whatever was read goes out before the close.
            filterHeldBurst()
            writePendingResponseHead()
            writeHeldChunk()
            context.flush()
            return close()
        }
        filterBurst = nil
        if x.reused, !sawResponse, !x.bodyForwarded, x.staleRetries < 3, error.kind == .badResponse {
            // A pooled connection the upstream had closed: try again on a fresh one.
            x.staleRetries += 1
            x.requestEndSent = false
            return startAttempt(countsAsTry: false)
        }
        if let plan = x.plan, x.tries <= plan.retries, error.allowsNextUpstream, !x.bodyForwarded || x.bodyReplayable,
            Self.isIdempotent(x.rewrittenMethod ?? request.method)
        {
            // nginx's proxy_next_upstream: the next target gets the request (Kong's `retries`),
            // body included.
            logFailure(error)
            x.lastError = error
            x.requestEndSent = false
            if x.bodyForwarded { replayBody() }
            return startAttempt()
        }
        logFailure(error)
        respond(error.response)
    }
}
