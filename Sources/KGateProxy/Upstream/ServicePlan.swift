import KGatePlugins
import KGateSchema
import NIOCore

/// How requests routed to one service reach it: built once per generation from the service
/// entity (and the upstream it names, if any), then only read.
final class ServicePlan: Sendable {
    /// Where the service's host leads.
    enum Destination: Sendable {
        /// `host` is an IP literal.
        case address(IPBytes)
        /// `host` names an `upstreams` entity: balance over its targets.
        case balancer(Balancer)
        /// `host` is a name resolved by DNS.
        case hostname
    }

    /// The service id.
    let id: String
    /// The service name.
    let name: String?
    /// `protocol` is `https` (or `grpcs`, or `tls` for a stream service): TLS to the upstream.
    let isTLS: Bool
    /// `protocol` as configured (`http`, `https`, ...).
    let scheme: String
    /// `host` as configured.
    let host: String
    /// `port` (80/443 by protocol when absent).
    let port: Int
    /// Where `host` leads.
    let destination: Destination
    /// `retries`: further tries after a failed connection.
    let retries: Int
    /// `connect_timeout`.
    let connectTimeout: TimeAmount
    /// `write_timeout`.
    let writeTimeout: TimeAmount
    /// `read_timeout`.
    let readTimeout: TimeAmount
    /// The TLS settings of `https` (and `tls`) services.
    let tls: TLSProfile?
    /// `protocol` is `grpc` or `grpcs`: HTTP/2 to the upstream, nginx's `grpc_pass`.
    let http2: Bool
    /// The upstream `Host` for the service's own host and port (Kong's `set_host_header`),
    /// made once.
    let hostHeader: String

    init(
        id: String, name: String?, scheme: String, host: String, port: Int, destination: Destination, retries: Int,
        connectTimeout: TimeAmount, writeTimeout: TimeAmount, readTimeout: TimeAmount, tls: TLSProfile?
    ) {
        self.id = id
        self.name = name
        self.scheme = scheme
        self.isTLS = scheme == "https" || scheme == "grpcs" || scheme == "tls"
        self.host = host
        self.port = port
        self.destination = destination
        self.retries = retries
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
        self.readTimeout = readTimeout
        self.tls = tls
        self.http2 = scheme == "grpc" || scheme == "grpcs"
        self.hostHeader = Self.hostHeader(host, port: port, scheme: scheme)
    }

    /// Kong's `set_host_header`: the host, with `:port` unless it is the scheme's default.
    static func hostHeader(_ host: String, port: Int, scheme: String) -> String {
        let isDefault =
            (port == 80 && (scheme == "http" || scheme == "grpc")) || (port == 443 && (scheme == "https" || scheme == "grpcs"))
        if isDefault { return host }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[" + host + "]" : host
        return bracketed + ":" + String(port)
    }

    /// The plan with what plugins changed (``ServiceOverride``): another scheme (`https` gets the
    /// service's TLS settings, else `defaultTLS`), host (an upstream's balancer, an address or a
    /// name) and port, retries or timeouts.
    func overridden(by change: ServiceOverride, balancers: [String: Balancer], defaultTLS: TLSProfile?) -> ServicePlan {
        let scheme = change.scheme ?? self.scheme
        let host = change.host ?? self.host
        let destination: Destination
        if change.host == nil {
            destination = self.destination
        } else if let balancer = balancers[host] {
            destination = .balancer(balancer)
        } else if let ip = IPBytes(parsing: host) {
            destination = .address(ip)
        } else {
            destination = .hostname
        }
        let timeouts = change.timeouts
        return ServicePlan(
            id: id, name: name, scheme: scheme, host: host, port: change.port ?? port, destination: destination,
            retries: change.retries ?? retries,
            connectTimeout: timeouts.map { .milliseconds(Int64($0.connect)) } ?? connectTimeout,
            writeTimeout: timeouts.map { .milliseconds(Int64($0.write)) } ?? writeTimeout,
            readTimeout: timeouts.map { .milliseconds(Int64($0.read)) } ?? readTimeout,
            tls: scheme == "https" || scheme == "grpcs" ? tls ?? defaultTLS : nil)
    }

    /// Reads a flat service entity. `balancers` maps upstream names to their balancers;
    /// `tls` makes the TLS profile of an https service.
    convenience init(entity: Object, balancers: [String: Balancer], tls: (Object) -> TLSProfile?) {
        let scheme = entity["protocol"]?.stringValue ?? "http"
        let host = entity["host"]?.stringValue ?? ""
        let defaultPort = scheme == "https" || scheme == "grpcs" ? 443 : 80
        let destination: Destination
        if let balancer = balancers[host] {
            destination = .balancer(balancer)
        } else if let ip = IPBytes(parsing: host) {
            destination = .address(ip)
        } else {
            destination = .hostname
        }
        func milliseconds(_ key: String) -> TimeAmount {
            .milliseconds(Int64(entity[key]?.integerValue ?? 60000))
        }
        let isTLS = scheme == "https" || scheme == "grpcs" || scheme == "tls"
        self.init(
            id: entity["id"]?.stringValue ?? "", name: entity["name"]?.stringValue, scheme: scheme, host: host,
            port: entity["port"]?.integerValue ?? defaultPort, destination: destination,
            retries: entity["retries"]?.integerValue ?? 5, connectTimeout: milliseconds("connect_timeout"),
            writeTimeout: milliseconds("write_timeout"), readTimeout: milliseconds("read_timeout"),
            tls: isTLS ? tls(entity) : nil)
    }
}
