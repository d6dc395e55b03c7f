import Synchronization

/// Kong's `least-connections` algorithm: the available address with the lowest
/// `(connections + 1) / weight` gets the request.
///
/// Kong keeps the addresses in a binary heap, under which equal scores take turns (an address
/// picked and released sinks below its equals); here equal scores go to the address picked
/// least recently, which gives the same turns. Scores compare exactly by cross-multiplying.
/// Kong counts a connection from the pick until the request's handle is released, and releases
/// the previous try's address before a retry picks: callers `release` accordingly.
/// Addresses of weight 0 are never picked. The counts sit behind one mutex, held for a scan.
final class LeastConnections: Sendable {
    private struct State: Sendable {
        /// Requests each address has now.
        var connections: [Int]
        /// The pick sequence number of each address's last pick (0: never picked).
        var lastPick: [UInt64]
        var sequence: UInt64 = 0

        /// The better of `current` and `candidate`: the lower `(connections + 1) / weight`,
        /// compared exactly by cross-multiplying; on equal scores the one picked less recently.
        func better(of current: Int?, and candidate: Int, _ weights: [Int]) -> Int {
            guard let current else { return candidate }
            let lhs = (connections[candidate] + 1) * weights[current]
            let rhs = (connections[current] + 1) * weights[candidate]
            if lhs != rhs { return lhs < rhs ? candidate : current }
            return lastPick[candidate] < lastPick[current] ? candidate : current
        }
    }

    /// Index-aligned with the page's addresses.
    private let weights: [Int]
    private let state: Mutex<State>

    /// `weights`: the addresses' weights, index-aligned with the page's addresses.
    init(weights: [Int]) {
        self.weights = weights
        self.state = Mutex(State(connections: Array(repeating: 0, count: weights.count),
                                 lastPick: Array(repeating: 0, count: weights.count)))
    }

    /// Picks the available address with the lowest `(connections + 1) / weight`, skipping those
    /// `failed` reports (addresses earlier tries of this request used); when every available
    /// address has failed, Kong clears the failed set and takes the best available one. The
    /// pick's count goes up by one. nil when no address is available.
    func pick(isAvailable: (Int) -> Bool, failed: (Int) -> Bool) -> Int? {
        state.withLock { state in
            var best: Int?
            var bestFailed: Int?
            for index in weights.indices where weights[index] > 0 && isAvailable(index) {
                if failed(index) {
                    bestFailed = state.better(of: bestFailed, and: index, weights)
                } else {
                    best = state.better(of: best, and: index, weights)
                }
            }
            guard let chosen = best ?? bestFailed else { return nil }
            state.connections[chosen] += 1
            state.sequence += 1
            state.lastPick[chosen] = state.sequence
            return chosen
        }
    }

    /// The request that picked `index` is over (Kong's handle release): its count goes down,
    /// never below 0.
    func release(_ index: Int) {
        state.withLock { state in
            if state.connections[index] > 0 { state.connections[index] -= 1 }
        }
    }

    /// The requests `index` has now (for tests and status).
    func connections(_ index: Int) -> Int {
        state.withLock { $0.connections[index] }
    }
}
