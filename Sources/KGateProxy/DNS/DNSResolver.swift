#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGatePlugins
import KGateSchema
import NIOCore
import NIOPosix

/// The addresses a name resolved to.
struct DNSAnswer: Sendable {
    /// The IPv4 addresses, or the IPv6 ones for an IPv6-only name (Kong's default `dns_order`
    /// asks for A records), port 0.
    var addresses: [IPBytes]
    /// SRV records, their targets resolved (the system resolver gives none: `getaddrinfo` asks
    /// for addresses only). Balancer targets read them; Kong gives each its own port and weight.
    var services: [DNSService] = []
    /// How long the answer may be used.
    var ttl: TimeAmount

    /// The SRV records of the top (lowest) priority, the ones Kong uses; nil without SRV records.
    var topPriorityServices: [DNSService]? {
        guard let top = services.lazy.map(\.priority).min() else { return nil }
        return services.filter { $0.priority == top }
    }
}

/// An SRV record whose target is resolved to an address.
struct DNSService: Sendable, Hashable {
    var ip: IPBytes
    /// 0: the target's port.
    var port: Int
    var weight: Int
    var priority: Int
}

/// Why a name did not resolve.
enum DNSFailure: Error, Sendable, Equatable {
    /// No such name or no address record: Kong's 503 `name resolution failed`.
    case nameNotFound
    /// Any other failure (server unreachable, ...): Kong's 500 with the message.
    case other(String)
}

/// Looks names up (`dns_hostsfile`, then the system resolver: `/etc/hosts`, then DNS per
/// `/etc/resolv.conf`) off the event loops. `getaddrinfo` does not report record TTLs, so
/// answers are kept for `ttl` (and served stale while a background refresh runs, as Kong's
/// `dns_stale_ttl`).
protocol DNSResolving: Sendable {
    /// Resolves `host`; the future completes on `eventLoop`.
    func resolve(_ host: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer>
}

/// The names of `dns_hostsfile`, then `getaddrinfo` on a thread pool.
struct SystemDNSResolver: DNSResolving {
    let threadPool: NIOThreadPool
    /// `dns_hostsfile`, read at start.
    var hosts = HostsFile()
    /// How long answers are cached.
    var ttl: TimeAmount = .seconds(30)

    func resolve(_ host: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
        if let addresses = hosts.addresses(of: host) {
            // Kong keeps hosts file entries for ten years: effectively the node's lifetime.
            return eventLoop.makeSucceededFuture(DNSAnswer(addresses: addresses, ttl: .hours(24 * 365)))
        }
        let ttl = self.ttl
        return threadPool.runIfActive(eventLoop: eventLoop) { () throws -> DNSAnswer in
            DNSAnswer(addresses: try Self.lookup(host), ttl: ttl)
        }
    }

    static func lookup(_ host: String) throws(DNSFailure) -> [IPBytes] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else {
            if rc == EAI_NONAME { throw .nameNotFound }
            // glibc's EAI_NODATA (-5) and EAI_ADDRFAMILY (-9): the name exists without addresses.
            if rc == -5 || rc == -9 { throw .nameNotFound }
            throw .other(String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var v4: [IPBytes] = []
        var v6: [IPBytes] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            if let sa = info.pointee.ai_addr {
                switch Int32(sa.pointee.sa_family) {
                case AF_INET:
                    let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    if let ip = IPBytes(SocketAddress(a, host: host)), !v4.contains(ip) { v4.append(ip) }
                case AF_INET6:
                    let a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    if let ip = IPBytes(SocketAddress(a, host: host)), !v6.contains(ip) { v6.append(ip) }
                default:
                    break
                }
            }
            node = info.pointee.ai_next
        }
        // Kong's default `dns_order` (LAST, SRV, A, CNAME) asks for no AAAA record: a name
        // with IPv4 addresses is used over IPv4 only (`localhost` must not alternate with ::1,
        // where the service may not listen). IPv6 is the fallback for IPv6-only names.
        let all = v4.isEmpty ? v6 : v4
        if all.isEmpty { throw .nameNotFound }
        return all
    }
}

extension IPBytes {
    /// A socket address for this IP and a port.
    func socketAddress(port: Int) -> SocketAddress {
        if !isIPv6 {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            a.sin_addr.s_addr = UInt32(truncatingIfNeeded: low).bigEndian
            return SocketAddress(a, host: "")
        }
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        withUnsafeMutableBytes(of: &a.sin6_addr) { raw in
            for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i)) }
            for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i)) }
        }
        return SocketAddress(a, host: "")
    }

    /// The address as nginx prints it (`127.0.0.1`, `::1`).
    var text: String {
        let ip: IPAddress = isIPv6 ? .v6(UInt128(high) << 64 | UInt128(low)) : .v4(UInt32(truncatingIfNeeded: low))
        return ip.nginxText
    }
}
