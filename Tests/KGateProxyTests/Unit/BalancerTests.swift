import Atomics
import NIOCore
import NIOEmbedded
import Testing

@testable import KGateProxy

@Suite("Balancer")
struct BalancerTests {
    @Test("targets parse as Kong writes them")
    func targets() {
        #expect(BalancerTarget(target: "10.0.0.1:8080", weight: 1)?.port == 8080)
        #expect(BalancerTarget(target: "10.0.0.1", weight: 1)?.port == 8000)
        #expect(BalancerTarget(target: "[::1]:81", weight: 1)?.host == "::1")
        #expect(BalancerTarget(target: "[::1]:81", weight: 1)?.ip != nil)
        #expect(BalancerTarget(target: "backend.internal:9000", weight: 1)?.ip == nil)
        #expect(BalancerTarget(target: "::1", weight: 1)?.port == 8000)
    }

    @Test("weighted round-robin: shares follow weights, evenly spread; weight 0 skipped")
    func weights() {
        let targets = [
            BalancerTarget(target: "10.0.0.1:1", weight: 100)!, BalancerTarget(target: "10.0.0.2:1", weight: 50)!,
            BalancerTarget(target: "10.0.0.3:1", weight: 0)!,
        ]
        let b = Balancer(id: "u", name: "u", hostHeader: nil, targets: targets, start: 0)
        #expect(b.page.wheel.count == 3)
        var counts: [String: Int] = [:]
        for _ in 0..<300 { counts[b.next()!.host, default: 0] += 1 }
        #expect(counts["10.0.0.1"] == 200)
        #expect(counts["10.0.0.2"] == 100)
        #expect(counts["10.0.0.3"] == nil)
        #expect(Balancer.buildWheel(weights: [1, 1]) == [0, 1])
        #expect(Balancer(id: "e", name: "e", hostHeader: nil, targets: []).next() == nil)
    }

    private static func ips(_ texts: String...) -> [IPBytes] { texts.map { IPBytes(parsing: $0)! } }
    private static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("each address of a name is its own share with the target's weight, in Kong's order (address text)")
    func addressesOfNames() {
        let targets = [
            BalancerTarget(target: "api.test:8080", weight: 100)!, BalancerTarget(target: "10.9.9.9:81", weight: 150)!,
        ]
        var names = BalancerNames(names: ["api.test"])
        #expect(names.isAwaitingAnswers)
        #expect(names.due(at: Self.t0) == ["api.test"])
        #expect(names.addresses(of: targets).map(\.ip.text) == ["10.9.9.9"])
        let answer = DNSAnswer(addresses: Self.ips("10.0.0.2", "10.0.0.10", "10.0.0.1"), ttl: .seconds(30))
        var changed = names.record(.success(answer), for: "api.test", at: Self.t0)
        #expect(changed)
        #expect(!names.isAwaitingAnswers)
        #expect(names.nextRefresh == Self.t0 + .seconds(30))
        let addresses = names.addresses(of: targets)
        #expect(addresses.map(\.ip.text) == ["10.0.0.1", "10.0.0.10", "10.0.0.2", "10.9.9.9"])
        #expect(addresses.map(\.port) == [8080, 8080, 8080, 81])
        #expect(addresses.map(\.weight) == [100, 100, 100, 150])
        #expect(addresses.map(\.host) == ["api.test", "api.test", "api.test", "10.9.9.9"])
        // 2 points per address of the name, 3 for the IP target.
        let wheel = Balancer.buildWheel(weights: addresses.map(\.weight))
        #expect([0, 1, 2, 3].map { i in wheel.filter { $0 == i }.count } == [2, 2, 2, 3])
        // The same answer in another order changes nothing (Kong: "DNS record order has no effect").
        let shuffled = DNSAnswer(addresses: Self.ips("10.0.0.10", "10.0.0.1", "10.0.0.2"), ttl: .seconds(30))
        changed = names.record(.success(shuffled), for: "api.test", at: Self.t0 + .seconds(30))
        #expect(!changed)
        #expect(names.addresses(of: targets) == addresses)
    }

    @Test("SRV answers: top priority only, each record's own port and weight; port 0 is the target's, weight 0 is 1")
    func serviceRecords() {
        var names = BalancerNames(names: ["srv.test"])
        let services = [
            DNSService(ip: IPBytes(parsing: "10.0.0.2")!, port: 9000, weight: 30, priority: 10),
            DNSService(ip: IPBytes(parsing: "10.0.0.1")!, port: 0, weight: 0, priority: 10),
            DNSService(ip: IPBytes(parsing: "10.0.0.3")!, port: 9001, weight: 50, priority: 20),
        ]
        let answer = DNSAnswer(addresses: [], services: services, ttl: .seconds(30))
        _ = names.record(.success(answer), for: "srv.test", at: Self.t0)
        let addresses = names.addresses(of: [BalancerTarget(target: "srv.test:80", weight: 99999)!])
        #expect(addresses.map(\.ip.text) == ["10.0.0.1", "10.0.0.2"])
        #expect(addresses.map(\.port) == [80, 9000])
        #expect(addresses.map(\.weight) == [1, 30])
    }

