import KGateConfig
import KGateSchema
import Logging
import NIOCore
import Synchronization

/// Kong's `statsd` (PRIORITY 11, `kong/plugins/statsd`): each request's metrics as StatsD
/// lines to `host:port`, over UDP (several lines per packet up to `udp_packet_size`, when set)
/// or TCP (`use_tcp`, one line each), through Kong's queue (``LogQueue``), for responses whose
/// status is in `allow_status_codes` (all when unset).
///
/// Without `tag_style`, names carry the scope: `kong.service.<service>.request.count:1|c`
/// (`global.unmatched` without a service; `prefix.node.<host>` with `hostname_in_prefix`),
/// plus the per-user, per-status and per-workspace counters and `user.uniques`. With a
/// `tag_style` (dogstatsd, influxdb, librato, signalfx) the plain metrics carry `service`,
/// `route`, `workspace`, `consumer`, `node` and `status` tags instead, and the per-scope
/// counters are left out, as in Kong. `shdict_usage` reports the node's shared dictionaries
/// once a minute.
public final class StatsdPlugin: Plugin {
    /// The metrics Kong knows.
    enum MetricName: String, Sendable {
        case requestCount = "request_count", requestSize = "request_size", responseSize = "response_size"
        case latency, upstreamLatency = "upstream_latency", kongLatency = "kong_latency"
        case uniqueUsers = "unique_users", requestPerUser = "request_per_user", statusCount = "status_count"
        case statusCountPerUser = "status_count_per_user", statusCountPerWorkspace = "status_count_per_workspace"
        case statusCountPerUserPerRoute = "status_count_per_user_per_route", shdictUsage = "shdict_usage"

        /// A metric statsd shares with datadog; nil for statsd's own.
        var plain: StatsdLines.PlainMetric? { StatsdLines.PlainMetric(rawValue: rawValue) }
    }

    /// One configured metric, its identifiers resolved against the defaults.
    struct Metric: Sendable {
        var name: MetricName
        /// The name as a metric statsd shares with datadog (read once, not per request).
        var plain: StatsdLines.PlainMetric?
        /// `c`, `ms`, `g`, ...
        var kind: String
        var sampleRate: Double?
        var consumerIdentifier: String
        var serviceIdentifier: String
        var workspaceIdentifier: String
    }

    /// How tags are written (`statsd_logger.lua`).
    enum TagStyle: String, Sendable {
        case dogstatsd, influxdb, librato, signalfx
    }

    /// The parsed config.
    public struct Config: Sendable {
        var queueName: String
        var destination: LogSocket.Destination
        var prefix: String
        var tagStyle: TagStyle?
        var metrics: [Metric]
        /// Inclusive status ranges; nil lets every status through.
        var allowedStatuses: [ClosedRange<Int>]?
        var udpPacketSize: Int
        var hostnameInPrefix: Bool
        var queue: LogQueue.Settings
    }

    /// `statsd`.
    public static let name = "statsd"
    /// 11.
    public static let priority = 11
    /// log.
    public static let phases: PluginPhases = [.log]
    /// Kong's `statsd` config schema.
    public static let schema = ObservabilitySchemas.statsd

    /// `shdict_usage` is sent at most once a minute.
    static let sharedDictionaryInterval = 60

    private let queues = LogQueues(plugin: "statsd")
    private let sockets = LogSockets()
    /// When `shdict_usage` was last sent (seconds since 1970).
    private let sharedDictionariesSent = Atomic<Int>(0)
    /// `kong.node.get_hostname()` with dots as `_`.
    let hostname: String
    /// The dictionaries `shdict_usage` reports.
    let sharedDictionaries: [(name: String, capacity: Int)]

    public init(prometheusLoaded: Bool = true) {
        hostname = StatsdLines.undotted(NodeHostname.read() ?? "localhost")
        sharedDictionaries = KongSharedDictionaries.all(prometheus: prometheusLoaded)
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let consumerDefault = config.string("consumer_identifier_default") ?? "custom_id"
        let serviceDefault = config.string("service_identifier_default") ?? "service_name_or_host"
        let workspaceDefault = config.string("workspace_identifier_default") ?? "workspace_id"
        var metrics: [Metric] = []
        for case .object(let metric) in config["metrics"]?.arrayValue ?? [] {
            guard let name = metric.string("name").flatMap(MetricName.init(rawValue:)) else { continue }
            metrics.append(
                Metric(
                    name: name, plain: name.plain, kind: StatsdLines.types[metric.string("stat_type") ?? ""] ?? "",
                    sampleRate: metric.number("sample_rate"),
                    consumerIdentifier: metric.string("consumer_identifier") ?? consumerDefault,
                    serviceIdentifier: metric.string("service_identifier") ?? serviceDefault,
                    workspaceIdentifier: metric.string("workspace_identifier") ?? workspaceDefault))
        }
        let tagStyle = config.string("tag_style").flatMap(TagStyle.init(rawValue:))
        var prefix = config.string("prefix") ?? "kong"
        let hostnameInPrefix = config.bool("hostname_in_prefix")
        if hostnameInPrefix, tagStyle == nil { prefix += ".node." + hostname }
        let host = config.string("host") ?? ""
        let port = Int(config.number("port") ?? 8125)
        return Config(
            queueName: scope.id,
            destination: LogSocket.Destination(
                host: host, port: port, transport: config.bool("use_tcp") ? .tcp(tls: false, serverName: nil) : .udp),
            prefix: prefix, tagStyle: tagStyle, metrics: metrics,
            allowedStatuses: config["allow_status_codes"]?.arrayValue.map { $0.compactMap { Self.statusRange($0.stringValue ?? "") } },
            udpPacketSize: Int(config.number("udp_packet_size") ?? 0), hostnameInPrefix: hostnameInPrefix,
            queue: LogQueue.Settings(pluginConfig: config))
    }

