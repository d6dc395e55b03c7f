import KGatePlugins
import NIOCore

extension ProxyHandler {
    /// Whether a plugin's `log` phase will run for this request (its access phase decided; a
    /// request answered before it runs global log plugins, if any).
    var logsForPlugins: Bool {
        guard let runner = x.runner else { return false }
        return x.plugins == nil ? runner.hasGlobalDownstreamPlugins : x.pluginWork.contains(.log)
    }

    /// Keeps the response head as sent (a slice: no copy) for the log serializer.
    func keepSentHead(_ bytes: ByteBuffer) {
        x.sentHead = bytes.getSlice(at: bytes.readerIndex, length: x.headBytes) ?? ByteBuffer()
    }

    /// A generated response's head: its length for `$body_bytes_sent`, and itself for the
    /// log phase.
    func noteGeneratedHead(_ bytes: ByteBuffer) {
        x.headBytes = PluginHeads.headLength(bytes) ?? bytes.readableBytes
        if logsForPlugins { keepSentHead(bytes) }
    }

    /// A new upstream try; the one before it failed (Kong's `state` and `code` of a try).
    func recordTry(ip: IPBytes, port: Int, hostname: String) {
        var tries = x.triesForLog ?? []
        markLastFailed(&tries, otherwise: 502)
        let now = loop.wallClock()
        tries.append(
            ServedExchange.Try(
                ip: ip.text, port: port, hostname: hostname, balancerStart: Int(now * 1000),
                balancerStartNanoseconds: Int(now * 1_000_000_000)))
        x.triesForLog = tries
    }

    /// Marks the last try failed (unless it is already), with the status nginx gives the
    /// error that ended it, or `status` when none was recorded.
    private func markLastFailed(_ tries: inout [ServedExchange.Try], otherwise status: Int) {
        guard let last = tries.indices.last, tries[last].state == nil else { return }
        tries[last].state = "failed"
        tries[last].code = x.lastError.map(Self.tryFailureStatus) ?? status
    }

    /// The status nginx gives a failed try: 504 for a timeout, 502 otherwise.
    static func tryFailureStatus(_ error: ProxyError) -> Int {
        switch error.kind {
        case .connectTimeout, .writeTimeout, .readTimeout: return 504
        default: return 502
        }
    }

    /// The tries as Kong logs them: when no try got a response, the last one failed too
    /// (Kong's `header_filter` marks it with the status nginx answers, 502 or 504).
    private func finishedTries(proxied: Bool) -> [ServedExchange.Try] {
        var tries = x.triesForLog ?? []
        if !proxied { markLastFailed(&tries, otherwise: x.responseStatus) }
        return tries
    }

    /// nginx's `$upstream_status`: each try's status, `, `-separated (`504, 200`).
    private func upstreamStatusList(_ tries: [ServedExchange.Try], proxied: Bool) -> String {
        var statuses = tries.compactMap(\.code).map(String.init)
        if proxied { statuses.append(String(x.upstreamStatus)) }
        return statuses.joined(separator: ", ")
    }

    /// What `kong.log.serialize()` needs from the proxy (Kong's nginx variables and timings).
    func servedExchange() -> ServedExchange {
        let now = loop.now
        func ms(_ from: NIODeadline, _ to: NIODeadline) -> Int { x.milliseconds(since: from, to: to) }
        let proxied = x.upstreamStatus != 0
        let tries = finishedTries(proxied: proxied)
        var responseHeaders = HTTPFields()
        if x.sentHead.readableBytes > 0, HeadParser.parseResponse(x.sentHead, into: &scratchHead) == nil {
            responseHeaders = PluginHeads.fields(of: scratchHead)
            scratchHead.buffer = ByteBuffer()
        }
        let requestURI =
            if let line = x.refusedLine { RefusedRequestLine(line).target ?? "" }
            else if request.buffer.readableBytes == 0 { "" }
            else { request.target }
        var kongLatency = x.tries > 0 ? ms(x.start, x.upstreamStart) : ms(x.start, now)
        // Kong's `KONG_WAITING_TIME`: to the response head, or to the error nginx answers
        // when no try got one; or the time a plugin answering itself waited (aws-lambda, whose
        // `header_filter` takes it out of the response latency).
        var proxyLatency = proxied ? ms(x.upstreamStart, x.upstreamHeadAt) : x.tries > 0 ? ms(x.upstreamStart, now) : nil
        if let waited = x.plugins?.waitingTime {
            proxyLatency = waited
            kongLatency = max(0, kongLatency - waited)
        }
        return ServedExchange(
            requestURI: requestURI,
            requestSize: request.buffer.readableBytes + x.bodyBytes,
            upstreamURI: x.plan == nil ? "" : x.upstreamTarget,
            upstreamStatus: upstreamStatusList(tries, proxied: proxied),
            status: x.responseStatus,
            responseHeaders: responseHeaders,
            responseSize: max(0, output.bytesWritten &- x.outputMark),
            kongLatency: kongLatency,
            proxyLatency: proxyLatency,
            receiveLatency: proxied ? ms(x.upstreamHeadAt, now) : 0,
            requestLatency: ms(x.start, now),
            // Kong's `balancer_prepare` runs for every request routed past the protocol checks.
            tries: x.plan != nil || x.afterAccess != nil ? tries : nil,
            clientIP: clientAddress,
            hostPort: hostPortNumber,
            // An error after trying (502, 504) is Kong's (`KONG_UNEXPECTED`), not the service's.
            source: proxied ? .upstream : .kong,
            tls: clientTLS)
    }
}
