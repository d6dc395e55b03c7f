import KGatePlugins
import NIOCore
import NIOHTTP1

extension ProxyHandler: UpstreamDelegate {
    func upstreamResponseHead(_ head: borrowing MessageHead, framing: BodyFraming) -> Bool {
        guard phase == .proxying, let plan = x.plan else { return false }
        let now = loop.now
        lastNow = now
        x.responseHeadSent = true
        x.responseStatus = head.status
        x.upstreamStatus = head.status
        x.upstreamHeadAt = now
        upstreamWait = .read
        upstreamTimer.arm(at: now + plan.readTimeout)
        if head.status == 101, x.facts.upgrade != nil {
            beginTunnel(head, now: now)
            return false
        }
        var downstream = DownstreamFraming(
            upstream: framing, clientVersion: request.version, buffered: x.buffersResponse)
        if x.runner != nil, x.pluginWork.contains(.response), x.plugins != nil {
            return beginBufferedResponse(head, framing: framing)
        }
        if x.runner != nil, downstream != .none, responseNeedsBodyFilter() {
            x.filtersBody = true
            // A body with a length keeps it unless header_filter removes it (then it goes
            // chunked, see `filterResponseHead`); any other goes chunked (or close-delimited
            // to an HTTP/1.0 client), as body_filter may change it.
            var hasLength = false
            if case .length = framing { hasLength = true }
            if !(downstream == .passthrough && hasLength && request.version.minor >= 1) {
                downstream = request.version.minor >= 1 ? .rechunk : .untilClose
            }
        }
        x.framing = downstream
        x.keepAlive =
            x.facts.keepAlive && x.requestEndReceived && !quiescing && !loop.isQuiescing && !downstream.closesConnection
            && requestsOnConnection < env.configuration.keepaliveRequests
        DownstreamResponseHead.write(
            from: head, upstreamChunked: framing == .chunked, framing: downstream,
            additions(upstreamLatency: x.milliseconds(since: x.upstreamStart, to: now)), into: &headBuffer)
        if x.runner != nil {
            filterResponseHead(&headBuffer, fromService: true, proxied: true, upstream: copy head)
            if x.bodyReplacement != nil {
                // A header_filter exit: its body, with its length, instead of the upstream's.
                x.filtersBody = true
                if downstream != .none { x.framing = .passthrough }
            }
        }
        addConfiguredHeaders(to: &headBuffer)
        if env.configuration.compression != nil, downstream != .none { compressResponse() }
        x.headBytes = headBuffer.readableBytes
        if logsForPlugins { keepSentHead(headBuffer) }
        responseHeadPending = true
        // Anything but passing the chunks on reads their data only.
        return framing == .chunked && x.framing != .passthrough
    }

    func additions(upstreamLatency: Int) -> ResponseAdditions {
        ResponseAdditions(
            enabled: env.responseHeaders, serverToken: env.configuration.serverToken,
            // Kong's outbound Via names HTTP/2 for `grpc`/`grpcs` services.
            viaToken: x.plan?.http2 == true ? env.http2ViaToken : env.viaToken,
            requestID: x.requestID, upstreamLatency: upstreamLatency,
            proxyLatency: x.milliseconds(since: x.start, to: x.upstreamStart), date: loop.dates.current(),
            keepAlive: x.keepAlive, requestUpgrade: x.facts.upgrade, wantsTrailers: x.facts.wantsTrailers,
            debug: x.debugHeaders, charset: env.charset)
    }

    /// nginx's `add_header` on the head of a proxied response (`location /`), after the
    /// plugins' `header_filter`, on the status they left.
    @inline(__always)
    func addConfiguredHeaders(to head: inout ByteBuffer) {
        if let lease = x.lease, let cookie = lease.newCookie, case .cookie(let name, let path) = lease.balancer.hashing.primary {
            PluginHeads.write([HTTPFields.Field(name: "Set-Cookie", value: HashSource.setCookie(name: name, value: cookie, path: path))][...], beforeEndOf: &head)
        }
        guard !env.configuration.addedHeaders.isEmpty else { return }
        env.configuration.addedHeaders.apply(to: &head, status: x.responseStatus, scope: .location)
    }

    /// Writes the response head if it is still held back.
    @inline(__always)
    func writePendingResponseHead() {
        guard responseHeadPending else { return }
        responseHeadPending = false
        output.write(headBuffer, context)
    }

    func upstreamBody(_ bytes: ByteBuffer) {
        guard phase == .proxying else { return }
        if x.bufferedHead != nil { return bufferResponseBody(bytes) }
        if x.filtersBody { return holdForBodyFilter(bytes) }
        if upstreamWait == .read, let plan = x.plan { upstreamTimer.arm(in: plan.readTimeout) }
        if responseHeadPending, x.framing != .rechunk, bytes.readableBytes <= 4096 {
            headBuffer.writeImmutableBuffer(bytes)
            return
        }
        writePendingResponseHead()
        writeResponseBody(bytes)
    }

    /// Gathers the body data of one upstream read for `body_filter` (``filterHeldBurst()``).
    func holdForBodyFilter(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        if filterBurst == nil {
            filterBurst = bytes
        } else {
            filterBurst!.writeImmutableBuffer(bytes)
        }
    }

