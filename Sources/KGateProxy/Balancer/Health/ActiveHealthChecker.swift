import KGateSchema
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
    private let resolver: any DNSResolving
    private let tls: NIOSSLContext?
    /// The next round of each kind (healthy: true), to cancel on stop; nil once stopped.
    private let tasks = Mutex<[Bool: Scheduled<Void>]?>([:])

    init(balancer: Balancer, eventLoop: EventLoop, resolver: any DNSResolving) {
        self.balancer = balancer
        self.eventLoop = eventLoop
        self.resolver = resolver
        let settings = balancer.health.settings
        if settings.active.type == "https" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if settings.probe.httpsVerifyCertificate {
                settings.probe.trust.apply(to: &configuration)
            } else {
                configuration.certificateVerification = .none
            }
            if let (chain, key) = try? settings.probe.clientCertificate?.tlsSources() {
                (configuration.certificateChain, configuration.privateKey) = (chain, key)
            }
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

    /// Probes the addresses in the given state, `concurrency` at a time. Names whose answers
    /// expired are asked again first (Kong renews them on a timer, traffic or not); the round
    /// probes the page it finds, the next one what the answers made.
    func round(healthy: Bool) -> EventLoopFuture<Void> {
        balancer.resolveDueNames(resolver: resolver, on: eventLoop)
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
                // lua-resty-healthcheck's `hostheader or hostname`, the hostname as Kong's
                // balancer names the target (an IPv6 one in brackets); SNI: `https_sni` or that
                // name, none for an IP.
                let name = balancer.hostHeader ?? address.host
                let sni = settings.probe.httpsSNI ?? name
                HealthProbe.run(
                    address: address, host: HostAndIP.formatHost(name), serverName: IPBytes(parsing: sni) == nil ? sni : nil,
                    type: settings.active.type, settings: settings.probe, tls: checker.tls, on: checker.eventLoop
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
