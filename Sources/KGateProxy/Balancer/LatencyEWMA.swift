#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Kong's `latency` algorithm: a peak-EWMA of each address's round-trip time, decaying with
/// time constant `DECAY_TIME` (10 s); the request goes to the lowest `decayed EWMA / weight`.
///
/// Kong scores every not-yet-tried address (its pick set grows to all of them), ties going to
/// whichever its hash table yields first; here ties go to the lowest index. Kong drops an
/// address's EWMA when it turns unavailable and restarts it at the mean when it comes back;
/// here unavailable addresses are only skipped, keeping their EWMA. Kong's slow start (new
/// addresses begin at the mean EWMA) is `carried(to:now:previousIndex:)`, applied when DNS
/// changes the addresses (`BalancerPage.carryingLatencies(of:now:)`). Addresses of weight 0
/// are never picked. The EWMAs sit behind one mutex, held for a scan.
final class LatencyEWMA: Sendable {
    /// Kong's DECAY_TIME, in seconds.
    static let decayTime = 10.0

    private struct State: Sendable {
        /// Each address's EWMA of round-trip times, in seconds, as of `touched`.
        var ewma: [Double]
        /// When each address's EWMA was last updated (seconds, the callers' clock).
        var touched: [Double]

        /// Kong's `decay_ewma` of address `index` at `now`, folding in `rtt`.
        func decayed(_ index: Int, rtt: Double, now: Double) -> Double {
            let weight = exp(-max(now - touched[index], 0) / LatencyEWMA.decayTime)
            return ewma[index] * weight + rtt * (1 - weight)
        }
    }

    /// Index-aligned with the page's addresses.
    private let weights: [Int]
    private let state: Mutex<State>

    /// `weights`: the addresses' weights, index-aligned with the page's addresses. Every EWMA
    /// starts at 0. With `now`, they count as touched then (Kong's state after creating the
    /// balancer, so a first sample soon after weighs little); without, a first sample is taken
    /// whole (Kong's `or 0` for an address it has no time for).
    init(weights: [Int], now: Double? = nil) {
        self.weights = weights
        self.state = Mutex(State(ewma: Array(repeating: 0, count: weights.count),
                                 touched: Array(repeating: now ?? -Double.infinity, count: weights.count)))
    }

    private init(weights: [Int], state: State) {
        self.weights = weights
        self.state = Mutex(state)
    }

    /// Kong's `getPeer`: among available, not-failed addresses the lowest decayed EWMA / weight
    /// (`decay_ewma` with rtt 0, no update); ties: lowest index. nil when none (Kong: "all
    /// endpoints have been retried"). As Kong, when exactly one address is available it is
    /// returned even if it failed (Kong's single-address path does not look at retries).
    func pick(isAvailable: (Int) -> Bool, failed: (Int) -> Bool, now: Double) -> Int? {
        state.withLock { state in
            var available = 0
            var only = 0
            var best: Int?
            var bestScore = Double.infinity
            for index in weights.indices where weights[index] > 0 && isAvailable(index) {
                available += 1
                only = index
                if failed(index) { continue }
                let score = state.decayed(index, rtt: 0, now: now) / Double(weights[index])
                if best == nil || score < bestScore {
                    best = index
                    bestScore = score
                }
            }
            return available == 1 ? only : best
        }
    }

    /// Kong's `afterBalance`: the try's connect + response time (`rtt`, seconds) updates the
    /// address's EWMA as of `now`.
    func record(_ index: Int, rtt: Double, now: Double) {
        state.withLock { state in
            state.ewma[index] = state.decayed(index, rtt: rtt, now: now)
            state.touched[index] = now
        }
    }

    /// The address's EWMA decayed to `now` (for tests and status).
    func ewma(_ index: Int, now: Double) -> Double {
        state.withLock { $0.decayed(index, rtt: 0, now: now) }
    }

    /// Kong's slow start on a host update: a new algorithm for a page with `weights`, where an
    /// address `previousIndex` maps to one of this page keeps its EWMA and time, and a new
    /// address (nil) starts at the mean of the EWMAs (new ones counting 0, as Kong's
    /// `calculate_slow_start_ewma`), touched at `now`.
    func carried(to weights: [Int], now: Double, previousIndex: (Int) -> Int?) -> LatencyEWMA {
        let old = state.withLock { $0 }
        var next = State(ewma: Array(repeating: 0, count: weights.count),
                         touched: Array(repeating: now, count: weights.count))
        var isNew = Array(repeating: true, count: weights.count)
        for index in weights.indices {
            guard let previous = previousIndex(index), old.ewma.indices.contains(previous) else { continue }
            next.ewma[index] = old.ewma[previous]
            next.touched[index] = old.touched[previous]
            isNew[index] = false
        }
        let mean = weights.isEmpty ? 0 : next.ewma.reduce(0, +) / Double(weights.count)
        for index in weights.indices where isNew[index] { next.ewma[index] = mean }
        return LatencyEWMA(weights: weights, state: next)
    }
}
