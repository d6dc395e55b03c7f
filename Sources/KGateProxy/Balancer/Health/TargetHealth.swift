import Atomics
import Synchronization

/// Where a health report comes from: the proxied traffic or a probe.
enum HealthCheckKind: Sendable {
    case passive, active
}

/// What one exchange or probe says about a target.
enum HealthReport: Sendable, Equatable {
    /// The response's status (0: no valid status line), judged by the check's lists.
    case httpStatus(Int)
    /// Connecting, sending or receiving failed.
    case tcpFailure
    case timeout
    /// A probe that only connects (a `tcp` check) succeeded.
    case success
}

/// The health of one address of an upstream's target: lua-resty-healthcheck's target state.
///
/// `isHealthy` is what balancers read on every pick (one relaxed atomic load). Reports count
/// under a lock as `incr_counter` does: a success clears the failure counters and a failure
/// the success counter; a counter reaching its limit (a limit of 0 disables it) flips the
/// target, and counts that have not reached it yet leave it `mostly_healthy` or
/// `mostly_unhealthy`, which still count as their side. Reports matching the target's full
/// state are not counted. Shared across config generations while the target stays (Kong keeps
/// the status in a shared dictionary across reloads).
final class TargetHealth: Sendable {
    /// lua-resty-healthcheck's internal states.
    enum State: Sendable {
        case healthy, mostlyHealthy, mostlyUnhealthy, unhealthy

        var isHealthy: Bool { self == .healthy || self == .mostlyHealthy }
    }

    private struct Counters: Sendable {
        var state = State.healthy
        var successes = 0
        var httpFailures = 0
        var tcpFailures = 0
        var timeouts = 0

        var hasFailures: Bool { httpFailures > 0 || tcpFailures > 0 || timeouts > 0 }

        mutating func clear() { (successes, httpFailures, tcpFailures, timeouts) = (0, 0, 0, 0) }
    }

    private let available = ManagedAtomic(true)
    private let counters = Mutex(Counters())

    init() {}

    /// Whether balancers may pick the address.
    @inline(__always)
    var isHealthy: Bool { available.load(ordering: .relaxed) }

    /// Counts a report against `checks`.
    func record(_ report: HealthReport, checks: HealthcheckSettings.Checks) {
        let healthy: Bool
        let limit: Int
        let counter: WritableKeyPath<Counters, Int>
        switch report {
        case .httpStatus(let status):
            if checks.healthy.httpStatuses.contains(status) {
                (healthy, limit, counter) = (true, checks.healthy.successes, \.successes)
            } else if status == 0 || checks.unhealthy.httpStatuses.contains(status) {
                (healthy, limit, counter) = (false, checks.unhealthy.httpFailures, \.httpFailures)
            } else {
                return
            }
        case .tcpFailure: (healthy, limit, counter) = (false, checks.unhealthy.tcpFailures, \.tcpFailures)
        case .timeout: (healthy, limit, counter) = (false, checks.unhealthy.timeouts, \.timeouts)
        case .success: (healthy, limit, counter) = (true, checks.healthy.successes, \.successes)
        }
        guard limit > 0 else { return }
        let flipped: Bool? = counters.withLock { c in
            let full: State = healthy ? .healthy : .unhealthy
            guard c.state != full else { return nil }
            c[keyPath: counter] += 1
            let count = c[keyPath: counter]
            if healthy {
                (c.httpFailures, c.tcpFailures, c.timeouts) = (0, 0, 0)
            } else {
                c.successes = 0
            }
            let wasHealthy = c.state.isHealthy
            if count >= limit {
                c.state = full
            } else if c.state == .healthy, c.hasFailures {
                c.state = .mostlyHealthy
            } else if c.state == .unhealthy, c.successes > 0 {
                c.state = .mostlyUnhealthy
            }
            return c.state.isHealthy != wasHealthy ? c.state.isHealthy : nil
        }
        if let flipped { available.store(flipped, ordering: .relaxed) }
    }

    /// Sets the health outright and clears the counters (Kong's `set_target_status`, behind
    /// `PUT /upstreams/{u}/targets/{t}/healthy|unhealthy`).
    func set(healthy: Bool) {
        counters.withLock { c in
            c.clear()
            c.state = healthy ? .healthy : .unhealthy
        }
        available.store(healthy, ordering: .relaxed)
    }
}
