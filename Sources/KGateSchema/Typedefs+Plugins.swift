/// Kong's typedefs for plugin configs: `queue` (`kong/tools/queue_schema.lua`), `lua_code` and
/// `propagation` (`kong/observability/tracing/propagation/schema.lua`).
extension Typedefs {
    /// The `queue` record of the plugins that batch their work (http-log, statsd, datadog...).
    public static let queue: Field = {
        func bounded(_ type: Field, _ defaultValue: Value, _ range: ClosedRange<Double>) -> Field {
            type.with {
                $0.defaultValue = defaultValue
                $0.between = range
            }
        }
        return Field.record(
            Schema.record([
                ("max_batch_size", bounded(.integer, 1, 1...1_000_000)),
                ("max_coalescing_delay", bounded(.number, 1, 0...3600)),
                ("max_entries", bounded(.integer, 10000, 1...1_000_000)),
                ("max_bytes", Field.integer),
                ("max_retry_time", Field.number.defaulting(60)),
                ("initial_retry_delay", bounded(.number, 0.01, 0.001...1_000_000)),
                ("max_retry_delay", bounded(.number, 60, 0.001...1_000_000)),
                ("concurrency_limit", Field.integer.with {
                    $0.defaultValue = 1
                    $0.oneOf = [-1, 1]
                }),
            ]))
    }()

    /// `custom_fields_by_lua`: log field names to Lua code. Kong also compiles each chunk
    /// (`sandbox.validate_safe`); plugins add that check as a `values` validator.
    public static let luaCode = Field.map(
        keys: Field.string.with { $0.lenMin = 1 },
        values: Field.string.with { $0.lenMin = 1 })

    /// The tracing header formats (`propagation.utils.FORMATS`, in declaration order).
    public static let propagationFormats = ["w3c", "b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp", "instana"]

    /// The `propagation` record of the tracing plugins; they give `default_format` a default.
    public static let propagation = Field.record(
        Schema.record([
            ("extract", Field.array(of: Field.string.with {
                $0.oneOf = propagationFormats.filter { $0 != "b3-single" }.map(Value.string)
            })),
            ("clear", Field.array(of: Field.string.with { $0.customValidator = TypedefValidators.headerName })),
            ("inject", Field.array(of: Field.string.with {
                $0.oneOf = (["preserve"] + propagationFormats).map(Value.string)
            })),
            ("default_format", Field.string.with {
                $0.required = true
                $0.oneOf = propagationFormats.map(Value.string)
            }),
        ]))
}
