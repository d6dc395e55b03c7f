import Atomics
import Foundation
import KGateConfig
import KGateStore
import Testing

/// Bursts of reloads end with a small, bounded number of generations alive.
@Suite("Reload bursts", .serialized)
struct ReloadBurstTests {
    /// A reader thread that keeps one generation for a while, then takes the current one again,
    /// and records the most generations it ever saw alive.
    final class Reader: Sendable {
        let stop = ManagedAtomic<Bool>(false)
        let done = ManagedAtomic<Bool>(false)
        let maxLive = ManagedAtomic<Int>(0)
        let reads = ManagedAtomic<Int>(0)

        func start(_ store: ConfigStore) {
            Thread {
                var held = store.current
                var n = 0
                while !self.stop.load(ordering: .relaxed) {
                    n += 1
                    if n % 1_000 == 0 { held = store.current }  // a long request finishing, a new one starting
                    if n % 100 == 0 { usleep(20) }  // leave the loader a core (CI machines have two)
                    _ = held.page.count(of: "services")
                    let live = store.liveGenerations
                    var seen = self.maxLive.load(ordering: .relaxed)
                    while live > seen {
                        let (done, original) = self.maxLive.compareExchange(
                            expected: seen, desired: live, ordering: .relaxed)
                        if done { break }
                        seen = original
                    }
                }
                self.reads.store(n, ordering: .relaxed)
                self.done.store(true, ordering: .releasing)
            }.start()
        }

        func finish() async {
            stop.store(true, ordering: .relaxed)
            while !done.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    @Test func thousandFlips() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        let configs = try (0..<4).map { try Fixtures.load(Fixtures.numbered($0)) }
        let reader = Reader()
        reader.start(store)
        for i in 0..<1_000 { try store.install(configs[i % configs.count], source: .admin) }
        reader.stop.store(true, ordering: .relaxed)
        while !reader.done.load(ordering: .acquiring) { usleep(100) }

        #expect(store.current.number == 1_000)
        // Active + inactive slot + the one the reader holds.
        #expect(reader.maxLive.load(ordering: .relaxed) <= 3)
        #expect(store.liveGenerations == 2)
        store.releaseInactive()
        #expect(store.liveGenerations == 1)
    }

    @Test func sequentialReloadsThroughTheCoordinator() async throws {
        let count = 200
        let capture = LogCapture()
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        let coordinator = ReloadCoordinator(store: store, loader: Fixtures.loader, logger: capture.logger)
        let texts = (0..<count).map { Array(Fixtures.numbered($0 % 4, variant: $0).utf8) }
        let reader = Reader()
        reader.start(store)
        let flipped = await withRunning(coordinator) {
            var flipped = 0
            for text in texts {
                if await coordinator.reload(.bytes(text, source: .admin)).generation != nil { flipped += 1 }
            }
            return flipped
        }
        await reader.finish()

        #expect(flipped == count)
        #expect(store.current.number == count)
        #expect(reader.maxLive.load(ordering: .relaxed) <= 3)
        #expect(store.liveGenerations == 2)
        #expect(capture.lines.count == count)
        #expect(coordinator.status.counters.flipped == count)
    }

    @Test func burstOfSubmitsCollapses() async throws {
        let capture = LogCapture()
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        let coordinator = ReloadCoordinator(store: store, loader: Fixtures.loader, logger: capture.logger)
        let reader = Reader()
        reader.start(store)
        let last = await withRunning(coordinator) {
            for i in 0..<999 { coordinator.submit(.bytes(Array(Fixtures.numbered(i % 4, variant: i).utf8), source: .admin)) }
            return await coordinator.reload(.bytes(Array(Fixtures.numbered(3, variant: 999).utf8), source: .admin))
        }
        await reader.finish()

        // The last request always runs; most of the others were superseded while one load ran.
        #expect(last.generation == store.current.number)
        #expect(store.current.page.count(of: "services") == 4)
        let counters = coordinator.status.counters
        #expect(counters.flipped + counters.superseded + counters.skipped == 1_000)
        #expect(counters.flipped == store.current.number)
        #expect(capture.lines.count == counters.flipped + counters.skipped)
        #expect(reader.maxLive.load(ordering: .relaxed) <= 3)
        #expect(store.liveGenerations <= 2)
    }
}
