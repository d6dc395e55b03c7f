import NIOCore
import NIOPosix
import Synchronization

@testable import KGateProxy

/// A DNS server on a real UDP socket answering from a table (A, AAAA, CNAME and SRV records,
/// with the addresses of SRV targets as additional records), NXDOMAIN for other names. It
/// counts the questions it is asked.
final class TestDNSServer: Sendable {
    enum Answer: Sendable {
        case a(String)
        case cname(String)
        case srv(priority: Int, weight: Int, port: Int, target: String)
    }

    let channel: Channel
    let port: Int
    private let asked = Mutex<[String]>([])

    /// The questions asked so far, as `name/type`.
    var questions: [String] { asked.withLock { $0 } }

    private init(channel: Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    static func start(_ records: [String: [Answer]], ttl: Int = 60) async throws -> TestDNSServer {
        let box = Mutex<TestDNSServer?>(nil)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Responder(records: records, ttl: ttl, log: { entry in box.withLock { $0?.asked.withLock { $0.append(entry) } } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestDNSServer(channel: channel, port: channel.localAddress?.port ?? 0)
        box.withLock { $0 = server }
        return server
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let records: [String: [Answer]]
        let ttl: Int
        let log: @Sendable (String) -> Void

        init(records: [String: [Answer]], ttl: Int, log: @escaping @Sendable (String) -> Void) {
            self.records = records
            self.ttl = ttl
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let query = Array(envelope.data.readableBytesView)
            guard query.count > 12 else { return }
            // The question: labels, then type and class.
            var i = 12
            var labels: [String] = []
            while i < query.count, query[i] != 0 {
                let n = Int(query[i])
                labels.append(String(decoding: query[(i + 1)..<min(query.count, i + 1 + n)], as: UTF8.self))
                i += 1 + n
            }
            guard i + 4 < query.count else { return }
            let name = labels.joined(separator: ".").lowercased()
            let type = UInt16(query[i + 1]) << 8 | UInt16(query[i + 2])
            log("\(name)/\(type)")
            let question = Array(query[12...(i + 4)])
            var answers: [[UInt8]] = []
            var additionals: [[UInt8]] = []
            let known = records[name]
            for answer in known ?? [] {
                switch (answer, type) {
                case (.a(let ip), 1): answers.append(record(name, 1, Self.ipv4(ip)))
                case (.cname(let target), _) where type != 33:
                    answers.append(record(name, 5, Self.name(target)))
                    for case .a(let ip) in records[target] ?? [] { answers.append(record(target, 1, Self.ipv4(ip))) }
                case (.srv(let priority, let weight, let port, let target), 33):
                    answers.append(record(name, 33, Self.u16(priority) + Self.u16(weight) + Self.u16(port) + Self.name(target)))
                    for case .a(let ip) in records[target] ?? [] { additionals.append(record(target, 1, Self.ipv4(ip))) }
                default: break
                }
            }
            let rcode: UInt8 = known == nil ? 3 : 0
            var reply: [UInt8] = [query[0], query[1], 0x81, 0x80 | rcode, 0, 1]
            reply += Self.u16(answers.count) + [0, 0] + Self.u16(additionals.count)
            reply += question
            for r in answers + additionals { reply += r }
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))),
                promise: nil)
        }

        private func record(_ name: String, _ type: UInt16, _ data: [UInt8]) -> [UInt8] {
            Self.name(name) + Self.u16(Int(type)) + [0, 1] + Self.u32(ttl) + Self.u16(data.count) + data
        }

        static func name(_ text: String) -> [UInt8] {
            text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
        }

        static func ipv4(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }
        static func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        static func u32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    }
}
