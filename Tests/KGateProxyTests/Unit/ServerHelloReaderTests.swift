import KGatePlugins
import NIOCore
import NIOEmbedded
import Testing

@testable import KGateProxy

/// nginx's `$ssl_protocol` and `$ssl_cipher` read from the ServerHello a TLS listener sends.
@Suite struct ServerHelloReaderTests {
    /// A ServerHello record: `version` in the legacy field, `selected` in supported_versions.
    static func serverHello(version: UInt16 = 0x0303, cipher: UInt16, selected: UInt16? = nil) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(version)
        body.writeBytes([UInt8](repeating: 7, count: 32))
        body.writeInteger(UInt8(32))
        body.writeBytes([UInt8](repeating: 9, count: 32))
        body.writeInteger(cipher)
        body.writeInteger(UInt8(0))
        var extensions = ByteBuffer()
        extensions.writeInteger(UInt16(0xFF01))  // renegotiation_info, empty
        extensions.writeInteger(UInt16(1))
        extensions.writeInteger(UInt8(0))
        if let selected {
            extensions.writeInteger(UInt16(43))
            extensions.writeInteger(UInt16(2))
            extensions.writeInteger(selected)
        }
        body.writeInteger(UInt16(extensions.readableBytes))
        body.writeBuffer(&extensions)
        var record = ByteBuffer()
        record.writeBytes([22, 3, 3])
        record.writeInteger(UInt16(4 + body.readableBytes))
        record.writeInteger(UInt8(2))
        record.writeBytes([0, UInt8(body.readableBytes >> 8), UInt8(body.readableBytes & 0xFF)])
        record.writeBuffer(&body)
        return record
    }

    @Test func readsVersionAndCipher() {
        #expect(
            ServerHelloReader.parse(Self.serverHello(cipher: 0x1302, selected: 0x0304))
                == .serverHello(ClientTLS(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384")))
        #expect(
            ServerHelloReader.parse(Self.serverHello(cipher: 0xC02F))
                == .serverHello(ClientTLS(version: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256")))
        #expect(ServerHelloReader.parse(Self.serverHello(cipher: 0x1234)) == .serverHello(ClientTLS(version: "TLSv1.2", cipher: "0x1234")))
    }

    @Test func partialAndForeignBytes() {
        let whole = Self.serverHello(cipher: 0x1301, selected: 0x0304)
        #expect(ServerHelloReader.parse(whole.getSlice(at: 0, length: 20)!) == .incomplete)
        #expect(ServerHelloReader.parse(ByteBuffer(bytes: [21, 3, 3, 0, 2, 2, 40])) == .notServerHello)
        #expect(ServerHelloReader.parse(ByteBuffer(bytes: [22, 3, 3, 0, 4, 1, 0, 0, 0])) == .notServerHello)
    }

    /// In a pipeline: the bytes pass unchanged (split across writes), the facts are reported
    /// once, and the reader leaves.
    @Test func passesBytesAndLeaves() throws {
        let channel = EmbeddedChannel()
        nonisolated(unsafe) var learned: [ClientTLS] = []
        try channel.pipeline.syncOperations.addHandler(ServerHelloReader { learned.append($0) })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        var hello = Self.serverHello(cipher: 0x1303, selected: 0x0304)
        let first = hello.readSlice(length: 30)!
        try channel.writeOutbound(first)
        #expect(learned.isEmpty)
        try channel.writeOutbound(hello)
        try channel.writeOutbound(ByteBuffer(string: "later"))
        #expect(learned == [ClientTLS(version: "TLSv1.3", cipher: "TLS_CHACHA20_POLY1305_SHA256")])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == first)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == hello)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "later"))
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ServerHelloReader.self) }
        _ = try channel.finish()
    }
}
