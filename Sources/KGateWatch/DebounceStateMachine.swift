/// Turns a burst of "something may have changed" notifications into one check after a quiet period.
///
/// Pure state: it never reads a clock and never sleeps. The caller feeds it the current instant with
/// each input and executes the returned action:
///
/// - ``Action/scheduleCheck(at:)``: arm a timer for that instant; when it fires, call
///   ``timerFired(scheduledFor:at:)`` with the same instant.
/// - ``Action/check``: read the file now.
///
/// At most one timer is armed per burst: notifications inside a burst only move the deadline, and a
/// timer that fires before the (moved) deadline re-arms itself. A burst that never goes quiet is
/// checked `maximumDelay` after its first notification, so a busy directory cannot starve the check.
package struct DebounceStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What the caller must do next.
    package enum Action: Equatable, Sendable {
        /// Nothing.
        case none
        /// Arm a timer that calls ``DebounceStateMachine/timerFired(scheduledFor:at:)`` at this instant.
        case scheduleCheck(at: Instant)
        /// Read and fingerprint the file now.
        case check
    }

    private enum State: Sendable {
        case idle
        /// `quietUntil`: last notification + quiet period; `burstStart`: first notification;
        /// `timer`: the instant the one armed timer fires (its identity).
        case waiting(quietUntil: Instant, burstStart: Instant, timer: Instant)
    }

    private let quietPeriod: Duration
    private let maximumDelay: Duration
    private var state: State = .idle

    /// Creates an idle machine; `maximumDelay` is raised to `quietPeriod` if shorter.
    package init(quietPeriod: Duration, maximumDelay: Duration) {
        self.quietPeriod = max(quietPeriod, .zero)
        self.maximumDelay = max(maximumDelay, self.quietPeriod)
    }

    /// Whether a check is pending.
    package var isWaiting: Bool {
        if case .waiting = state { return true }
        return false
    }

    /// A file-system notification (or a changed `stat`) arrived at `now`.
    package mutating func eventReceived(at now: Instant) -> Action {
        switch state {
        case .idle:
            let deadline = now.advanced(by: quietPeriod)
            state = .waiting(quietUntil: deadline, burstStart: now, timer: deadline)
            return .scheduleCheck(at: deadline)
        case .waiting(_, let burstStart, let timer):
            state = .waiting(quietUntil: now.advanced(by: quietPeriod), burstStart: burstStart, timer: timer)
            return .none
        }
    }

    /// The timer armed for `scheduledFor` fired at `now`. Timers that are no longer armed are ignored.
    package mutating func timerFired(scheduledFor: Instant, at now: Instant) -> Action {
        guard case .waiting(let quietUntil, let burstStart, let timer) = state, timer == scheduledFor else {
            return .none
        }
        let due = min(quietUntil, burstStart.advanced(by: maximumDelay))
        if now >= due {
            state = .idle
            return .check
        }
        state = .waiting(quietUntil: quietUntil, burstStart: burstStart, timer: due)
        return .scheduleCheck(at: due)
    }

    /// A read is wanted but nothing is known to be changing (polling could not trust an unchanged
    /// `stat`): check now if idle; if a check is already pending, it covers this (the deadline is
    /// not moved, so periodic re-reads cannot postpone a pending check).
    package mutating func recheckRequested() -> Action {
        isWaiting ? .none : .check
    }

    /// A check was requested explicitly (SIGHUP, `kgate reload`): check now, forget the pending burst.
    package mutating func checkRequested() -> Action {
        state = .idle
        return .check
    }
}
