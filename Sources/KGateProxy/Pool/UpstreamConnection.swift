import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Identifies a pool of interchangeable upstream connections: same address, port and TLS
/// settings (profile and server name).
struct PeerKey: Hashable {
    var ip: IPBytes
    var port: Int
    /// The TLS profile's identity; nil for plain HTTP.
    var tls: ObjectIdentifier?
    /// The SNI sent (TLS only).
    var serverName: String?
    /// HTTP/2 (`grpc`, `grpcs` services): exchanges are streams of one connection.
    var http2 = false

    /// One combine of the address words (the pool looks keys up twice per request); TLS keys
    /// add their profile and server name.
    func hash(into hasher: inout Hasher) {
        hasher.combine(ip.high ^ ip.low &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: port) << 48)
        if let tls {
            hasher.combine(tls)
            hasher.combine(serverName)
        }
        if http2 { hasher.combine(http2) }
    }
}

/// One connection to an upstream, owned by its event loop's pool between exchanges and by one
/// exchange at a time. Confined to its event loop.
final class UpstreamConnection {
    let channel: Channel
    let handler: UpstreamHandler
    let key: PeerKey
    /// Keeps the TLS context alive while the connection exists (see `PeerKey.tls`).
    let tlsProfile: TLSProfile?
    /// Requests sent on this connection.
    var requestsServed = 0

    init(channel: Channel, handler: UpstreamHandler, key: PeerKey, tlsProfile: TLSProfile?) {
        self.channel = channel
        self.handler = handler
        self.key = key
        self.tlsProfile = tlsProfile
    }

    /// Whether the connection can carry a request (still open).
    var isUsable: Bool { handler.isOpen }

    /// Opens a connection: TCP connect, then the TLS handshake for TLS peers, all within
    /// `connectTimeout`. `completion` runs on `eventLoop`.
    static func connect(
        to address: SocketAddress, key: PeerKey, tls: TLSProfile?, connectTimeout: TimeAmount, responseHeadLimit: Int,
        on eventLoop: EventLoop, completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        let start = eventLoop.now
        let serverName = key.serverName
        let verify = NIOLoopBound(CertificateVerifyRecorder(), eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(tls.clientHandler(serverHostname: serverName, recorder: verify.value))
                    }
                    try sync.addHandler(UpstreamHandler(alone: tls == nil, headLimit: responseHeadLimit))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(to: address).assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                    channel.close(promise: nil)
                    return completion(.failure(UpstreamConnectionClosed()))
                }
                let connection = UpstreamConnection(channel: channel, handler: handler, key: key, tlsProfile: tls)
                guard tls != nil else { return completion(.success(connection)) }
                let remaining = connectTimeout - (eventLoop.now - start)
                handler.awaitHandshake(timeout: remaining) { error in
                    if let error {
                        channel.close(promise: nil)
                        // BoringSSL says only that verification failed; the callback saw why.
                        let failure = error is NIOSSLError ? verify.value.failure : nil
                        completion(.failure(failure ?? error))
                    } else {
                        completion(.success(connection))
                    }
                }
            }
        }
    }
}

/// The TCP connection or the TLS handshake did not finish within `connect_timeout`.
struct UpstreamConnectTimeout: Error, CustomStringConvertible {
    var description: String { "upstream timed out while connecting" }
}
