import KGateSchema

/// A route and its service, as stored in a built router (shared by every match).
///
/// What the proxy asks of every match is kept apart from the definitions: reading a field of an
/// optional struct through a class can copy the whole struct, retaining each of its strings.
@usableFromInline final class RouteEntry: Sendable {
    @usableFromInline let route: RouteDefinition
    @usableFromInline let service: ServiceDefinition?
    /// The service's `id`; nil for a route without a service.
    @usableFromInline let serviceID: String?
    /// The service's path is absent or `/`: joining it to a request path changes nothing.
    @usableFromInline let serviceAtRoot: Bool

    init(route: RouteDefinition, service: ServiceDefinition?) {
        self.route = route
        self.service = service
        serviceID = service?.id
        serviceAtRoot = service.map { $0.path == nil || $0.path == "/" } ?? true
    }
}

/// The request's bytes and plain values, borrowed for the duration of one match.
///
/// Holds only pointers and plain values, so copying it costs no reference counting; the
/// strings a match keeps (path, query, host) are taken from the request itself.
struct RequestView {
    let stream: Bool
    let scheme: RouteRequest.Scheme
    let path: UnsafeBufferPointer<UInt8>
    let method: UnsafeBufferPointer<UInt8>
    /// The raw `Host` header.
    let host: UnsafeBufferPointer<UInt8>?
    let sni: UnsafeBufferPointer<UInt8>?
    /// `http.host`: the host with the port split off as the ATC flavors do.
    let compatHost: UnsafeBufferPointer<UInt8>?
    /// `net.dst.port`: the `Host` port, else the connection's.
    let compatPort: Int?
    let headers: UnsafeBufferPointer<RouteRequest.Header>
    let sourceIP: IPAddress?
    let sourcePort: Int?
    let destinationIP: IPAddress?
    let destinationPort: Int?
    /// See ``RoutingPath/invalidUTF8``.
    let invalidUTF8: Bool

    /// Runs `body` with a view of `request` and its routing path.
    static func with<R>(_ request: RouteRequest, _ routing: RoutingPath, stream: Bool, _ body: (RequestView) -> R) -> R
    {
        // Read the fields once: the closures below then capture these, not the request.
        let target = request.target
        let methodString = request.method
        let hostString = request.host
        let sniString = request.sni
        let headerList = request.headers
        let scheme = request.scheme
        let (sourceIP, sourcePort) = (request.sourceIP, request.sourcePort)
        let (destinationIP, destinationPort) = (request.destinationIP, request.destinationPort)
        let invalidUTF8 = routing.invalidUTF8
        return routing.withBytes(of: target) { path in
            Bytes.with(methodString) { method in
                withOptional(hostString) { host in
                    withOptional(sniString) { sni in
                        headerList.withUnsafeBufferPointer { headers in
                            var compatHost: UnsafeBufferPointer<UInt8>?
                            var compatPort = destinationPort
                            if let host {
                                let split = HostSplit.compat(host)
                                compatHost = split.host
                                if let p = split.port { compatPort = p }
                            }
                            return body(
                                RequestView(
                                    stream: stream, scheme: scheme, path: path, method: method, host: host, sni: sni,
                                    compatHost: compatHost, compatPort: compatPort, headers: headers,
                                    sourceIP: sourceIP,
                                    sourcePort: sourcePort, destinationIP: destinationIP,
                                    destinationPort: destinationPort,
                                    invalidUTF8: invalidUTF8))
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func withOptional<R>(_ s: String?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        guard let s else { return body(nil) }
        return Bytes.with(s) { body($0) }
    }

    /// The routing path as a string (for regexes).
    var pathString: String { String(decoding: path, as: UTF8.self) }
}
