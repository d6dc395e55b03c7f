import KGateRouter
import NIOCore

/// Kong's debug response headers (`add_debug_headers` in `kong/router/utils.lua`): with
/// `allow_debug_header = on`, a request carrying a `Kong-Debug` header (any value, even empty)
/// that matched a route gets `Kong-Route-Id`, `Kong-Route-Name`, `Kong-Service-Id` and
/// `Kong-Service-Name`, each only when the route or service has it.
///
/// Kong sets them on `ngx.header` while routing, so every response after a match carries them:
/// proxied ones, plugins' `kong.response.exit`, Kong's own errors (503 no service, 426) and the
/// nginx error pages of failed upstream tries; no response before routing or without a match does.
struct RouteDebugHeaders {
    var routeID: String
    var routeName: String?
    var serviceID: String?
    var serviceName: String?

    init(routeID: String, routeName: String?, serviceID: String?, serviceName: String?) {
        self.routeID = routeID
        self.routeName = routeName
        self.serviceID = serviceID
        self.serviceName = serviceName
    }

    /// The headers of a match (a route without service has no `Kong-Service-*`).
    init(_ match: RouteMatch) {
        self.init(
            routeID: match.route.id, routeName: match.route.name, serviceID: match.service?.id,
            serviceName: match.service?.name)
    }

    /// An upper bound of the bytes `write(into:)` produces.
    var byteCount: Int {
        80 + routeID.utf8.count + (routeName?.utf8.count ?? 0) + (serviceID?.utf8.count ?? 0)
            + (serviceName?.utf8.count ?? 0)
    }

    /// The header lines.
    func write(into w: inout HeadWriter) {
        w.header("Kong-Route-Id: ", routeID)
        if let routeName { w.header("Kong-Route-Name: ", routeName) }
        if let serviceID { w.header("Kong-Service-Id: ", serviceID) }
        if let serviceName { w.header("Kong-Service-Name: ", serviceName) }
    }

    /// The header lines, into a buffer.
    func write(into out: inout ByteBuffer) {
        out.writeHead(bound: byteCount) { write(into: &$0) }
    }

    /// Whether a request head has a `Kong-Debug` field (Kong's `get_header("kong_debug")`).
    static func requested(by head: borrowing MessageHead) -> Bool {
        for field in head.fields where head.nameEquals(field, "kong-debug") { return true }
        return false
    }
}
