import NIOCore

/// Where a stream session (TCP or UDP) is sent: the service's address, its balancer's pick
/// (with the session's lease, hashing its client and counted until it ends), or what its host
/// resolves to.
struct StreamTarget {
    var ip: IPBytes
    var port: Int
    /// The target's host as Kong's `$upstream_host` names it: the upstream's `host_header`, or
    /// the target's (or the service's) host.
    var name: String

    /// Picks the target of `plan` on `loop` and calls `done` there (a balancer still resolving
    /// its names picks once they are answered).
    static func pick(
        _ plan: ServicePlan, lease: BalancerLease?, loop: LoopContext,
        _ done: @escaping (Result<StreamTarget, ProxyError>) -> Void
    ) {
        switch plan.destination {
        case .address(let ip):
            done(.success(StreamTarget(ip: ip, port: plan.port, name: plan.host)))
        case .balancer(let balancer):
            let request = lease?.request(now: Double(loop.now.uptimeNanoseconds) / 1e9) ?? PickRequest()
            switch balancer.pick(now: loop.now, resolver: loop.resolver, on: loop.eventLoop, request) {
            case .address(let pick):
                lease?.begin(pick)
                let address = pick.address
                done(.success(StreamTarget(ip: address.ip, port: address.port, name: balancer.hostHeader ?? address.host)))
            case .noPeer:
                done(.failure(ProxyError(kind: .noPeer)))
            case .waiting(let answered):
                answered.hop(to: loop.eventLoop).assumeIsolated().whenComplete { _ in pick(plan, lease: lease, loop: loop, done) }
            }
        case .hostname:
            loop.dns.resolve(plan.host) { result in
                switch result {
                case .success(let peer):
                    done(.success(StreamTarget(ip: peer.ip, port: peer.port != 0 ? peer.port : plan.port, name: plan.host)))
                case .failure(.nameNotFound): done(.failure(ProxyError(kind: .nameResolution)))
                case .failure(.other(let message)): done(.failure(ProxyError(kind: .resolveFailed(host: plan.host, message: message))))
                }
            }
        }
    }
}
