import Testing

@testable import KGateProxy

@Suite("DNS answers")
struct DNSResolverTests {
    @Test("a name with IPv4 addresses resolves to those only (Kong's dns_order asks for A records)")
    func ipv4First() throws {
        let localhost = try SystemDNSResolver.lookup("localhost")
        #expect(localhost.contains(IPBytes(parsing: "127.0.0.1")!))
        #expect(!localhost.contains { $0.isIPv6 })
        // An IPv6-only name still resolves.
        #expect(try SystemDNSResolver.lookup("::1") == [IPBytes(parsing: "::1")!])
        #expect(throws: DNSFailure.nameNotFound) { try SystemDNSResolver.lookup("nonexistent.invalid") }
    }
}
