import NIOCore
import NIOPosix
import Synchronization

@testable import KGateProxy

/// A DNS server on a real UDP socket answering from a table (A, AAAA, CNAME and SRV records,
/// with the addresses of SRV targets as additional records), NXDOMAIN for other names, and on
/// TCP at the same port. An answer longer than `udpLimit` bytes goes over UDP truncated (the TC
/// flag, no records), as real servers do. It counts the questions it is asked (TCP ones
/// prefixed `tcp:`).
final class TestDNSServer: Sendable {
    enum Answer: Sendable {
        case a(String)
        case cname(String)
        case srv(priority: Int, weight: Int, port: Int, target: String)
    }

    let channel: Channel
    private let tcp = Mutex<Channel?>(nil)
    let port: Int
    private let asked = Mutex<[String]>([])

    /// The questions asked so far, as `name/type`.
    var questions: [String] { asked.withLock { $0 } }

    private init(channel: Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Starts a server on a free port number for both UDP and TCP (another socket may hold the
    /// TCP port of a free UDP one: then another UDP port is tried).
    static func start(_ records: [String: [Answer]], ttl: Int = 60, udpLimit: Int = 4096) async throws -> TestDNSServer {
        var attempt = 0
        while true {
            do {
                return try await bind(records, ttl: ttl, udpLimit: udpLimit)
            } catch let error as IOError where error.errnoCode == EADDRINUSE && attempt < 20 {
                attempt += 1
            }
        }
    }

    private static func bind(_ records: [String: [Answer]], ttl: Int, udpLimit: Int) async throws -> TestDNSServer {
        let box = Mutex<TestDNSServer?>(nil)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Responder(
                            records: records, ttl: ttl, udpLimit: udpLimit,
                            log: { entry in box.withLock { $0?.asked.withLock { $0.append(entry) } } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestDNSServer(channel: channel, port: channel.localAddress?.port ?? 0)
        box.withLock { $0 = server }
        let stream: Channel
        do {
            stream = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(
                            StreamResponder(
                                records: records, ttl: ttl, log: { entry in server.asked.withLock { $0.append("tcp:" + entry) } }))
                    }
                }
                .bind(host: "127.0.0.1", port: server.port).get()
        } catch {
            await server.stop()
            throw error
        }
        server.tcp.withLock { $0 = stream }
        return server
    }

    func stop() async {
        try? await channel.close()
        try? await tcp.withLock { $0 }?.close()
    }

    /// Answers length-prefixed queries on a TCP connection.
    private final class StreamResponder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let records: [String: [Answer]]
        let ttl: Int
        let log: @Sendable (String) -> Void
        private var received = ByteBuffer()

        init(records: [String: [Answer]], ttl: Int, log: @escaping @Sendable (String) -> Void) {
            self.records = records
            self.ttl = ttl
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
                let query = received.getBytes(at: received.readerIndex + 2, length: Int(length))
            {
                received.moveReaderIndex(forwardBy: 2 + Int(length))
                guard let reply = Responder.reply(to: query, records: records, ttl: ttl, log: log) else { continue }
                var out = ByteBuffer()
                out.writeInteger(UInt16(reply.count))
                out.writeBytes(reply)
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let records: [String: [Answer]]
        let ttl: Int
        let udpLimit: Int
        let log: @Sendable (String) -> Void

        init(records: [String: [Answer]], ttl: Int, udpLimit: Int, log: @escaping @Sendable (String) -> Void) {
            self.records = records
            self.ttl = ttl
            self.udpLimit = udpLimit
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let query = Array(envelope.data.readableBytesView)
            guard var reply = Self.reply(to: query, records: records, ttl: ttl, log: log) else { return }
            if reply.count > udpLimit {
                // Truncated: the header with TC set and no records, then the question.
                let questionEnd = Self.questionEnd(query)
                reply = [reply[0], reply[1], reply[2] | 0x02, reply[3], 0, 1, 0, 0, 0, 0, 0, 0] + Array(query[12..<questionEnd])
            }
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))),
                promise: nil)
        }

        /// Where the question of a query ends (after its type and class).
        static func questionEnd(_ query: [UInt8]) -> Int {
            var i = 12
            while i < query.count, query[i] != 0 { i += 1 + Int(query[i]) }
            return i + 5
        }

        /// The answer to a query from the table; nil for a query too short to read.
        static func reply(
            to query: [UInt8], records: [String: [Answer]], ttl: Int, log: @Sendable (String) -> Void
        ) -> [UInt8]? {
            guard query.count > 12 else { return nil }
            // The question: labels, then type and class.
            var i = 12
            var labels: [String] = []
            while i < query.count, query[i] != 0 {
                let n = Int(query[i])
                labels.append(String(decoding: query[(i + 1)..<min(query.count, i + 1 + n)], as: UTF8.self))
                i += 1 + n
            }
            guard i + 4 < query.count else { return nil }
            let name = labels.joined(separator: ".").lowercased()
            let type = UInt16(query[i + 1]) << 8 | UInt16(query[i + 2])
            log("\(name)/\(type)")
            let question = Array(query[12...(i + 4)])
            var answers: [[UInt8]] = []
            var additionals: [[UInt8]] = []
            let known = records[name]
            for answer in known ?? [] {
                switch (answer, type) {
                case (.a(let ip), 1): answers.append(record(name, 1, Self.ipv4(ip), ttl: ttl))
                case (.cname(let target), _) where type != 33:
                    answers.append(record(name, 5, Self.name(target), ttl: ttl))
                    for case .a(let ip) in records[target] ?? [] { answers.append(record(target, 1, Self.ipv4(ip), ttl: ttl)) }
                case (.srv(let priority, let weight, let port, let target), 33):
                    answers.append(record(name, 33, Self.u16(priority) + Self.u16(weight) + Self.u16(port) + Self.name(target), ttl: ttl))
                    // Each target's addresses once, however many records name it.
                    for case .a(let ip) in records[target] ?? [] {
                        let r = record(target, 1, Self.ipv4(ip), ttl: ttl)
                        if !additionals.contains(r) { additionals.append(r) }
                    }
                default: break
                }
            }
            let rcode: UInt8 = known == nil ? 3 : 0
            var reply: [UInt8] = [query[0], query[1], 0x81, 0x80 | rcode, 0, 1]
            reply += Self.u16(answers.count) + [0, 0] + Self.u16(additionals.count)
            reply += question
            for r in answers + additionals { reply += r }
            return reply
        }

        private static func record(_ name: String, _ type: UInt16, _ data: [UInt8], ttl: Int) -> [UInt8] {
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
