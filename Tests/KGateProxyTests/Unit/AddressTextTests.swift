import NIOCore
import Testing

@testable import KGateProxy

@Suite("Address text")
struct AddressTextTests {
    @Test("IPv4 addresses are formatted as inet_ntop does", arguments: [
        "0.0.0.0", "127.0.0.1", "10.0.0.255", "192.168.100.9", "255.255.255.255", "1.20.100.0",
    ])
    func ipv4(_ text: String) throws {
        let address = try SocketAddress(ipAddress: text, port: 80)
        #expect(address.addressText == text)
        #expect(address.addressText == address.ipAddress)
    }

    @Test("IPv6 addresses go through inet_ntop")
    func ipv6() throws {
        let address = try SocketAddress(ipAddress: "::1", port: 80)
        #expect(address.addressText == "::1")
    }
}
