import Atomics
import NIOCore

/// One target of an upstream: where a share of the traffic goes.
struct BalancerTarget: Sendable, Hashable {
    /// The host as configured (a name, or an IP literal without brackets).
    var host: String
    /// The port (8000 when the target names none, as Kong).
    var port: Int
    /// `weight` (targets with weight 0 never make it into a balancer).
    var weight: Int
    /// The parsed address when `host` is an IP literal; nil for names (resolved by DNS).
    var ip: IPBytes?

    /// Parses Kong's `target` field: `host`, `host:port`, `a.b.c.d:port`, `[v6]:port` or `v6`.
    init?(target: String, weight: Int) {
        var host = Substring(target)
        var port = 8000
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, (0...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
        self.weight = weight
        self.ip = IPBytes(parsing: self.host)
    }
}

/// Weighted round-robin over an upstream's targets (Kong's `round-robin` algorithm).
///
/// Kong fills a wheel with `weight / gcd` slots per target; kgate builds the same wheel,
/// interleaved by smooth weighted round-robin rather than shuffled, so the order is
/// deterministic and evenly spread. The cursor is one relaxed atomic shared by all event
/// loops: a pick is one increment, no lock.
final class Balancer: Sendable {
    /// The upstream's id.
    let id: String
    /// The upstream's `name` (what services name in `host`).
    let name: String
    /// `host_header`: the upstream `Host` instead of the target's host.
    let hostHeader: String?
    /// Targets with a positive weight, in config order.
    let targets: [BalancerTarget]
    /// Slots: indexes into `targets`.
    let wheel: [Int32]
    private let cursor: ManagedAtomic<Int>

    /// The largest wheel built; heavier weight sets are scaled down to fit.
    static let maxWheelSize = 65536

    init(id: String, name: String, hostHeader: String?, targets: [BalancerTarget], start: Int? = nil) {
        self.id = id
        self.name = name
        self.hostHeader = hostHeader
        let live = targets.filter { $0.weight > 0 }
        self.targets = live
        self.wheel = Self.buildWheel(weights: live.map(\.weight))
        self.cursor = ManagedAtomic(start ?? Int.random(in: 0..<max(1, wheel.count)))
    }

    /// Whether the balancer has no target to offer (Kong's "No peers are available").
    var isEmpty: Bool { wheel.isEmpty }

    /// The next target on the wheel; nil when there is none.
    func next() -> BalancerTarget? {
        guard !wheel.isEmpty else { return nil }
        let n = cursor.loadThenWrappingIncrement(ordering: .relaxed)
        let slot = Int(UInt(bitPattern: n) % UInt(wheel.count))
        return targets[Int(wheel[slot])]
    }

    /// The wheel for these weights: `weight / gcd` slots each (scaled down when the total is
    /// over `maxWheelSize`), ordered by smooth weighted round-robin.
    static func buildWheel(weights: [Int]) -> [Int32] {
        guard !weights.isEmpty else { return [] }
        var divisor = 0
        for w in weights { divisor = gcd(divisor, w) }
        var points = weights.map { $0 / max(divisor, 1) }
        var total = points.reduce(0, +)
        if total > maxWheelSize {
            points = points.map { max(1, $0 * maxWheelSize / total) }
            total = points.reduce(0, +)
        }
        var current = [Int](repeating: 0, count: points.count)
        var wheel: [Int32] = []
        wheel.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for i in points.indices {
                current[i] += points[i]
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            wheel.append(Int32(best))
        }
        return wheel
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
