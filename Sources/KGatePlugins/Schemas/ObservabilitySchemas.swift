import KGateSchema

extension BundledPluginSet {
    /// Kong's config schemas of the logging, metrics and tracing plugins, for
    /// `EntityCatalog(pluginConfigSchemas:)`: kgate runs them all, refuses the configs Kong
    /// refuses for each and stores them with Kong's defaults. `luaEnabled` is false with `untrusted_lua = off`, where any
    /// `custom_fields_by_lua` code is refused.
    public static func observabilityConfigSchemas(luaEnabled: Bool = true) -> [String: Schema] {
        let lua = ObservabilitySchemas.luaCode(enabled: luaEnabled)
        return [
            "http-log": ObservabilitySchemas.httpLog(luaCode: lua),
            "tcp-log": ObservabilitySchemas.tcpLog(luaCode: lua),
            "udp-log": ObservabilitySchemas.udpLog(luaCode: lua),
            "file-log": ObservabilitySchemas.fileLog(luaCode: lua),
            "syslog": ObservabilitySchemas.syslog(luaCode: lua),
            "loggly": ObservabilitySchemas.loggly(luaCode: lua),
            "statsd": ObservabilitySchemas.statsd,
            "datadog": ObservabilitySchemas.datadog,
            "prometheus": ObservabilitySchemas.prometheus,
            "opentelemetry": ObservabilitySchemas.opentelemetry,
            "zipkin": ObservabilitySchemas.zipkin,
        ]
    }
}

/// The `config` record schemas of Kong's metrics, tracing and logging plugins
/// (`kong/plugins/<name>/schema.lua`), and the fields they share.
///
/// Left out, as they answer nothing a config could change: `description`s, and prometheus's
/// check that nginx has its shared dict.
enum ObservabilitySchemas {
    /// `typedefs.lua_code`; with Lua disabled each chunk fails as Kong's sandbox makes it fail.
    /// Enabled, chunks are not compiled here (Kong refuses Lua syntax errors).
    static func luaCode(enabled: Bool) -> Field {
        guard !enabled, let values = Typedefs.luaCode.values else { return Typedefs.luaCode }
        let message = "Error parsing function: " + PluginConstants.untrustedLuaDisabled
        return Typedefs.luaCode.with { $0.values = values.with { $0.customValidator = { _ in message } } }
    }

    /// The syslog severities (`log_level` and the `*_severity` fields of syslog and loggly).
    static func severity(required: Bool) -> Field {
        Field.string.with {
            $0.required = required
            $0.defaultValue = "info"
            $0.oneOf = ["debug", "info", "notice", "warning", "err", "crit", "alert", "emerg"]
        }
    }

    /// A field with Kong's `deprecation` (message, removal in 4.0, former default).
    static func deprecated(_ field: Field, _ message: String, oldDefault: Value) -> Field {
        field.with { $0.deprecation = Schema.DeprecationNotice(message, removalInVersion: "4.0", oldDefault: oldDefault) }
    }

    /// `retry_count`, `queue_size` and `flush_timeout`: the batching settings the `queue`
    /// record replaced (http-log, statsd, datadog).
    static func formerQueueFields(_ plugin: String) -> [(String, Field)] {
        func notice(_ field: String, _ replacement: String) -> String {
            "\(plugin): config.\(field) is deprecated, please use config.queue.\(replacement) instead"
        }
        return [
            ("retry_count", deprecated(
                .integer, "\(plugin): config.retry_count no longer works, please use config.queue.max_retry_time instead",
                oldDefault: 10)),
            ("queue_size", deprecated(.integer, notice("queue_size", "max_batch_size"), oldDefault: 1)),
            ("flush_timeout", deprecated(.number, notice("flush_timeout", "max_coalescing_delay"), oldDefault: 2)),
        ]
    }

    /// A `one_of` string list.
    static func oneOf(_ values: [String]) -> [Value] { values.map(Value.string) }

    /// Kong's `conditional` entity check of metric records: counters and gauges need a
    /// `sample_rate`.
    static let sampleRateRequired = EntityCheck.conditional(
        EntityCheck.Conditional(
            ifField: "stat_type", ifMatch: { $0.oneOf = ["counter", "gauge"] }, thenField: "sample_rate",
            thenRequired: true, thenMatch: { $0.required = true }))
}
