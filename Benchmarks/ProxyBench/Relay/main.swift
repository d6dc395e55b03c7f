// `kgate-bench-relay <listen port> <upstream port>`: the floor of a SwiftNIO proxy, for
// `make bench-proxy`.
//
// Each client connection gets its own upstream connection (kept for the client's life) and
// bytes are relayed both ways with nothing else done: no HTTP parsing, routing, headers, pool
// or timers. What it costs per request is what SwiftNIO's channels cost a proxy (two channels,
// a read and a write on each); kgate's own work comes on top of it.
import NIOCore
import NIOPosix

/// Writes what its channel reads to the peer channel, flushing once per read burst.
final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let upstreamPort: Int?
    private var peer: Channel?
    /// What the client sent before the upstream connection was up.
    private var early: [ByteBuffer] = []
    private var unflushed = false

    /// A client side (`upstreamPort`: where to connect) or an upstream side (`peer`: the client).
    init(upstreamPort: Int? = nil, peer: Channel? = nil) {
        self.upstreamPort = upstreamPort
        self.peer = peer
    }

    /// Adds a relay handler to a new channel's pipeline.
    static func install(on channel: Channel, upstreamPort: Int? = nil, peer: Channel? = nil) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RelayHandler(upstreamPort: upstreamPort, peer: peer))
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let upstreamPort else { return }
        let client = context.channel
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in RelayHandler.install(on: upstream, peer: client) }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    self.peer = upstream
                    for buffer in self.early { upstream.write(buffer, promise: nil) }
                    self.early = []
                    upstream.flush()
                case .failure:
                    context.close(promise: nil)
                }
            }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let peer else { return early.append(buffer) }
        peer.write(buffer, promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard unflushed, let peer else { return }
        unflushed = false
        peer.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]) else {
    fatalError("usage: kgate-bench-relay <listen port> <upstream port>")
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 16384)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in RelayHandler.install(on: client, upstreamPort: upstreamPort) }
    .bind(host: "127.0.0.1", port: listenPort)
    .get()
try await server.closeFuture.get()
