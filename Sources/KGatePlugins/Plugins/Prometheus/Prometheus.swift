import KGateSchema
import Synchronization

/// Kong's `prometheus` (PRIORITY 13): counts each request of the routes and services it applies
/// to in ``PrometheusMetrics``, which `GET /metrics` on the Admin API and the Status API reports
/// (``exposition(node:)``).
///
/// Each metric family is opt-in, as in Kong: `status_code_metrics` (`http_requests_total`),
/// `latency_metrics` (the latency histograms), `bandwidth_metrics` (`bandwidth_bytes`), with
/// the consumer's username as a label under `per_consumer`; `upstream_health_metrics` in any
/// config adds `upstream_target_health`. A request without a matched route is not counted.
/// Stream sessions (configs whose `protocols` name `tcp`, `tls` or `udp`) are counted apart, as
/// Kong's stream subsystem counts them: `stream_sessions_total`, `kong_latency_ms` and
/// `session_duration_ms` (Kong's handler reads no stream bandwidth: it looks for the session's
/// bytes under `response`, which a stream log has not).
/// `ai_metrics` and `wasm_metrics` are accepted; kgate has no AI plugins or Wasm filters to
/// count.
public final class PrometheusPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var perConsumer: Bool
        var statusCodes: Bool
        var latencies: Bool
        var bandwidth: Bool
        var upstreamHealth: Bool
    }

    /// `prometheus`.
    public static let name = "prometheus"
    /// 13.
    public static let priority = 13
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are counted too.
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `prometheus` config schema.
    public static let schema = ObservabilitySchemas.prometheus

    /// The node's request metrics.
    public let metrics = PrometheusMetrics()
    /// The node's stream session metrics.
    public let streamMetrics = PrometheusMetrics()
    /// Kong's `IS_PROMETHEUS_ENABLED` and `export_upstream_health_metrics`, set by `configure`.
    private let exporting = Mutex<(enabled: Bool, upstreamHealth: Bool)>((false, false))

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            perConsumer: config.bool("per_consumer"), statusCodes: config.bool("status_code_metrics"),
            latencies: config.bool("latency_metrics"), bandwidth: config.bool("bandwidth_metrics"),
            upstreamHealth: config.bool("upstream_health_metrics"))
    }

    public func configure(_ configs: [ScopedConfig<Config>]) {
        exporting.withLock {
            $0 = (!configs.isEmpty, configs.contains { $0.config.upstreamHealth })
        }
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard let routeID = ctx.routeID, let route = ctx.routeEntity else { return }
        let service = ctx.serviceEntity.map { $0["name"]?.stringValue ?? $0["host"]?.stringValue ?? "" } ?? ""
        let labels = PrometheusMetrics.RouteLabels(
            service: service, route: route["name"]?.stringValue ?? routeID, workspace: LogSerializer.workspaceName)
        var observation = PrometheusMetrics.Observation(route: labels)
        if let session = ctx.session {
            // Proxied (Kong's `KONG_PROXIED`) once a try began.
            if config.statusCodes { observation.status = (session.status, !session.tries.isEmpty) }
            if config.latencies {
                observation.kongLatency = session.kongLatency
                observation.sessionLatency = session.sessionLatency
            }
            return streamMetrics.record(observation)
        }
        if config.perConsumer, let username = ctx.consumer?.username { observation.consumer = username }
        let served = ctx.served
        if config.statusCodes {
            observation.status = (served?.status ?? ctx.response.status, served?.source == .upstream)
        }
        if config.bandwidth {
            observation.ingress = served?.requestSize ?? 0
            observation.egress = served?.responseSize ?? 0
        }
        if config.latencies {
            observation.requestLatency = served?.requestLatency ?? 0
            observation.upstreamLatency = served?.proxyLatency ?? -1
            observation.kongLatency = served?.kongLatency ?? 0
        }
        metrics.record(observation)
    }

    /// The `/metrics` body for the node's facts and the current configs.
    public func exposition(node: PrometheusNodeFacts) -> String {
        let (enabled, upstreamHealth) = exporting.withLock { $0 }
        return PrometheusExposition.text(
            node: node, requests: enabled ? metrics.snapshot() : nil, streams: enabled ? streamMetrics.snapshot() : nil,
            upstreamHealth: upstreamHealth)
    }
}
