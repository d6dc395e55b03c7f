import KGateSettings
import NIOCore
import NIOPosix
import Testing

@testable import KGateProxy

/// `dns_resolver` and `dns_order`: names asked of the configured nameservers over UDP, SRV
/// records first by default (their ports and weights for upstream targets), then A records.
@Suite("DNS: dns_resolver nameservers, SRV and A records", .serialized)
struct NameserverResolverTests {
    @Test func messages() throws {
        let query = DNSMessage.query(id: 0x1234, name: "svc.test", type: .srv)
        #expect(
            query == [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3] + Array("svc".utf8) + [4] + Array("test".utf8) + [0, 0, 33, 0, 1]
                + [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0])
        // An answer whose SRV target is a compression pointer to the question's name.
        var answer: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        answer += Array(query[12..<(query.count - 11)])
        answer += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, 8, 0, 1, 0, 5, 0x1F, 0x90, 0xC0, 12]
        let parsed = try DNSMessage.parse(answer)
        #expect(parsed.id == 0x1234 && parsed.rcode == 0)
        #expect(parsed.answers == [
            .init(name: "svc.test", type: 33, ttl: 30, data: .service(priority: 1, weight: 5, port: 8080, target: "svc.test"))
        ])
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.parse(Array(answer.dropLast(3))) }
        // A pointer loop is refused, not followed forever.
        var loop: [UInt8] = [0, 0, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]
        loop += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.parse(loop) }
    }

    @Test("SRV targets of an upstream and of a service host, an A record for a service host, NXDOMAIN as Kong's 503")
    func nameservers() async throws {
        try await withUpstreams(["u1", "u2"]) { ups in
            let dns = try await TestDNSServer.start([
                "srv.test": [.srv(priority: 1, weight: 10, port: ups[1].port, target: "node.test")],
                "node.test": [.a("127.0.0.1")],
                "plain.test": [.a("127.0.0.1")],
                "alias.test": [.cname("plain.test")],
                "srvsvc.test": [.srv(priority: 1, weight: 10, port: ups[1].port, target: "node.test")],
            ])
            var settings = NodeSettings()
            settings.dnsResolver = [Nameserver(ip: "127.0.0.1", port: dns.port)]
            let yaml = """
                _format_version: "3.0"
                upstreams:
                - name: backend
                  targets: [{target: "srv.test:1"}]
                services:
                - name: balanced
                  host: backend
                  routes: [{paths: [/balanced]}]
                - name: plain
                  url: http://plain.test:\(ups[0].port)
                  routes: [{paths: [/plain]}]
                - name: alias
                  url: http://alias.test:\(ups[0].port)
                  routes: [{paths: [/alias]}]
                - name: missing
                  url: http://missing.test:\(ups[0].port)
                  routes: [{paths: [/missing]}]
                - name: srv-service
                  url: http://srvsvc.test:\(ups[0].port)
                  routes: [{paths: [/srvsvc]}]
                """
            try await withProxy(yaml, settings: settings) { proxy in
                // The SRV record's port, not the target's.
                let balanced = try await proxy.get("/balanced/echo")
                #expect(balanced.status == 200)
                #expect(balanced.header("X-Upstream") == "u2")
                let plain = try await proxy.get("/plain/echo")
                #expect(plain.status == 200)
                #expect(plain.header("X-Upstream") == "u1")
                #expect(try await proxy.get("/alias/echo").status == 200)
                // A service host with SRV records: the record's port, not the service's.
                let srvService = try await proxy.get("/srvsvc/echo")
                #expect(srvService.status == 200)
                #expect(srvService.header("X-Upstream") == "u2")
                let missing = try await proxy.get("/missing/echo")
                #expect(missing.status == 503)
                #expect(missing.text.contains("name resolution failed"))
            }
            // SRV was asked first (type 33), then A (1) for the names without SRV records.
            #expect(dns.questions.contains("srv.test/33"))
            #expect(dns.questions.contains("plain.test/33") && dns.questions.contains("plain.test/1"))
            await dns.stop()
        }
    }

    @Test("an answer too long for a datagram comes truncated and is asked again over TCP")
    func truncatedOverTCP() async throws {
        var records: [String: [TestDNSServer.Answer]] = ["node.test": [.a("127.0.0.1")]]
        records["many.test"] = (0..<40).map { .srv(priority: 1, weight: 10, port: 8000 + $0, target: "node.test") }
        let dns = try await TestDNSServer.start(records, udpLimit: 512)
        defer { Task { await dns.stop() } }
        let resolver = NameserverResolver(
            nameservers: [try SocketAddress(ipAddress: "127.0.0.1", port: dns.port)], order: [.srv, .a])
        let answer = try await resolver.resolve("many.test", on: MultiThreadedEventLoopGroup.singleton.next()).get()
        #expect(answer.services.count == 40)
        #expect(Set(answer.services.map(\.port)) == Set(8000..<8040))
        #expect(dns.questions.contains("many.test/33") && dns.questions.contains("tcp:many.test/33"))
        // A short answer stays on UDP.
        _ = try await resolver.resolve("node.test", on: MultiThreadedEventLoopGroup.singleton.next()).get()
        #expect(!dns.questions.contains { $0.hasPrefix("tcp:node.test") })
    }

    @Test("dns_resolver and dns_order settings, with Kong's messages")
    func settings() throws {
        #expect(Nameserver.parse("8.8.8.8") == Nameserver(ip: "8.8.8.8", port: 53))
        #expect(Nameserver.parse("10.0.0.1:8600") == Nameserver(ip: "10.0.0.1", port: 8600))
        #expect(Nameserver.parse("[::1]:5353") == Nameserver(ip: "::1", port: 5353))
        #expect(Nameserver.parse("::1") == Nameserver(ip: "::1", port: 53))
        #expect(Nameserver.parse("dns.example") == nil)
        #expect(Nameserver.parse("1.2.3.4:99999") == nil)
        var configuration = ProxyConfiguration(settings: NodeSettings(), coreCount: 1)
        #expect(configuration.nameservers.isEmpty && configuration.dnsOrder == [.srv, .a])
        var settings = NodeSettings()
        settings.dnsResolver = [Nameserver(ip: "127.0.0.1", port: 8600)]
        settings.dnsOrder = [.a, .aaaa, .cname]
        configuration = ProxyConfiguration(settings: settings, coreCount: 1)
        #expect(configuration.nameservers.map(\.port) == [8600])
        #expect(configuration.dnsOrder == [.a, .aaaa])
    }
}
