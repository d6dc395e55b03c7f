import KGateSchema

/// The response to the client as plugins see it (Kong's `kong.response`).
///
/// Before a response exists (rewrite, access), header changes are recorded in
/// ``pendingEdits`` and applied to whatever response is sent later, from upstream or from an
/// exit. From `header_filter` on, ``status`` and ``headers`` are the real ones and changes
/// apply directly.
public struct PluginResponse: Sendable {
    /// The status (0 before a response exists).
    public internal(set) var status: Int = 0
    /// The response headers (empty before a response exists).
    public internal(set) var headers = HTTPFields()
    /// Header changes made before the response existed.
    public internal(set) var pendingEdits: [HeaderEdit] = []
    /// The whole body, in the `response` phase (buffered proxying); plugins may replace it.
    public var body: [UInt8]?
    /// The trailers that ended the upstream's chunked body (gRPC's `grpc-status`,
    /// `grpc-message`: nginx's `$sent_trailer_*`), set before the last `body_filter` call.
    public var trailers = HTTPFields()
    /// Whether the response exists (set by the runner before `header_filter`).
    public internal(set) var isStarted = false
    /// Whether the response comes from upstream (false for exits and kgate's own errors);
    /// Kong's `kong.response.get_source() == "service"`.
    public internal(set) var fromService = false

    /// Makes an empty response state.
    public init() {}

    /// A header of the response as Kong's `kong.response.get_header` finds it (the
    /// `get_headers()` table, see ``HTTPFields/tableValue(_:)``), or of the pending changes
    /// before the response exists.
    public func header(_ name: String) -> String? {
        if isStarted { return headers.tableValue(name)?.value }
        let name = HTTPFields.responseName(name)
        var value: String?
        for edit in pendingEdits {
            switch edit {
            case .set(let n, let v) where HTTPFields.sameName(n, name): value = v
            case .add(let n, let v) where HTTPFields.sameName(n, name): value = value ?? v
            case .remove(let n) where HTTPFields.sameName(n, name): value = nil
            default: break
            }
        }
        return value
    }

    // The setters below name fields as nginx does for Lua (`_` becomes `-`, see
    // ``HTTPFields/responseName(_:)``), then match them ignoring ASCII case only.

    /// Replaces a header (Kong's `kong.response.set_header`); an empty value removes it, as
    /// `ngx.header[name] = ""` does.
    public mutating func setHeader(_ name: String, _ value: String) {
        guard !value.isEmpty else { return clearHeader(name) }
        let name = HTTPFields.responseName(name)
        if isStarted { headers.set(name, value) } else { record(.set(name, value)) }
    }

    private mutating func record(_ edit: HeaderEdit) {
        if pendingEdits.isEmpty { pendingEdits.reserveCapacity(8) }
        pendingEdits.append(edit)
    }

    /// Adds a header value (Kong's `kong.response.add_header`).
    public mutating func addHeader(_ name: String, _ value: String) {
        let name = HTTPFields.responseName(name)
        if isStarted { headers.add(name, value) } else { record(.add(name, value)) }
    }

    /// Removes a header (Kong's `kong.response.clear_header`).
    public mutating func clearHeader(_ name: String) {
        let name = HTTPFields.responseName(name)
        if isStarted { headers.remove(name) } else { record(.remove(name)) }
    }

    /// Sets the cookie `name` (`line` is the whole `Set-Cookie` value, `name=...`): a
    /// `Set-Cookie` already setting that cookie is replaced, else one is added.
    public mutating func replaceOrAddSetCookie(named name: String, _ line: String) {
        let prefix = name + "="
        if isStarted {
            if let i = headers.fields.firstIndex(where: { HTTPFields.sameName($0.name, "set-cookie") && $0.value.hasPrefix(prefix) }) {
                headers.fields[i].value = line
            } else {
                headers.add("Set-Cookie", line)
            }
            return
        }
        let earlier = pendingEdits.firstIndex {
            if case .add(let n, let v) = $0 { return HTTPFields.sameName(n, "set-cookie") && v.hasPrefix(prefix) }
            return false
        }
        if let earlier { pendingEdits[earlier] = .add("Set-Cookie", line) } else { record(.add("Set-Cookie", line)) }
    }

    /// Replaces the status (header_filter and response phases).
    public mutating func setStatus(_ status: Int) { self.status = status }

