import KGateSchema

/// The metrics plugins: statsd, datadog, prometheus.
extension ObservabilitySchemas {
    static let consumerIdentifiers = ["consumer_id", "custom_id", "username"]

    /// `statsd`.
    static let statsd: Schema = {
        let serviceIdentifiers = ["service_id", "service_name", "service_host", "service_name_or_host"]
        let workspaceIdentifiers = ["workspace_id", "workspace_name"]
        let metric = Schema.record(
            [
                ("name", Field.string.with {
                    $0.required = true
                    $0.oneOf = oneOf([
                        "kong_latency", "latency", "request_count", "request_per_user", "request_size", "response_size",
                        "status_count", "status_count_per_user", "unique_users", "upstream_latency",
                        "status_count_per_workspace", "status_count_per_user_per_route", "shdict_usage",
                    ])
                }),
                ("stat_type", Field.string.with {
                    $0.required = true
                    $0.oneOf = oneOf(["counter", "gauge", "histogram", "meter", "set", "timer"])
                }),
                ("sample_rate", Field.number.with { $0.gt = 0 }),
                ("consumer_identifier", Field.string.with { $0.oneOf = oneOf(consumerIdentifiers) }),
                ("service_identifier", Field.string.with { $0.oneOf = oneOf(serviceIdentifiers) }),
                ("workspace_identifier", Field.string.with { $0.oneOf = oneOf(workspaceIdentifiers) }),
            ],
            entityChecks: [sampleRateRequired])
        func identifier(_ defaultValue: String, _ values: [String]) -> Field {
            Field.string.with {
                $0.required = true
                $0.defaultValue = .string(defaultValue)
                $0.oneOf = oneOf(values)
            }
        }
        let fields: [(String, Field)] =
            [
                ("host", Typedefs.host.defaulting("localhost")),
                ("port", Typedefs.port.defaulting(8125)),
                ("prefix", Field.string.defaulting("kong")),
                ("metrics", Field.array(of: .record(metric)).defaulting(statsdDefaultMetrics)),
                ("allow_status_codes", Field.array(of: Field.string.with { $0.match = "^[0-9]+-[0-9]+$" })),
                ("udp_packet_size", Field.number.with {
                    $0.between = 0...65507
                    $0.defaultValue = 0
                }),
                ("use_tcp", Field.boolean.defaulting(false)),
                ("hostname_in_prefix", Field.boolean.defaulting(false)),
                ("consumer_identifier_default", identifier("custom_id", consumerIdentifiers)),
                ("service_identifier_default", identifier("service_name_or_host", serviceIdentifiers)),
                ("workspace_identifier_default", identifier("workspace_id", workspaceIdentifiers)),
            ] + formerQueueFields("statsd") + [
                ("tag_style", Field.string.with { $0.oneOf = oneOf(["dogstatsd", "influxdb", "librato", "signalfx"]) }),
                ("queue", Typedefs.queue),
            ]
        return Schema.record(fields)
    }()

    /// statsd's default `metrics`: each metric, with a sample rate for the counters and gauges.
    static let statsdDefaultMetrics: Value = .array(
        [
            ("request_count", "counter"), ("latency", "timer"), ("request_size", "counter"), ("status_count", "counter"),
            ("response_size", "counter"), ("unique_users", "set"), ("request_per_user", "counter"),
            ("upstream_latency", "timer"), ("kong_latency", "timer"), ("status_count_per_user", "counter"),
            ("status_count_per_workspace", "counter"), ("status_count_per_user_per_route", "counter"),
            ("shdict_usage", "gauge"),
        ].map { name, type in
            var metric: Object = ["name": .string(name), "stat_type": .string(type)]
            if type == "counter" || type == "gauge" { metric["sample_rate"] = 1 }
            return .object(metric)
        })

    /// `datadog`.
    static let datadog: Schema = {
        let metric = Schema.record(
            [
                ("name", Field.string.with {
                    $0.required = true
                    $0.oneOf = oneOf([
                        "kong_latency", "latency", "request_count", "request_size", "response_size", "upstream_latency",
                    ])
                }),
                ("stat_type", Field.string.with {
                    $0.required = true
                    $0.oneOf = oneOf(["counter", "gauge", "histogram", "meter", "set", "timer", "distribution"])
                }),
                ("tags", Field.array(of: Field.string.with { $0.match = "^.*[^:]$" })),
                ("sample_rate", Field.number.with { $0.between = 0...1 }),
                ("consumer_identifier", Field.string.with { $0.oneOf = oneOf(consumerIdentifiers) }),
            ],
            entityChecks: [sampleRateRequired])
        let fields: [(String, Field)] =
            [
                ("host", Typedefs.host.with {
                    $0.referenceable = true
                    $0.defaultValue = "localhost"
                }),
                ("port", Typedefs.port.defaulting(8125)),
                ("prefix", Field.string.defaulting("kong")),
                ("service_name_tag", Field.string.defaulting("name")),
                ("status_tag", Field.string.defaulting("status")),
                ("consumer_tag", Field.string.defaulting("consumer")),
            ] + formerQueueFields("datadog") + [
                ("queue", Typedefs.queue),
                ("metrics", Field.array(of: .record(metric)).with {
                    $0.required = true
                    $0.defaultValue = datadogDefaultMetrics
                }),
            ]
        return Schema.record(fields)
    }()

    /// datadog's default `metrics`: tagged `app:kong`, by custom id; the request count a counter
    /// sampled at 1, the rest timers.
    static let datadogDefaultMetrics: Value = .array(
        ["request_count", "latency", "request_size", "response_size", "upstream_latency", "kong_latency"].map { name in
            var metric: Object = ["name": .string(name), "stat_type": name == "request_count" ? "counter" : "timer"]
            if name == "request_count" { metric["sample_rate"] = 1 }
            metric["tags"] = ["app:kong"]
            metric["consumer_identifier"] = "custom_id"
            return .object(metric)
        })

    /// `prometheus`: which metrics to collect, all off by default.
    static let prometheus = Schema.record(
        [
            "per_consumer", "status_code_metrics", "ai_metrics", "latency_metrics", "bandwidth_metrics",
            "upstream_health_metrics", "wasm_metrics",
        ].map { ($0, Field.boolean.defaulting(false)) })
}
