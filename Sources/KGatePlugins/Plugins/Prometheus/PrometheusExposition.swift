/// What `/metrics` reports about the node itself: the gauges Kong's exporter sets at each
/// scrape (`metric_data`), from the node's counters, memory and upstreams.
public struct PrometheusNodeFacts: Sendable {
    /// nginx's `stub_status` counters, as `/status` reports them.
    public struct Connections: Sendable {
        public var accepted = 0, handled = 0, active = 0, reading = 0, writing = 0, waiting = 0
        public var requests = 0
        public init() {}
    }

    /// A shared dictionary of Kong's nginx template: allocated and total bytes.
    public struct SharedDictionary: Sendable {
        public var name: String
        public var allocated: Int
        public var capacity: Int
        public init(name: String, allocated: Int, capacity: Int) {
            self.name = name
            self.allocated = allocated
            self.capacity = capacity
        }
    }

    /// A worker's memory.
    public struct Worker: Sendable {
        public var pid: Int
        public var bytes: Int
        public init(pid: Int, bytes: Int) {
            self.pid = pid
            self.bytes = bytes
        }
    }

    /// One address of an upstream's target and its health state, lower case
    /// (`healthchecks_off`, `healthy`, `unhealthy`, `dns_error` with an empty address).
    public struct TargetHealth: Sendable {
        public var upstream: String
        public var target: String
        public var address: String
        public var state: String
        public init(upstream: String, target: String, address: String, state: String) {
            self.upstream = upstream
            self.target = target
            self.address = address
            self.state = state
        }
    }

    public var nodeID: String
    public var version: String
    public var connections = Connections()
    public var sharedDictionaries: [SharedDictionary] = []
    public var workers: [Worker] = []
    /// The subsystems whose worker VMs are reported: `http`, and `stream` when the node has
    /// `stream_listen` addresses (Kong's stream workers are the same processes).
    public var subsystems = ["http"]
    /// Read only when a config asks for `upstream_health_metrics`.
    public var targets: @Sendable () -> [TargetHealth] = { [] }

    public init(nodeID: String, version: String) {
        self.nodeID = nodeID
        self.version = version
    }
}

/// The text Kong's `/metrics` answers (`Prometheus:metric_data`, Prometheus text format 0.0.4):
/// every sample as `kong_<name>{labels} value`, sorted by name and labels as Kong sorts its keys
/// (histogram buckets in increasing order, `+Inf` last), each metric's first sample preceded by
/// its `# HELP` and `# TYPE` lines. A histogram lists only the buckets that counted something.
///
/// Without any prometheus config, only the node's gauges are reported, as Kong's exporter
/// reads only its worker-local metrics then.
public enum PrometheusExposition {
    /// A metric's help text and type.
    struct Metric {
        var help: String
        var type: String
    }

    /// Kong's metrics (`exporter.lua` `init`), by name without the `kong_` prefix.
    static let registry: [String: Metric] = [
        "nginx_metric_errors_total": Metric(help: "Number of nginx-lua-prometheus errors", type: "counter"),
        "nginx_connections_total": Metric(help: "Number of connections by subsystem", type: "gauge"),
        "nginx_requests_total": Metric(help: "Number of requests total", type: "gauge"),
        "nginx_timers": Metric(help: "Number of nginx timers", type: "gauge"),
        "datastore_reachable": Metric(help: "Datastore reachable from Kong, 0 is unreachable", type: "gauge"),
        "node_info": Metric(help: "Kong Node metadata information", type: "gauge"),
        "upstream_target_health": Metric(
            help: "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, "
                + "value is 1 when state is populated.", type: "gauge"),
        "memory_workers_lua_vms_bytes": Metric(help: "Allocated bytes in worker Lua VM", type: "gauge"),
        "memory_lua_shared_dict_bytes": Metric(help: "Allocated slabs in bytes in a shared_dict", type: "gauge"),
        "memory_lua_shared_dict_total_bytes": Metric(help: "Total capacity in bytes of a shared_dict", type: "gauge"),
        "http_requests_total": Metric(help: "HTTP status codes per consumer/service/route in Kong", type: "counter"),
        "kong_latency_ms": Metric(
            help: "Latency added by Kong and enabled plugins for each service/route in Kong", type: "histogram"),
        "upstream_latency_ms": Metric(
            help: "Latency added by upstream response for each service/route in Kong", type: "histogram"),
        "request_latency_ms": Metric(
            help: "Total latency incurred during requests for each service/route in Kong", type: "histogram"),
        "bandwidth_bytes": Metric(help: "Total bandwidth (ingress/egress) throughput in bytes", type: "counter"),
        "stream_sessions_total": Metric(help: "Stream status codes per service/route in Kong", type: "counter"),
        "session_duration_ms": Metric(
            help: "latency incurred in stream session for each service/route in Kong", type: "histogram"),
    ]

    /// The states of `upstream_target_health`, in Kong's order.
    static let healthStates = ["healthchecks_off", "healthy", "unhealthy", "dns_error"]

    /// One sample: the key Kong sorts by (histogram bounds zero-padded, `Inf`), the key as
    /// printed, the metric it belongs to, and its value.
    struct Sample {
        var sortKey: [UInt8]
        var key: String
        var metric: String
        var value: String
    }

