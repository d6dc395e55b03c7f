import NIOCore

/// A one-shot timer that is cheap to arm, re-arm and cancel: an entry in its event loop's
/// ``LoopTimers`` heap, never a task of its own.
///
/// Timeouts such as "60 s without a read" are re-armed on every read. Moving the deadline later
/// leaves the entry where it is: when the entry comes due, the timer sees that the deadline
/// moved and goes back in the heap for the remainder. A keep-alive connection thus touches the
/// heap about once per timeout period, however many requests it carries; a short connection
/// costs one insertion and one removal (nginx keeps its timers in one tree per worker the same
/// way). Confined to its event loop.
final class LazyTimer {
    private let timers: LoopTimers
    private var deadline: NIODeadline?
    /// When the entry in the heap comes due (valid while `heapIndex >= 0`).
    fileprivate var key = NIODeadline.uptimeNanoseconds(0)
    /// The entry's position in the heap; -1 when the timer is not in it.
    fileprivate var heapIndex = -1
    /// Called on the event loop when the deadline passes while armed.
    var onFire: (() -> Void)?

    init(timers: LoopTimers) {
        self.timers = timers
    }

    /// Whether the timer is armed.
    var isArmed: Bool { deadline != nil }

    /// Fires `onFire` at `deadline` unless re-armed or disarmed before.
    func arm(at deadline: NIODeadline) {
        self.deadline = deadline
        if heapIndex >= 0, key <= deadline { return }
        timers.schedule(self, at: deadline)
    }

    /// Fires `onFire` after `amount` from now.
    func arm(in amount: TimeAmount) {
        arm(at: timers.clock.now() + amount)
    }

    /// Stops the timer; its entry stays in the heap and is dropped when it comes due.
    func disarm() {
        deadline = nil
    }

    /// Stops the timer and removes its entry (when the owner goes away).
    func cancel() {
        deadline = nil
        onFire = nil
        if heapIndex >= 0 { timers.remove(self) }
    }

    /// The entry came due at `now` (it is out of the heap).
    fileprivate func due(now: NIODeadline) {
        guard let deadline else { return }
        if deadline <= now {
            self.deadline = nil
            onFire?()
        } else {
            timers.schedule(self, at: deadline)
        }
    }
}

/// The timers of one event loop: a binary min-heap of ``LazyTimer`` entries by due time, and
/// one event-loop task scheduled for the earliest. Inserting, moving and removing an entry is
/// O(log n) with no allocation (each timer knows its position); SwiftNIO's own scheduled
/// tasks would cost allocations per timer and a linear search per cancellation, which a
/// gateway closing thousands of connections a second would feel. Confined to its event loop.
final class LoopTimers {
    private let eventLoop: EventLoop
    /// The tick clock due times are compared with.
    let clock: TickClock
    private var heap: [LazyTimer] = []
    /// The event-loop task for the earliest entry, and when it runs.
    private var task: Scheduled<Void>?
    private var taskDeadline: NIODeadline?
    /// Entries taken out by one run (kept allocated).
    private var dueScratch: [LazyTimer] = []

    init(eventLoop: EventLoop, clock: TickClock) {
        self.eventLoop = eventLoop
        self.clock = clock
    }

    /// Entries in the heap (tests).
    var count: Int { heap.count }

    /// Puts `timer` in the heap due at `key`, or moves it there.
    fileprivate func schedule(_ timer: LazyTimer, at key: NIODeadline) {
        if timer.heapIndex >= 0 {
            let earlier = key < timer.key
            timer.key = key
            if earlier { siftUp(timer.heapIndex) } else { siftDown(timer.heapIndex) }
        } else {
            timer.key = key
            timer.heapIndex = heap.count
            heap.append(timer)
            siftUp(heap.count - 1)
        }
        if let taskDeadline, taskDeadline <= key { return }
        wake(at: key)
    }

    /// Takes `timer` out of the heap. The task for the earliest entry stays: run early, it
    /// finds nothing due and waits for the new earliest.
    fileprivate func remove(_ timer: LazyTimer) {
        let i = timer.heapIndex
        timer.heapIndex = -1
        let last = heap.removeLast()
        guard i < heap.count else { return }
        heap[i] = last
        last.heapIndex = i
        if i > 0, last.key < heap[(i - 1) / 2].key { siftUp(i) } else { siftDown(i) }
    }

    private func wake(at deadline: NIODeadline) {
        task?.cancel()
        taskDeadline = deadline
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in self.run() }
    }

    /// Takes every due entry out, then lets each act (an entry may go back in, or arm or
    /// cancel other timers), then waits for the next earliest.
    private func run() {
        task = nil
        taskDeadline = nil
        let now = eventLoop.now
        dueScratch.removeAll(keepingCapacity: true)
        while let first = heap.first, first.key <= now {
            remove(first)
            dueScratch.append(first)
        }
        // Callbacks only arm and cancel timers (never run this), so the list stays put; one
        // may re-arm a timer still waiting in it: that one is back in the heap then.
        for timer in dueScratch where timer.heapIndex < 0 { timer.due(now: now) }
        dueScratch.removeAll(keepingCapacity: true)
        if let first = heap.first, taskDeadline.map({ first.key < $0 }) ?? true { wake(at: first.key) }
    }

    private func siftUp(_ start: Int) {
        var i = start
        let timer = heap[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard timer.key < heap[parent].key else { break }
            heap[i] = heap[parent]
            heap[i].heapIndex = i
            i = parent
        }
        heap[i] = timer
        timer.heapIndex = i
    }

    private func siftDown(_ start: Int) {
        var i = start
        let timer = heap[i]
        let count = heap.count
        while true {
            var child = 2 * i + 1
            guard child < count else { break }
            if child + 1 < count, heap[child + 1].key < heap[child].key { child += 1 }
            guard heap[child].key < timer.key else { break }
            heap[i] = heap[child]
            heap[i].heapIndex = i
            i = child
        }
        heap[i] = timer
        timer.heapIndex = i
    }
}