    @Test("failed queries: a missing name loses its addresses; other failures keep a stale answer for dns_stale_ttl")
    func failures() {
        let target = [BalancerTarget(target: "api.test:80", weight: 10)!]
        var names = BalancerNames(names: ["api.test"])
        var changed = names.record(
            .success(DNSAnswer(addresses: Self.ips("10.0.0.1"), ttl: .seconds(30))), for: "api.test", at: Self.t0)
        #expect(changed)
        // The server is unreachable at expiry: the stale answer serves, asked again in a second.
        var now = Self.t0 + .seconds(31)
        changed = names.record(.failure(.other("timeout")), for: "api.test", at: now)
        #expect(!changed)
        #expect(names.addresses(of: target).count == 1)
        #expect(names.nextRefresh == now + BalancerNames.errorRetry)
        // An answer without records too.
        changed = names.record(.success(DNSAnswer(addresses: [], ttl: .seconds(30))), for: "api.test", at: now)
        #expect(!changed)
        // Past the stale time, the name has no address; asked again after the requery interval.
        now = Self.t0 + .seconds(30) + BalancerNames.staleTTL + .seconds(1)
        changed = names.record(.failure(.other("timeout")), for: "api.test", at: now)
        #expect(changed)
        #expect(names.addresses(of: target).isEmpty)
        #expect(names.nextRefresh == now + BalancerNames.requeryInterval)
        // It comes back; a TTL of 0 is used for a second.
        changed = names.record(
            .success(DNSAnswer(addresses: Self.ips("10.0.0.2"), ttl: .zero)), for: "api.test", at: now)
        #expect(changed)
        #expect(names.addresses(of: target).map(\.ip.text) == ["10.0.0.2"])
        #expect(names.nextRefresh == now + .seconds(1))
        // A name error removes the addresses at once (Kong: dns error, weight 0).
        changed = names.record(.failure(.nameNotFound), for: "api.test", at: now)
        #expect(changed)
        #expect(names.addresses(of: target).isEmpty)
        #expect(!names.isAwaitingAnswers)
        // A reload carries the answers of the names it keeps.
        let reloaded = BalancerNames(names: ["api.test", "new.test"], carryingOver: names)
        #expect(reloaded.entries["api.test"]?.records == [])
        #expect(reloaded.entries["new.test"]?.records == nil)
    }

    @Test("picks follow the DNS answer: first answers awaited, expired ones asked again, a vanished name: no peer")
    func picksFollowAnswers() throws {
        let loop = EmbeddedEventLoop()
        let resolver = ScriptedResolver()
        resolver.answer("pool.test", ["127.0.0.2", "127.0.0.1"], ttl: .seconds(10))
        let targets = [BalancerTarget(target: "pool.test:80", weight: 100)!]
        let b = Balancer(id: "u", name: "u", hostHeader: nil, targets: targets, start: 0)
        func pick() -> Balancer.Pick { b.pick(now: loop.now, resolver: resolver, on: loop) }
        func picks(_ n: Int) -> [String: Int] {
            var counts: [String: Int] = [:]
            for _ in 0..<n {
                guard case .address(let a) = pick() else { return counts }
                counts[a.address.ip.text, default: 0] += 1
            }
            return counts
        }
        guard case .waiting(let answered) = pick() else {
            Issue.record("a pick did not wait for the first answer")
            return
        }
        let done = ManagedAtomic(false)
        answered.whenComplete { _ in done.store(true, ordering: .relaxed) }
        loop.run()
        let answeredFirst = done.load(ordering: .relaxed)
        #expect(answeredFirst)
        #expect(picks(10) == ["127.0.0.1": 5, "127.0.0.2": 5])

        // The answer changes; the first pick after expiry still uses the old page and asks.
        resolver.answer("pool.test", ["127.0.0.3"], ttl: .seconds(10))
        loop.advanceTime(by: .seconds(11))
        guard case .address = pick() else {
            Issue.record("no address while refreshing")
            return
        }
        loop.run()
        #expect(picks(4) == ["127.0.0.3": 4])
        // Unchanged answers keep the wheel.
        let wheel = b.page.wheel
        loop.advanceTime(by: .seconds(11))
        _ = pick()
        loop.run()
        #expect(b.page.wheel == wheel)
        #expect(b.page.refreshAt > loop.now)

        // A reload keeps the answers of the names it keeps: no wait, no query.
        let mixed = [
            BalancerTarget(target: "pool.test:80", weight: 100)!, BalancerTarget(target: "10.0.0.9:80", weight: 100)!,
        ]
        let reloaded = Balancer(id: "u", name: "u", hostHeader: nil, targets: mixed, previous: b, start: 0)
        #expect(reloaded.page.addresses.map(\.ip.text) == ["127.0.0.3", "10.0.0.9"])
        #expect(!reloaded.page.awaitingAnswers)
        guard case .address = reloaded.pick(now: loop.now, resolver: resolver, on: loop) else {
            Issue.record("a reloaded balancer waited")
            return
        }
        #expect(resolver.queries.count == 3)

        // The name disappears: no peer.
        resolver.answer("pool.test", .failure(.nameNotFound))
        loop.advanceTime(by: .seconds(11))
        _ = pick()
        loop.run()
        guard case .noPeer = pick() else {
            Issue.record("a vanished name still has addresses")
            return
        }
        #expect(resolver.queries == ["pool.test", "pool.test", "pool.test", "pool.test"])
        try loop.syncShutdownGracefully()
    }

