import KGateConfig
import KGateHTTP
import KGateSchema
import KGateStore
import Synchronization

/// Kong's `/status/ready` (`kong/status/ready.lua`): whether the node is ready to proxy, and the
/// `draining` state that `POST /status/ready` (`kgate drain`) sets for the node's lifetime.
///
/// Kong's DB-less check also waits for every worker to build its router and plugins iterator;
/// a kgate generation is only published with both built, so what remains is the configuration:
/// Kong loads an empty one when it starts without any, which is not ready.
final class Readiness: Sendable {
    /// Kong's `kong:status:ready` flag turned false.
    private let draining = Atomic<Bool>(false)

    /// `GET /status/ready`: 503 `draining`, 503 for an empty configuration, else 200 `ready`.
    func answer(_ generation: Generation) -> HTTPResponse {
        if draining.load(ordering: .relaxed) { return .message(.serviceUnavailable, "draining") }
        if generation.configurationHash == ConfigHash.empty {
            return .message(.serviceUnavailable, "no configuration available (empty configuration present)")
        }
        return .message(.ok, "ready")
    }

    /// `POST /status/ready`: `status=draining` (query, form or JSON) drains, with 204; anything
    /// else is a 400 without a body.
    func update(status: Value?) -> HTTPResponse {
        guard status?.stringValue == "draining" else { return .empty(.badRequest) }
        draining.store(true, ordering: .relaxed)
        return .empty(.noContent)
    }
}
