import KGateConfig
import KGateHTTP
import KGateSchema
import KGateSettings
import KGateStore
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node endpoints: `GET /`, `/plugins/enabled`, `/endpoints`, `/timers`, log level, and the
/// endpoints DB-less Kong answers with a fixed refusal.
extension AdminAPI {
    /// What `GET /` says for Kong's `jit.version`: kgate runs no Lua.
    static let luaVersion = "kgate (Swift; no Lua VM)"

    /// `GET /`: Kong's node information, `configuration` with secrets as `******`
    /// (`NodeConfiguration`).
    func nodeInfo(_ page: Page) -> HTTPResponse {
        var available = Object()
        for name in catalog.enabledPlugins {
            let priority = BundledPlugins.info(name)?.priority
            available[name] = ["version": .string(version), "priority": priority.map(Value.integer) ?? .null]
        }
        var enabledInCluster: [Value] = []
        var seen: Set<String> = []
        // Kong walks `plugins:each()`: primary-key order.
        let plugins = (page["plugins"]?.rows ?? [:]).sorted { AdminContext.keyOrder($0.key, $1.key) }.map(\.value)
        for row in plugins {
            if let name = row["name"]?.stringValue, seen.insert(name).inserted {
                enabledInCluster.append(.string(name))
            }
        }
        let pid = Int(getpid())
        let body: Value = [
            "tagline": "Welcome to kong",
            "version": .string(version),
            "edition": "community",
            "hostname": .string(Self.hostname()),
            "node_id": .string(nodeID),
            "timers": ["running": 0, "pending": 0],
            "plugins": ["available_on_server": .object(available), "enabled_in_cluster": .array(enabledInCluster)],
            "lua_version": .string(Self.luaVersion),
            "configuration": .object(configuration),
            "pids": ["master": .integer(pid), "workers": [.integer(pid)]],
        ]
        return .kong(.ok, body)
    }

    /// `GET /status`: the Status API's body with Kong's `memory` block (`?unit=`, `?scale=`).
    func status(_ query: QueryArguments) -> HTTPResponse {
        switch MemoryStats.format(unit: query["unit"], scale: query["scale"]) {
        case .failure(let error):
            return .message(.badRequest, error.message)
        case .success(let format):
            guard case .object(var body) = statusBody() else { return .kong(.ok, statusBody()) }
            body["memory"] = MemoryStats.body(format, prometheus: catalog.enabledPlugins.contains("prometheus"))
            return .kong(.ok, .object(body))
        }
    }

    /// The machine's host name.
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `GET /plugins/enabled`.
    func enabledPlugins() -> HTTPResponse {
        .kong(.ok, ["enabled_plugins": .array(catalog.enabledPlugins.map(Value.string))])
    }

    /// `GET /endpoints`.
    func endpointList() -> HTTPResponse {
        .kong(.ok, ["data": .array(routes.endpointList.map(Value.string))])
    }

    /// `GET /timers`: kgate has no Lua timers; the shape Kong's timer library answers with
    /// (20-timers_spec: flamegraph texts, system counters, the timers by name), empty.
    func timers() -> HTTPResponse {
        .kong(
            .ok,
            [
                "worker": ["id": 0, "count": 1],
                "stats": [
                    "flamegraph": ["running": "", "pending": "", "elapsed_time": ""],
                    "sys": ["total": 0, "runs": 0, "running": 0, "pending": 0, "waiting": 0],
                    "timers": [:],
                ],
            ])
    }

    /// `GET /debug/node/log-level`.
    func logLevel() -> HTTPResponse {
        .message(.ok, "log level: \(settings.logLevel.rawValue)")
    }

    /// The answers that do not depend on any data.
    static func fixedAnswer(_ kind: AdminRoute.Kind) -> HTTPResponse? {
        switch kind {
        case .setLogLevel:
            return .message(.methodNotAllowed, "cannot change log level when not using a database")
        case .controlPlaneOnly:
            return .message(
                .badRequest,
                "this endpoint is only available when Kong is configured to run as Control Plane for the cluster")
        case .statusDNS:
            return .message(.notImplemented, "not implemented with the legacy DNS client")
        case .wasmDisabled:
            return .message(.badRequest, "this endpoint is only available when wasm is enabled")
        default:
            return nil
        }
    }
}
