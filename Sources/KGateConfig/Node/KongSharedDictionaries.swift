/// The nginx shared dictionaries a Kong node declares (`kong/templates/nginx_kong.lua`), with
/// their default capacities (`mem_cache_size` is 128m), and `prometheus_metrics` (5m), which
/// Kong's conf loader adds when the prometheus plugin is loaded.
///
/// kgate keeps no nginx shared dictionaries; `/status`, `/metrics` and statsd's
/// `shdict_usage` report these with nothing allocated, so that tools reading them keep working.
public enum KongSharedDictionaries {
    /// Kong's template's dictionaries.
    static let template: [(name: String, capacity: Int)] = [
        ("kong", 5 << 20), ("kong_locks", 8 << 20), ("kong_healthchecks", 5 << 20),
        ("kong_cluster_events", 5 << 20), ("kong_rate_limiting_counters", 12 << 20),
        ("kong_core_db_cache", 128 << 20), ("kong_core_db_cache_miss", 12 << 20),
        ("kong_db_cache", 128 << 20), ("kong_db_cache_miss", 12 << 20), ("kong_secrets", 5 << 20),
    ]

    /// The node's dictionaries: the template's, and `prometheus_metrics` with that plugin.
    public static func all(prometheus: Bool) -> [(name: String, capacity: Int)] {
        template + (prometheus ? [("prometheus_metrics", 5 << 20)] : [])
    }
}
