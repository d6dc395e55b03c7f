import KGateHTTP
import NIOHTTP1

/// Kong's `cors_filter` for the Admin API (`kong/api/api_helpers.lua`): the CORS headers every
/// answer carries, preflight or not.
///
/// - `Access-Control-Allow-Origin`: with `admin_gui_url` set, the request's `Origin` when it is
///   one of the allowed origins and the first allowed origin otherwise; without it, the request's
///   `Origin`, or `*` when there is none.
/// - `Access-Control-Allow-Credentials: true`.
/// - On `OPTIONS` only, `Access-Control-Allow-Headers` repeats `Access-Control-Request-Headers`.
///
/// Kong sends no `Access-Control-Max-Age` and no `Vary`; neither does kgate. The Status API has
/// no `cors_filter`: its answers carry only the `Access-Control-Allow-Origin` every answer of
/// Kong's `serve_content` gets, the request's `Origin` or `*` (``statusAPI``).
struct AdminCORS: Sendable {
    /// `admin_gui_origin`: the origins of `admin_gui_url`, in order; empty allows any origin.
    let allowedOrigins: [String]
    /// Whether `cors_filter` runs (the Admin API), or only `serve_content`'s origin (the Status API).
    var runsCORSFilter = true

    /// The Status API's: the request's `Origin` or `*`, nothing else.
    static let statusAPI = AdminCORS(allowedOrigins: [], runsCORSFilter: false)

    /// The `Access-Control-Allow-Origin` value for a request's `Origin` header.
    func allowOrigin(for requestOrigin: String?) -> String {
        guard let fallback = allowedOrigins.first else { return requestOrigin ?? "*" }
        guard let requestOrigin, allowedOrigins.contains(requestOrigin) else { return fallback }
        return requestOrigin
    }

    /// Sets the CORS headers of `request`'s answer, replacing any already there.
    func apply(to headers: inout HTTPHeaders, for request: HTTPRequest) {
        let origin = allowOrigin(for: request.headers.first(name: "Origin"))
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
        guard runsCORSFilter else { return }
        headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true")
        if request.method == .OPTIONS, let asked = request.headers.first(name: "Access-Control-Request-Headers") {
            headers.replaceOrAdd(name: "Access-Control-Allow-Headers", value: asked)
        }
    }
}
