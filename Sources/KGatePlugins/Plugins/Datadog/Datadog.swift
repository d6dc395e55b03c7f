#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema
import Logging
import Synchronization

/// Kong's `datadog` (PRIORITY 10, `kong/plugins/datadog`): each request's metrics as DogStatsD
/// datagrams to the agent at `host:port` (UDP), through Kong's queue (``LogQueue``), one
/// datagram per configured metric:
///
/// ```
/// kong.request.count:1|c|#name:billing,status:200,consumer:alice-id,app:kong
/// ```
///
/// The metrics are `request_count` (1), `request_size` and `response_size` (bytes),
/// `latency`, `upstream_latency` and `kong_latency` (ms; `upstream_latency` is -1 when nothing
/// was proxied, as Kong sends it), each with its `stat_type`, `sample_rate` (written when not 1)
/// and tags: the service's name (dots as `_`) or host, the status, the consumer by
/// `consumer_identifier`, then the metric's `tags`. With `host` or `port` set to null, Kong's
/// `KONG_DATADOG_AGENT_HOST` / `KONG_DATADOG_AGENT_PORT` are used.
public final class DatadogPlugin: Plugin {
    /// One configured metric.
    struct Metric: Sendable {
        /// What it measures and is sent as.
        var metric: StatsdLines.PlainMetric
        /// `c`, `ms`, `g`, ...
        var kind: String
        /// `|@0.5`, or empty for a rate of 1 (or none).
        var rate: String
        var consumerIdentifier: String?
        var tags: [String]
    }

    /// The parsed config.
    public struct Config: Sendable {
        var queueName: String
        var destination: LogSocket.Destination
        var prefix: String
        var serviceNameTag: String
        var statusTag: String
        var consumerTag: String
        var metrics: [Metric]
        var queue: LogQueue.Settings
    }

    /// `datadog`.
    public static let name = "datadog"
    /// 10.
    public static let priority = 10
    /// log.
    public static let phases: PluginPhases = [.log]
    /// Kong's `datadog` config schema.
    public static let schema = ObservabilitySchemas.datadog

    private let queues = LogQueues(plugin: "datadog")
    private let sockets = LogSockets()

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        let host = config.string("host") ?? environment("KONG_DATADOG_AGENT_HOST") ?? ""
        let port = config.number("port").map { Int($0) } ?? environment("KONG_DATADOG_AGENT_PORT").flatMap { Int($0) } ?? 0
        var metrics: [Metric] = []
        for case .object(let metric) in config["metrics"]?.arrayValue ?? [] {
            guard let plain = metric.string("name").flatMap(StatsdLines.PlainMetric.init(rawValue:)) else { continue }
            let rate = StatsdLines.rate(metric.number("sample_rate"))
            metrics.append(
                Metric(
                    metric: plain, kind: StatsdLines.types[metric.string("stat_type") ?? ""] ?? "", rate: rate,
                    consumerIdentifier: metric.string("consumer_identifier"),
                    tags: metric["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        return Config(
            queueName: scope.id, destination: LogSocket.Destination(host: host, port: port, transport: .udp),
            prefix: config.string("prefix") ?? "kong", serviceNameTag: config.string("service_name_tag") ?? "name",
            statusTag: config.string("status_tag") ?? "status", consumerTag: config.string("consumer_tag") ?? "consumer",
            metrics: metrics, queue: LogQueue.Settings(pluginConfig: config))
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        queue(for: config, logger: ctx.db.logger).enqueue(Self.datagrams(config, ctx))
    }

    /// The request's datagrams, as one queue entry (``StatsdLines``).
    static func datagrams(_ config: Config, _ ctx: PluginContext) -> [UInt8] {
        let served = ctx.served
        var service = ""
        if let row = ctx.serviceEntity {
            service = StatsdLines.undotted(row["name"]?.stringValue ?? row["host"]?.stringValue ?? "")
        }
        let status = String(served?.status ?? ctx.response.status)
        var lines: [String] = []
        for metric in config.metrics {
            let value = metric.metric.value(served)
            var tags = [config.serviceNameTag + ":" + service, config.statusTag + ":" + status]
            if let consumer = consumerID(metric.consumerIdentifier, ctx.consumer) { tags.append(config.consumerTag + ":" + consumer) }
            tags += metric.tags
            lines.append("\(config.prefix).\(metric.metric.stat):\(value)|\(metric.kind)\(metric.rate)|#" + tags.joined(separator: ","))
        }
        return StatsdLines.pack(lines)
    }

    /// The consumer as `consumer_identifier` names it (`consumer_id` with `_` for `-`).
    static func consumerID(_ identifier: String?, _ consumer: ConsumerEntity?) -> String? {
        guard let consumer else { return nil }
        switch identifier {
        case "consumer_id": return String(consumer.id.map { $0 == "-" ? "_" : $0 })
        case "custom_id": return consumer.customID
        case "username": return consumer.username
        default: return nil
        }
    }

    /// The queue of a plugin instance (Kong names it by the plugin's id).
    private func queue(for config: Config, logger: Logger) -> LogQueue {
        queues.queue(config.queueName, settings: config.queue, logger: logger) { logger in
            let socket = sockets.socket(for: config.destination)
            return { batch in
                for entry in batch {
                    for line in StatsdLines.unpack(entry) { socket.send(line, logger: logger) }
                }
            }
        }
    }
}
