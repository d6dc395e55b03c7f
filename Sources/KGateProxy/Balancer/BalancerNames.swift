import NIOCore

/// What a balancer knows of its targets' names: each name's last usable answer and when to ask
/// again, with Kong's rules for answers that change or fail (`kong/runloop/balancer/targets.lua`
/// and the DNS client's cache). Pure state: times are passed in, so the rules are tested without
/// a resolver; ``Balancer`` runs the queries.
struct BalancerNames: Sendable {
    /// One record of a name's answer, in the form the balancer uses.
    struct Record: Sendable, Hashable {
        var ip: IPBytes
        /// The SRV record's port; 0 for A/AAAA records (and SRV records without one): the target's.
        var port: Int
        /// The SRV record's weight; nil for A/AAAA records: the target's.
        var weight: Int?
    }

    struct Entry: Sendable {
        /// The records, in Kong's order; nil until the name was first asked, empty while it
        /// does not resolve.
        var records: [Record]?
        /// When to ask again.
        var refreshAt: NIODeadline
        /// Until when `records` keep serving while re-queries fail (Kong's `dns_stale_ttl`).
        var staleUntil: NIODeadline
    }

    /// The names by target host.
    private(set) var entries: [String: Entry] = [:]

    /// How soon a name that does not resolve is asked again (Kong's balancer `REQUERY_INTERVAL`,
    /// also its DNS client's `dns_not_found_ttl`).
    static let requeryInterval = TimeAmount.seconds(30)
    /// How soon a failed re-query of a name with a usable answer is tried again (Kong's
    /// `dns_error_ttl`).
    static let errorRetry = TimeAmount.seconds(1)
    /// How long an expired answer keeps serving while re-queries fail (Kong's `dns_stale_ttl`).
    static let staleTTL = TimeAmount.seconds(3600)
    /// The shortest time an answer is used: a TTL of 0 (Kong resolves such names per request)
    /// is asked again after a second.
    static let minimumTTL = TimeAmount.seconds(1)

    /// The entries of `names`, each taken from `previous` when it knew the name (a reload keeps
    /// the answers of the names it keeps), else never asked.
    init(names: [String], carryingOver previous: BalancerNames? = nil) {
        for name in names where entries[name] == nil {
            entries[name] =
                previous?.entries[name] ?? Entry(records: nil, refreshAt: .distantPast, staleUntil: .distantPast)
        }
    }

    /// Whether some name was never asked.
    var isAwaitingAnswers: Bool { entries.values.contains { $0.records == nil } }

    /// When the next name is due a query (`.distantFuture` without names).
    var nextRefresh: NIODeadline { entries.values.lazy.map(\.refreshAt).min() ?? .distantFuture }

    /// The names due a query at `now`.
    func due(at now: NIODeadline) -> [String] {
        entries.filter { $0.value.refreshAt <= now }.map(\.key).sorted()
    }

    /// Takes in the result of a query of `name`.
    ///
    /// - An answer replaces the records (the wheel follows the DNS answer).
    /// - A name that does not exist loses its records: its targets get no traffic (weight 0)
    ///   and it is asked again after ``requeryInterval``.
    /// - Any other failure, and an answer without records, keep an answer that is still within
    ///   its stale time (Kong's DNS client serves it); without one the name loses its records.
    ///
    /// - Returns: whether the name's records changed (the wheel needs rebuilding).
    mutating func record(_ result: Result<DNSAnswer, DNSFailure>, for name: String, at now: NIODeadline) -> Bool {
        guard var entry = entries[name] else { return false }
        let before = entry.records
        switch result {
        case .success(let answer) where !(answer.addresses.isEmpty && answer.services.isEmpty):
            let ttl = max(answer.ttl, Self.minimumTTL)
            entry.records = Self.records(of: answer)
            entry.refreshAt = now + ttl
            entry.staleUntil = now + ttl + Self.staleTTL
        case .failure(.nameNotFound):
            entry.records = []
            entry.refreshAt = now + Self.requeryInterval
        case .success, .failure(.other):
            if let records = entry.records, !records.isEmpty, now < entry.staleUntil {
                entry.refreshAt = now + Self.errorRetry
            } else {
                entry.records = []
                entry.refreshAt = now + Self.requeryInterval
            }
        }
        entries[name] = entry
        return entry.records != before
    }

    /// The records of an answer in Kong's order: A/AAAA records sorted by address text; SRV
    /// records of the top (lowest) priority only, sorted by address then port, a weight of 0
    /// counting as 1 (Kong's `SRV_0_WEIGHT`).
    static func records(of answer: DNSAnswer) -> [Record] {
        guard let services = answer.topPriorityServices else {
            return answer.addresses.map { (text: $0.text, ip: $0) }.sorted { $0.text < $1.text }
                .map { Record(ip: $0.ip, port: 0, weight: nil) }
        }
        return services
            .map { (key: ($0.ip.text, String($0.port)), service: $0) }
            .sorted { $0.key < $1.key }
            .map { Record(ip: $0.service.ip, port: $0.service.port, weight: max($0.service.weight, 1)) }
    }

    /// The balancer's addresses: targets in order, an IP target as itself, a named target as
    /// one address per record with the target's weight (an SRV record's own weight and port).
    func addresses(of targets: [BalancerTarget]) -> [BalancerAddress] {
        var addresses: [BalancerAddress] = []
        for target in targets {
            if let ip = target.ip {
                addresses.append(BalancerAddress(ip: ip, port: target.port, weight: target.weight, host: target.host))
                continue
            }
            for record in entries[target.host]?.records ?? [] {
                addresses.append(
                    BalancerAddress(
                        ip: record.ip, port: record.port == 0 ? target.port : record.port,
                        weight: record.weight ?? target.weight, host: target.host))
            }
        }
        return addresses
    }
}
