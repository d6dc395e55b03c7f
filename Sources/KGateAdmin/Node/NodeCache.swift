import KGateHTTP
import KGateSchema

/// What the node caches outside its config, as Kong's `kong.cache` holds it, for `/cache`:
/// `GET /cache/{key}` probes a key, `DELETE /cache/{key}` drops it, `DELETE /cache` drops all.
public struct NodeCache: Sendable {
    /// A live entry's value (Kong answers a table as it is, anything else as `message`).
    public var probe: @Sendable (String) -> Value?
    public var invalidate: @Sendable (String) -> Void
    public var purge: @Sendable () -> Void

    public init(
        probe: @escaping @Sendable (String) -> Value?, invalidate: @escaping @Sendable (String) -> Void,
        purge: @escaping @Sendable () -> Void
    ) {
        self.probe = probe
        self.invalidate = invalidate
        self.purge = purge
    }

    /// Kong's answer to `GET /cache/{key}`.
    func answer(_ key: String) -> HTTPResponse {
        guard let value = probe(key) else { return .notFound }
        if case .object = value { return .json(.ok, value.jsonText) }
        return .json(.ok, Value.object(["message": value]).jsonText)
    }
}