    /// The first `ddd-ddd` in a range (Kong's `(\d\d\d)-(\d\d\d)`); nil without one.
    static func statusRange(_ text: String) -> ClosedRange<Int>? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 7 else { return nil }
        func digits(_ i: Int) -> Int? {
            let slice = bytes[i..<i + 3]
            guard slice.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return slice.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        for start in 0...(bytes.count - 7) where bytes[start + 3] == UInt8(ascii: "-") {
            if let low = digits(start), let high = digits(start + 4) { return low <= high ? low...high : nil }
        }
        return nil
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        let status = ctx.served?.status ?? ctx.response.status
        if let allowed = config.allowedStatuses, !allowed.contains(where: { $0.contains(status) }) { return }
        let lines = self.lines(config, ctx, now: Int(ctx.request.startTime))
        guard !lines.isEmpty else { return }
        queue(for: config, logger: ctx.db.logger).enqueue(StatsdLines.pack(lines))
    }

    /// What `send_entries_to_upstream_server` sends for one request.
    func lines(_ config: Config, _ ctx: PluginContext, now: Int) -> [String] {
        let facts = RequestFacts(ctx)
        var lines: [String] = []
        func send(_ stat: String, _ value: String, _ kind: String, _ rate: Double?, tags: [(String, String)]? = nil) {
            lines.append(Self.message(config.prefix, stat, value, kind, StatsdLines.rate(rate), tags, config.tagStyle))
        }
        for metric in config.metrics {
            let consumer = facts.consumer(metric.consumerIdentifier)
            if let plain = metric.plain {
                let stat = plain.stat
                let value = plain.value(facts.served)
                guard value != -1 else { continue }
                if config.tagStyle != nil {
                    send(stat, String(value), metric.kind, metric.sampleRate, tags: facts.tags(metric, consumer: consumer, node: hostname))
                } else {
                    send(facts.scope(metric.serviceIdentifier) + "." + stat, String(value), metric.kind, metric.sampleRate)
                }
                continue
            }
            if metric.name == .shdictUsage {
                guard claimSharedDictionaryReport(now: now) else { continue }
                for (name, capacity) in sharedDictionaries {
                    if config.tagStyle != nil {
                        let tags = [("node", hostname), ("shdict", name)]
                        send("shdict.free_space", String(capacity), "g", metric.sampleRate, tags: tags)
                        send("shdict.capacity", String(capacity), "g", metric.sampleRate, tags: tags)
                    } else {
                        let base = config.hostnameInPrefix ? "shdict.\(name)" : "node.\(hostname).shdict.\(name)"
                        send(base + ".free_space", String(capacity), "g", metric.sampleRate)
                        send(base + ".capacity", String(capacity), "g", metric.sampleRate)
                    }
                }
                continue
            }
            // The per-scope counters have no tagged form.
            guard config.tagStyle == nil else { continue }
            let scope = facts.scope(metric.serviceIdentifier)
            let status = facts.status
            switch metric.name {
            case .uniqueUsers:
                if let consumer { send(scope + ".user.uniques", consumer, "s", nil) }
            case .requestPerUser:
                if let consumer { send("\(scope).user.\(consumer).request.count", "1", "c", metric.sampleRate) }
            case .statusCount:
                send("\(scope).status.\(status)", "1", "c", metric.sampleRate)
            case .statusCountPerUser:
                if let consumer { send("\(scope).user.\(consumer).status.\(status)", "1", "c", metric.sampleRate) }
            case .statusCountPerWorkspace:
                send("\(scope).workspace.\(facts.workspace(metric.workspaceIdentifier)).status.\(status)", "1", "c", metric.sampleRate)
            case .statusCountPerUserPerRoute:
                if let consumer, let route = facts.routeID {
                    send("route.\(route).user.\(consumer).status.\(status)", "1", "c", metric.sampleRate)
                }
            default:
                break
            }
        }
        return lines
    }

    /// Whether this request reports the shared dictionaries (the first one in a minute).
    private func claimSharedDictionaryReport(now: Int) -> Bool {
        let last = sharedDictionariesSent.load(ordering: .relaxed)
        guard last + Self.sharedDictionaryInterval < now else { return false }
        return sharedDictionariesSent.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
    }