    @Test("latency: a DNS change keeps the EWMAs of the addresses that stay; a new one starts at the mean")
    func latencyCarriedOverDNSChange() throws {
        let loop = EmbeddedEventLoop()
        let resolver = ScriptedResolver()
        resolver.answer("pool.test", ["127.0.0.1", "127.0.0.2"], ttl: .seconds(10))
        let b = Balancer(
            id: "u", name: "u", hostHeader: nil, targets: [BalancerTarget(target: "pool.test:80", weight: 100)!],
            algorithm: .latency)
        _ = b.pick(now: loop.now, resolver: resolver, on: loop)
        loop.run()
        let first = b.page
        guard case .latency(let before) = first.selection else {
            Issue.record("not a latency page")
            return
        }
        // Samples long after the page was made count whole.
        loop.advanceTime(by: .seconds(1000))
        let now = Double(loop.now.uptimeNanoseconds) / 1e9
        let slow = try #require(first.addresses.firstIndex { $0.ip.text == "127.0.0.2" })
        before.record(slow, rtt: 0.5, now: now)
        before.record(1 - slow, rtt: 0.1, now: now)

        // 127.0.0.1 goes, 127.0.0.3 comes: 127.0.0.2 keeps its 0.5, 127.0.0.3 starts at the mean.
        resolver.answer("pool.test", ["127.0.0.2", "127.0.0.3"], ttl: .seconds(10))
        loop.advanceTime(by: .seconds(11))
        _ = b.pick(now: loop.now, resolver: resolver, on: loop)
        loop.run()
        let page = b.page
        guard case .latency(let after) = page.selection else {
            Issue.record("not a latency page after the change")
            return
        }
        let later = Double(loop.now.uptimeNanoseconds) / 1e9
        let kept = try #require(page.addresses.firstIndex { $0.ip.text == "127.0.0.2" })
        let added = try #require(page.addresses.firstIndex { $0.ip.text == "127.0.0.3" })
        #expect(abs(after.ewma(kept, now: now) - 0.5) < 1e-9)
        #expect(abs(after.ewma(added, now: later) - 0.25) < 1e-9)
        try loop.syncShutdownGracefully()
    }

    @Test("a balancer of IP targets never asks; a name that is not answered yet does not hold up the IP targets")
    func ipTargets() {
        let loop = EmbeddedEventLoop()
        let resolver = ScriptedResolver()
        let ipOnly = Balancer(
            id: "i", name: "i", hostHeader: nil, targets: [BalancerTarget(target: "10.0.0.1:80", weight: 5)!])
        guard case .address(let a) = ipOnly.pick(now: loop.now, resolver: resolver, on: loop) else {
            Issue.record("no address")
            return
        }
        #expect(a.address.ip.text == "10.0.0.1")
        #expect(resolver.queries.isEmpty)
        let mixed = Balancer(
            id: "m", name: "m", hostHeader: nil,
            targets: [
                BalancerTarget(target: "nonexistent.test:80", weight: 5)!,
                BalancerTarget(target: "10.0.0.1:80", weight: 5)!,
            ])
        guard case .address(let b) = mixed.pick(now: loop.now, resolver: resolver, on: loop) else {
            Issue.record("the IP target waited for the name")
            return
        }
        #expect(b.address.ip.text == "10.0.0.1")
        loop.run()
        #expect(resolver.queries == ["nonexistent.test"])
        #expect(mixed.page.addresses.map(\.ip.text) == ["10.0.0.1"])
        #expect(!mixed.page.awaitingAnswers)
    }
}
