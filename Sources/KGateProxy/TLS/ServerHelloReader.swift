import KGatePlugins
import NIOCore

/// Learns the protocol version and cipher suite a TLS listener negotiated (nginx's
/// `$ssl_protocol` and `$ssl_cipher`) by reading the ServerHello the TLS handler sends: the
/// first handshake record of the server's flight, in the clear in every TLS version. Sits next
/// to the socket, passes every write through unchanged, and leaves the pipeline once it has read
/// the ServerHello (or seen that the first bytes are not one).
final class ServerHelloReader: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The bytes a ServerHello needs at most before its extensions end (a record's length).
    private static let recordLimit = 5 + 16384

    private let learned: (ClientTLS) -> Void
    private var seen: ByteBuffer?
    private var finished = false

    init(learned: @escaping (ClientTLS) -> Void) {
        self.learned = learned
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard !finished else { return }
        var bytes = unwrapOutboundIn(data)
        if seen == nil { seen = bytes } else { seen!.writeBuffer(&bytes) }
        switch Self.parse(seen!) {
        case .incomplete where seen!.readableBytes < Self.recordLimit: return
        case .incomplete, .notServerHello: break
        case .serverHello(let tls): learned(tls)
        }
        seen = nil
        finished = true
    }

    /// Leaves once the flush of the ServerHello went on: a context removed while it handles an
    /// event has no neighbours left to pass the flush that follows a write to.
    func flush(context: ChannelHandlerContext) {
        context.flush()
        if finished { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    enum Parsed: Equatable {
        case incomplete
        case notServerHello
        case serverHello(ClientTLS)
    }

    /// Reads a ServerHello at the start of `bytes` (RFC 8446 4.1.3; RFC 5246 7.4.1.3): the
    /// version is the `supported_versions` extension's when present, else the legacy field.
    static func parse(_ bytes: ByteBuffer) -> Parsed {
        var hello: ByteBuffer
        switch TLSHandshakeRecord.message(bytes, type: 2) {
        case .incomplete: return .incomplete
        case .other: return .notServerHello
        case .message(let body): hello = body
        }
        guard var version = hello.readInteger(as: UInt16.self), hello.readSlice(length: 32) != nil,
            let sessionIDLength = hello.readInteger(as: UInt8.self), hello.readSlice(length: Int(sessionIDLength)) != nil,
            let cipher = hello.readInteger(as: UInt16.self), hello.readInteger(as: UInt8.self) != nil
        else { return .notServerHello }
        TLSHandshakeRecord.forEachExtension(in: &hello) { type, body in
            if type == 43, let selected = body.readInteger(as: UInt16.self) { version = selected }
        }
        return .serverHello(ClientTLS(version: versionName(version), cipher: cipherName(cipher)))
    }

    /// OpenSSL's name of a protocol version.
    static func versionName(_ version: UInt16) -> String {
        switch version {
        case 0x0304: "TLSv1.3"
        case 0x0303: "TLSv1.2"
        case 0x0302: "TLSv1.1"
        case 0x0301: "TLSv1"
        default: "unknown"
        }
    }

    /// OpenSSL's names of the suites BoringSSL can negotiate; another shows as its IANA number.
    static func cipherName(_ suite: UInt16) -> String {
        if let name = cipherNames[suite] { return name }
        let hex = String(suite, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    static let cipherNames: [UInt16: String] = [
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256",
        0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384",
        0xC02F: "ECDHE-RSA-AES128-GCM-SHA256",
        0xC030: "ECDHE-RSA-AES256-GCM-SHA384",
        0xCCA8: "ECDHE-RSA-CHACHA20-POLY1305",
        0xCCA9: "ECDHE-ECDSA-CHACHA20-POLY1305",
        0xCCAC: "ECDHE-PSK-CHACHA20-POLY1305",
        0xC009: "ECDHE-ECDSA-AES128-SHA",
        0xC00A: "ECDHE-ECDSA-AES256-SHA",
        0xC013: "ECDHE-RSA-AES128-SHA",
        0xC014: "ECDHE-RSA-AES256-SHA",
        0xC035: "ECDHE-PSK-AES128-CBC-SHA",
        0xC036: "ECDHE-PSK-AES256-CBC-SHA",
        0x009C: "AES128-GCM-SHA256",
        0x009D: "AES256-GCM-SHA384",
        0x002F: "AES128-SHA",
        0x0035: "AES256-SHA",
        0x008C: "PSK-AES128-CBC-SHA",
        0x008D: "PSK-AES256-CBC-SHA",
        0x000A: "DES-CBC3-SHA",
    ]
}
