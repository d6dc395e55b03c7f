import KGatePlugins
import KGateRouter
import KGateSchema
import KGateStore
import NIOCore
import NIOHTTP1

/// Proxies the requests of one client connection, one at a time: parses each head from the
/// bytes as they arrive (nginx's limits and strictness), routes it, takes an upstream
/// connection from the event loop's pool, writes the upstream request head, and streams the body
/// up and the response down as `ByteBuffer` slices of what was read, with back-pressure both
/// ways. Pipelined requests wait in the input buffer.
///
/// It is the only handler of the connection: no HTTP codec objects, and in the steady state no
/// allocation per request (heads are written into per-connection buffers, flushes are batched
/// per event-loop tick). Nothing hops threads: the client connection, its upstream connections,
/// the pool and the DNS cache live on one event loop.
///
/// Requests are in `ProxyHandler+Request.swift`, the upstream side in
/// `ProxyHandler+Upstream.swift`, the ends of exchanges in `ProxyHandler+Respond.swift`.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler, DeferredFlush {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase {
        /// Waiting for (the rest of) a request head.
        case idle
        /// Plugins wait for the whole request body before `access`; it is held in memory.
        case readingBody
        /// Choosing a target or connecting; body bytes are buffered.
        case connecting
        /// An upstream connection serves the request.
        case proxying
        /// A generated response was sent; the rest of the request body is discarded.
        case responding
        /// Bytes are relayed both ways (after `101 Switching Protocols`).
        case tunnel
        /// The connection closes once the last write is flushed.
        case closing
    }

    /// What the client timer is waiting for.
    enum ClientWait {
        case none, header, body, keepalive
        /// Dropping what the client still sends before closing (``lingerBeforeClosing(_:)``).
        case lingering
    }

    /// nginx's `lingering_time` and `lingering_timeout`.
    static let lingeringTime = TimeAmount.seconds(30)
    static let lingeringTimeout = TimeAmount.seconds(5)

    /// What the upstream timer is waiting for.
    enum UpstreamWait {
        case none, read, write
    }

    /// Input held back (pipelined requests, body bytes while connecting) before reads pause.
    static let inputHighWater = 65536
    /// Bytes read from a spooled body per write upstream.
    static let spoolReadSize = 65536

    let env: ProxyEnvironment
    let loop: LoopContext
    /// Set while the handler is in its pipeline. The context holds the handler too, so
    /// `handlerRemoved` lets go of it: the cycle would keep every closed connection's handler
    /// and context alive. Nothing uses it once the connection is inactive: callbacks that come
    /// later (connects, resolutions, timers) check `serial`, bumped by `channelInactive`, and
    /// a batched flush checks for nil.
    var context: ChannelHandlerContext!
    /// Where writes to the client go (straight to the channel when it has no TLS handler).
    var output = ChannelOutput()

    // Connection.
    /// The connection came through a TLS listener (Kong's `$scheme` is `https`).
    let tls: Bool
    /// The requests are an HTTP/2 stream's (``HTTP2StreamBridge`` in front): they say
    /// HTTP/2 to routing (gRPC), `Via`, plugins and the logs.
    let http2: Bool
    /// The SNI the client sent in its TLS handshake, if any.
    var serverName: String?
    /// The client's TLS session (nginx's `$ssl_protocol`, `$ssl_cipher`), for log plugins.
    var clientTLS: ClientTLS?
    /// The client address of the connection's PROXY protocol header (nginx's
    /// `$proxy_protocol_addr`), used with `real_ip_header = proxy_protocol`.
    var proxyProtocolAddress: String?
    var remoteIP = ""
    var remotePort = 0
    var serverPort = ""
    var serverPortNumber: Int?
    /// `serverPortNumber` after `port_maps`.
    var hostPortNumber: Int?
    var peerTrusted = false
    /// The local address (`$server_addr`) and serial number (`$connection`), for plugins.
    var serverIP: IPAddress?
    var connectionNumber = 0
    var requestsOnConnection = 0
    /// A request is counted in the loop's `stats` as in progress.
    var requestInProgress = false
    var phase = Phase.idle
    var quiescing = false
    /// When a lingering close gives up on the client.
    var lingeringEnds = NIODeadline.uptimeNanoseconds(0)
    var registered = false
    let clientTimer: LazyTimer
    var clientWait = ClientWait.none
    /// Reading from the client is paused (`autoRead` off).
    var readsPaused = false
    /// The client channel's writability, tracked from events.
    var clientWritable = true
    /// Waiting in the loop's flush batch.
    var flushQueued = false
    var upstreamNeedsFlush = false
    /// Inside `channelRead`: upstream writes are flushed at `channelReadComplete`.
    var inClientRead = false

    // Input.
    var inbound = ByteBuffer()
    let empty = ByteBuffer()
    var scanner: HeadScanner
    var headStorage = ByteBuffer()
    /// Reused for the heads this connection writes: the upstream request's, then the client
    /// response's. One buffer is enough: the upstream head has been written out (and the channel
    /// let go of the bytes) before a response head is written into it; when it has not (an
    /// upstream answering while its connection is still not writable), writing copies it first.
    var headBuffer = ByteBuffer()
    /// The response head is in `headBuffer`, not written yet: a small body read with it
    /// joins it, so both go down in one write.
    var responseHeadPending = false
    /// The current request's head (its buffer is `headStorage`).
    var request = MessageHead()
    /// The strings of the connection's last request that the next one likely repeats.
    var recent = RecentRequestStrings()
    var requestBody = BodyTracker(.none)

    // The current exchange.
    var x = Exchange()
    /// Body bytes received while connecting (kept allocated across requests).
    var pendingBody = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    var pendingBodyBytes = 0
    /// A copy of the request body sent upstream while it may be sent again on a retry.
    var replayableBody = ByteBuffer()
    let upstreamTimer: LazyTimer
    var upstreamWait = UpstreamWait.none
    /// Bumped per request: late callbacks of an earlier exchange are ignored.
    var serial: UInt64 = 0
    /// The last time read while handling a response (reused to arm the keep-alive timer).
    var lastNow: NIODeadline?
    /// The data of the chunk being gathered when the response is re-chunked.
    var heldChunk = ChunkGroup()
    /// The upstream body read in this burst, for `body_filter`: as nginx, a filter sees one
    /// piece per read, however many chunks the upstream framed it in.
    var filterBurst: ByteBuffer?
    /// A reusable parse target for response heads that plugins change.
    var scratchHead = MessageHead()

    init(env: ProxyEnvironment, loop: LoopContext, tls: Bool = false, http2: Bool = false) {
        self.env = env
        self.loop = loop
        self.tls = tls
        self.http2 = http2
        self.clientTimer = LazyTimer(timers: loop.timers)
        self.upstreamTimer = LazyTimer(timers: loop.timers)
        self.scanner = HeadScanner(
            firstBuffer: env.configuration.clientHeaderBufferSize, bufferCount: env.configuration.largeHeaderBufferCount,
            lineLimit: env.configuration.largeHeaderBufferSize)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !tls, !http2 { output = ChannelOutput(direct: context) }
        clientTimer.onFire = { [unowned self] in self.clientTimerFired() }
        upstreamTimer.onFire = { [unowned self] in self.upstreamTimerFired() }
        if context.channel.isActive { connectionBecameActive(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        output.detach()
    }

    func channelActive(context: ChannelHandlerContext) {
        connectionBecameActive(context)
        context.fireChannelActive()
    }

    private func connectionBecameActive(_ context: ChannelHandlerContext) {
        guard !registered else { return }
        registered = true
        let remote = context.channel.remoteAddress
        remoteIP = remote?.ip?.nginxText ?? ""
        remotePort = remote?.port ?? 0
        let local = context.channel.localAddress
        serverPortNumber = local?.port
        serverIP = local?.ip
        connectionNumber = env.acceptedConnections.wrappingIncrementThenLoad(ordering: .relaxed)
        // Routing (`net.dst.port`) and `X-Forwarded-Port` see the port the client reached:
        // `port_maps` maps the listener's port (Kong's `ctx.host_port = host_ports[server_port]
        // or server_port`).
        hostPortNumber = serverPortNumber.map { env.configuration.hostPort(for: $0) }
        serverPort = hostPortNumber.map { String($0) } ?? ""
        peerTrusted = env.configuration.trustedIPs.contains(remote)
        loop.register(self)
        waitForClient(.header, env.configuration.clientHeaderTimeout)
        if loop.isQuiescing { quiesce() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        logAbortedExchange()
        clientTimer.cancel()
        upstreamTimer.cancel()
        if let connection = x.upstream {
            x.upstream = nil
            connection.handler.endExchange()
            connection.channel.close(promise: nil)
        }
        // Keeping the capacity: dropping it allocates a fresh empty buffer, for a handler that
        // is about to go.
        pendingBody.removeAll(keepingCapacity: true)
        heldChunk.removeAll()
        filterBurst = nil
        inbound = empty
        serial &+= 1
        phase = .closing
        endRequest()
        if registered { loop.unregister(self) }
        context.fireChannelInactive()
    }

    // MARK: Input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound.writeBuffer(&buffer)
        }
        inClientRead = true
        processInput()
        inClientRead = false
        if inbound.readableBytes == 0 {
            inbound = empty
        } else if inbound.readableBytes > Self.inputHighWater, phase != .idle {
            pauseClientReads()
        }
    }

    /// Consumes buffered input as far as the current phase allows.
    func processInput() {
        while inbound.readableBytes > 0 {
            switch phase {
            case .idle:
                guard readRequestHead() else { return }
            case .readingBody, .connecting, .proxying, .responding:
                guard !requestBody.isComplete else { return }
                guard let taken = requestBody.take(inbound) else { return badRequestBody() }
                let slice = inbound.readSlice(length: taken)!
                requestBodyBytes(slice)
                if requestBody.isComplete { requestEnd() }
            case .tunnel:
                guard let upstream = x.upstream else { return }
                upstream.handler.write(inbound)
                inbound = empty
                upstreamNeedsFlush = true
                if !upstream.handler.isWritable { pauseClientReads() }
            case .closing:
                inbound = empty
                lingeringInput()
            }
        }
    }

    /// Finds and parses the next request head; false when more bytes are needed or the
    /// connection is being refused.
    private func readRequestHead() -> Bool {
        if clientWait == .keepalive { waitForClient(.header, env.configuration.clientHeaderTimeout) }
        let fresh = scanner.isAtStart
        switch scanner.scan(inbound) {
        case .incomplete:
            // nginx refuses a head at its first impossible byte, before the head ends; kgate
            // looks at the bytes of a head's first read (more reads would rescan them).
            if fresh, let error = HeadParser.prefixError(inbound) { refuse(error, bytes: inbound) }
            return false
        case .error(let error):
            // A head both too long and malformed is malformed to nginx when the bad byte
            // comes first.
            refuse(HeadParser.prefixError(inbound) ?? error, bytes: inbound)
            return false
        case .complete(let start, let length):
            request.buffer = empty
            headStorage.clear()
            headStorage.writeImmutableBuffer(inbound.getSlice(at: inbound.readerIndex + start, length: length)!)
            inbound.moveReaderIndex(forwardBy: start + length)
            if let error = HeadParser.parseRequest(headStorage, into: &request) {
                refuse(error, bytes: headStorage)
                return false
            }
            requestHead()
            return true
        }
    }

    /// Not passed on: the handler is the last of its pipeline (the tail ignores the event).
    func channelReadComplete(context: ChannelHandlerContext) {
        flushUpstreamIfNeeded()
    }

    /// Flushes what was written upstream during a burst of input (at the end of the tick).
    func flushUpstreamIfNeeded() {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            if let handler = x.upstream?.handler { loop.flushes.flushSoon(handler) }
        }
    }

    /// Flushes what was written to the client (at the end of the tick).
    func flushClient() {
        loop.flushes.flushSoon(self, first: true)
    }

    func flushNow() {
        if let context { output.flush(context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritable = context.channel.isWritable
        if clientWritable {
            x.upstream?.handler.resumeReads()
        } else {
            x.upstream?.handler.pauseReads()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Back-pressure towards the client

    /// Stops reading from the client (`autoRead` off: toggled only under pressure, so the
    /// handler needs no outbound `read` hop on every read).
    func pauseClientReads() {
        guard !readsPaused else { return }
        readsPaused = true
        if clientWait == .body { clientTimer.disarm() }
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
    }

    func resumeClientReads() {
        guard readsPaused else { return }
        readsPaused = false
        if clientWait == .body { clientTimer.arm(in: env.configuration.clientBodyTimeout) }
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
    }

    // MARK: Client timers

    func waitForClient(_ wait: ClientWait, _ timeout: TimeAmount) {
        clientWait = wait
        clientTimer.arm(in: timeout)
    }

    func stopWaitingForClient() {
        clientWait = .none
        clientTimer.disarm()
    }

    private func clientTimerFired() {
        switch clientWait {
        case .none:
            return
        case .keepalive, .lingering:
            close()
        case .header:
            // A head that never completed gets a 408; a connection that sent nothing just closes.
            if phase == .idle, inbound.readableBytes > 0 {
                refuseRaw(.nginx(408), format: format(ofLinesTaken: inbound), line: inbound)
            } else {
                close()
            }
        case .body:
            clientWait = .none
            abandonUpstream()
            if x.responseHeadSent {
                close()
            } else {
                respond(.nginx(408), forceClose: true)
            }
        }
    }

    // MARK: Shutdown

    /// Graceful shutdown: an idle connection closes now, a busy one after its response.
    func quiesce() {
        quiescing = true
        if phase == .idle, inbound.readableBytes == 0 { close() }
    }

    /// The grace period is over.
    func forceClose() {
        close()
    }

    func close() {
        phase = .closing
        context.close(promise: nil)
    }
}

extension ProxyHandler: LoopConnection, ClientConnectionFacts {}

/// The handler that learns what the handlers in front of it read before any HTTP: the PROXY
/// protocol header's client address, the TLS client's SNI and its session's version and cipher.
protocol ClientConnectionFacts: AnyObject {
    var serverName: String? { get set }
    var proxyProtocolAddress: String? { get set }
    var clientTLS: ClientTLS? { get set }
}

/// The `Host` and target of a connection's last request, reused when the next request sends
/// the same bytes instead of making (allocating) equal strings again.
struct RecentRequestStrings {
    /// Targets longer than this are not kept: an idle connection holds what it keeps.
    static let targetLimit = 512
    /// The longest string Swift stores inline: making one costs less than comparing it.
    static let inlineLimit = 15

    private(set) var host: String?
    private(set) var target: String?
    /// The last routing answer, when the router reads neither headers nor addresses: the
    /// connection's next request with the same method, target and `Host` gets it again.
    var route: RouteMemo?

    /// Keeps what is worth keeping: strings that are not inline.
    mutating func remember(host: String?) {
        if let host, host.utf8.count > Self.inlineLimit { self.host = host }
    }

    mutating func remember(target: String) {
        let n = target.utf8.count
        if n > Self.inlineLimit, n <= Self.targetLimit { self.target = target }
    }
}

/// A routing answer kept for the connection's next request (``RecentRequestStrings/route``):
/// with the scheme, SNI and port fixed by the connection, the router's answer depends only on
/// the method, target and `Host` it was asked with.
final class RouteMemo {
    let router: Router
    let method: HTTPMethod
    let target: String
    let host: String?
    let match: RouteMatch?
    /// ``ProxyHandler/upstreamTarget(_:target:)`` of the match.
    let upstreamTarget: String?

    init(router: Router, method: HTTPMethod, target: String, host: String?, match: RouteMatch?, upstreamTarget: String?) {
        self.router = router
        self.method = method
        self.target = target
        self.host = host
        self.match = match
        self.upstreamTarget = upstreamTarget
    }

    /// Whether the memo holds `router`'s answer to this request.
    @inline(__always)
    func answers(_ router: Router, _ method: HTTPMethod, _ target: String, _ host: String?) -> Bool {
        self.router === router && self.target == target && self.host == host && self.method == method
    }
}
