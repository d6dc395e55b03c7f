import KGateSchema

/// The tracing plugins: opentelemetry, zipkin.
extension ObservabilitySchemas {
    /// The `header_type` values of both plugins (opentelemetry's order).
    static let headerTypes = ["preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "gcp", "datadog", "instana"]

    /// `propagation` with its `default_format` default.
    static func propagation(defaultFormat: String) -> Field {
        Typedefs.propagation.defaulting(["default_format": .string(defaultFormat)])
    }

    /// The three timeouts of the span exporters.
    static func timeouts(connect: Int) -> [(String, Field)] {
        [
            ("connect_timeout", Typedefs.timeout.defaulting(.integer(connect))),
            ("send_timeout", Typedefs.timeout.defaulting(5000)),
            ("read_timeout", Typedefs.timeout.defaulting(5000)),
        ]
    }

    /// A deprecated `header_type` with `preserve` as its default.
    static func headerType(_ plugin: String, oneOf values: [String], required: Bool) -> Field {
        deprecated(
            Field.string.with {
                $0.required = required
                $0.defaultValue = "preserve"
                $0.oneOf = oneOf(values)
            },
            "\(plugin): config.header_type is deprecated, please use config.propagation options instead",
            oldDefault: "preserve")
    }

    /// `opentelemetry`. Kong's check that `resource_attributes` values are non-empty strings,
    /// numbers or booleans is left out: the values' own type (string) already refuses the rest.
    static let opentelemetry: Schema = {
        let endpoint = Typedefs.url.with { $0.referenceable = true }
        func batchField(_ name: String, _ replacement: String, oldDefault: Value) -> (String, Field) {
            let message = "opentelemetry: config.\(name) is deprecated, please use config.queue.\(replacement) instead"
            return (name, deprecated(.integer, message, oldDefault: oldDefault))
        }
        let fields: [(String, Field)] =
            [
                ("traces_endpoint", endpoint),
                ("logs_endpoint", endpoint),
                ("headers", Field.map(keys: Typedefs.headerName, values: Field.string.with { $0.referenceable = true })),
                ("resource_attributes", Field.map(keys: .string, values: .string)),
                ("queue", Typedefs.queue.defaulting(["max_batch_size": 200])),
                batchField("batch_span_count", "max_batch_size", oldDefault: 200),
                batchField("batch_flush_delay", "max_coalescing_delay", oldDefault: 3),
            ] + timeouts(connect: 1000) + [
                ("http_response_header_for_traceid", Field.string),
                ("header_type", headerType("opentelemetry", oneOf: headerTypes, required: false)),
                ("sampling_rate", Field.number.with { $0.between = 0...1 }),
                ("propagation", propagation(defaultFormat: "w3c")),
            ]
        let notice = Schema.DeprecationNotice(
            "OpenTelemetry: config.endpoint is deprecated, please use config.traces_endpoint instead",
            removalInVersion: "4.0")
        return Schema.record(
            fields, entityChecks: [.atLeastOneOf(["traces_endpoint", "logs_endpoint"])],
            shorthandFields: [Schema.Shorthand("endpoint", endpoint, notice: notice) { ["traces_endpoint": $0] }])
    }()

    /// `zipkin`.
    static let zipkin: Schema = {
        let protectedTags = [
            "error", "http.method", "http.path", "http.status_code", "kong.balancer.state", "kong.balancer.try",
            "kong.consumer", "kong.credential", "kong.node.id", "kong.route", "kong.service", "lc", "peer.hostname",
        ]
        let staticTag = Schema.record([
            ("name", Field.string.with {
                $0.required = true
                $0.notOneOf = oneOf(protectedTags)
            }),
            ("value", Field.string.isRequired),
        ])
        func choice(_ defaultValue: String, _ values: [String]) -> Field {
            Field.string.with {
                $0.required = true
                $0.defaultValue = .string(defaultValue)
                $0.oneOf = oneOf(values)
            }
        }
        let zipkinHeaderTypes = ["preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "datadog", "gcp", "instana"]
        let defaultHeaderType = deprecated(
            choice("b3", Array(zipkinHeaderTypes.dropFirst(2))),
            "zipkin: config.default_header_type is deprecated, please use config.propagation.default_format instead",
            oldDefault: "b3")
        let fields: [(String, Field)] =
            [
                ("local_service_name", Field.string.isRequired.defaulting("kong")),
                ("http_endpoint", Typedefs.url),
                ("sample_ratio", Field.number.with {
                    $0.defaultValue = 0.001
                    $0.between = 0...1
                }),
                ("default_service_name", Field.string),
                ("include_credential", Field.boolean.isRequired.defaulting(true)),
                ("traceid_byte_count", Field.integer.with {
                    $0.required = true
                    $0.defaultValue = 16
                    $0.oneOf = [8, 16]
                }),
                ("header_type", headerType("zipkin", oneOf: zipkinHeaderTypes, required: true)),
                ("default_header_type", defaultHeaderType),
                ("tags_header", Field.string.isRequired.defaulting("Zipkin-Tags")),
                ("static_tags", Field.array(of: .record(staticTag)).with { $0.customValidator = uniqueStaticTags }),
                ("http_span_name", choice("method", ["method", "method_path"])),
            ] + timeouts(connect: 2000) + [
                ("http_response_header_for_traceid", Field.string),
                ("phase_duration_flavor", choice("annotations", ["annotations", "tags"])),
                ("queue", Typedefs.queue),
                ("propagation", propagation(defaultFormat: "b3")),
            ]
        return Schema.record(fields)
    }()

    /// zipkin's `validate_static_tags`: each tag name once.
    static let uniqueStaticTags: Field.Validator = { value in
        var seen = Set<String>()
        for tag in value.arrayValue ?? [] {
            guard let name = tag["name"]?.stringValue else { continue }
            if !seen.insert(name).inserted { return "repeated tags are not allowed: \(name)" }
        }
        return nil
    }
}
