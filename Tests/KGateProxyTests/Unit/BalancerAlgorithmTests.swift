import Testing

@testable import KGateProxy

@Suite("Balancer algorithms")
struct BalancerAlgorithmTests {
    private static func address(_ ip: String, port: Int = 8000, weight: Int = 100, host: String? = nil) -> BalancerAddress {
        BalancerAddress(ip: IPBytes(parsing: ip)!, port: port, weight: weight, host: host ?? ip)
    }

    private static func all(_: Int) -> Bool { true }
    private static func none(_: Int) -> Bool { false }

    // MARK: xxHash32

    @Test("xxHash32 matches the reference vectors (seed 0, as luaxxhash)")
    func xxhashVectors() {
        #expect(XXHash32.hash("") == 0x02CC_5D05)
        #expect(XXHash32.hash("a") == 0x550D_7456)
        #expect(XXHash32.hash("abc") == 0x32D1_53FF)
        #expect(XXHash32.hash("dupa") == 0x1A47_C09D)
        #expect(XXHash32.hash("0123456789abcdef") == 0xC2C4_5B69)
        #expect(XXHash32.hash("Nobody inspects the spammish repetition") == 0xE229_3B2F)
        #expect(XXHash32.hash(String(repeating: "x", count: 100) + "yz") == 0x133E_131A)
        #expect(XXHash32.hash(String(repeating: "a", count: 37)) == 0x3F87_545B)
        #expect(XXHash32.hash(String(repeating: "Cats are interesting.", count: 256)) == 0xF1DB_4C68)
        #expect(XXHash32.hash("10.0.0.1::8000 1") == 0x5BCF_C2D6)
        #expect(XXHash32.hash("abc", seed: 0x5BD1_E995) == 0xBDDE_B201)
        #expect(XXHash32.hash("héllo wörld ✓") == 0xC26D_C238)
    }

    @Test("xxHash32 gives the same answer for contiguous and non-contiguous bytes")
    func xxhashCollections() {
        let text = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox."
        let bytes = Array(text.utf8)
        #expect(XXHash32.hash(bytes) == XXHash32.hash(text))
        #expect(XXHash32.hash(bytes.lazy.map { $0 }) == XXHash32.hash(text))
        #expect(XXHash32.hash(bytes[3...]) == XXHash32.hash(String(text.dropFirst(3))))
    }

    // MARK: consistent hashing

    /// Kong's continuum recomputed independently: point -> address index (nil when empty).
    private static func kongSlots(_ sorted: [(index: Int, address: BalancerAddress)], targetCount: Int, points: Int) -> [Int: Int] {
        let total = sorted.reduce(0) { $0 + $1.address.weight }
        var slots: [Int: Int] = [:]
        for (index, a) in sorted {
            var entries = max(Int(Double(a.weight) / Double(total) * Double(targetCount) * 160), 1)
            let ip = a.ip.isIPv6 ? "[\(a.ip.text)]" : a.ip.text
            var i = 1
            while i <= entries {
                let p = Int(XXHash32.hash("\(ip)::\(a.port) \(i)")) % points + 1
                if slots[p] == nil { slots[p] = index } else { entries += 1 }
                i += 1
            }
        }
        return slots
    }

    @Test("continuum size: slots within 1000...2^32, else 1000; points are 1-based")
    func continuumPoints() {
        let a = [Self.address("10.0.0.1")]
        #expect(HashContinuum(addresses: a, targetCount: 1, slots: 10).points == 1000)
        #expect(HashContinuum(addresses: a, targetCount: 1, slots: 999).points == 1000)
        #expect(HashContinuum(addresses: a, targetCount: 1, slots: 1000).points == 1000)
        #expect(HashContinuum(addresses: a, targetCount: 1, slots: 10000).points == 10000)
        let c = HashContinuum(addresses: a, targetCount: 1, slots: 10000)
        for n in 0..<2000 {
            let value = "value-\(n)"
            #expect((1...10000).contains(c.point(for: value)))
            #expect(c.point(for: value) == Int(XXHash32.hash(value)) % 10000 + 1)
        }
    }

