import KGateSettings
import NIOCore
import Testing

@testable import KGateProxy

@Suite("proxy_listen", .serialized)
struct ListenerTests {
    @Test("every address is bound: IPv4, IPv6, reuseport per event loop, backlog, ssl")
    func listeners() async throws {
        try await withUpstreams(["u"]) { ups in
            let yaml = ProxyHarness.oneService(port: ups[0].port)
            let ipv6 = (try? SocketAddress(ipAddress: "::1", port: 0)) != nil
            try await withProxy(yaml, configure: { c in
                c.listen = [
                    ListenAddress(host: "127.0.0.1", port: 0, backlog: 64),
                    ListenAddress(host: "127.0.0.1", port: 0, reuseport: true, backlog: 128),
                    ListenAddress(host: "127.0.0.1", port: 0, ssl: true),
                ]
                if ipv6 { c.listen.append(ListenAddress(host: "::1", port: 0)) }
            }) { proxy in
                let addresses = proxy.server.localAddresses
                // reuseport binds one socket per event loop (two here), on one port.
                #expect(addresses.count == (ipv6 ? 5 : 4))
                let ports = Set(addresses.compactMap(\.port))
                #expect(ports.count == (ipv6 ? 4 : 3))
                for (index, address) in addresses.enumerated() {
                    let host = address.protocol == .inet6 ? "::1" : "127.0.0.1"
                    // The third address (after the two reuseport sockets) is the ssl one.
                    let c = try await RawClient.connect(
                        port: address.port!, group: TestLoops.group, host: host, tls: index == 3)
                    try await c.send(ProxyHarness.request("GET", "/echo"))
                    let r = try await c.readResponse()
                    #expect(r.status == 200)
                    if address.protocol == .inet6 {
                        #expect(EchoedRequest(r).header("X-Forwarded-For") == "::1")
                    }
                    await c.close()
                }
            }
        }
    }
}
