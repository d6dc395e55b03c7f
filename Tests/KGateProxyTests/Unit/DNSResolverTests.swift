import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import KGateSettings
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

/// `dns_hostsfile`, parsed as Kong's `utils.parseHosts` (kong_tests.conf points it at
/// `spec/fixtures/hosts`).
@Suite("Hosts file")
struct HostsFileTests {
    @Test("names resolve to the file's first address of each family, IPv4 first; comments and case ignored")
    func parsing() {
        let hosts = HostsFile(parsing: """
            # a comment
            10.0.0.1   Upstream.Example  alias # trailing comment
            10.0.0.2   upstream.example
            fd00::1    upstream.example v6only
            not-an-ip  ignored
            \t10.0.0.3\ttabbed

            """)
        #expect(hosts.addresses(of: "upstream.example") == [IPBytes(parsing: "10.0.0.1")!])
        #expect(hosts.addresses(of: "UPSTREAM.example") == [IPBytes(parsing: "10.0.0.1")!])
        #expect(hosts.addresses(of: "alias") == [IPBytes(parsing: "10.0.0.1")!])
        #expect(hosts.addresses(of: "v6only") == [IPBytes(parsing: "fd00::1")!])
        #expect(hosts.addresses(of: "tabbed") == [IPBytes(parsing: "10.0.0.3")!])
        #expect(hosts.addresses(of: "ignored") == nil)
        #expect(hosts.addresses(of: "elsewhere.example") == nil)
        // localhost is always defined (RFC 6761), unless the file says otherwise.
        #expect(hosts.addresses(of: "localhost") == [IPBytes(parsing: "127.0.0.1")!])
        #expect(HostsFile(parsing: "::1 localhost").addresses(of: "localhost") == [IPBytes(parsing: "::1")!])
        #expect(HostsFile(path: "/nonexistent/hosts").addresses(of: "localhost") == [IPBytes(parsing: "127.0.0.1")!])
    }

    @Test("a service host named in dns_hostsfile is proxied to the file's address")
    func proxiesThroughTheHostsFile() async throws {
        let dir = NSTemporaryDirectory() + "kgate-hosts-" + String(UInt64.random(in: 0...UInt64.max))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "127.0.0.1 upstream.kgate.invalid\n".write(toFile: dir + "/hosts", atomically: true, encoding: .utf8)
        var settings = NodeSettings()
        settings.dnsHostsfile = dir + "/hosts"
        try await withUpstreams(["h"]) { ups in
            let yaml = """
                _format_version: "3.0"
                services:
                - name: named
                  url: http://upstream.kgate.invalid:\(ups[0].port)
                  routes: [{paths: [/named]}]
                """
            let status = try await withProxy(yaml, settings: settings) { proxy in try await proxy.get("/named/x").status }
            #expect(status == 200)
            // Without the file, the name does not resolve: Kong's 503.
            let without = try await withProxy(yaml) { proxy in try await proxy.get("/named/x").status }
            #expect(without == 503)
        }
    }
}

/// The per-loop DNS cache with Kong's `dns_valid_ttl`, `dns_stale_ttl`, `dns_not_found_ttl` and
/// `dns_error_ttl`, against a resolver whose answers the test scripts.
@Suite("DNS cache TTLs")
struct DNSCacheTTLTests {
    /// Answers from a script (the last answer repeats), counting the queries.
    final class ScriptedResolver: DNSResolving {
        private let state: Mutex<(answers: [Result<DNSAnswer, DNSFailure>], calls: Int)>
        init(_ answers: [Result<DNSAnswer, DNSFailure>]) { state = Mutex((answers, 0)) }
        var calls: Int { state.withLock { $0.calls } }
        func resolve(_ host: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
            let next = state.withLock { s -> Result<DNSAnswer, DNSFailure> in
                s.calls += 1
                return s.answers.count > 1 ? s.answers.removeFirst() : s.answers[0]
            }
            return eventLoop.makeCompletedFuture(next.mapError { $0 as any Error })
        }
    }

    static let answer = DNSAnswer(addresses: [IPBytes(parsing: "10.0.0.1")!], ttl: .seconds(300))

    @Test func validTTLReplacesTheAnswers() {
        let loop = EmbeddedEventLoop()
        let resolver = ScriptedResolver([.success(Self.answer)])
        let cache = DNSCache(eventLoop: loop, resolver: resolver)
        cache.ttls.valid = .seconds(5)
        cache.resolve("a.test") { _ in }
        #expect(resolver.calls == 1)
        loop.advanceTime(by: .seconds(4))
        #expect(cache.cachedPeer("a.test") != nil && resolver.calls == 1)
        // Past the 5 s: still served (stale), refreshed in the background.
        loop.advanceTime(by: .seconds(2))
        #expect(cache.cachedPeer("a.test") != nil && resolver.calls == 2)
    }

    @Test func staleAnswersLastStaleTTL() {
        let loop = EmbeddedEventLoop()
        let resolver = ScriptedResolver([.success(Self.answer), .failure(.other("timeout"))])
        let cache = DNSCache(eventLoop: loop, resolver: resolver)
        cache.ttls = DNSTTLs(valid: .seconds(5), stale: .seconds(10), notFound: .seconds(30), error: .seconds(1))
        cache.resolve("a.test") { _ in }
        loop.advanceTime(by: .seconds(6))
        // The refresh fails: the stale answer is kept, retried after dns_error_ttl.
        #expect(cache.cachedPeer("a.test") != nil && resolver.calls == 2)
        #expect(cache.cachedPeer("a.test") != nil && resolver.calls == 2)
        loop.advanceTime(by: .seconds(2))
        #expect(cache.cachedPeer("a.test") != nil && resolver.calls == 3)
        // 5 s valid + 10 s stale: no longer served.
        loop.advanceTime(by: .seconds(8))
        #expect(cache.cachedPeer("a.test") == nil)
    }

    @Test func failuresAreRememberedByKind() {
        let loop = EmbeddedEventLoop()
        let cache = DNSCache(eventLoop: loop, resolver: ScriptedResolver([.failure(.nameNotFound)]))
        cache.resolve("missing.test") { _ in }
        loop.advanceTime(by: .seconds(29))
        #expect(cache.cachedFailure("missing.test") == .nameNotFound)
        loop.advanceTime(by: .seconds(2))
        #expect(cache.cachedFailure("missing.test") == nil)
        let erring = DNSCache(eventLoop: loop, resolver: ScriptedResolver([.failure(.other("refused"))]))
        erring.resolve("broken.test") { _ in }
        #expect(erring.cachedFailure("broken.test") == .other("refused"))
        loop.advanceTime(by: .seconds(2))
        #expect(erring.cachedFailure("broken.test") == nil)
    }
}