    @Test("the continuum is Kong's: keys \"ip::port i\", sorted addresses, collisions move forward")
    func continuumLayout() {
        // Given out of order: Kong sorts targets by name then port, addresses by "ip:port".
        let addresses = [Self.address("10.0.0.2"), Self.address("::1", port: 81), Self.address("10.0.0.1", weight: 50)]
        let c = HashContinuum(addresses: addresses, targetCount: 3, slots: 1000)
        let sorted = [(2, addresses[2]), (0, addresses[0]), (1, addresses[1])]
        let slots = Self.kongSlots(sorted, targetCount: 3, points: 1000)
        var seen: [Int] = []
        // With nothing available the walk asks about every filled point, in Kong's order.
        _ = c.address(from: 500) { seen.append($0); return false }
        let walk = Array(stride(from: 500, through: 1, by: -1)) + Array(stride(from: 1000, through: 502, by: -1))
        #expect(seen == walk.compactMap { slots[$0] })
        // The first available one on that walk wins; point+1 is never looked at.
        for start in [1, 2, 500, 998, 999, 1000] {
            let order = Array(stride(from: start, through: 1, by: -1))
                + (start < 1000 ? Array(stride(from: 1000, through: start + 2, by: -1)) : [])
                + (start == 999 ? [1000] : [])
            let owners = order.compactMap { slots[$0] }
            #expect(c.address(from: start, isAvailable: Self.all) == owners.first)
            #expect(c.address(from: start) { $0 != owners.first } == owners.first { $0 != owners.first })
        }
        #expect(c.address(from: 500, isAvailable: Self.none) == nil)
    }

    @Test("the same value always lands on the same address, whatever the addresses' order")
    func continuumStable() {
        let addresses = (1...4).map { Self.address("10.0.0.\($0)") }
        let c1 = HashContinuum(addresses: addresses, targetCount: 4, slots: 10000)
        let c2 = HashContinuum(addresses: addresses.reversed(), targetCount: 4, slots: 10000)
        for n in 0..<500 {
            let value = "user-\(n)"
            let a = c1.address(from: c1.point(for: value), isAvailable: Self.all)!
            #expect(c1.address(from: c1.point(for: value), isAvailable: Self.all) == a)
            let b = c2.address(from: c2.point(for: value), isAvailable: Self.all)!
            #expect(addresses[a] == addresses.reversed()[b])
        }
    }

    @Test("three equal targets share the values roughly evenly")
    func continuumDistribution() {
        let addresses = (1...3).map { Self.address("10.0.0.\($0)") }
        let c = HashContinuum(addresses: addresses, targetCount: 3, slots: 10000)
        var counts = [0, 0, 0]
        for n in 0..<30000 { counts[c.address(from: c.point(for: "client-\(n)"), isAvailable: Self.all)!] += 1 }
        #expect(counts.allSatisfy { (7000...13000).contains($0) })
    }

