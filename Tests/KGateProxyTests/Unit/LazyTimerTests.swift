import NIOCore
import NIOEmbedded
import Testing

@testable import KGateProxy

@Suite("Lazy timer")
struct LazyTimerTests {
    final class Counter { var fired = 0 }

    @Test("re-arming moves the deadline without rescheduling; disarm stops it")
    func rearm() {
        let loop = EmbeddedEventLoop()
        let batcher = FlushBatcher(eventLoop: loop)  // resets the tick clock after each tick
        let timer = LazyTimer(eventLoop: loop, clock: batcher.clock)
        let counter = Counter()
        timer.onFire = { counter.fired += 1 }
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(5))
        timer.arm(in: .seconds(10))  // now due at 15
        loop.advanceTime(by: .seconds(6))  // 11: the first task fires, finds the deadline moved
        #expect(counter.fired == 0)
        loop.advanceTime(by: .seconds(4))  // 15
        #expect(counter.fired == 1)
        timer.arm(in: .seconds(1))
        timer.disarm()
        loop.advanceTime(by: .seconds(2))
        #expect(counter.fired == 1)
        timer.arm(in: .seconds(5))
        timer.arm(in: .seconds(1))  // earlier: rescheduled
        loop.advanceTime(by: .seconds(1))
        #expect(counter.fired == 2)
        timer.cancel()
        try? loop.syncShutdownGracefully()
    }
}
