import NIOCore
import Testing

@testable import KGateProxy

@Suite("PROXY protocol header")
struct ProxyProtocolTests {
    private func parse(_ bytes: [UInt8]) -> ProxyProtocolHeader.Parse {
        ProxyProtocolHeader.parse(ByteBuffer(bytes: bytes))
    }

    private func parse(_ text: String) -> ProxyProtocolHeader.Parse { parse(Array(text.utf8)) }

    @Test("version 1: TCP4, TCP6, UNKNOWN; partial and broken headers")
    func v1() {
        let line = "PROXY TCP4 192.168.0.1 127.0.0.1 56324 8000\r\n"
        #expect(parse(line + "GET / HTTP/1.1\r\n") == .complete(source: "192.168.0.1", length: line.utf8.count))
        #expect(parse("PROXY TCP6 2001:DB8::1 ::1 1 2\r\n") == .complete(source: "2001:db8::1", length: 32))
        #expect(parse("PROXY UNKNOWN\r\n") == .complete(source: nil, length: 15))
        #expect(parse("PROXY TCP4 192.168.0.1 127.0.0.1 56324") == .incomplete)
        #expect(parse("PRO") == .incomplete)
        #expect(parse("GET / HTTP/1.1\r\n") == .invalid)
        #expect(parse("PROXY TCP4 192.168.0.1 127.0.0.1 56324 99999\r\n") == .invalid)
        #expect(parse("PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n") == .invalid)
        #expect(parse("PROXY TCP4 nonsense\r\n") == .invalid)
        #expect(parse("PROXY " + String(repeating: "x", count: 120)) == .invalid)
    }

    @Test("version 2: IPv4, IPv6, LOCAL")
    func v2() {
        let signature = ProxyProtocolHeader.v2Signature
        let v4 = signature + [0x21, 0x11, 0x00, 12, 10, 0, 0, 7, 127, 0, 0, 1, 0xDB, 0xC4, 0x1F, 0x40]
        #expect(parse(v4 + Array("GET".utf8)) == .complete(source: "10.0.0.7", length: 28))
        #expect(parse(Array(v4.prefix(20))) == .incomplete)
        var v6 = signature + [0x21, 0x21, 0x00, 36]
        v6 += [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        v6 += [UInt8](repeating: 0, count: 15) + [1] + [0, 1, 0, 2]
        #expect(parse(v6) == .complete(source: "2001:db8::1", length: 52))
        let local = signature + [0x20, 0x00, 0x00, 0x00]
        #expect(parse(local) == .complete(source: nil, length: 16))
        #expect(parse(signature + [0x31, 0x11, 0x00, 0x00]) == .invalid)
    }
}