    /// A `header_filter` exit on the started response: its status, its headers, and the
    /// type and length of its body, as Kong's `send` leaves `ngx.status` and `ngx.header`.
    mutating func apply(_ exit: PluginExit) {
        status = exit.status
        for field in exit.headers where !HTTPFields.sameName(field.name, "transfer-encoding") {
            headers.set(HTTPFields.responseName(field.name), field.value)
        }
        if exit.headers.tableValue("content-type") == nil, let type = exit.contentType { headers.set("Content-Type", type) }
        if exit.headers.tableValue("content-length") == nil {
            headers.set("Content-Length", String(exit.encodedBody?.count ?? 0))
        }
    }

    /// Starts the response: pending edits are applied to `headers`.
    mutating func start(status: Int, headers: HTTPFields, fromService: Bool) {
        self.status = status
        self.headers = headers
        self.fromService = fromService
        if !pendingEdits.isEmpty {
            self.headers.fields.reserveCapacity(headers.count + pendingEdits.count)
            self.headers.apply(pendingEdits)
        }
        pendingEdits.removeAll()
        isStarted = true
    }
}

/// A response a plugin answers with instead of proxying (Kong's `kong.response.exit` and
/// `kong.response.error`).
public struct PluginExit: Sendable, Hashable {
    /// What the body is.
    public enum Body: Sendable, Hashable {
        /// No body (`Content-Length: 0`).
        case empty
        /// Bytes sent as they are (with the `Content-Type` the plugin gave, if any).
        case bytes([UInt8])
        /// A table encoded as JSON (`Content-Type: application/json; charset=utf-8` unless
        /// given): `kong.response.exit(403, { message = "..." })`.
        case json(Value)
        /// Kong's error page (`kong.response.error`): the proxy renders the message with its
        /// error templates, by the client's `Accept`, with the request id, as for its own errors.
        case kongError(message: String)
    }

    /// The status.
    public var status: Int
    /// The headers given by the plugin.
    public var headers: HTTPFields
    /// The body.
    public var body: Body

    /// Makes an exit; header names get `-` for `_`, as `kong.response.exit` sets them.
    public init(status: Int, body: Body = .empty, headers: HTTPFields = HTTPFields()) {
        self.status = status
        self.body = body
        self.headers = headers
        for (i, field) in headers.fields.enumerated() where HTTPFields.hasByte(field.name, where: { $0 == 0x5F }) {
            self.headers.fields[i].name = HTTPFields.responseName(field.name)
        }
    }

    /// The `Content-Type` of a JSON body (`kong.response.exit` with a table).
    public static let jsonContentType = "application/json; charset=utf-8"

    /// The body's bytes for `.empty`, `.bytes` and `.json` (cjson's encoding, `/` escaped);
    /// nil for `.kongError`, which the proxy renders.
    public var encodedBody: [UInt8]? {
        switch body {
        case .empty: return []
        case .bytes(let b): return b
        case .json(let v):
            var out: [UInt8] = []
            KongJSONEncoderShim.encode(v, into: &out)
            return out
        case .kongError: return nil
        }
    }

    /// The `Content-Type` to send: the plugin's, else JSON's for a `.json` body.
    public var contentType: String? {
        if let given = headers["content-type"] { return given }
        if case .json = body { return Self.jsonContentType }
        return nil
    }

    /// Kong's default message for an error status (`get_http_error_message`).
    public static func defaultMessage(for status: Int) -> String {
        httpErrorMessages[status] ?? "The upstream server responded with \(status)"
    }

    private static let httpErrorMessages: [Int: String] = [
        400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
        404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
        407: "Proxy authentication required", 408: "Request timeout", 409: "Conflict", 410: "Gone",
        411: "Length required", 412: "Precondition failed", 413: "Payload too large", 414: "URI too long",
        415: "Unsupported media type", 416: "Range not satisfiable", 417: "Expectation failed",
        418: "I'm a teapot", 421: "Misdirected request", 422: "Unprocessable entity", 423: "Locked",
        424: "Failed dependency", 425: "Too early", 426: "Upgrade required", 428: "Precondition required",
        429: "Too many requests", 431: "Request header fields too large",
        451: "Unavailable for legal reasons", 494: "Request header or cookie too large",
        500: "An unexpected error occurred", 501: "Not implemented",
        502: "An invalid response was received from the upstream server",
        503: "The upstream server is currently unavailable", 504: "The upstream server is timing out",
        505: "HTTP version not supported", 506: "Variant also negotiates", 507: "Insufficient storage",
        508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
    ]
}
