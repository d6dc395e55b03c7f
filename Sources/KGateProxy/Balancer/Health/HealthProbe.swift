import NIOCore
import NIOPosix
import NIOSSL

/// One active health-check probe (lua-resty-healthcheck's `run_single_check`): connect to the
/// address within `timeout`, for `https` complete a TLS handshake, send
/// `GET <http_path> HTTP/1.1` with `Host`, `Connection: close` and the configured headers, and
/// read the status line. What happened is the report: a status (0 when the line is not
/// `HTTP/x.y <status>`), a TCP failure, or a timeout.
enum HealthProbe {
    /// The probe's request bytes.
    static func request(settings: HealthcheckSettings.Probe, host: String) -> String {
        var text = "GET \(settings.httpPath) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, values) in settings.headers {
            for value in values { text += "\(name): \(value)\r\n" }
        }
        return text + "\r\n"
    }

    /// The status of a status line (`HTTP/<digits>.<digits> <spaces><digits>`), else 0.
    static func status(ofLine line: some Collection<UInt8>) -> Int {
        var bytes = line.makeIterator()
        for expected in "HTTP/".utf8 where bytes.next() != expected { return 0 }
        /// Reads digits; returns how many, their value, and the byte that ended them.
        func digits() -> (count: Int, value: Int, stop: UInt8?) {
            var count = 0
            var value = 0
            while let c = bytes.next() {
                guard (0x30...0x39).contains(c) else { return (count, value, c) }
                count += 1
                value = value &* 10 &+ Int(c - 0x30)
            }
            return (count, value, nil)
        }
        let major = digits()
        guard major.count > 0, major.stop == UInt8(ascii: ".") else { return 0 }
        let minor = digits()
        guard minor.count > 0, let stop = minor.stop, stop == 0x20 || stop == 0x09 else { return 0 }
        var c = bytes.next()
        while c == 0x20 || c == 0x09 { c = bytes.next() }
        guard let first = c, (0x30...0x39).contains(first) else { return 0 }
        var value = Int(first - 0x30)
        while let d = bytes.next(), (0x30...0x39).contains(d) { value = value * 10 + Int(d - 0x30) }
        return value
    }

    /// Runs the probe of `address` (`host` goes in `Host`, `serverName` in the SNI of an
    /// `https` probe; a `tcp` probe only connects). Completes on `eventLoop`; never fails.
    static func run(
        address: BalancerAddress, host: String, serverName: String?, type: String, settings: HealthcheckSettings.Probe,
        tls: NIOSSLContext?, on eventLoop: EventLoop
    ) -> EventLoopFuture<HealthReport> {
        let promise = eventLoop.makePromise(of: HealthReport.self)
        let timeout = TimeAmount.nanoseconds(Int64(settings.timeout * 1e9))
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.succeed(.timeout) }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if type == "https", let tls {
                        try sync.addHandler(
                            settings.httpsVerifyCertificate
                                ? VerifyDepthLimit.clientHandler(
                                    context: tls, serverHostname: serverName, depth: settings.verifyDepth,
                                    recorder: CertificateVerifyRecorder())
                                : NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    if type != "tcp" { try sync.addHandler(StatusLineReader(promise: promise)) }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let request = Self.request(settings: settings, host: host)
        bootstrap.connect(to: address.ip.socketAddress(port: address.port)).whenComplete { result in
            switch result {
            case .failure(let error):
                if case .connectTimeout = error as? ChannelError {
                    promise.succeed(.timeout)
                } else {
                    promise.succeed(.tcpFailure)
                }
            case .success(let channel) where type == "tcp":
                promise.succeed(.success)
                channel.close(promise: nil)
            case .success(let channel):
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                channel.writeAndFlush(channel.allocator.buffer(string: request)).whenFailure { _ in
                    promise.succeed(.tcpFailure)
                }
            }
        }
        return promise.futureResult
    }

    /// Reads up to the end of the first line, then reports its status.
    private final class StatusLineReader: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        private let promise: EventLoopPromise<HealthReport>
        private var line: [UInt8] = []
        private var done = false

        init(promise: EventLoopPromise<HealthReport>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !done else { return }
            let bytes = unwrapInboundIn(data)
            line.append(contentsOf: bytes.readableBytesView)
            if let end = line.firstIndex(of: 0x0A) {
                finish(.httpStatus(HealthProbe.status(ofLine: line[..<end])))
            } else if line.count > 8192 {
                finish(.httpStatus(0))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(line.isEmpty ? .tcpFailure : .httpStatus(HealthProbe.status(ofLine: line)))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.tcpFailure)
            context.close(promise: nil)
        }

        private func finish(_ report: HealthReport) {
            guard !done else { return }
            done = true
            promise.succeed(report)
        }
    }
}
