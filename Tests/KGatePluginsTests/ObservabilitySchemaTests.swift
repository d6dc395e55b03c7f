import KGateConfig
import KGatePlugins
import KGateSchema
import Testing

/// The config schemas of the metrics, tracing and logging plugins kgate validates without
/// running them (`BundledPluginSet.observabilityConfigSchemas`): Kong's defaults and messages.
@Suite struct ObservabilitySchemaTests {
    static let catalog = EntityCatalog(pluginConfigSchemas: BundledPluginSet.observabilityConfigSchemas())
    static let loader = DeclarativeLoader(catalog: catalog)
    static let luaOffLoader = DeclarativeLoader(
        catalog: EntityCatalog(pluginConfigSchemas: BundledPluginSet.observabilityConfigSchemas(luaEnabled: false)))

    /// A global plugin loaded: its stored `config`, or its `config` errors as Kong's `fields`
    /// show them.
    static func load(_ name: String, _ config: Value, loader: DeclarativeLoader = loader) -> (config: Value?, errors: Value?) {
        let input: Value = ["_format_version": "3.0", "plugins": [["name": .string(name), "config": config]]]
        switch loader.load(bytes: Array(input.jsonText.utf8), fileName: "kong.json") {
        case .success(let loaded):
            return (loaded.entities["plugins"]?.values.first?["config"], nil)
        case .failure(let error):
            return (nil, KongErrorBody.fieldsValue(error.fields)["plugins"]?.arrayValue?.first?["config"] ?? .null)
        }
    }

    /// The stored config of a valid plugin, objects' keys sorted.
    static func stored(_ name: String, _ config: Value) throws -> Value {
        let result = load(name, config)
        #expect(result.errors == nil)
        return sorted(try #require(result.config))
    }

    /// The `config` errors of an invalid plugin, objects' keys sorted.
    static func errors(_ name: String, _ config: Value, loader: DeclarativeLoader = loader) -> Value? {
        load(name, config, loader: loader).errors.map(sorted)
    }

    /// Objects with their keys sorted, so comparisons ignore the order of fields.
    static func sorted(_ value: Value) -> Value {
        switch value {
        case .object(let o): return .object(Object(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.map { ($0.key, sorted($0.value)) }))
        case .array(let a): return .array(a.map(sorted))
        default: return value
        }
    }

    static let queueDefaults: Value = [
        "max_batch_size": 1, "max_coalescing_delay": 1, "max_entries": 10000, "max_bytes": .null,
        "max_retry_time": 60, "initial_retry_delay": 0.01, "max_retry_delay": 60, "concurrency_limit": 1,
    ]

    static func queue(_ changes: Object) -> Value {
        guard case .object(var q) = queueDefaults else { return .null }
        q.merge(changes) { _, new in new }
        return .object(q)
    }

    @Test func schemasAreWellFormed() throws {
        let names = Set(BundledPluginSet.observabilityConfigSchemas().keys)
        // The logging, metrics and tracing plugins all run; their schemas stay together (the
        // logging ones know `untrusted_lua = off`).
        let observability: Set = [
            "file-log", "http-log", "tcp-log", "udp-log", "syslog", "loggly", "prometheus", "datadog", "statsd",
            "opentelemetry", "zipkin",
        ]
        #expect(names == observability)
        #expect(observability.isSubset(of: Set(BundledPluginSet.configSchemas.keys)))
        let plugins = try #require(Self.catalog.schemas["plugins"])
        #expect(plugins.definitionErrors() == [])
    }

    // MARK: - http-log

    @Test func httpLogDefaults() throws {
        let config = try Self.stored("http-log", ["http_endpoint": "http://example.test/logs"])
        #expect(
            config
                == Self.sorted([
                    "http_endpoint": "http://example.test/logs", "method": "POST", "content_type": "application/json",
                    "timeout": 10000, "keepalive": 60000, "retry_count": .null, "queue_size": .null,
                    "flush_timeout": .null, "headers": .null, "queue": Self.queueDefaults, "custom_fields_by_lua": .null,
                ]))
        let queued = try Self.stored(
            "http-log", ["http_endpoint": "https://example.test", "queue": ["max_batch_size": 100], "method": "PUT"])
        #expect(queued["queue"] == Self.sorted(Self.queue(["max_batch_size": 100])))
        #expect(queued["method"] == "PUT")
    }

