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
        #expect(b.wheel.count == 3)
        var counts: [String: Int] = [:]
        for _ in 0..<300 { counts[b.next()!.host, default: 0] += 1 }
        #expect(counts["10.0.0.1"] == 200)
        #expect(counts["10.0.0.2"] == 100)
        #expect(counts["10.0.0.3"] == nil)
        #expect(Balancer.buildWheel(weights: [1, 1]) == [0, 1])
        #expect(Balancer(id: "e", name: "e", hostHeader: nil, targets: []).next() == nil)
    }
}
