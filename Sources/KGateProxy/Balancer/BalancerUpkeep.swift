import KGateStore
import NIOCore
import Synchronization

/// What the balancers of the current config need without traffic: as soon as a generation is
/// live, each balancer's names are asked (Kong resolves a balancer's targets when it creates
/// it, so health reports, `PUT .../healthy|unhealthy` and probes see their addresses before the
/// first request), and an active health checker runs for each balancer whose upstream probes;
/// checkers of balancers the config no longer has stop (a reload makes new balancers; their
/// targets' health carries over, their probes start afresh).
final class BalancerUpkeep: Sendable {
    private let store: ConfigStore
    private let eventLoop: EventLoop
    private let resolver: any DNSResolving
    private let running = Mutex<[ObjectIdentifier: ActiveHealthChecker]>([:])
    private let lastGeneration = Mutex<ObjectIdentifier?>(nil)
    private let watch = Mutex<RepeatedTask?>(nil)

    init(store: ConfigStore, eventLoop: EventLoop, resolver: any DNSResolving) {
        self.store = store
        self.eventLoop = eventLoop
        self.resolver = resolver
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

    /// For a new generation: asks its balancers' names, starts the checkers it needs and stops
    /// the others.
    func update() {
        let generation = store.current
        let id = ObjectIdentifier(generation)
        guard lastGeneration.withLock({ last in defer { last = id }; return last != id }) else { return }
        let all = generation.artifact(for: ProxyPlansBuilder.self)?.balancers.values.map { $0 } ?? []
        for balancer in all { balancer.resolveDueNames(resolver: resolver, on: eventLoop) }
        let wanted = Dictionary(all.filter(\.health.settings.probes).map { (ObjectIdentifier($0), $0) }) { a, _ in a }
        let (started, stopped) = running.withLock { map -> ([ActiveHealthChecker], [ActiveHealthChecker]) in
            let gone = map.filter { wanted[$0.key] == nil }
            for key in gone.keys { map[key] = nil }
            var new: [ActiveHealthChecker] = []
            for (key, balancer) in wanted where map[key] == nil {
                let checker = ActiveHealthChecker(balancer: balancer, eventLoop: eventLoop, resolver: resolver)
                map[key] = checker
                new.append(checker)
            }
            return (new, Array(gone.values))
        }
        for checker in stopped { checker.stop() }
        for checker in started { checker.start() }
    }
}