    /// 15-off_spec's flattened cases, as Kong's `fields`.
    @Test func httpLogErrors() {
        #expect(Self.errors("http-log", ["http_endpoint": "invalid::#//url"]) == ["http_endpoint": "missing host in url"])
        #expect(
            Self.errors("http-log", ["not_endpoint": "anything"])
                == Self.sorted(["not_endpoint": "unknown field", "http_endpoint": "required field missing"]))
        #expect(
            Self.errors("http-log", ["bogus": 1]) == Self.sorted(["bogus": "unknown field", "http_endpoint": "required field missing"]))
        #expect(Self.errors("http-log", ["http_endpoint": "example.test"]) == ["http_endpoint": "missing host in url"])
        #expect(Self.errors("http-log", ["http_endpoint": "//example.test"]) == ["http_endpoint": "missing scheme in url"])
        let endpoint: Value = "http://example.test"
        #expect(
            Self.errors("http-log", ["http_endpoint": endpoint, "method": "GET"])
                == ["method": "expected one of: POST, PUT, PATCH"])
        #expect(
            Self.errors("http-log", ["http_endpoint": endpoint, "content_type": "text/plain"])
                == ["content_type": "expected one of: application/json, application/json; charset=utf-8"])
        #expect(Self.errors("http-log", ["http_endpoint": endpoint, "timeout": "1"]) == ["timeout": "expected a number"])
        #expect(
            Self.errors("http-log", ["http_endpoint": endpoint, "retry_count": 1.5]) == ["retry_count": "expected an integer"])
        let headerCases: [(Object, String)] = [
            (["Host": "x"], "cannot contain 'Host' header"),
            (["content-length": "1"], "cannot contain 'Content-Length' header"),
            (["Content-Type": "x"], "cannot contain 'Content-Type' header"),
            (["bad header": "x"], "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'"),
            (["X-A": 1], "expected a string"),
        ]
        for (headers, message) in headerCases {
            let errors = Self.errors("http-log", ["http_endpoint": endpoint, "headers": .object(headers)])
            #expect(errors == ["headers": .string(message)])
        }
        #expect(
            Self.errors("http-log", ["http_endpoint": "http://user:pw@example.test", "headers": ["authorization": "x"]])
                == "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed")
        #expect(Self.load("http-log", ["http_endpoint": "http://user:pw@example.test", "headers": ["X-A": "x"]]).errors == nil)
    }

    @Test func queueErrors() {
        let endpoint: Value = "http://example.test"
        let cases: [(Object, String, String)] = [
            (["max_batch_size": 0], "max_batch_size", "value should be between 1 and 1000000"),
            (["max_coalescing_delay": 3601], "max_coalescing_delay", "value should be between 0 and 3600"),
            (["max_entries": 1_000_001], "max_entries", "value should be between 1 and 1000000"),
            (["max_bytes": 1.5], "max_bytes", "expected an integer"),
            (["initial_retry_delay": 0], "initial_retry_delay", "value should be between 0 and 1000000"),
            (["concurrency_limit": 2], "concurrency_limit", "expected one of: -1, 1"),
            (["bogus": 2], "bogus", "unknown field"),
        ]
        for (queue, field, message) in cases {
            let errors = Self.errors("http-log", ["http_endpoint": endpoint, "queue": .object(queue)])
            #expect(errors == ["queue": .object([field: .string(message)])])
        }
    }

    @Test func customFieldsByLua() {
        let endpoint: Value = "http://example.test"
        #expect(Self.load("http-log", ["http_endpoint": endpoint, "custom_fields_by_lua": ["a": "return 1"]]).errors == nil)
        #expect(
            Self.errors("http-log", ["http_endpoint": endpoint, "custom_fields_by_lua": ["a": ""]])
                == ["custom_fields_by_lua": "length must be at least 1"])
        #expect(
            Self.errors("tcp-log", ["host": "h", "port": 1, "custom_fields_by_lua": ["": "return 1"]])
                == ["custom_fields_by_lua": "length must be at least 1"])
        // With `untrusted_lua = off`, any code is refused as Kong's sandbox refuses it.
        for (name, config) in [("file-log", ["path": "/tmp/x.log"]), ("syslog", [:]), ("udp-log", ["host": "h", "port": 1])]
            as [(String, Object)]
        {
            var withLua = config
            withLua["custom_fields_by_lua"] = ["a": "return 1"]
            #expect(
                Self.errors(name, .object(withLua), loader: Self.luaOffLoader)
                    == [
                        "custom_fields_by_lua":
                            "Error parsing function: loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"
                    ])
            #expect(Self.load(name, .object(config), loader: Self.luaOffLoader).errors == nil)
        }
    }

    // MARK: - tcp-log, udp-log, file-log, syslog, loggly

    @Test func tcpAndUDPLog() throws {
        #expect(
            try Self.stored("tcp-log", ["host": "127.0.0.1", "port": 10000])
                == Self.sorted([
                    "host": "127.0.0.1", "port": 10000, "timeout": 10000, "keepalive": 60000, "tls": false,
                    "tls_sni": .null, "custom_fields_by_lua": .null,
                ]))
        #expect(
            Self.errors("tcp-log", ["deeply": ["nested": ["undefined": true]], "port": 1234])
                == Self.sorted(["deeply": "unknown field", "host": "required field missing"]))
        #expect(
            Self.errors("tcp-log", ["host": "example.test:80", "port": 70000])
                == Self.sorted(["host": "must not have a port", "port": "value should be between 0 and 65535"]))
        #expect(Self.errors("tcp-log", ["host": "h", "port": 1, "tls": .null]) == ["tls": "required field missing"])
        #expect(
            try Self.stored("udp-log", ["host": "logs.test", "port": 514])
                == Self.sorted(["host": "logs.test", "port": 514, "timeout": 10000, "custom_fields_by_lua": .null]))
        #expect(Self.errors("udp-log", ["host": "logs.test"]) == ["port": "required field missing"])
        #expect(Self.errors("udp-log", ["host": "a b", "port": 1]) == ["host": "invalid value: a b"])
    }

    @Test func fileLog() throws {
        #expect(
            try Self.stored("file-log", ["path": "/tmp/file.log"])
                == Self.sorted(["path": "/tmp/file.log", "reopen": false, "custom_fields_by_lua": .null]))
        #expect(Self.errors("file-log", [:]) == ["path": "required field missing"])
        for path in ["/tmp/a b ", " /tmp/a", "/tmp/a*b", "/tmp/a&b", "/tmp/100%", "/tmp/`x`", "", "a"] {
            #expect(Self.errors("file-log", ["path": .string(path)]) == ["path": "not a valid filename"], "\(path)")
        }
        #expect(Self.errors("file-log", ["path": "/tmp/x", "reopen": "yes"]) == ["reopen": "expected a boolean"])
    }

    @Test func syslogAndLoggly() throws {
        let severities: Object = [
            "log_level": "info", "successful_severity": "info", "client_errors_severity": "info",
            "server_errors_severity": "info",
        ]
        var syslog = severities
        syslog["custom_fields_by_lua"] = .null
        syslog["facility"] = "user"
        #expect(try Self.stored("syslog", [:]) == Self.sorted(.object(syslog)))
        #expect(
            Self.errors("syslog", ["log_level": "bogus"])
                == ["log_level": "expected one of: debug, info, notice, warning, err, crit, alert, emerg"])
        #expect(Self.errors("syslog", ["successful_severity": .null]) == ["successful_severity": "required field missing"])
        #expect(
            Self.errors("syslog", ["facility": "local8"])
                == [
                    "facility":
                        "expected one of: auth, authpriv, cron, daemon, ftp, kern, lpr, mail, news, syslog, user, uucp, local0, local1, local2, local3, local4, local5, local6, local7"
                ])

        var loggly = severities
        loggly.merge(
            [
                "host": "logs-01.loggly.com", "port": 514, "key": "k", "tags": ["kong"], "timeout": 10000,
                "custom_fields_by_lua": .null,
            ]) { a, _ in a }
        #expect(try Self.stored("loggly", ["key": "k"]) == Self.sorted(.object(loggly)))
        #expect(Self.errors("loggly", [:]) == ["key": "required field missing"])
        // Not required in loggly: a null severity stays null.
        #expect(try Self.stored("loggly", ["key": "k", "log_level": .null])["log_level"] == .null)
        #expect(Self.errors("loggly", ["key": "k", "tags": "kong"]) == ["tags": "expected a set"])
        #expect(try Self.stored("loggly", ["key": "k", "tags": ["a", "a", "b"]])["tags"] == ["a", "b"])
    }

    // MARK: - statsd, datadog, prometheus

    @Test func statsd() throws {
        let config = try Self.stored("statsd", [:])
        let metrics = try #require(config["metrics"]?.arrayValue)
        #expect(metrics.count == 13)
        #expect(metrics.first == Self.sorted(["name": "request_count", "stat_type": "counter", "sample_rate": 1]))
        #expect(metrics[1] == Self.sorted(["name": "latency", "stat_type": "timer"]))
        var rest = config
        if case .object(var o) = rest {
            o["metrics"] = nil
            rest = .object(o)
        }
        #expect(
            rest
                == Self.sorted([
                    "host": "localhost", "port": 8125, "prefix": "kong", "allow_status_codes": .null,
                    "udp_packet_size": 0, "use_tcp": false, "hostname_in_prefix": false,
                    "consumer_identifier_default": "custom_id", "service_identifier_default": "service_name_or_host",
                    "workspace_identifier_default": "workspace_id", "retry_count": .null, "queue_size": .null,
                    "flush_timeout": .null, "tag_style": .null, "queue": Self.queueDefaults,
                ]))
        // A given metric gets nulls for what it leaves out.
        let given = try Self.stored("statsd", ["metrics": [["name": "latency", "stat_type": "timer"]]])
        #expect(
            given["metrics"]
                == Self.sorted([
                    [
                        "name": "latency", "stat_type": "timer", "sample_rate": .null, "consumer_identifier": .null,
                        "service_identifier": .null, "workspace_identifier": .null,
                    ]
                ]))
        #expect(
            Self.errors("statsd", ["metrics": [["name": "latency", "stat_type": "counter"]]])
                == Self.sorted([
                    "metrics": [
                        [
                            "sample_rate": "required field missing",
                            "@entity": ["failed conditional validation given value of field 'stat_type'"],
                        ]
                    ]
                ]))
        #expect(
            Self.errors("statsd", ["metrics": [["name": "bogus", "stat_type": "timer"]]])?["metrics"]?.arrayValue?.first?[
                "name"]?.stringValue?.hasPrefix("expected one of: kong_latency, latency, request_count") == true)
        let conditional: Value = ["failed conditional validation given value of field 'stat_type'"]
        #expect(
            Self.errors("statsd", ["metrics": [["name": "latency", "stat_type": "counter", "sample_rate": 0]]])
                == Self.sorted(["metrics": [["sample_rate": "value must be greater than 0", "@entity": conditional]]]))
        #expect(Self.errors("statsd", ["allow_status_codes": ["200"]]) == ["allow_status_codes": [.string("invalid value: 200")]])
        #expect(try Self.stored("statsd", ["allow_status_codes": ["200-299"]])["allow_status_codes"] == ["200-299"])
        #expect(Self.errors("statsd", ["udp_packet_size": 65508]) == ["udp_packet_size": "value should be between 0 and 65507"])
        #expect(
            Self.errors("statsd", ["tag_style": "graphite"])
                == ["tag_style": "expected one of: dogstatsd, influxdb, librato, signalfx"])
        #expect(
            Self.errors("statsd", ["consumer_identifier_default": .null])
                == ["consumer_identifier_default": "required field missing"])
    }

    @Test func datadog() throws {
        let config = try Self.stored("datadog", [:])
        let metrics = try #require(config["metrics"]?.arrayValue)
        #expect(metrics.count == 6)
        #expect(
            metrics.first
                == Self.sorted([
                    "name": "request_count", "stat_type": "counter", "sample_rate": 1, "tags": ["app:kong"],
                    "consumer_identifier": "custom_id",
                ]))
        #expect(metrics.last?["name"] == "kong_latency")
        #expect(metrics.last?["stat_type"] == "timer")
        #expect(config["host"] == "localhost")
        #expect(config["port"] == 8125)
        #expect(config["service_name_tag"] == "name")
        #expect(config["status_tag"] == "status")
        #expect(config["consumer_tag"] == "consumer")
        #expect(config["queue"] == Self.sorted(Self.queueDefaults))
        #expect(Self.errors("datadog", ["metrics": .null]) == ["metrics": "required field missing"])
        #expect(
            Self.errors("datadog", ["metrics": [["name": "latency", "stat_type": "timer", "tags": ["a:"]]]])
                == ["metrics": [["tags": [.string("invalid value: a:")]]]])
        #expect(
            Self.errors("datadog", ["metrics": [["name": "latency", "stat_type": "gauge", "sample_rate": 2]]])
                == Self.sorted([
                    "metrics": [
                        [
                            "sample_rate": "value should be between 0 and 1",
                            "@entity": ["failed conditional validation given value of field 'stat_type'"],
                        ]
                    ]
                ]))
        #expect(
            Self.errors("datadog", ["metrics": [["name": "latency", "stat_type": "distribution", "consumer_identifier": "x"]]])
                == ["metrics": [["consumer_identifier": "expected one of: consumer_id, custom_id, username"]]])
    }

    @Test func prometheus() throws {
        let flags = [
            "per_consumer", "status_code_metrics", "ai_metrics", "latency_metrics", "bandwidth_metrics",
            "upstream_health_metrics", "wasm_metrics",
        ]
        #expect(
            try Self.stored("prometheus", [:])
                == Self.sorted(.object(Object(uniqueKeysWithValues: flags.map { ($0, false) }))))
        #expect(try Self.stored("prometheus", ["per_consumer": true])["per_consumer"] == true)
        #expect(Self.errors("prometheus", ["per_consumer": "yes"]) == ["per_consumer": "expected a boolean"])
        #expect(Self.errors("prometheus", ["bogus": true]) == ["bogus": "unknown field"])
    }

    // MARK: - opentelemetry, zipkin

    @Test func opentelemetry() throws {
        let config = try Self.stored("opentelemetry", ["traces_endpoint": "http://otel.test:4318/v1/traces"])
        #expect(
            config
                == Self.sorted([
                    "traces_endpoint": "http://otel.test:4318/v1/traces", "logs_endpoint": .null, "headers": .null,
                    "resource_attributes": .null, "queue": Self.queue(["max_batch_size": 200]),
                    "batch_span_count": .null, "batch_flush_delay": .null, "connect_timeout": 1000,
                    "send_timeout": 5000, "read_timeout": 5000, "http_response_header_for_traceid": .null,
                    "header_type": "preserve", "sampling_rate": .null,
                    "propagation": ["extract": .null, "clear": .null, "inject": .null, "default_format": "w3c"],
                ]))
        // The deprecated `endpoint` sets `traces_endpoint`.
        let shorthand = try Self.stored("opentelemetry", ["endpoint": "http://otel.test/v1/traces"])
        #expect(shorthand["traces_endpoint"] == "http://otel.test/v1/traces")
        #expect(shorthand["endpoint"] == nil)
        #expect(
            Self.errors("opentelemetry", [:])
                == ["@entity": ["at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'"]])
        #expect(
            Self.errors("opentelemetry", ["logs_endpoint": "http://l.test", "sampling_rate": 2])
                == ["sampling_rate": "value should be between 0 and 1"])
        // A given `propagation` gets no default `default_format`.
        #expect(
            Self.errors("opentelemetry", ["logs_endpoint": "http://l.test", "propagation": ["extract": ["b3-single"]]])
                == Self.sorted([
                    "propagation": [
                        "extract": [.string("expected one of: w3c, b3, jaeger, ot, datadog, aws, gcp, instana")],
                        "default_format": "required field missing",
                    ]
                ]))
        #expect(
            Self.errors("opentelemetry", ["logs_endpoint": "http://l.test", "propagation": ["default_format": .null]])
                == ["propagation": ["default_format": "required field missing"]])
        #expect(
            Self.errors("opentelemetry", ["logs_endpoint": "http://l.test", "connect_timeout": -1])
                == ["connect_timeout": "value should be between 0 and 2147483646"])
        #expect(
            Self.errors("opentelemetry", ["logs_endpoint": "http://l.test", "resource_attributes": ["service.name": ""]])
                == ["resource_attributes": "length must be at least 1"])
    }

    @Test func zipkin() throws {
        let config = try Self.stored("zipkin", [:])
        #expect(
            config
                == Self.sorted([
                    "local_service_name": "kong", "http_endpoint": .null, "sample_ratio": 0.001,
                    "default_service_name": .null, "include_credential": true, "traceid_byte_count": 16,
                    "header_type": "preserve", "default_header_type": "b3", "tags_header": "Zipkin-Tags",
                    "static_tags": .null, "http_span_name": "method", "connect_timeout": 2000, "send_timeout": 5000,
                    "read_timeout": 5000, "http_response_header_for_traceid": .null,
                    "phase_duration_flavor": "annotations", "queue": Self.queueDefaults,
                    "propagation": ["extract": .null, "clear": .null, "inject": .null, "default_format": "b3"],
                ]))
        #expect(
            Self.errors("zipkin", ["static_tags": [["name": "a", "value": "1"], ["name": "a", "value": "2"]]])
                == ["static_tags": "repeated tags are not allowed: a"])
        #expect(
            Self.errors("zipkin", ["static_tags": [["name": "lc", "value": "1"]]])?["static_tags"]?.arrayValue?.first?[
                "name"]?.stringValue?.hasPrefix("must not be one of: error, http.method") == true)
        #expect(Self.errors("zipkin", ["traceid_byte_count": 10]) == ["traceid_byte_count": "expected one of: 8, 16"])
        #expect(
            Self.errors("zipkin", ["default_header_type": "preserve"])
                == ["default_header_type": "expected one of: b3, b3-single, w3c, jaeger, ot, aws, datadog, gcp, instana"])
        #expect(
            Self.errors("zipkin", ["propagation": ["clear": ["bad header"], "default_format": "b3"]])
                == [
                    "propagation": [
                        "clear": [.string("bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'")]
                    ]
                ])
    }
}
