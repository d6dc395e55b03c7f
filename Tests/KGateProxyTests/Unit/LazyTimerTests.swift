import NIOCore
import NIOEmbedded
import Testing

@testable import KGateProxy

@Suite("Lazy timer")
struct LazyTimerTests {
    final class Counter { var fired = 0 }

    /// An embedded loop, its tick clock (reset after each tick by the batcher) and its timers.
    struct Fixture {
        let loop = EmbeddedEventLoop()
        let batcher: FlushBatcher
        let timers: LoopTimers

        init() {
            batcher = FlushBatcher(eventLoop: loop)
            timers = LoopTimers(eventLoop: loop, clock: batcher.clock)
        }
    }

    @Test("re-arming moves the deadline without rescheduling; disarm stops it")
    func rearm() {
        let f = Fixture()
        let timer = LazyTimer(timers: f.timers)
        let counter = Counter()
        timer.onFire = { counter.fired += 1 }
        timer.arm(in: .seconds(10))
        f.loop.advanceTime(by: .seconds(5))
        timer.arm(in: .seconds(10))  // now due at 15
        f.loop.advanceTime(by: .seconds(6))  // 11: the entry comes due, finds the deadline moved
        #expect(counter.fired == 0)
        #expect(f.timers.count == 1)
        f.loop.advanceTime(by: .seconds(4))  // 15
        #expect(counter.fired == 1)
        #expect(f.timers.count == 0)
        timer.arm(in: .seconds(1))
        timer.disarm()
        f.loop.advanceTime(by: .seconds(2))
        #expect(counter.fired == 1)
        timer.arm(in: .seconds(5))
        timer.arm(in: .seconds(1))  // earlier: the entry moves up
        f.loop.advanceTime(by: .seconds(1))
        #expect(counter.fired == 2)
        timer.cancel()
        try? f.loop.syncShutdownGracefully()
    }

    @Test("many timers fire in deadline order; cancelled ones leave the heap and never fire")
    func heapOrder() {
        let f = Fixture()
        var order: [Int] = []
        // Deadlines 1...40 s in a scrambled order; every third one is cancelled.
        let seconds = (0..<40).map { ($0 * 17) % 40 + 1 }
        var timers: [LazyTimer] = []
        for s in seconds {
            let timer = LazyTimer(timers: f.timers)
            timer.onFire = { order.append(s) }
            timer.arm(in: .seconds(Int64(s)))
            timers.append(timer)
        }
        #expect(f.timers.count == 40)
        var cancelled = Set<Int>()
        for (i, timer) in timers.enumerated() where i % 3 == 0 {
            timer.cancel()
            cancelled.insert(seconds[i])
        }
        #expect(f.timers.count == 40 - cancelled.count)
        for _ in 0..<40 { f.loop.advanceTime(by: .seconds(1)) }
        #expect(order == (1...40).filter { !cancelled.contains($0) })
        #expect(f.timers.count == 0)
        try? f.loop.syncShutdownGracefully()
    }

    @Test("a callback may arm and cancel other timers, including ones due in the same run")
    func callbacks() {
        let f = Fixture()
        let a = LazyTimer(timers: f.timers)
        let b = LazyTimer(timers: f.timers)
        let c = LazyTimer(timers: f.timers)
        var fired: [String] = []
        a.onFire = {
            fired.append("a")
            b.cancel()  // due in the same run: must not fire
            c.arm(in: .seconds(3))  // due in the same run too: pushed back instead
        }
        b.onFire = { fired.append("b") }
        c.onFire = { fired.append("c") }
        a.arm(in: .seconds(1))
        b.arm(in: .seconds(1))
        c.arm(in: .seconds(1))
        f.loop.advanceTime(by: .seconds(1))
        #expect(fired == ["a"])
        f.loop.advanceTime(by: .seconds(2))
        #expect(fired == ["a"])
        f.loop.advanceTime(by: .seconds(1))
        #expect(fired == ["a", "c"])
        try? f.loop.syncShutdownGracefully()
    }
}
