import NIOCore
import NIOHTTP1

extension ProxyHandler {
    // MARK: Tries

    /// Picks a target (balancer, DNS or the service's address) and gets a connection to it.
    ///
    /// - Parameter countsAsTry: false for the silent retry after a pooled connection turned
    ///   out to be closed by the upstream (it does not use up `retries`).
    func startAttempt(countsAsTry: Bool = true) {
        guard let plan = x.plan else { return }
        if countsAsTry { x.tries += 1 }
        phase = .connecting
        switch plan.destination {
        case .address(let ip):
            connect(ip: ip, port: plan.port, hostname: plan.host, plan: plan)
        case .balancer(let balancer):
            guard let target = balancer.next() else {
                return attemptFailed(x.lastError ?? ProxyError(kind: .noPeer))
            }
            let hostname = balancer.hostHeader ?? target.host
            if let ip = target.ip {
                connect(ip: ip, port: target.port, hostname: hostname, plan: plan)
            } else {
                resolve(target.host) { [self] ip in connect(ip: ip, port: target.port, hostname: hostname, plan: plan) }
            }
        case .hostname:
            resolve(plan.host) { [self] ip in connect(ip: ip, port: plan.port, hostname: plan.host, plan: plan) }
        }
    }

    /// Resolves a name through the loop's DNS cache, then continues the same exchange.
    private func resolve(_ host: String, then: @escaping (IPBytes) -> Void) {
        if let ip = loop.dns.cachedAddress(host) { return then(ip) }
        let current = serial
        loop.dns.resolve(host) { [self] result in
            guard current == serial, phase == .connecting else { return }
            switch result {
            case .success(let ip):
                then(ip)
            case .failure(.nameNotFound):
                attemptFailed(x.lastError ?? ProxyError(kind: .nameResolution))
            case .failure(.other(let message)):
                attemptFailed(x.lastError ?? ProxyError(kind: .resolveFailed(host: host, message: message)))
            }
        }
    }

    private func connect(ip: IPBytes, port: Int, hostname: String, plan: ServicePlan) {
        let host = x.preservedHost ?? Self.hostHeader(hostname, port: port, scheme: plan.scheme)
        x.hostHeader = host
        let serverName = plan.tls != nil ? TLSProfile.serverName(forHostHeader: host) : nil
        let key = PeerKey(ip: ip, port: port, tls: plan.tls.map { ObjectIdentifier($0) }, serverName: serverName)
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

    /// Kong's `set_host_header`: the target host, with `:port` unless it is the scheme's default.
    static func hostHeader(_ host: String, port: Int, scheme: String) -> String {
        let isDefault =
            (port == 80 && (scheme == "http" || scheme == "grpc")) || (port == 443 && (scheme == "https" || scheme == "grpcs"))
        if isDefault { return host }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[" + host + "]" : host
        return bracketed + ":" + String(port)
    }

    /// A try failed before anything reached the upstream: try the next target, or answer.
    func attemptFailed(_ error: ProxyError) {
        x.lastError = error
        if let plan = x.plan, error.isConnectFailure, x.tries <= plan.retries, phase == .connecting {
            return startAttempt()
        }
        logFailure(error)
        respond(error.response)
    }

    func logFailure(_ error: ProxyError) {
        env.logger.debug(
            "proxy.upstream_failed",
            metadata: ["error": "\(error)", "service.id": "\(x.plan?.id ?? "")", "request.id": "\(x.requestID.string)"])
    }

    // MARK: Sending

    /// The connection is ours: send the head, what arrived of the body, and maybe the end.
    private func attach(_ connection: UpstreamConnection, reused: Bool, flushNow: Bool) {
        guard let plan = x.plan, let forwarding = x.forwarding else {
            return loop.pool.release(connection, reusable: true)
        }
        phase = .proxying
        x.upstream = connection
        x.reused = reused
        connection.requestsServed += 1
        connection.handler.beginExchange(self, method: request.method)
        UpstreamRequestHead.write(
            method: request.method, target: x.upstreamTarget, host: x.hostHeader, from: request, facts: x.facts,
            forwarding: forwarding, into: &upstreamHeadBuffer)
        connection.handler.write(upstreamHeadBuffer)
        x.upstreamStart = loop.eventLoop.now
        while let part = pendingBody.popFirst() {
            x.bodyForwarded = true
            connection.handler.write(part)
        }
        pendingBodyBytes = 0
        if x.requestEndReceived { requestSent(readTimeout: plan.readTimeout) }
        upstreamNeedsFlush = true
        if inbound.readableBytes > 0, !requestBody.isComplete { processInput() }
        if flushNow { flushUpstreamIfNeeded() }
        if x.facts.expectContinue, !x.continueSent, !x.requestEndReceived {
            x.continueSent = true
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
        }
        if connection.handler.isWritable { resumeClientReads() } else { pauseClientReads() }
        if !clientWritable { connection.handler.pauseReads() }
    }

    /// The whole request went upstream: from now on the upstream has `read_timeout` to answer.
    func requestSent(readTimeout: TimeAmount) {
        x.requestEndSent = true
        upstreamWait = .read
        upstreamTimer.arm(in: readTimeout)
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
        if phase == .tunnel || x.responseHeadSent { return close() }
        if x.reused, !sawResponse, !x.bodyForwarded, x.staleRetries < 3, error.kind == .badResponse {
            // A pooled connection the upstream had closed: try again on a fresh one.
            x.staleRetries += 1
            x.requestEndSent = false
            return startAttempt(countsAsTry: false)
        }
        logFailure(error)
        respond(error.response)
    }
}