    /// `create_statsd_message`: `prefix.stat:value|kind|@rate`, with the tags as the style
    /// writes them.
    static func message(
        _ prefix: String, _ stat: String, _ value: String, _ kind: String, _ rate: String, _ tags: [(String, String)]?,
        _ style: TagStyle?
    ) -> String {
        guard let style, let tags else { return "\(prefix).\(stat):\(value)|\(kind)\(rate)" }
        switch style {
        case .dogstatsd:
            return "\(prefix).\(stat):\(value)|\(kind)\(rate)|#" + tags.map { "\($0):\($1)" }.joined(separator: ",")
        case .influxdb:
            return "\(prefix).\(stat)," + tags.map { "\($0)=\($1)" }.joined(separator: ",") + ":\(value)|\(kind)\(rate)"
        case .librato:
            return "\(prefix).\(stat)#" + tags.map { "\($0)=\($1)" }.joined(separator: ",") + ":\(value)|\(kind)\(rate)"
        case .signalfx:
            return "\(prefix).\(stat)[" + tags.map { "\($0)=\($1)" }.joined(separator: ",") + "]:\(value)|\(kind)\(rate)"
        }
    }

    /// The queue of a plugin instance (Kong names it by the plugin's id).
    private func queue(for config: Config, logger: Logger) -> LogQueue {
        queues.queue(config.queueName, settings: config.queue, logger: logger) { logger in
            let socket = sockets.socket(for: config.destination, connectTimeout: .seconds(1), keepalive: .seconds(60))
            let packetSize = config.udpPacketSize
            return { batch in
                for packet in Self.packets(batch.flatMap(StatsdLines.unpack), socket.destination.transport, packetSize: packetSize) {
                    socket.send(packet, logger: logger)
                }
            }
        }
    }

    /// What a batch's lines go out as: over TCP each line ends with a newline; over UDP each
    /// line is a datagram, or with `udp_packet_size` lines are joined by newlines into packets
    /// of at most that size (a longer line goes alone), as Kong's logger buffers them.
    static func packets(_ lines: [[UInt8]], _ transport: LogSocket.Destination.Transport, packetSize: Int) -> [[UInt8]] {
        if case .tcp = transport { return lines.map { $0 + [0x0A] } }
        guard packetSize > 0 else { return lines }
        var packets: [[UInt8]] = []
        var buffer: [[UInt8]] = []
        var size = 0
        for line in lines {
            if size + line.count > packetSize {
                if size > 0 { packets.append(Array(buffer.joined(separator: [0x0A]))) }
                buffer = [line]
                size = line.count
            } else {
                buffer.append(line)
                size += line.count + 1
            }
        }
        if size > 0 { packets.append(Array(buffer.joined(separator: [0x0A]))) }
        return packets
    }
}

extension StatsdPlugin {
    /// What the metrics read from a request (Kong's serialized message).
    struct RequestFacts {
        var service: Object?
        var routeID: String?
        var routeName: String?
        var consumer: ConsumerEntity?
        var status: Int
        var served: ServedExchange?

        init(_ ctx: PluginContext) {
            service = ctx.serviceEntity
            routeID = ctx.routeID
            routeName = ctx.routeEntity?["name"]?.stringValue
            consumer = ctx.consumer
            served = ctx.served
            status = ctx.served?.status ?? ctx.response.status
        }

        /// The service as `service_identifier` names it.
        func service(_ identifier: String) -> String? {
            guard let service else { return nil }
            switch identifier {
            case "service_id": return service["id"]?.stringValue
            case "service_name": return service["name"]?.stringValue
            case "service_host": return service["host"]?.stringValue
            default: return service["name"]?.stringValue ?? service["host"]?.stringValue
            }
        }

        /// The consumer as `consumer_identifier` names it.
        func consumer(_ identifier: String) -> String? {
            guard let consumer else { return nil }
            switch identifier {
            case "consumer_id": return consumer.id
            case "username": return consumer.username
            default: return consumer.customID
            }
        }

        /// The workspace as `workspace_identifier` names it.
        func workspace(_ identifier: String) -> String {
            identifier == "workspace_name" ? LogSerializer.workspaceName : LogSerializer.workspaceID
        }

        /// `service.<name>` (dots as `_`, `unnamed` without one), or `global.unmatched`.
        func scope(_ serviceIdentifier: String) -> String {
            guard service != nil else { return "global.unmatched" }
            return "service." + (service(serviceIdentifier).map(StatsdLines.undotted) ?? "unnamed")
        }

        /// The tags of a plain metric in tag mode; nil without a service (the line then goes
        /// without tags, as Kong's does).
        func tags(_ metric: Metric, consumer: String?, node: String) -> [(String, String)]? {
            guard let service = service(metric.serviceIdentifier) else { return nil }
            var tags = [("service", service)]
            if let route = routeName ?? routeID { tags.append(("route", route)) }
            tags.append(("workspace", workspace(metric.workspaceIdentifier)))
            if let consumer { tags.append(("consumer", consumer)) }
            tags.append(("node", node))
            tags.append(("status", String(status)))
            return tags
        }
    }
}
