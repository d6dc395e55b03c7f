import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTP/2 upstream answering as a gRPC server does, for live tests: per stream, once the
/// request ended, HEADERS (`:status 200`, `content-type: application/grpc`, and the request's
/// pseudo-headers and a few fields echoed as `x-echo-*`), the request body as DATA, then
/// trailers `grpc-status: 0` and `grpc-message: ok`; a path ending in `/Fail` gets a
/// trailers-only answer (`grpc-status: 12`). Cleartext (h2c prior knowledge), or TLS with ALPN
/// `h2`.
final class GRPCTestUpstream: Sendable {
    private let channel = Mutex<Channel?>(nil)
    private let accepted = Atomic<Int>(0)
    private let tls: NIOSSLContext?

    init(tls: Bool = false) throws {
        if tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.serverPEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(TestCertificates.serverKeyPEM.utf8), format: .pem)))
            configuration.applicationProtocols = ["h2"]
            self.tls = try NIOSSLContext(configuration: configuration)
        } else {
            self.tls = nil
        }
    }

    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
    /// Connections accepted so far.
    var connectionsAccepted: Int { accepted.load(ordering: .relaxed) }

    func start() async throws {
        let tls = self.tls
        let bound = try await ServerBootstrap(group: TestLoops.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                accepted.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    _ = try sync.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(Echo()) }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = bound }
    }

    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    private final class Echo: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload

        private var request = HPACKHeaders()
        private var body = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let ended: Bool
            switch unwrapInboundIn(data) {
            case .headers(let frame):
                request.add(contentsOf: frame.headers)
                ended = frame.endStream
            case .data(let frame):
                if case .byteBuffer(var bytes) = frame.data { body.writeBuffer(&bytes) }
                ended = frame.endStream
            default:
                return
            }
            guard ended else { return }
            if request.first(name: ":path")?.hasSuffix("/Fail") == true {
                // A trailers-only response: the status in the one HEADERS frame.
                let only = HPACKHeaders([
                    (":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "12"), ("grpc-message", "unimplemented"),
                ])
                context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: only, endStream: true))), promise: nil)
                return
            }
            var headers = HPACKHeaders([(":status", "200"), ("content-type", "application/grpc"), ("server", "grpc-test")])
            for name in [":path", ":authority", ":scheme", "te", "via", "x-forwarded-proto", "content-length"] {
                if let value = request.first(name: name) {
                    headers.add(name: "x-echo-" + name.trimmingPrefix(":"), value: value)
                }
            }
            context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
            if body.readableBytes > 0 { context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(body)))), promise: nil) }
            let trailers = HPACKHeaders([("grpc-status", "0"), ("grpc-message", "ok")])
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        }
    }
}
