import KGatePlugins
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
        #expect(address.ip?.nginxText == text)
        #expect(address.ip?.nginxText == address.ipAddress)
    }

    @Test("IPv6 addresses as nginx prints them; IPv4-mapped ones stay IPv6")
    func ipv6() throws {
        #expect(try SocketAddress(ipAddress: "::1", port: 80).ip?.nginxText == "::1")
        #expect(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 80).ip?.nginxText == "::ffff:10.0.0.1")
    }
}
