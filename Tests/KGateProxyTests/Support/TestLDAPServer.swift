import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

@testable import KGatePlugins

/// An LDAP server for live tests, speaking the protocol over a real socket: simple binds are
/// accepted for the `accounts` given (DN and password) and refused with `invalidCredentials`
/// (49) otherwise; StartTLS switches the connection to TLS; with `ldaps`, TLS from the start.
final class TestLDAPServer: Sendable {
    private let channel: Channel
    private let binds = BindCounter()
    var port: Int { channel.localAddress!.port! }
    /// Binds answered so far.
    var bindCount: Int { binds.value.load(ordering: .relaxed) }
    /// Connections accepted so far.
    var connectionCount: Int { connections.value.load(ordering: .relaxed) }
    private let connections = BindCounter()

    /// A count shared with the connections' handlers.
    final class BindCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    init(accounts: [String: String], ldaps: Bool = false) async throws {
        let tls = try TestCertificates.serverContext()
        let binds = self.binds
        let connections = self.connections
        channel = try await ServerBootstrap(group: TestLoops.group)
            .childChannelInitializer { channel in
                connections.value.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    if ldaps { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(Session(accounts: accounts, tls: tls, binds: binds))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    private final class Session: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let accounts: [String: String]
        let tls: NIOSSLContext
        let binds: BindCounter
        var received = ByteBuffer()

        init(accounts: [String: String], tls: NIOSSLContext, binds: BindCounter) {
            self.accounts = accounts
            self.tls = tls
            self.binds = binds
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let (tag, contents) = BER.readTLV(&received) {
                guard tag == 0x30 else { return context.close(promise: nil) }
                var message = contents
                guard let (_, id) = BER.readTLV(&message), let (op, body) = BER.readTLV(&message) else { return }
                let messageID = id.readableBytesView.reduce(0) { $0 << 8 | Int($1) }
                switch op {
                case 0x60:
                    var b = body
                    guard BER.readTLV(&b) != nil, let (_, name) = BER.readTLV(&b), let (_, password) = BER.readTLV(&b) else { return }
                    binds.value.add(1, ordering: .relaxed)
                    let ok = accounts[String(buffer: name)] == String(buffer: password)
                    reply(context, messageID, 0x61, code: ok ? 0 : 49)
                case 0x77:
                    reply(context, messageID, 0x78, code: 0)
                    try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                default:
                    context.close(promise: nil)
                }
            }
        }

        func reply(_ context: ChannelHandlerContext, _ id: Int, _ op: UInt8, code: UInt8) {
            let result = BER.tlv(op, BER.tlv(0x0A, [code]) + BER.tlv(0x04, []) + BER.tlv(0x04, []))
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: BER.tlv(0x30, BER.tlv(0x02, BER.integer(id)) + result))), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
