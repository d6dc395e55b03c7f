import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS

/// One event loop's HTTP/2 connections to `grpc`/`grpcs` services, one per peer, each carrying
/// an exchange per stream (nginx's `grpc_pass` with keep-alive). An exchange gets a stream
/// channel with ``HTTP2ClientStreamBridge`` and an ``UpstreamHandler``: to the proxy handler it
/// is an upstream connection used once. Confined to its event loop.
final class HTTP2UpstreamSessions {
    private let eventLoop: EventLoop
    private var sessions: [PeerKey: Session] = [:]

    private final class Session {
        var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
        var channel: Channel?
        /// Streams waiting for the connection (and its handshake).
        var waiting: [(Result<NIOHTTP2Handler.StreamMultiplexer, any Error>) -> Void] = []
        /// The peer sent GOAWAY, or the connection closed: no new streams.
        var usable = true
    }

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Opens a stream to `key`'s peer, connecting first when no connection is open.
    func openStream(
        to address: SocketAddress, key: PeerKey, tls: TLSProfile?, connectTimeout: TimeAmount, responseHeadLimit: Int,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        let scheme = tls == nil ? "http" : "https"
        let session = sessions[key].flatMap { $0.usable ? $0 : nil } ?? Session()
        let opened: (Result<NIOHTTP2Handler.StreamMultiplexer, any Error>) -> Void = { [self] result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let multiplexer):
                multiplexer.createStreamChannel { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandlers(
                            HTTP2ClientStreamBridge(scheme: scheme), UpstreamHandler(alone: false, headLimit: responseHeadLimit))
                    }
                }.assumeIsolated().whenComplete { [self] result in
                    // A connection that takes no more streams (the peer's GOAWAY, say) is
                    // replaced by the next exchange's.
                    if case .failure = result { retire(session, key: key) }
                    completion(
                        result.flatMap { stream in
                            Result {
                                let handler = try stream.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                                return UpstreamConnection(channel: stream, handler: handler, key: key, tlsProfile: tls)
                            }
                        })
                }
            }
        }
        if sessions[key] === session {
            if let multiplexer = session.multiplexer { return opened(.success(multiplexer)) }
            session.waiting.append(opened)
            return
        }
        session.waiting.append(opened)
        sessions[key] = session
        connect(to: address, key: key, tls: tls, connectTimeout: connectTimeout, session: session)
    }

    /// Forgets a connection new streams should not use.
    private func retire(_ session: Session, key: PeerKey) {
        session.usable = false
        if sessions[key] === session { sessions[key] = nil }
    }

    /// Closes every connection (shutdown).
    func shutdown() {
        for session in sessions.values { session.channel?.close(promise: nil) }
        sessions = [:]
    }

    private func connect(to address: SocketAddress, key: PeerKey, tls: TLSProfile?, connectTimeout: TimeAmount, session: Session) {
        let loop = eventLoop
        let ready = loop.makePromise(of: NIOHTTP2Handler.StreamMultiplexer.self)
        let serverName = key.serverName
        let verify = NIOLoopBound(CertificateVerifyRecorder(), eventLoop: loop)
        let plain = NIOLoopBoundBox<NIOHTTP2Handler.StreamMultiplexer?>(nil, eventLoop: loop)
        let timeout = loop.assumeIsolated().scheduleTask(in: connectTimeout) { ready.fail(UpstreamConnectTimeout()) }
        ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    var gate: HandshakeGate?
                    if let tls {
                        try sync.addHandler(tls.clientHandler(serverHostname: serverName, recorder: verify.value))
                        gate = HandshakeGate(ready: ready)
                        try sync.addHandler(gate!)
                    }
                    let multiplexer = try sync.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { $0.eventLoop.makeSucceededVoidFuture() }
                    // Ready once connected (cleartext) or once the handshake completed (TLS).
                    if let gate { gate.multiplexer = multiplexer } else { plain.value = multiplexer }
                }
            }
            .connect(to: address).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .failure(let error):
                    ready.fail(error)
                case .success(let channel):
                    session.channel = channel
                    if let multiplexer = plain.value { ready.succeed(multiplexer) }
                    channel.closeFuture.assumeIsolated().whenComplete { [self] _ in retire(session, key: key) }
                }
            }
        ready.futureResult.assumeIsolated().whenComplete { [self] result in
            timeout.cancel()
            let waiting = session.waiting
            session.waiting = []
            switch result {
            case .success(let multiplexer):
                session.multiplexer = multiplexer
            case .failure:
                retire(session, key: key)
                session.channel?.close(promise: nil)
            }
            // BoringSSL says only that verification failed; the callback saw why.
            let outcome = result.mapError { error in error is NIOSSLError ? verify.value.failure ?? error : error }
            for callback in waiting { callback(outcome) }
        }
    }
}

/// Holds a TLS connection's HTTP/2 multiplexer back until the handshake completed.
private final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let ready: EventLoopPromise<NIOHTTP2Handler.StreamMultiplexer>
    var multiplexer: NIOHTTP2Handler.StreamMultiplexer?

    init(ready: EventLoopPromise<NIOHTTP2Handler.StreamMultiplexer>) {
        self.ready = ready
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, let multiplexer {
            ready.succeed(multiplexer)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(UpstreamConnectionClosed())
        context.fireChannelInactive()
    }
}
