import NIOCore

/// A one-shot timer that is cheap to re-arm: moving the deadline never reschedules a task.
///
/// Timeouts such as "60 s without a read" are re-armed on every read. Scheduling and cancelling
/// a task each time would allocate per read; instead the pending task fires at its original
/// time, sees that the deadline moved, and schedules itself once more for the remainder. A
/// keep-alive connection thus schedules about one task per timeout period, however many requests
/// it carries. Confined to its event loop.
final class LazyTimer {
    private let eventLoop: EventLoop
    private let clock: TickClock
    private var deadline: NIODeadline?
    private var scheduledFor: NIODeadline?
    private var task: Scheduled<Void>?
    /// Called on the event loop when the deadline passes while armed.
    var onFire: (() -> Void)?

    init(eventLoop: EventLoop, clock: TickClock) {
        self.eventLoop = eventLoop
        self.clock = clock
    }

    /// Whether the timer is armed.
    var isArmed: Bool { deadline != nil }

    /// Fires `onFire` at `deadline` unless re-armed or disarmed before.
    func arm(at deadline: NIODeadline) {
        self.deadline = deadline
        if let scheduledFor, scheduledFor <= deadline { return }
        task?.cancel()
        schedule(deadline)
    }

    /// Fires `onFire` after `amount` from now.
    func arm(in amount: TimeAmount) {
        arm(at: clock.now() + amount)
    }

    /// Stops the timer without cancelling its task (which will find nothing to do).
    func disarm() {
        deadline = nil
    }

    /// Stops the timer and cancels its task (when the owner goes away).
    func cancel() {
        deadline = nil
        scheduledFor = nil
        task?.cancel()
        task = nil
        onFire = nil
    }

    private func schedule(_ at: NIODeadline) {
        scheduledFor = at
        task = eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in self.fired() }
    }

    private func fired() {
        let firedFor = scheduledFor
        scheduledFor = nil
        task = nil
        guard let deadline, let firedFor else { return }
        if deadline <= firedFor {
            self.deadline = nil
            onFire?()
        } else {
            schedule(deadline)
        }
    }
}