    /// Runs the data of the read burst through `body_filter` and on to the client.
    func filterHeldBurst() {
        guard let burst = filterBurst else { return }
        filterBurst = nil
        upstreamBodyFiltered(burst, last: false)
    }

    /// Writes body bytes to the client in the downstream framing; when re-chunking, they join
    /// the chunk of the read burst (`writeHeldChunk`).
    func writeResponseBody(_ bytes: ByteBuffer) {
        if x.framing == .rechunk {
            heldChunk.append(bytes)
        } else {
            output.write(bytes, context)
        }
        if !clientWritable { x.upstream?.handler.pauseReads() }
    }

    /// Writes the chunk gathered while re-chunking.
    func writeHeldChunk() {
        heldChunk.drain(allocator: context.channel.allocator) { output.write($0, context) }
    }

    func upstreamResponseEnd() {
        guard phase == .proxying, let connection = x.upstream else { return }
        upstreamWait = .none
        upstreamTimer.disarm()
        x.upstream = nil
        if x.bufferedHead != nil { finishBufferedResponse() }
        if x.filtersBody {
            let trailers = connection.handler.trailers
            if !trailers.isEmpty, x.plugins != nil { x.plugins!.response.trailers = HTTPFields(trailerLines: trailers) }
            filterHeldBurst()
            upstreamBodyFiltered(empty, last: true)
        }
        writePendingResponseHead()
        if x.framing == .rechunk {
            writeHeldChunk()
            output.write(Self.lastChunk(trailers: connection.handler.trailers, allocator: context.channel.allocator), context)
        }
        // An upstream that declined an upgrade (no 101) may still treat the connection as
        // switching (llhttp-based servers stop parsing after an Upgrade request): not reused.
        loop.pool.release(
            connection, reusable: connection.handler.responseAllowsReuse && x.requestEndSent && x.facts.upgrade == nil)
        finishResponse()
    }

    /// The chunk that ends a re-chunked body, carrying the upstream's trailers (gRPC's
    /// `grpc-status`, which an HTTP/2 client gets as trailers), as a passed-through chunked
    /// body carries them.
    static func lastChunk(trailers: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        guard !trailers.isEmpty else { return allocator.buffer(staticString: "0\r\n\r\n") }
        var out = allocator.buffer(capacity: trailers.count + 7)
        out.writeStaticString("0\r\n")
        out.writeBytes(trailers)
        if !trailers.suffix(2).elementsEqual([0x0D, 0x0A]) { out.writeStaticString("\r\n") }
        out.writeStaticString("\r\n")
        return out
    }

    func upstreamTunnelBytes(_ bytes: ByteBuffer) {
        // nginx's proxy_read_timeout also ends a tunnel the upstream stopped talking on.
        if let plan = x.plan { upstreamTimer.arm(in: plan.readTimeout) }
        output.write(bytes, context)
        if !clientWritable { x.upstream?.handler.pauseReads() }
    }

    func upstreamReadComplete() {
        filterHeldBurst()
        writePendingResponseHead()
        writeHeldChunk()
        flushClient()
    }

    func upstreamWritabilityChanged(_ isWritable: Bool) {
        guard phase == .proxying || phase == .tunnel else { return }
        if isWritable {
            resumeClientReads()
            if upstreamWait == .write {
                // The request bytes are out: a whole request now waits `read_timeout` for its
                // answer (nginx arms it once the request is sent).
                if x.requestEndSent, let plan = x.plan {
                    upstreamWait = .read
                    upstreamTimer.arm(in: plan.readTimeout)
                } else {
                    upstreamWait = .none
                    upstreamTimer.disarm()
                }
            }
            // After the timers: the next part of a spooled body may make it unwritable again.
            if x.spool != nil { pumpSpool() }
        } else {
            pauseClientReads()
            // nginx's `proxy_send_timeout` (`write_timeout`): request bytes wait to go out, also
            // after the last was handed over, until a response comes.
            if phase == .proxying, !x.responseHeadSent, let plan = x.plan {
                upstreamWait = .write
                upstreamTimer.arm(in: plan.writeTimeout)
            }
        }
    }

    func upstreamFailed(_ error: ProxyError) {
        upstreamBroke(error)
    }

    // MARK: Tunnel

    /// The upstream switched protocols: send its `101` (through the plugins' `header_filter`, as
    /// nginx sends it through its header filters before it starts relaying), then relay bytes
    /// both ways until one side closes. The upstream connection is never pooled again.
    private func beginTunnel(_ head: borrowing MessageHead, now: NIODeadline) {
        x.keepAlive = false
        phase = .tunnel
        stopWaitingForClient()
        if let plan = x.plan {
            upstreamWait = .read
            upstreamTimer.arm(at: now + plan.readTimeout)
        }
        DownstreamResponseHead.write(
            from: head, upstreamChunked: false, framing: .none,
            additions(upstreamLatency: x.milliseconds(since: x.upstreamStart, to: now)), into: &headBuffer)
        if x.runner != nil { filterResponseHead(&headBuffer, fromService: true, proxied: true, upstream: copy head) }
        addConfiguredHeaders(to: &headBuffer)
        context.writeAndFlush(wrapOutboundOut(headBuffer), promise: nil)
        logExchange()
        if inbound.readableBytes > 0 {
            processInput()
            if !inClientRead { flushUpstreamIfNeeded() }
        }
    }
}
