import Synchronization

/// Identifies one address of a target for health: lua-resty-healthcheck's (ip, port, hostname).
struct HealthKey: Sendable, Hashable {
    var ip: IPBytes
    var port: Int
    /// The target's host as configured.
    var host: String

    init(_ address: BalancerAddress) {
        self.ip = address.ip
        self.port = address.port
        self.host = address.host
    }
}

/// The health of an upstream's addresses (Kong's per-upstream healthchecker), with the
/// upstream's `healthchecks` settings.
///
/// Each address's ``TargetHealth`` is made healthy when a balancer page first shows it, and is
/// carried into the next config's balancer of the same upstream while the address stays, as
/// Kong finds a target's status again in its shared dictionary after a reload.
final class UpstreamHealth: Sendable {
    let settings: HealthcheckSettings
    private let targets: Mutex<[HealthKey: TargetHealth]>

    init(settings: HealthcheckSettings, previous: UpstreamHealth? = nil) {
        self.settings = settings
        self.targets = Mutex(previous?.targets.withLock { $0 } ?? [:])
    }

    /// The health of `address`, made healthy if it is new.
    func health(of address: BalancerAddress) -> TargetHealth {
        let key = HealthKey(address)
        return targets.withLock { map in
            if let known = map[key] { return known }
            let made = TargetHealth()
            map[key] = made
            return made
        }
    }

    /// Counts what traffic or a probe said about an address (only addresses of upstreams with
    /// health checks have a ``TargetHealth``).
    func record(_ report: HealthReport, for health: TargetHealth, kind: HealthCheckKind) {
        health.record(report, checks: kind == .active ? settings.active : settings.passive)
    }

    /// Sets the health of the addresses of target `host:port` (all of them, or the one at
    /// `ip`); returns how many matched. Kong's `set_target_status` /
    /// `set_all_target_statuses_for_hostname`.
    @discardableResult
    func set(healthy: Bool, host: String, port: Int, ip: IPBytes?) -> Int {
        let matching = targets.withLock { map in
            map.filter { $0.key.host == host && $0.key.port == port && (ip == nil || $0.key.ip == ip) }.map(\.value)
        }
        for target in matching { target.set(healthy: healthy) }
        return matching.count
    }
}
