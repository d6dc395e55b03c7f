import NIOCore

/// Kong's DNS cache settings.
struct DNSTTLs: Sendable, Equatable {
    /// `dns_valid_ttl`: replaces the answers' own TTLs (nil: theirs).
    var valid: TimeAmount?
    /// `dns_stale_ttl`: how long past its TTL an answer is still served while a refresh runs.
    var stale: TimeAmount = .seconds(3600)
    /// `dns_not_found_ttl`: how long a name without records is remembered.
    var notFound: TimeAmount = .seconds(30)
    /// `dns_error_ttl`: how long a failed query is remembered (and a stale answer kept).
    var error: TimeAmount = .seconds(1)
}

/// Where a name leads: an address, and the port of its SRV record (0: the service's own).
struct DNSPeer: Sendable, Hashable {
    var ip: IPBytes
    var port: Int
}

/// One event loop's cache of resolved names, in front of a shared resolver: a hit is a
/// dictionary read, no lock. A name with SRV records leads to their targets (the lowest
/// priority's) with their ports, as Kong's `toip` does. Expired answers are still served (Kong's `dns_stale_ttl`) while
/// one background refresh runs; a miss waits for the resolver, concurrent misses share it.
/// Confined to its event loop.
final class DNSCache {
    private struct Entry {
        var peers: [DNSPeer]
        var expires: NIODeadline
        var refreshing: Bool
        /// Round-robin position over `peers`.
        var cursor: Int
        /// After a failed refresh: no other before this.
        var retryAt = NIODeadline.uptimeNanoseconds(0)
    }

    private let eventLoop: EventLoop
    private let resolver: any DNSResolving
    private var entries: [String: Entry] = [:]
    private var pending: [String: EventLoopFuture<DNSAnswer>] = [:]
    /// How long answers and failures are kept (Kong's `dns_*_ttl` settings).
    var ttls = DNSTTLs()
    private var failures: [String: (DNSFailure, NIODeadline)] = [:]

    init(eventLoop: EventLoop, resolver: any DNSResolving) {
        self.eventLoop = eventLoop
        self.resolver = resolver
    }

    /// The next peer of `host` when it is cached (fresh or stale); starts a refresh of a
    /// stale entry.
    func cachedPeer(_ host: String) -> DNSPeer? {
        guard var entry = entries[host], !entry.peers.isEmpty else { return nil }
        let now = eventLoop.now
        // Past `dns_stale_ttl`: no longer served, the next use waits for a fresh answer.
        if entry.expires + ttls.stale <= now { return nil }
        let address = entry.peers[entry.cursor % entry.peers.count]
        entry.cursor &+= 1
        let refreshes = entry.expires <= now && !entry.refreshing && entry.retryAt <= now
        if refreshes { entry.refreshing = true }
        // Stored before the refresh starts: a resolver that answers at once (a hosts file
        // name) updates the entry inside `refresh`, which must not be written over.
        entries[host] = entry
        if refreshes { refresh(host) }
        return address
    }

    /// A recent failure for `host`, if it is still remembered.
    func cachedFailure(_ host: String) -> DNSFailure? {
        guard let (failure, until) = failures[host] else { return nil }
        if until <= eventLoop.now {
            failures[host] = nil
            return nil
        }
        return failure
    }

    /// Resolves `host` (cache first), calling `completion` on the event loop.
    func resolve(_ host: String, completion: @escaping (Result<DNSPeer, DNSFailure>) -> Void) {
        if let address = cachedPeer(host) { return completion(.success(address)) }
        if let failure = cachedFailure(host) { return completion(.failure(failure)) }
        lookup(host).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                if let address = cachedPeer(host) {
                    completion(.success(address))
                } else {
                    completion(.failure(.nameNotFound))
                }
            case .failure(let error):
                completion(.failure(error as? DNSFailure ?? .other(String(describing: error))))
            }
        }
    }

    private func lookup(_ host: String) -> EventLoopFuture<DNSAnswer> {
        if let inFlight = pending[host] { return inFlight }
        let future = resolver.resolve(host, on: eventLoop)
        pending[host] = future
        future.assumeIsolated().whenComplete { [self] result in
            pending[host] = nil
            switch result {
            case .success(let answer):
                let cursor = entries[host]?.cursor ?? 0
                entries[host] = Entry(
                    peers: Self.peers(answer), expires: eventLoop.now + (ttls.valid ?? answer.ttl), refreshing: false,
                    cursor: cursor)
                failures[host] = nil
            case .failure(let error):
                let failure = error as? DNSFailure ?? .other(String(describing: error))
                let ttl = failure == .nameNotFound ? ttls.notFound : ttls.error
                if let entry = entries[host], entry.expires + ttls.stale > eventLoop.now {
                    // Keep serving the stale answer; try again after `dns_error_ttl`.
                    entries[host]!.refreshing = false
                    entries[host]!.retryAt = eventLoop.now + ttls.error
                } else {
                    entries[host] = nil
                    failures[host] = (failure, eventLoop.now + ttl)
                }
            }
        }
        return future
    }

    private func refresh(_ host: String) {
        _ = lookup(host)
    }

    /// The peers of an answer: the SRV targets of the lowest priority with their ports, else
    /// the addresses.
    static func peers(_ answer: DNSAnswer) -> [DNSPeer] {
        if let services = answer.topPriorityServices { return services.map { DNSPeer(ip: $0.ip, port: $0.port) } }
        return answer.addresses.map { DNSPeer(ip: $0, port: 0) }
    }
}
