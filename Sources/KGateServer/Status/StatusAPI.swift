import KGateConfig
import KGateHTTP
import KGateSchema
import NIOCore
import NIOHTTP1
import Synchronization

/// What the status endpoints report about the node, read without locks.
public protocol NodeStatusSource: Sendable {
    /// Kong's `configuration_hash`: md5 of the live config, 32 zeros before any.
    var configurationHash: String { get }
    /// Whether a generation is live (router and plugins built with it).
    var hasGeneration: Bool { get }
    /// kgate's `reload` block: generation, loaded-at, source, durations, counts, last error.
    func reloadReport() -> Value
}

/// Kong's Status API (`/status`, `/status/ready`), served on `status_listen` and, for
/// `GET /status`, on the admin listener too.
public final class StatusAPI: Sendable {
    private let source: any NodeStatusSource
    private let counters: ServerCounters
    /// Kong's `kong:status:ready` flag: nil until first asked, false once draining.
    private let draining = Atomic<Bool>(false)

    public init(source: any NodeStatusSource, counters: ServerCounters) {
        self.source = source
        self.counters = counters
    }

    /// Answers a status request, or nil when the path is not a status endpoint.
    public func respond(to request: HTTPRequest) -> HTTPResponse? {
        switch (request.method, request.path) {
        case (.GET, "/status"), (.HEAD, "/status"):
            return .json(.ok, statusBody().jsonText)
        case (.GET, "/status/ready"), (.HEAD, "/status/ready"):
            return ready()
        case (.POST, "/status/ready"):
            guard FormParameters(request).value(of: "status") == "draining" else { return HTTPResponse(status: .badRequest) }
            draining.store(true, ordering: .relaxed)
            return HTTPResponse(status: .noContent)
        case (_, "/status"), (_, "/status/ready"):
            return .json(.methodNotAllowed, #"{"message":"Method not allowed"}"#)
        default:
            return nil
        }
    }

    /// The `GET /status` body: Kong's `server` counters and `configuration_hash`, plus `reload`.
    public func statusBody() -> Value {
        let c = counters.snapshot()
        return [
            "configuration_hash": .string(source.configurationHash),
            "server": [
                "connections_accepted": .integer(c.accepted),
                "connections_active": .integer(c.active),
                "connections_handled": .integer(c.handled),
                "connections_reading": .integer(0),
                "connections_waiting": .integer(max(0, c.active - c.writing)),
                "connections_writing": .integer(c.writing),
                "total_requests": .integer(c.requests),
            ],
            "reload": source.reloadReport(),
        ]
    }

    private func ready() -> HTTPResponse {
        if draining.load(ordering: .relaxed) { return .json(.serviceUnavailable, #"{"message":"draining"}"#) }
        let hash = source.configurationHash
        let message: String? =
            if !source.hasGeneration { "no configuration available (configuration hash is not initialized)" }
            else if hash == ConfigHash.empty { "no configuration available (empty configuration present)" }
            else { nil }
        if let message { return .json(.serviceUnavailable, Value.object(["message": .string(message)]).jsonText) }
        return .json(.ok, #"{"message":"ready"}"#)
    }
}

/// `key=value` parameters of a request: the query string, then a form or JSON body.
struct FormParameters {
    private var values: [String: String] = [:]

    init(_ request: HTTPRequest) {
        if let q = request.uri.split(separator: "?", maxSplits: 1).dropFirst().first { add(pairs: q) }
        var body = request.body
        let text = body.readString(length: body.readableBytes) ?? ""
        if text.hasPrefix("{"), case .success(let doc) = ConfigText.parse(text, fileName: "body.json"),
            case .object(let o) = doc.value
        {
            for (k, v) in o { if let s = v.stringValue { values[k] = s } }
        } else {
            add(pairs: Substring(text))
        }
    }

    private mutating func add(pairs: Substring) {
        for pair in pairs.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = kv.first else { continue }
            values[String(k)] = kv.count > 1 ? String(kv[1]).replacingPlus() : ""
        }
    }

    func value(of key: String) -> String? { values[key] }
}

private extension String {
    func replacingPlus() -> String { String(map { $0 == "+" ? " " : $0 }) }
}
