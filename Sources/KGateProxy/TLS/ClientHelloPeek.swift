import NIOCore

/// Reads, without holding anything back, what the client's ClientHello says about the
/// certificates it accepts: whether it can take an ECDSA one. A certificate with a `cert_alt`
/// presents the ECDSA one of its pair to such clients and the RSA one to the others, as nginx
/// does with two certificates. Removes itself once the ClientHello was read (or cannot be).
final class ClientHelloPeek: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The client accepts an ECDSA certificate (false until the ClientHello was read).
    private(set) var acceptsECDSA = false
    private var seen = ByteBuffer()
    /// How much is read before giving up: one record of a ClientHello.
    private static let limit = 5 + 16384

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        seen.writeBuffer(&bytes)
        let parsed = Self.parse(seen)
        if case .hello(let ecdsa) = parsed { acceptsECDSA = ecdsa }
        // Passed on first: the SNI reader after this handler chooses the certificate with it.
        context.fireChannelRead(data)
        if parsed != .incomplete || seen.readableBytes >= Self.limit {
            seen = ByteBuffer()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    enum Parsed: Equatable {
        case incomplete
        case other
        /// A ClientHello; whether it accepts an ECDSA certificate.
        case hello(ecdsa: Bool)
    }

    /// The ECDSA signature schemes (TLS 1.3 and 1.2's `signature_algorithms`).
    static let ecdsaSchemes: Set<UInt16> = [0x0403, 0x0503, 0x0603, 0x0203]

    /// Reads the ClientHello at the start of `bytes` (its first record).
    ///
    /// A client accepts ECDSA when it offers an ECDSA signature scheme (or sends no
    /// `signature_algorithms`, which in TLS 1.2 means the defaults of its cipher suites) and
    /// either speaks TLS 1.3 or offers an ECDHE-ECDSA cipher suite.
    static func parse(_ bytes: ByteBuffer) -> Parsed {
        var hello: ByteBuffer
        switch TLSHandshakeRecord.message(bytes, type: 1) {
        case .incomplete: return .incomplete
        case .other: return .other
        case .message(let body): hello = body
        }
        guard hello.readInteger(as: UInt16.self) != nil, hello.readSlice(length: 32) != nil,
            let sessionIDLength = hello.readInteger(as: UInt8.self), hello.readSlice(length: Int(sessionIDLength)) != nil,
            let suitesLength = hello.readInteger(as: UInt16.self), var suites = hello.readSlice(length: Int(suitesLength)),
            let compressionLength = hello.readInteger(as: UInt8.self), hello.readSlice(length: Int(compressionLength)) != nil
        else { return .other }
        var ecdsaSuite = false
        while let suite = suites.readInteger(as: UInt16.self) {
            if Self.isECDSASuite(suite) { ecdsaSuite = true }
        }
        var schemes: Set<UInt16>?
        var tls13 = false
        TLSHandshakeRecord.forEachExtension(in: &hello) { type, body in
            switch type {
            case 13:
                var found: Set<UInt16> = []
                if let length = body.readInteger(as: UInt16.self), var list = body.readSlice(length: Int(length)) {
                    while let scheme = list.readInteger(as: UInt16.self) { found.insert(scheme) }
                }
                schemes = found
            case 43:
                if let length = body.readInteger(as: UInt8.self), var list = body.readSlice(length: Int(length)) {
                    while let version = list.readInteger(as: UInt16.self) {
                        if version == 0x0304 { tls13 = true }
                    }
                }
            default:
                break
            }
        }
        let offersScheme = schemes.map { !$0.isDisjoint(with: ecdsaSchemes) } ?? true
        return .hello(ecdsa: offersScheme && (tls13 || ecdsaSuite))
    }

    /// TLS 1.2 and earlier ECDHE-ECDSA suites (and ECDH-ECDSA ones), which need an ECDSA
    /// certificate.
    static func isECDSASuite(_ suite: UInt16) -> Bool {
        switch suite {
        case 0xC001...0xC00A, 0xC023, 0xC024, 0xC025, 0xC026, 0xC02B, 0xC02C, 0xC02D, 0xC02E, 0xCCA9, 0xC0AC...0xC0AF:
            return true
        default:
            return false
        }
    }
}
