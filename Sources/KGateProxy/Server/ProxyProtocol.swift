import NIOCore

/// The PROXY protocol header (versions 1 and 2) a load balancer sends before anything else on
/// a connection to a `proxy_listen` address marked `proxy_protocol`, as nginx reads it: the
/// client's address becomes `$proxy_protocol_addr`, which `real_ip_header = proxy_protocol`
/// makes the client address for trusted peers.
enum ProxyProtocolHeader {
    enum Parse: Equatable {
        /// More bytes are needed.
        case incomplete
        /// Not a PROXY header: nginx closes the connection ("broken header").
        case invalid
        /// A header of `length` bytes; `source` is nil for `UNKNOWN` (v1) and `LOCAL` or
        /// non-IP families (v2).
        case complete(source: String?, length: Int)
    }

    /// The longest version 1 header, `\r\n` included.
    static let maxV1Length = 107
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func parse(_ buffer: ByteBuffer) -> Parse {
        buffer.withUnsafeReadableBytes { raw in
            if raw.first == UInt8(ascii: "P") { return parseV1(raw) }
            if raw.first == v2Signature[0] { return parseV2(raw) }
            return raw.isEmpty ? .incomplete : .invalid
        }
    }

    /// `PROXY TCP4|TCP6|UNKNOWN <src> <dst> <sport> <dport>\r\n`.
    private static let v1Prefix = Array("PROXY ".utf8)

    private static func parseV1(_ raw: UnsafeRawBufferPointer) -> Parse {
        let prefix = v1Prefix
        for i in 0..<min(prefix.count, raw.count) where raw[i] != prefix[i] { return .invalid }
        guard let cr = raw.prefix(maxV1Length).firstIndex(of: 0x0D) else {
            return raw.count >= maxV1Length ? .invalid : .incomplete
        }
        guard cr + 1 < raw.count else { return .incomplete }
        guard raw[cr + 1] == 0x0A else { return .invalid }
        let line = String(decoding: raw[prefix.count..<cr], as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let proto = fields.first else { return .invalid }
        if proto == "UNKNOWN" { return .complete(source: nil, length: cr + 2) }
        guard proto == "TCP4" || proto == "TCP6", fields.count == 5,
            let source = IPBytes(parsing: String(fields[1])), source.isIPv6 == (proto == "TCP6"),
            IPBytes(parsing: String(fields[2])) != nil, Self.isPort(fields[3]), Self.isPort(fields[4])
        else { return .invalid }
        return .complete(source: source.text, length: cr + 2)
    }

    private static func isPort(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 5, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(s) else {
            return false
        }
        return n <= 65535
    }

    /// The binary header: signature, version/command, family, length, addresses.
    private static func parseV2(_ raw: UnsafeRawBufferPointer) -> Parse {
        for i in 0..<min(v2Signature.count, raw.count) where raw[i] != v2Signature[i] { return .invalid }
        guard raw.count >= 16 else { return .incomplete }
        let versionCommand = raw[12]
        guard versionCommand >> 4 == 2, versionCommand & 0x0F <= 1 else { return .invalid }
        let length = 16 + (Int(raw[14]) << 8 | Int(raw[15]))
        guard raw.count >= length else { return .incomplete }
        // LOCAL (a health check of the balancer itself): the connection's own address counts.
        guard versionCommand & 0x0F == 1 else { return .complete(source: nil, length: length) }
        switch raw[13] >> 4 {
        case 1 where length >= 16 + 12:
            let ip = UInt64(raw[16]) << 24 | UInt64(raw[17]) << 16 | UInt64(raw[18]) << 8 | UInt64(raw[19])
            return .complete(source: IPBytes(high: 0, low: ip, isIPv6: false).text, length: length)
        case 2 where length >= 16 + 36:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 { high = high << 8 | UInt64(raw[16 + i]) }
            for i in 8..<16 { low = low << 8 | UInt64(raw[16 + i]) }
            return .complete(source: IPBytes(high: high, low: low, isIPv6: true).text, length: length)
        case 0, 3:
            return .complete(source: nil, length: length)
        default:
            return .invalid
        }
    }
}

/// The first handler of a `proxy_protocol` connection: reads the PROXY header, hands its
/// source address over, passes the bytes after it on and leaves the pipeline. A connection
/// that does not start with a valid header is closed, as nginx does. The client header timer
/// of the proxy handler also covers a header that never completes.
final class ProxyProtocolReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var pending = ByteBuffer()
    private let onHeader: (String?) -> Void
    private let onBrokenHeader: () -> Void

    /// - Parameters:
    ///   - onHeader: called with the client's address (nil when the header has none).
    ///   - onBrokenHeader: called before a connection without a valid header is closed.
    init(onHeader: @escaping (String?) -> Void, onBrokenHeader: @escaping () -> Void = {}) {
        self.onHeader = onHeader
        self.onBrokenHeader = onBrokenHeader
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        switch ProxyProtocolHeader.parse(pending) {
        case .incomplete:
            return
        case .invalid:
            pending.clear()
            onBrokenHeader()
            context.close(promise: nil)
        case .complete(let source, let length):
            onHeader(source)
            pending.moveReaderIndex(forwardBy: length)
            let rest = pending
            pending = ByteBuffer()
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
