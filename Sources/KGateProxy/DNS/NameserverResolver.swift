import NIOCore
import NIOPosix

/// Asks the nameservers of `dns_resolver` over UDP, as Kong's DNS client does when it is set:
/// the record types of `dns_order` in turn (SRV first by default, then A), the first type that
/// has records answering. SRV answers give the balancer each target's port and weight (their
/// addresses from the answer's additional records, else looked up); record TTLs bound how long
/// answers are cached. Names of `dns_hostsfile` are answered from it, as before.
struct NameserverResolver: DNSResolving {
    /// `ip:port` of each nameserver, tried in order.
    let nameservers: [SocketAddress]
    /// The record types to ask for, in order.
    let order: [DNSMessage.RecordType]
    var hosts = HostsFile()
    /// How long one nameserver may take to answer.
    var timeout = TimeAmount.seconds(2)

    func resolve(_ host: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
        if let addresses = hosts.addresses(of: host) {
            return eventLoop.makeSucceededFuture(DNSAnswer(addresses: addresses, ttl: .hours(24 * 365)))
        }
        let promise = eventLoop.makePromise(of: DNSAnswer.self)
        promise.completeWithTask { try await answer(host, types: order, on: eventLoop) }
        return promise.futureResult
    }

    /// The first of `types` with records for `host`.
    private func answer(_ host: String, types: [DNSMessage.RecordType], on eventLoop: EventLoop) async throws -> DNSAnswer {
        var failure: DNSFailure = .nameNotFound
        for type in types {
            let response: DNSMessage.Response
            do {
                response = try await ask(host, type, on: eventLoop)
            } catch let error as DNSFailure {
                failure = error
                continue
            }
            // Name error: no type will have records.
            if response.rcode == 3 { throw DNSFailure.nameNotFound }
            guard response.rcode == 0 else {
                failure = .other("dns server error: \(response.rcode)")
                continue
            }
            let records = response.answers.filter { $0.type == type.rawValue }
            guard !records.isEmpty else { continue }
            let ttl = TimeAmount.seconds(Int64(max(1, records.map(\.ttl).min() ?? 30)))
            if type == .srv {
                return try await services(records, additionals: response.additionals, ttl: ttl, on: eventLoop)
            }
            let addresses = records.compactMap { record -> IPBytes? in
                if case .address(let ip) = record.data { return ip }
                return nil
            }
            return DNSAnswer(addresses: addresses, ttl: ttl)
        }
        throw failure
    }

    /// An SRV answer with each target's address (from the additional records, else its A or
    /// AAAA records).
    private func services(
        _ records: [DNSMessage.Record], additionals: [DNSMessage.Record], ttl: TimeAmount, on eventLoop: EventLoop
    ) async throws -> DNSAnswer {
        var services: [DNSService] = []
        var addresses: [IPBytes] = []
        for record in records {
            guard case .service(let priority, let weight, let port, let target) = record.data else { continue }
            var ips = additionals.compactMap { extra -> IPBytes? in
                guard extra.name == target, case .address(let ip) = extra.data else { return nil }
                return ip
            }
            if ips.isEmpty {
                ips = (try? await answer(target, types: [.a, .aaaa], on: eventLoop).addresses) ?? []
            }
            for ip in ips {
                services.append(DNSService(ip: ip, port: port, weight: weight, priority: priority))
                if !addresses.contains(ip) { addresses.append(ip) }
            }
        }
        guard !services.isEmpty else { throw DNSFailure.nameNotFound }
        return DNSAnswer(addresses: addresses, services: services, ttl: ttl)
    }

    /// One query, to each nameserver in turn until one answers.
    private func ask(_ host: String, _ type: DNSMessage.RecordType, on eventLoop: EventLoop) async throws -> DNSMessage.Response {
        var last = "no nameserver"
        for server in nameservers {
            let id = UInt16.random(in: 0...UInt16.max)
            do {
                let query = DNSMessage.query(id: id, name: host, type: type)
                var response = try DNSMessage.parse(try await Self.exchange(query, with: server, timeout: timeout, on: eventLoop))
                if response.truncated {
                    // The answer did not fit a datagram: asked again over TCP, as Kong's
                    // resolver does.
                    response = try DNSMessage.parse(try await Self.exchangeTCP(query, with: server, timeout: timeout, on: eventLoop))
                }
                guard response.id == id else { throw DNSMessage.Malformed() }
                return response
            } catch {
                last = "\(server): \(error)"
            }
        }
        throw DNSFailure.other("dns query failed: \(last)")
    }

    /// Sends a datagram to `server` and returns the first datagram back (or times out).
    private static func exchange(
        _ query: [UInt8], with server: SocketAddress, timeout: TimeAmount, on eventLoop: EventLoop
    ) async throws -> [UInt8] {
        let reply = eventLoop.makePromise(of: [UInt8].self)
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ReplyHandler(reply: reply)) }
            }
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        let timer = eventLoop.scheduleTask(in: timeout) { reply.fail(DNSQueryTimeout()) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query))).get()
        return try await reply.futureResult.get()
    }

    /// Sends the query over TCP (RFC 1035 4.2.2: each message after its 2-byte length) and
    /// returns the answer (or times out).
    private static func exchangeTCP(
        _ query: [UInt8], with server: SocketAddress, timeout: TimeAmount, on eventLoop: EventLoop
    ) async throws -> [UInt8] {
        let reply = eventLoop.makePromise(of: [UInt8].self)
        let timer = eventLoop.scheduleTask(in: timeout) { reply.fail(DNSQueryTimeout()) }
        defer { timer.cancel() }
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(StreamReplyHandler(reply: reply)) }
            }
            .connect(to: server).get()
        defer { channel.close(promise: nil) }
        var message = ByteBuffer()
        message.writeInteger(UInt16(query.count))
        message.writeBytes(query)
        try await channel.writeAndFlush(message).get()
        return try await reply.futureResult.get()
    }

    /// A nameserver that did not answer in time.
    struct DNSQueryTimeout: Error, CustomStringConvertible {
        var description: String { "timeout" }
    }

    /// Hands the first datagram received to the waiting query.
    private final class ReplyHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let reply: EventLoopPromise<[UInt8]>

        init(reply: EventLoopPromise<[UInt8]>) { self.reply = reply }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            reply.succeed(Array(envelope.data.readableBytesView))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            reply.fail(error)
        }
    }

    /// Collects the length-prefixed answer of a TCP query for the waiting query.
    private final class StreamReplyHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let reply: EventLoopPromise<[UInt8]>
        private var received = ByteBuffer()

        init(reply: EventLoopPromise<[UInt8]>) { self.reply = reply }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            guard let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
                let message = received.getBytes(at: received.readerIndex + 2, length: Int(length))
            else { return }
            reply.succeed(message)
        }

        func channelInactive(context: ChannelHandlerContext) {
            reply.fail(DNSMessage.Malformed())
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            reply.fail(error)
        }
    }
}
