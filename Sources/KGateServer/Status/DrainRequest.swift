import KGateSettings
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// `kgate drain`'s request (Kong's `kong/cmd/drain.lua`): `POST /status/ready` with
/// `{"status":"draining"}` to a node's status listener, which then answers `/status/ready`
/// with 503 for good. The node has one second to answer. An `ssl` listener is reached over
/// TLS without verifying its certificate, as Kong's `ssl_verify = false`.
public enum DrainRequest {
    /// What the node answered.
    public enum Outcome: Equatable, Sendable {
        /// 204: the node is draining.
        case drained
        /// Any other status.
        case unexpectedStatus(Int)
        /// No answer (refused, timed out...), with the reason.
        case failed(String)
    }

    /// Kong's time limit for the whole exchange.
    static let timeout = TimeAmount.seconds(1)

    /// `http(s)://<host>:<port>/status/ready`, the URL Kong names in its messages.
    public static func url(_ address: ListenAddress) -> String {
        "\(address.ssl ? "https" : "http")://\(address.hostAndPort)/status/ready"
    }

    /// A client context that accepts any certificate (the node's own, made at start-up).
    private static let unverified: NIOSSLContext? = {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try? NIOSSLContext(configuration: configuration)
    }()

    /// Sends the request and waits for the answer's status (blocking: for the CLI).
    public static func send(to address: ListenAddress) -> Outcome {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let status = loop.makePromise(of: HTTPResponseStatus.self)
        let timer = loop.scheduleTask(in: timeout) { status.fail(DrainFailure.timeout) }
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if address.ssl {
                        guard let context = unverified else { throw DrainFailure.noTLS }
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseStatusHandler(status: status))
                }
            }
            .connect(host: address.host, port: address.port)
        connected.whenSuccess { channel in
            let body = ByteBuffer(string: #"{"status":"draining"}"#)
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(address.host):\(address.port)")
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            headers.add(name: "Connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/status/ready", headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        connected.whenFailure { status.fail($0) }
        defer {
            timer.cancel()
            connected.whenSuccess { $0.close(promise: nil) }
        }
        do {
            let answer = try status.futureResult.wait()
            return answer == .noContent ? .drained : .unexpectedStatus(Int(answer.code))
        } catch {
            return .failed(DrainFailure.text(error))
        }
    }
}

/// Why no status came back, in the words of Kong's HTTP client (`timeout`, `closed`,
/// `connection refused`).
enum DrainFailure: Error {
    case timeout
    case closed
    case noTLS

    static func text(_ error: any Error) -> String {
        if let error = error as? DrainFailure { return "\(error)" }
        if case .connectTimeout? = error as? ChannelError { return "timeout" }
        let cause = (error as? NIOConnectionError)?.connectionErrors.first?.error ?? error
        if let io = cause as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        return "\(cause)"
    }
}

/// Completes the promise with the first response head's status; a connection closed before
/// one fails it.
private final class ResponseStatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let status: EventLoopPromise<HTTPResponseStatus>

    init(status: EventLoopPromise<HTTPResponseStatus>) {
        self.status = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { status.succeed(head.status) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        status.fail(DrainFailure.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        status.fail(error)
        context.close(promise: nil)
    }
}
