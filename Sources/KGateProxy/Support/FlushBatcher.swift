import NIOCore

/// Something whose written bytes can be flushed later.
protocol DeferredFlush: AnyObject {
    /// Set by the batcher while the object waits in its queue.
    var flushQueued: Bool { get set }
    /// Flushes the written bytes now.
    func flushNow()
}

/// Flushes once per event-loop tick instead of once per connection and event.
///
/// Each flush is a `writev` that wakes the peer; when the peer shares the core (an upstream on
/// the same machine), waking it per request gets the gateway preempted per request. Deferring
/// the flushes of everything handled in one tick to the end of that tick (one `execute`) wakes
/// peers once per batch, as NIOExtras' `FlushConsolidationHandler` does for one channel.
/// Confined to its event loop.
final class FlushBatcher {
    private let eventLoop: EventLoop
    private var pending: [any DeferredFlush] = []
    /// Flushed before `pending`: writes to clients (see `flushSoon(_:first:)`).
    private var pendingFirst: [any DeferredFlush] = []
    private var running: [any DeferredFlush] = []
    private var scheduled = false
    /// Made once: scheduling it captures nothing new.
    private var runTask: (() -> Void)?
    /// The loop's cached time, forgotten when the batch runs at the end of the tick.
    let clock: TickClock

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        self.clock = TickClock(eventLoop: eventLoop)
        pending.reserveCapacity(64)
        pendingFirst.reserveCapacity(64)
        running.reserveCapacity(64)
        runTask = { [unowned self] in self.run() }
        clock.onFill = { [unowned self] in self.scheduleRun() }
    }

    /// Flushes `target` at the end of this tick (once, however often it is asked).
    ///
    /// - Parameter first: flush it before the others. Responses to clients go first: a write to
    ///   an upstream on the same core lets that upstream preempt the gateway, and the responses
    ///   waiting behind it would wait for the upstream's turn too.
    @inline(__always)
    func flushSoon(_ target: any DeferredFlush, first: Bool = false) {
        guard !target.flushQueued else { return }
        target.flushQueued = true
        if first {
            pendingFirst.append(target)
        } else {
            pending.append(target)
        }
        scheduleRun()
    }

    /// Makes sure the batch runs at the end of this tick.
    @inline(__always)
    private func scheduleRun() {
        if !scheduled, let runTask {
            scheduled = true
            eventLoop.assumeIsolated().execute(runTask)
        }
    }

    private func run() {
        scheduled = false
        clock.reset()
        if !pendingFirst.isEmpty {
            swap(&pendingFirst, &running)
            flushRunning()
        }
        if !pending.isEmpty {
            swap(&pending, &running)
            flushRunning()
        }
        clock.reset()
    }

    /// Flushes the targets taken from a queue. A flush may queue more (an upstream that became
    /// writable takes the next part of a body): those go to the emptied queue, for next tick.
    @inline(__always)
    private func flushRunning() {
        for target in running {
            target.flushQueued = false
            target.flushNow()
        }
        running.removeAll(keepingCapacity: true)
    }
}
