import KGatePlugins
import NIOCore

/// nginx's cached time: the clock is read at the first need in an event-loop tick and that value
/// serves the rest of the tick (nginx updates its time once per `epoll_wait`). Latencies, timer
/// deadlines and idle times of one tick share it. Confined to its event loop.
final class TickClock {
    private let eventLoop: EventLoop
    private var cached: NIODeadline?
    private var cachedWall: Double?
    /// Called when a value gets cached: the owner arranges `reset()` at the end of the tick.
    var onFill: (() -> Void)?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The time of this tick.
    @inline(__always)
    func now() -> NIODeadline {
        if let cached { return cached }
        let now = eventLoop.now
        cached = now
        onFill?()
        return now
    }

    /// The wall-clock time of this tick, in seconds since 1970 (what plugins see as the
    /// request's start, as nginx's `ngx.req.start_time`).
    func wall() -> Double {
        if let cachedWall { return cachedWall }
        let now = WallClock.now()
        cachedWall = now
        if cached == nil { _ = self.now() }
        return now
    }

    /// Forgets the cached time (the tick is over).
    func reset() {
        cached = nil
        cachedWall = nil
    }
}
