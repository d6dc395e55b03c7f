/// Kong's `consistent-hashing` algorithm: a ketama continuum over xxHash32.
///
/// Built as Kong's `afterHostUpdate`: addresses in target order (host name, then port) and,
/// within a target, by the text `ip:port`; each gets `floor(weight / totalWeight * targets * 160)`
/// entries (at least 1 when its weight is positive), entry `i` at the point of the key
/// `"<ip>::<port> <i>"` (Kong's double colon); a taken point costs one more entry. The walk of
/// `address(from:isAvailable:)` is Kong's `getPeer`. The continuum holds every address, available
/// or not (as Kong's, rebuilt identically on status changes); a pick skips unavailable ones.
struct HashContinuum: Sendable {
    /// Kong's DEFAULT_CONTINUUM_SIZE and MIN_CONTINUUM_SIZE.
    private static let defaultPoints = 1000
    /// Kong's MAX_CONTINUUM_SIZE.
    private static let maxPoints = 1 << 32
    /// Kong's SERVER_POINTS: entries per address when all weigh the same.
    private static let serverPoints = 160.0

    /// The continuum's size: the upstream's `slots` when within 1000...2^32, else 1000 (Kong).
    let points: Int
    /// Point `p` (1-based) is `continuum[p - 1]`: an index into the addresses, or -1 when empty.
    private let continuum: [Int32]

    /// Builds the continuum.
    /// - addresses: the balancer page's addresses (their indexes are what the continuum stores);
    /// - targetCount: the number of targets (Kong's `#balancer.targets`);
    /// - slots: the upstream's `slots`.
    ///
    /// As Kong's CRIT path ("requires more entries ... increase the wheel size"), when one
    /// address's entries run past `points` the build stops and the continuum is left empty
    /// (Kong keeps its previous continuum, which for a new balancer is empty).
    init(addresses: [BalancerAddress], targetCount: Int, slots: Int) {
        let points = (Self.defaultPoints...Self.maxPoints).contains(slots) ? slots : Self.defaultPoints
        self.points = points
        self.continuum = Self.build(addresses: addresses, targetCount: targetCount, points: points)
            ?? Array(repeating: -1, count: points)
    }

    /// Kong's `get_continuum_index`: `xxhash32(value) % points + 1` (1-based).
    func point(for value: String) -> Int {
        Self.point(for: value, points: points)
    }

    /// The address index at `point`, or the first one found going down the continuum, skipping
    /// addresses for which `isAvailable(index)` is false; nil when none.
    ///
    /// Kong's walk: `point, point-1, ..., 1, points, ..., point+2` — it never looks at `point+1`,
    /// except that from `point >= points-1` it goes round again (for ever when none is
    /// available); here the walk ends instead, having seen the same points.
    func address(from point: Int, isAvailable: (Int) -> Bool) -> Int? {
        precondition((1...points).contains(point), "point out of the continuum")
        if let found = firstAvailable(from: point, through: 1, isAvailable) { return found }
        guard point < points else { return nil }
        if let found = firstAvailable(from: points, through: points, isAvailable) { return found }
        guard point + 2 < points else { return nil }
        return firstAvailable(from: points - 1, through: point + 2, isAvailable)
    }

    /// The first available address on points `from` down to `through` (1-based, inclusive).
    private func firstAvailable(from: Int, through: Int, _ isAvailable: (Int) -> Bool) -> Int? {
        var p = from
        while p >= through {
            let index = Int(continuum[p - 1])
            if index >= 0, isAvailable(index) { return index }
            p -= 1
        }
        return nil
    }

    private static func point(for value: String, points: Int) -> Int {
        Int(XXHash32.hash(value)) % points + 1
    }

    /// Kong's `afterHostUpdate`; nil on its CRIT path.
    private static func build(addresses: [BalancerAddress], targetCount: Int, points: Int) -> [Int32]? {
        var continuum = [Int32](repeating: -1, count: points)
        let totalWeight = addresses.reduce(0) { $0 + $1.weight }
        guard totalWeight > 0 else { return continuum }
        for index in kongOrder(addresses) {
            let address = addresses[index]
            var entries = Int((Double(address.weight) / Double(totalWeight) * Double(targetCount) * serverPoints)
                .rounded(.down))
            if address.weight > 0, entries == 0 { entries = 1 }
            let prefix = ipText(address.ip) + "::" + String(address.port) + " "
            var i = 1
            while i <= entries {
                let p = point(for: prefix + String(i), points: points)
                if continuum[p - 1] < 0 {
                    continuum[p - 1] = Int32(index)
                } else {
                    entries += 1  // Kong: "move the problem forward"
                }
                i += 1
                if i > points { return nil }
            }
        }
        return continuum
    }

    /// Address indexes in Kong's `sort_hosts_and_addresses` order: target name (byte order),
    /// target port, then the text `ip:port`. The target's port is taken to be the address's
    /// (true except for SRV records, whose addresses bring their own ports).
    private static func kongOrder(_ addresses: [BalancerAddress]) -> [Int] {
        let keys = addresses.map { a in (target: targetName(a.host), port: a.port, address: ipText(a.ip) + ":" + String(a.port)) }
        return addresses.indices.sorted { x, y in
            let a = keys[x]
            let b = keys[y]
            if a.target != b.target { return a.target.utf8.lexicographicallyPrecedes(b.target.utf8) }
            if a.port != b.port { return a.port < b.port }
            if a.address != b.address { return a.address.utf8.lexicographicallyPrecedes(b.address.utf8) }
            return x < y
        }
    }

    /// Kong's target name: IPv6 literals keep their brackets (`[::1]`).
    private static func targetName(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[" + host + "]" : host
    }

    /// Kong's `tostring(address.ip)`: its DNS client brackets IPv6 addresses.
    private static func ipText(_ ip: IPBytes) -> String {
        ip.isIPv6 ? "[" + ip.text + "]" : ip.text
    }
}
