import NIOCore
import Testing

@testable import KGateProxy

@Suite("trusted_ips")
struct TrustedIPsTests {
    @Test("addresses and CIDR blocks, IPv4 and IPv6")
    func matching() throws {
        let t = TrustedIPs(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"])
        #expect(t.contains(text: "10.1.2.3"))
        #expect(!t.contains(text: "11.0.0.1"))
        #expect(t.contains(text: "192.168.1.7"))
        #expect(!t.contains(text: "192.168.1.8"))
        #expect(t.contains(text: "2001:db8:1::5"))
        #expect(!t.contains(text: "2001:db9::1"))
        #expect(t.contains(try SocketAddress(ipAddress: "10.9.9.9", port: 1)))
        #expect(t.contains(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 1)))
        #expect(TrustedIPs(["0.0.0.0/0"]).contains(text: "8.8.8.8"))
        #expect(TrustedIPs([]).isEmpty)
    }

    @Test("IPBytes round trip")
    func bytes() {
        #expect(IPBytes(parsing: "127.0.0.1")?.text == "127.0.0.1")
        #expect(IPBytes(parsing: "::1")?.text == "::1")
        #expect(IPBytes(parsing: "1.2.3") == nil)
        #expect(IPBytes(parsing: "256.1.1.1") == nil)
        #expect(IPBytes(parsing: "127.0.0.1")?.socketAddress(port: 8080).port == 8080)
    }

    @Test("realip: the address a trusted peer's header names, as nginx's ngx_http_get_forwarded_addr")
    func realAddress() {
        let t = TrustedIPs(["127.0.0.1", "172.16.0.1", "192.168.0.1"])
        let xff = "127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18"
        #expect(t.realAddress(in: xff, recursive: true) == "10.0.0.1")
        #expect(t.realAddress(in: xff, recursive: false) == "172.16.0.1")
        #expect(t.realAddress(in: "2.2.2.2, 127.0.0.1", recursive: true) == "2.2.2.2")
        #expect(t.realAddress(in: "2.2.2.2 ,127.0.0.1 ,", recursive: true) == "2.2.2.2")
        #expect(t.realAddress(in: "garbage", recursive: true) == nil)
        #expect(t.realAddress(in: "1.1.1.1, unknown", recursive: true) == nil)
        #expect(t.realAddress(in: "unknown, 127.0.0.1", recursive: true) == "127.0.0.1")
        #expect(t.realAddress(in: "10.0.0.1:1234", recursive: false) == "10.0.0.1")
        #expect(t.realAddress(in: "[2001:DB8::1]:80", recursive: false) == "2001:db8::1")
        #expect(t.realAddress(in: "2001:db8::1", recursive: false) == "2001:db8::1")
        // Kong's nginx (1.27.1) takes brackets only with a port; 1.27.3 also takes "[::1]".
        #expect(t.realAddress(in: "[::1]", recursive: false) == nil)
        #expect(t.realAddress(in: "10.0.0.1:0", recursive: false) == nil)
        #expect(t.realAddress(in: "10.0.0.1:99999", recursive: false) == nil)
        #expect(t.realAddress(in: "", recursive: true) == nil)
    }
}