    @Test("removing a target only moves the values that were on it")
    func continuumConsistency() {
        let addresses = (1...4).map { Self.address("10.0.0.\($0)") }
        let before = HashContinuum(addresses: addresses, targetCount: 4, slots: 10000)
        let remaining = Array(addresses.dropLast())
        let after = HashContinuum(addresses: remaining, targetCount: 3, slots: 10000)
        var moved = 0
        for n in 0..<5000 {
            let value = "session-\(n)"
            let old = addresses[before.address(from: before.point(for: value), isAvailable: Self.all)!]
            let new = remaining[after.address(from: after.point(for: value), isAvailable: Self.all)!]
            if old != addresses[3] { #expect(new == old) } else { moved += 1 }
        }
        #expect(moved > 0)
    }

    @Test("unavailable addresses are skipped; none available gives nil")
    func continuumUnavailable() {
        let addresses = (1...3).map { Self.address("10.0.0.\($0)") }
        let c = HashContinuum(addresses: addresses, targetCount: 3, slots: 1000)
        for n in 0..<300 {
            let p = c.point(for: "k\(n)")
            #expect(c.address(from: p) { $0 == 1 } == 1)
            #expect(c.address(from: p) { $0 != 0 } != 0)
        }
        #expect(c.address(from: 1, isAvailable: Self.none) == nil)
        #expect(HashContinuum(addresses: [], targetCount: 0, slots: 1000).address(from: 1, isAvailable: Self.all) == nil)
    }

    @Test("too many entries for the continuum: Kong's CRIT path leaves it empty")
    func continuumOverflow() {
        let addresses = (1...10).map { Self.address("10.0.0.\($0)") }  // 10 * 160 entries > 1000 points
        let c = HashContinuum(addresses: addresses, targetCount: 10, slots: 1000)
        #expect(c.address(from: 1000, isAvailable: Self.all) == nil)
        #expect(HashContinuum(addresses: addresses, targetCount: 10, slots: 10000).address(from: 1, isAvailable: Self.all) != nil)
    }

    // MARK: least connections

    @Test("least connections: equal weights take turns")
    func leastConnectionsAlternate() {
        let lc = LeastConnections(weights: [10, 10])
        var picks: [Int] = []
        for _ in 0..<6 {
            let p = lc.pick(isAvailable: Self.all, failed: Self.none)!
            picks.append(p)
            lc.release(p)
        }
        #expect(picks == [0, 1, 0, 1, 0, 1])
    }

    @Test("least connections: held connections follow the weights 2:1")
    func leastConnectionsWeights() {
        let lc = LeastConnections(weights: [2, 1])
        var picks: [Int] = []
        for _ in 0..<6 { picks.append(lc.pick(isAvailable: Self.all, failed: Self.none)!) }
        #expect(picks == [0, 1, 0, 0, 1, 0])
        #expect(lc.connections(0) == 4)
        #expect(lc.connections(1) == 2)
    }

    @Test("least connections: an address with open connections is avoided; release lowers the count")
    func leastConnectionsOpen() {
        let lc = LeastConnections(weights: [1, 1, 1])
        #expect(lc.pick(isAvailable: Self.all, failed: Self.none) == 0)
        #expect(lc.pick(isAvailable: Self.all, failed: Self.none) == 1)
        #expect(lc.pick(isAvailable: Self.all, failed: Self.none) == 2)
        lc.release(1)
        #expect(lc.connections(1) == 0)
        #expect(lc.pick(isAvailable: Self.all, failed: Self.none) == 1)
        lc.release(2)
        lc.release(2)
        lc.release(2)
        #expect(lc.connections(2) == 0)
    }

    @Test("least connections: failed addresses are skipped, and reused when all failed")
    func leastConnectionsFailed() {
        let lc = LeastConnections(weights: [1, 1, 0])
        #expect(lc.pick(isAvailable: Self.all, failed: { $0 == 0 }) == 1)
        lc.release(1)
        // Everything available failed: the best of them (0 has no connection, 1 was just used).
        #expect(lc.pick(isAvailable: Self.all, failed: Self.all) == 0)
        #expect(lc.pick(isAvailable: { $0 != 0 }, failed: Self.none) == 1)
        #expect(lc.pick(isAvailable: { $0 == 2 }, failed: Self.none) == nil)  // weight 0
        #expect(lc.pick(isAvailable: Self.none, failed: Self.none) == nil)
        #expect(lc.connections(2) == 0)
    }

    @Test("least connections: concurrent picks and releases balance out")
    func leastConnectionsConcurrent() async {
        let lc = LeastConnections(weights: [1, 2, 3])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<1000 {
                        if let p = lc.pick(isAvailable: { _ in true }, failed: { _ in false }) { lc.release(p) }
                    }
                }
            }
        }
        #expect((0..<3).allSatisfy { lc.connections($0) == 0 })
    }

    // MARK: latency

    @Test("latency: an address that answered slowly is avoided")
    func latencySlow() {
        let l = LatencyEWMA(weights: [1, 1, 1])
        l.record(0, rtt: 1.0, now: 100)
        l.record(1, rtt: 0.2, now: 100)
        l.record(2, rtt: 0.05, now: 100)
        #expect(l.pick(isAvailable: Self.all, failed: Self.none, now: 100) == 2)
        l.record(2, rtt: 3.0, now: 101)
        #expect(l.pick(isAvailable: Self.all, failed: Self.none, now: 101) == 1)
    }

    @Test("latency: the EWMA decays with DECAY_TIME 10 s")
    func latencyDecay() {
        let l = LatencyEWMA(weights: [1, 1])
        l.record(0, rtt: 1.0, now: 0)
        #expect(l.ewma(0, now: 0) == 1.0)
        #expect(abs(l.ewma(0, now: 10) - 0.36787944117144233) < 1e-12)
        // Kong's decay_ewma on update: ewma * w + rtt * (1 - w), w = exp(-td / 10).
        l.record(0, rtt: 0.0, now: 10)
        #expect(abs(l.ewma(0, now: 10) - 0.36787944117144233) < 1e-12)
        // A slow answer long ago weighs less than a fair one just now.
        l.record(1, rtt: 0.1, now: 10)
        #expect(l.pick(isAvailable: Self.all, failed: Self.none, now: 10) == 1)
        let later = LatencyEWMA(weights: [1, 1])
        later.record(0, rtt: 1.0, now: 0)
        later.record(1, rtt: 0.1, now: 50)
        #expect(later.pick(isAvailable: Self.all, failed: Self.none, now: 50) == 0)
    }

    @Test("latency: the weight divides the score; ties go to the lowest index")
    func latencyWeights() {
        let l = LatencyEWMA(weights: [1, 4, 0])
        #expect(l.pick(isAvailable: Self.all, failed: Self.none, now: 0) == 0)
        l.record(0, rtt: 0.1, now: 0)
        l.record(1, rtt: 0.3, now: 0)
        #expect(l.pick(isAvailable: Self.all, failed: Self.none, now: 0) == 1)
        #expect(l.pick(isAvailable: { $0 != 1 }, failed: Self.none, now: 0) == 0)
    }

    @Test("latency: failed addresses are skipped; a lone address is reused as in Kong")
    func latencyFailed() {
        let l = LatencyEWMA(weights: [1, 1, 1])
        l.record(0, rtt: 0.01, now: 5)
        l.record(1, rtt: 0.02, now: 5)
        l.record(2, rtt: 0.03, now: 5)
        #expect(l.pick(isAvailable: Self.all, failed: { $0 == 0 }, now: 5) == 1)
        #expect(l.pick(isAvailable: Self.all, failed: { $0 < 2 }, now: 5) == 2)
        #expect(l.pick(isAvailable: Self.all, failed: Self.all, now: 5) == nil)
        #expect(l.pick(isAvailable: { $0 == 1 }, failed: Self.all, now: 5) == 1)
        #expect(l.pick(isAvailable: Self.none, failed: Self.none, now: 5) == nil)
    }

    @Test("latency: a first sample soon after creation weighs little; slow start at the mean")
    func latencySlowStart() {
        let fresh = LatencyEWMA(weights: [1], now: 0)
        fresh.record(0, rtt: 1.0, now: 10)
        #expect(abs(fresh.ewma(0, now: 10) - (1 - 0.36787944117144233)) < 1e-12)
        let l = LatencyEWMA(weights: [1, 1])
        l.record(0, rtt: 0.4, now: 0)
        l.record(1, rtt: 0.2, now: 0)
        // Address 1 stays (now index 0), address 0 goes, two new ones come.
        let next = l.carried(to: [1, 1, 1], now: 0) { $0 == 0 ? 1 : nil }
        #expect(next.ewma(0, now: 0) == 0.2)
        #expect(abs(next.ewma(1, now: 0) - 0.2 / 3) < 1e-12)
        #expect(next.pick(isAvailable: Self.all, failed: Self.none, now: 0) == 1)
    }
}
