import Atomics
import KGateConfig
import Logging
import Synchronization

/// Serializes config loads into a `ConfigStore`: the thin executor around `ReloadStateMachine`.
///
/// - `submit(_:)` / `reload(_:)` hand in requests from any thread (file watcher, `SIGHUP`,
///   `kgate reload`, Admin `POST /config`). At most one load runs; a request arriving while one
///   runs waits, and a newer one supersedes it (its caller gets `.superseded`).
/// - `run()` is the long-running part: it performs the loads, one at a time, on its own task.
///   Run it once, in the node's task group / `ServiceGroup`; cancelling that task stops it, and
///   requests not yet run end with `.shutdown`. Requests made before `run()` starts wait for it.
///
/// Each load reads the bytes (for a file request), skips the reload when the text's md5 equals
/// the active generation's (unless forced), parses + validates + flattens with the loader, builds
/// the page and the artifacts into the store's inactive slot, flips, and saves the text with
/// its `persistence` (as Kong writes each loaded config to LMDB). On any failure the active
/// generation keeps serving, `status.lastError` gets the first error and its position, and
/// `configRejected` is published. Every load that runs writes exactly one log line (`info` for
/// reloaded or skipped, `error` for rejected); superseded requests are only counted.
///
/// The load itself is synchronous CPU work done on `run()`'s task.
public final class ReloadCoordinator: Sendable {
    /// The store loads are published to.
    public let store: ConfigStore
    /// Where `configFlipped` / `configRejected` are published.
    public let events: EventBus

    let loader: DeclarativeLoader
    let logger: Logger
    /// Where every flipped config's text is kept for the next start (nil: nowhere).
    let persistence: PersistedConfig?
    let statusBox: Mutex<ReloadStatus>

    /// A request with the id its waiter is registered under.
    struct Ticket: Sendable {
        let id: Int
        let request: ReloadRequest
    }

    private struct Queue {
        var machine = ReloadStateMachine<Ticket>()
        var waiters: [Int: CheckedContinuation<ReloadOutcome, Never>] = [:]
        var nextID = 0
    }

    private let queue = Mutex(Queue())
    /// Loads to start; the state machine puts at most one in flight (further ones are started by
    /// `run()` itself when a load finishes).
    private let work: AsyncStream<Ticket>
    private let workInput: AsyncStream<Ticket>.Continuation
    private let started = ManagedAtomic<Bool>(false)

    /// Creates a coordinator.
    ///
    /// - Parameters:
    ///   - store: where generations are built and published.
    ///   - loader: parses and validates config text (default: one for the store's catalogue).
    ///   - events: the bus `configFlipped` / `configRejected` go to.
    ///   - logger: receives one line per load.
    ///   - persistence: where the text of each config that flips is saved (a node's prefix);
    ///     nil saves nothing.
    public init(
        store: ConfigStore, loader: DeclarativeLoader? = nil, events: EventBus = EventBus(), logger: Logger,
        persistence: PersistedConfig? = nil
    ) {
        self.store = store
        self.loader = loader ?? DeclarativeLoader(catalog: store.catalog)
        self.events = events
        self.logger = logger
        self.persistence = persistence
        self.statusBox = Mutex(ReloadStatus(generation: store.current))
        (work, workInput) = AsyncStream.makeStream(of: Ticket.self, bufferingPolicy: .unbounded)
    }

    /// A snapshot for `/status`.
    public var status: ReloadStatus { statusBox.withLock { $0 } }

    /// Queues a request without waiting for its outcome.
    public func submit(_ request: ReloadRequest) {
        enqueue(request, waiter: nil)
    }

    /// Queues a request and waits until it ends (flipped, rejected, skipped, superseded or not run
    /// because the coordinator stopped). Needs `run()` to be running, or to start later.
    public func reload(_ request: ReloadRequest) async -> ReloadOutcome {
        await withCheckedContinuation { continuation in
            enqueue(request, waiter: continuation)
        }
    }

    /// Performs queued loads until the calling task is cancelled. Call once.
    public func run() async {
        let (exchanged, _) = started.compareExchange(expected: false, desired: true, ordering: .relaxed)
        precondition(exchanged, "ReloadCoordinator.run() called twice")
        for await ticket in work {
            var next: Ticket? = ticket
            while let current = next {
                let outcome = perform(current.request)
                let (following, waiter) = queue.withLock { q -> (Ticket?, CheckedContinuation<ReloadOutcome, Never>?) in
                    let waiter = q.waiters.removeValue(forKey: current.id)
                    if case .start(let t) = q.machine.loadFinished() { return (t, waiter) }
                    return (nil, waiter)
                }
                waiter?.resume(returning: outcome)
                next = following
                // A started-but-not-run `next` stays the machine's current load: `stop()` abandons it.
                if Task.isCancelled { break }
            }
            if Task.isCancelled { break }
        }
        let abandoned = queue.withLock { q -> [CheckedContinuation<ReloadOutcome, Never>] in
            guard case .abandon(let tickets) = q.machine.stop() else { return [] }
            return tickets.compactMap { q.waiters.removeValue(forKey: $0.id) }
        }
        workInput.finish()
        for waiter in abandoned { waiter.resume(returning: .shutdown) }
    }

    private func enqueue(_ request: ReloadRequest, waiter: CheckedContinuation<ReloadOutcome, Never>?) {
        typealias Ended = (waiter: CheckedContinuation<ReloadOutcome, Never>?, outcome: ReloadOutcome)
        let (start, ended) = queue.withLock { q -> (Ticket?, Ended?) in
            q.nextID += 1
            let ticket = Ticket(id: q.nextID, request: request)
            if let waiter { q.waiters[ticket.id] = waiter }
            switch q.machine.requested(ticket) {
            case .start(let t): return (t, nil)
            case .supersede(let t): return (nil, (q.waiters.removeValue(forKey: t.id), .superseded))
            case .reject(let t): return (nil, (q.waiters.removeValue(forKey: t.id), .shutdown))
            case .none, .abandon: return (nil, nil)
            }
        }
        if let start { workInput.yield(start) }
        if let ended {
            if case .superseded = ended.outcome { statusBox.withLock { $0.counters.superseded += 1 } }
            ended.waiter?.resume(returning: ended.outcome)
        }
    }
}