    /// The `/metrics` body: the node's gauges, and with `requests` (some prometheus config
    /// exists) the request metrics and the stream sessions' (`streams`, no consumer label);
    /// `upstreamHealth` adds `upstream_target_health`.
    public static func text(
        node: PrometheusNodeFacts, requests: PrometheusMetrics.Series?, streams: PrometheusMetrics.Series? = nil,
        upstreamHealth: Bool
    ) -> String {
        var samples: [Sample] = []
        func add(_ name: String, _ labels: [(String, String)], _ value: Int) {
            let key = name + labelText(labels)
            samples.append(Sample(sortKey: Array(key.utf8), key: key, metric: name, value: String(value)))
        }
        let node_id = ("node_id", node.nodeID)
        let c = node.connections
        for (state, value) in [
            ("accepted", c.accepted), ("handled", c.handled), ("total", c.requests), ("active", c.active),
            ("reading", c.reading), ("writing", c.writing), ("waiting", c.waiting),
        ] {
            add("nginx_connections_total", [node_id, ("subsystem", "http"), ("state", state)], value)
        }
        add("nginx_requests_total", [node_id, ("subsystem", "http")], c.requests)
        add("nginx_timers", [("state", "running")], 0)
        add("nginx_timers", [("state", "pending")], 0)
        add("datastore_reachable", [], 1)
        add("node_info", [node_id, ("version", node.version)], 1)
        for dictionary in node.sharedDictionaries {
            let labels = [node_id, ("shared_dict", dictionary.name), ("kong_subsystem", "http")]
            add("memory_lua_shared_dict_bytes", labels, dictionary.allocated)
            add("memory_lua_shared_dict_total_bytes", labels, dictionary.capacity)
        }
        for worker in node.workers {
            for subsystem in node.subsystems {
                add(
                    "memory_workers_lua_vms_bytes", [node_id, ("pid", String(worker.pid)), ("kong_subsystem", subsystem)],
                    worker.bytes)
            }
        }
        if upstreamHealth {
            for target in node.targets() {
                for state in healthStates {
                    add(
                        "upstream_target_health",
                        [
                            ("upstream", target.upstream), ("target", target.target), ("address", target.address),
                            ("state", state), ("subsystem", "http"),
                        ], state == target.state ? 1 : 0)
                }
            }
        }
        if let requests {
            add("nginx_metric_errors_total", [], 0)
            for (labels, value) in requests.requests {
                add(
                    "http_requests_total",
                    routeLabels(labels.route, [
                        ("code", String(labels.code)), ("source", labels.source), ("workspace", labels.route.workspace),
                        ("consumer", labels.consumer),
                    ]), value)
            }
            for (labels, value) in requests.bandwidth {
                add(
                    "bandwidth_bytes",
                    routeLabels(labels.route, [
                        ("direction", labels.direction), ("workspace", labels.route.workspace), ("consumer", labels.consumer),
                    ]), value)
            }
            for (key, histogram) in requests.histograms {
                samples += histogramSamples(key, histogram)
            }
        }
        if let streams {
            for (labels, value) in streams.requests {
                add(
                    "stream_sessions_total",
                    routeLabels(labels.route, [
                        ("code", String(labels.code)), ("source", labels.source), ("workspace", labels.route.workspace),
                    ]), value)
            }
            for (key, histogram) in streams.histograms {
                samples += histogramSamples(key, histogram)
            }
        }
        samples.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        var out = ""
        out.reserveCapacity(samples.count * 120)
        var seen: Set<String> = []
        for sample in samples {
            if seen.insert(sample.metric).inserted, let metric = registry[sample.metric] {
                out += "# HELP kong_\(sample.metric) \(metric.help)\n# TYPE kong_\(sample.metric) \(metric.type)\n"
            }
            out += "kong_\(sample.key) \(sample.value)\n"
        }
        return out
    }

    /// `service` and `route` first, then the rest.
    static func routeLabels(_ route: PrometheusMetrics.RouteLabels, _ rest: [(String, String)]) -> [(String, String)] {
        [("service", route.service), ("route", route.route)] + rest
    }

    /// A histogram's `_bucket` samples (cumulative, only those above zero, and `+Inf`), then
    /// `_count` and `_sum`, keyed as Kong keys them.
    static func histogramSamples(_ key: PrometheusMetrics.HistogramKey, _ histogram: PrometheusMetrics.Histogram) -> [Sample] {
        let name = key.latency.name
        let bounds = key.latency.buckets
        let labels = labelText(routeLabels(key.route, [("workspace", key.route.workspace)]))
        let open = String(labels.dropLast()) + ","
        // Kong's bucket format keeps the bounds' order when sorted as text: `%0<w>.1f`.
        let width = String(bounds.last ?? 0).count + 2
        var samples: [Sample] = []
        var cumulative = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += histogram.counts[index]
            guard cumulative > 0 else { continue }
            let text = String(bound)
            let padded = String(repeating: "0", count: max(0, width - text.count - 2)) + text + ".0"
            samples.append(Sample(
                sortKey: Array("\(name)_bucket\(open)le=\"\(padded)\"}".utf8), key: "\(name)_bucket\(open)le=\"\(text)\"}",
                metric: name, value: String(cumulative)))
        }
        samples.append(Sample(
            sortKey: Array("\(name)_bucket\(open)le=\"Inf\"}".utf8), key: "\(name)_bucket\(open)le=\"+Inf\"}", metric: name,
            value: String(histogram.count)))
        for (suffix, value) in [("_count", histogram.count), ("_sum", histogram.sum)] {
            let key = name + suffix + labels
            samples.append(Sample(sortKey: Array(key.utf8), key: key, metric: name + suffix, value: String(value)))
        }
        return samples
    }

    /// `{k1="v1",k2="v2"}` with `\` and `"` escaped; empty without labels.
    static func labelText(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        var text = "{"
        for (index, (name, value)) in labels.enumerated() {
            if index > 0 { text += "," }
            text += name + "=\""
            for character in value.unicodeScalars {
                if character == "\\" || character == "\"" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
