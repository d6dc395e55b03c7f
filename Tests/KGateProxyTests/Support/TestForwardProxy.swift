import NIOCore
import NIOPosix
import Synchronization

/// An HTTP forward proxy for live tests that only tunnels (`CONNECT host:port`, then bytes both
/// ways blind), as Kong's spec/fixtures/forward-proxy-server.lua; it records the targets asked.
final class TestForwardProxy: Sendable {
    private let channel: any Channel
    private let asked = Mutex<[String]>([])

    /// The `CONNECT` targets asked so far.
    var targets: [String] { asked.withLock { $0 } }
    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        let box = Box()
        channel = try await ServerBootstrap(group: TestLoops.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ConnectReader(proxy: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        box.proxy.withLock { $0 = self }
    }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func record(_ target: String) { asked.withLock { $0.append(target) } }

    /// Lets the child handlers reach the proxy made after the bind.
    fileprivate final class Box: Sendable {
        let proxy = Mutex<TestForwardProxy?>(nil)
    }
}

/// Reads the `CONNECT` request, connects to its target, answers 200 and glues the two.
private final class ConnectReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let proxy: TestForwardProxy.Box
    private var received: [UInt8] = []
    private var peer: (any Channel)?

    init(proxy: TestForwardProxy.Box) { self.proxy = proxy }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        if let peer {
            peer.writeAndFlush(chunk, promise: nil)
            return
        }
        received += chunk.readableBytesView
        guard let end = received.firstRange(of: [13, 10, 13, 10])?.lowerBound else { return }
        let line = String(decoding: received.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2, line[0] == "CONNECT", let colon = line[1].lastIndex(of: ":"), let port = Int(line[1][line[1].index(after: colon)...])
        else {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\n\r\n")), promise: nil)
            context.close(promise: nil)
            return
        }
        let host = String(line[1][..<colon])
        proxy.proxy.withLock { $0 }?.record(String(line[1]))
        let rest = Array(received[(end + 4)...])
        let client = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { peer in
                peer.eventLoop.makeCompletedFuture { try peer.pipeline.syncOperations.addHandler(Relay(to: client)) }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let peer):
                    loopBound.value.peer = peer
                    client.writeAndFlush(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\n\r\n"), promise: nil)
                    if !rest.isEmpty { peer.writeAndFlush(ByteBuffer(bytes: rest), promise: nil) }
                case .failure:
                    client.writeAndFlush(ByteBuffer(string: "HTTP/1.1 502 Bad Gateway\r\n\r\n"), promise: nil)
                    client.close(promise: nil)
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
    }
}

/// Copies what one side of the tunnel reads to the other.
private final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let other: any Channel

    init(to other: any Channel) { self.other = other }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        other.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        other.close(promise: nil)
    }
}
