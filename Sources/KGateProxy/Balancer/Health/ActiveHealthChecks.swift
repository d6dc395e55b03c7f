import KGateStore
import NIOCore
import NIOSSL
import Synchronization

/// Kong's active health checks for one balancer: every `healthy.interval` seconds the
/// addresses now healthy are probed, every `unhealthy.interval` the unhealthy ones (an interval
/// of 0 probes none of them), at most `concurrency` probes at a time; each probe's outcome
/// counts as an active report. Runs on one event loop until stopped.
final class ActiveHealthChecker: Sendable {
    let balancer: Balancer
    private let eventLoop: EventLoop
    private let tls: NIOSSLContext?
    /// The next round of each kind (healthy: true), to cancel on stop; nil once stopped.
    private let tasks = Mutex<[Bool: Scheduled<Void>]?>([:])

    init(balancer: Balancer, eventLoop: EventLoop) {
        self.balancer = balancer
        self.eventLoop = eventLoop
        let settings = balancer.health.settings
        if settings.active.type == "https" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if !settings.probe.httpsVerifyCertificate { configuration.certificateVerification = .none }
            tls = try? NIOSSLContext(configuration: configuration)
        } else {
            tls = nil
        }
    }

    /// Starts both rounds (each first runs one interval from now).
    func start() {
        let settings = balancer.health.settings
        schedule(healthy: true, every: settings.active.healthy.interval)
        schedule(healthy: false, every: settings.active.unhealthy.interval)
    }

    /// Stops probing (probes in flight finish and are still counted).
    func stop() {
        for task in tasks.withLock({ tasks in defer { tasks = nil }; return tasks?.values.map { $0 } ?? [] }) {
            task.cancel()
        }
    }

    private func schedule(healthy: Bool, every interval: Double) {
        guard interval > 0 else { return }
        let task = eventLoop.scheduleTask(in: .nanoseconds(Int64(interval * 1e9))) { [self] in
            round(healthy: healthy).whenComplete { [self] _ in schedule(healthy: healthy, every: interval) }
        }
        let stopped = tasks.withLock { tasks in
            tasks?[healthy] = task
            return tasks == nil
        }
        if stopped { task.cancel() }
    }

    /// Probes the addresses in the given state, `concurrency` at a time.
    func round(healthy: Bool) -> EventLoopFuture<Void> {
        let page = balancer.page
        guard let health = page.health else { return eventLoop.makeSucceededVoidFuture() }
        let indexes = page.addresses.indices.filter { health[$0].isHealthy == healthy }
        let round = ProbeRound(checker: self, page: page, health: health, indexes: indexes)
        round.next()
        return round.done.futureResult
    }

    /// One round's queue of probes. Confined to the checker's event loop.
    private final class ProbeRound {
        let checker: ActiveHealthChecker
        let page: BalancerPage
        let health: [TargetHealth]
        var queue: ArraySlice<Int>
        var running = 0
        let done: EventLoopPromise<Void>

        init(checker: ActiveHealthChecker, page: BalancerPage, health: [TargetHealth], indexes: [Int]) {
            self.checker = checker
            self.page = page
            self.health = health
            self.queue = indexes[...]
            self.done = checker.eventLoop.makePromise()
        }

        func next() {
            let balancer = checker.balancer
            let settings = balancer.health.settings
            while running < settings.probe.concurrency, let index = queue.popFirst() {
                running += 1
                let address = page.addresses[index]
                HealthProbe.run(
                    address: address, host: balancer.hostHeader ?? address.host, type: settings.active.type,
                    settings: settings.probe, tls: checker.tls, on: checker.eventLoop
                ).assumeIsolated().whenSuccess { [self] report in
                    balancer.health.record(report, for: health[index], kind: .active)
                    running -= 1
                    next()
                }
            }
            if running == 0, queue.isEmpty { done.succeed(()) }
        }
    }
}

/// The active health checkers of the current config: started for each balancer whose
/// upstream probes, stopped when the config no longer has that balancer (a reload makes new
/// balancers; their targets' health carries over, their probes start afresh).
final class ActiveHealthChecks: Sendable {
    private let store: ConfigStore
    private let eventLoop: EventLoop
    private let running = Mutex<[ObjectIdentifier: ActiveHealthChecker]>([:])
    private let lastGeneration = Mutex<ObjectIdentifier?>(nil)
    private let watch = Mutex<RepeatedTask?>(nil)

    init(store: ConfigStore, eventLoop: EventLoop) {
        self.store = store
        self.eventLoop = eventLoop
    }

    /// Follows the store: checks now, then every `period` for a new generation.
    func start(period: TimeAmount = .milliseconds(250)) {
        update()
        let task = eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [self] _ in update() }
        watch.withLock { $0 = task }
    }

    /// Stops every checker.
    func stop() {
        watch.withLock { $0?.cancel() }
        for checker in running.withLock({ map in defer { map = [:] }; return Array(map.values) }) { checker.stop() }
    }

    /// Starts the checkers the current generation needs and stops the others.
    func update() {
        let generation = store.current
        let id = ObjectIdentifier(generation)
        guard lastGeneration.withLock({ last in defer { last = id }; return last != id }) else { return }
        let balancers = generation.artifact(for: ProxyPlansBuilder.self)?.balancers.values.filter(\.health.settings.probes) ?? []
        let wanted = Dictionary(balancers.map { (ObjectIdentifier($0), $0) }) { a, _ in a }
        let (started, stopped) = running.withLock { map -> ([ActiveHealthChecker], [ActiveHealthChecker]) in
            let gone = map.filter { wanted[$0.key] == nil }
            for key in gone.keys { map[key] = nil }
            var new: [ActiveHealthChecker] = []
            for (key, balancer) in wanted where map[key] == nil {
                let checker = ActiveHealthChecker(balancer: balancer, eventLoop: eventLoop)
                map[key] = checker
                new.append(checker)
            }
            return (new, Array(gone.values))
        }
        for checker in stopped { checker.stop() }
        for checker in started { checker.start() }
    }
}
