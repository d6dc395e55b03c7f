import Atomics
import Dispatch
import Foundation
import KGateConfig
import KGateStore
import Testing

/// Readers on several threads load the current generation millions of times in total while
/// another thread flips thousands of times; every generation a reader sees must be whole.
@Suite("Flip under concurrent readers", .serialized)
struct FlipConcurrencyTests {
    static let readerCount = 4
    static let minimumFlips = 3_000
    static let minimumReads = 2_000_000
    static let deadline = Duration.seconds(8)

    /// What readers found wrong; empty when every generation seen was consistent.
    final class Findings: Sendable {
        let problems = ManagedAtomic<Int>(0)
        let reads = ManagedAtomic<Int>(0)
        let flips = ManagedAtomic<Int>(0)
        let distinctSeen = ManagedAtomic<Int>(0)
        let flipperDone = ManagedAtomic<Bool>(false)
    }

    @Test func readersSeeWholeGenerations() throws {
        let configCount = 8
        let configs = try (0..<configCount).map { try Fixtures.load(Fixtures.numbered($0)) }
        // Content → hash, so a reader can tell which config a page claims to be.
        let family = Dictionary(uniqueKeysWithValues: configs.enumerated().map { ($1.hash, $0) })
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        try store.install(configs[0], source: .admin)
        let findings = Findings()
        let group = DispatchGroup()
        let clock = ContinuousClock()
        let start = clock.now

        for _ in 0..<Self.readerCount {
            group.enter()
            Thread {
                defer { group.leave() }
                Self.read(store: store, family: family, findings: findings)
            }.start()
        }
        group.enter()
        Thread {
            defer { group.leave() }
            var i = 1
            while clock.now - start < Self.deadline,
                i < Self.minimumFlips || findings.reads.load(ordering: .relaxed) < Self.minimumReads
            {
                do {
                    try store.install(configs[i % configCount], source: .admin)
                } catch {
                    findings.problems.wrappingIncrement(ordering: .relaxed)
                }
                i += 1
                findings.flips.wrappingIncrement(ordering: .relaxed)
            }
            findings.flipperDone.store(true, ordering: .releasing)
        }.start()
        group.wait()

        let elapsed = clock.now - start
        let reads = findings.reads.load(ordering: .relaxed)
        let flips = findings.flips.load(ordering: .relaxed)
        print("flip test: \(reads) reads, \(flips) flips, in \(elapsed)")
        #expect(findings.problems.load(ordering: .relaxed) == 0)
        #expect(flips >= Self.minimumFlips)
        #expect(reads >= Self.minimumReads)
        // Readers really ran during flips: they saw many different generations.
        #expect(findings.distinctSeen.load(ordering: .relaxed) > Self.readerCount * 10)
        #expect(store.current.number == flips + 1)
        #expect(store.liveGenerations == 2)
    }

    /// One reader thread: load, check, repeat until the flipper is done.
    private static func read(store: ConfigStore, family: [String: Int], findings: Findings) {
        var lastNumber = -1
        var reads = 0
        var problems = 0
        var distinct = 0
        while !findings.flipperDone.load(ordering: .acquiring) {
            for _ in 0..<256 {
                let g = store.current
                reads += 1
                // Generations only move forward.
                if g.number < lastNumber { problems += 1 }
                if g.number != lastNumber { distinct += 1 }
                lastNumber = g.number
                // The artifact, the page and the generation were built from the same config.
                guard let stamp = g.artifact(for: StampBuilder.self), stamp.hash == g.hash, g.page.hash == g.hash,
                    stamp.services == g.page.count(of: "services")
                else {
                    problems += 1
                    continue
                }
                // Every 64th read, check the content itself encodes the same config.
                if reads & 63 == 0 { problems += check(g, family: family) }
            }
            findings.reads.wrappingIncrement(by: 256, ordering: .relaxed)
        }
        findings.problems.wrappingIncrement(by: problems, ordering: .relaxed)
        findings.distinctSeen.wrappingIncrement(by: distinct, ordering: .relaxed)
    }

    /// 0 when the page's content is config `k` of the family, with `k` taken from its hash.
    private static func check(_ g: Generation, family: [String: Int]) -> Int {
        guard let k = family[g.hash] else { return 1 }
        let page = g.page
        guard page.count(of: "services") == k + 1, page.count(of: "routes") == k + 1,
            page.entity("services", endpointKey: "c\(k)-s\(k)") != nil,
            page.entity("services", endpointKey: "c\(k)-s\(k + 1)") == nil,
            page.entities(tagged: "c\(k)").count == k + 1
        else { return 1 }
        return 0
    }
}
