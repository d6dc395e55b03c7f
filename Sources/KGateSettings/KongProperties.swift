/// Kong 3.x properties that kgate accepts in a kong.conf file or `KONG_*` variable but that
/// have no effect on it (database, nginx, Lua, DNS, clustering, TLS file and logging settings).
///
/// Accepting them lets an existing kong.conf or Docker environment be used unchanged; sources
/// list them (`KongConfFile.ignored`, `EnvironmentSource.ignored`) so the CLI can say so.
/// Any other name is an unknown property. Names from `kong/templates/kong_defaults.lua`,
/// `kong.conf.default` and `kong/conf_loader/constants.lua` (Kong 3.x).
enum KongProperties {
    /// Kong's properties without an effect on kgate.
    static let ignored: Set<String> = [
        "_debug_pg_ttl_cleanup_interval", "admin_error_log", "admin_gui_access_log",
        "admin_gui_api_url", "admin_gui_csp_header", "admin_gui_error_log", "admin_gui_listen", "admin_gui_path",
        "admin_gui_ssl_cert", "admin_gui_ssl_cert_key",
        "anonymous_reports", "cluster_ca_cert", "cluster_cert", "cluster_cert_key", "cluster_cjson",
        "cluster_control_plane", "cluster_data_plane_purge_delay", "cluster_dp_labels", "cluster_listen",
        "cluster_max_payload", "cluster_mtls", "cluster_ocsp", "cluster_rpc", "cluster_rpc_sync",
        "cluster_server_name", "cluster_use_proxy", "db_cache_neg_ttl", "db_cache_ttl", "db_cache_warmup_entities",
        "db_resurrect_ttl", "db_update_frequency", "db_update_propagation", "debug_ssl_cert", "debug_ssl_cert_key",
        "dedicated_config_processing", "dns_cache_size", "dns_no_sync",
        "host_ports", "kic",
        "lmdb_environment_path", "lmdb_map_size", "lua_max_post_args", "lua_max_req_headers", "lua_max_resp_headers",
        "lua_max_uri_args", "lua_package_cpath", "lua_package_path", "lua_socket_pool_size", "lua_ssl_protocols",
        "mem_cache_size", "new_dns_client", "nginx_daemon",
        "nginx_user", "openresty_path", "pg_backlog", "pg_database", "pg_host", "pg_keepalive_timeout",
        "pg_max_concurrent_queries", "pg_password",
        "pg_pool_size", "pg_port", "pg_ro_backlog", "pg_ro_database", "pg_ro_host", "pg_ro_keepalive_timeout",
        "pg_ro_max_concurrent_queries", "pg_ro_password", "pg_ro_pool_size", "pg_ro_port", "pg_ro_schema",
        "pg_ro_semaphore_timeout", "pg_ro_ssl", "pg_ro_ssl_verify", "pg_ro_timeout", "pg_ro_user", "pg_schema",
        "pg_semaphore_timeout", "pg_ssl", "pg_ssl_verify", "pg_timeout", "pg_user", "privileged_worker",
        "proxy_server", "proxy_server_ssl_verify",
        "proxy_stream_error_log", "request_debug", "request_debug_token", "resolver_address", "resolver_error_ttl",
        "resolver_family", "resolver_hosts_file", "resolver_lru_cache_size", "resolver_mem_cache_size",
        "resolver_stale_ttl", "resolver_valid_ttl", "role", "router_consistency",
        "ssl_dhparam", "ssl_prefer_server_ciphers",
        "ssl_session_cache_size", "ssl_session_tickets", "ssl_session_timeout", 
        "status_error_log", "untrusted_lua_sandbox_environment",
        "untrusted_lua_sandbox_requires", "vaults", "wasm", "wasm_dynamic_module", "wasm_filters",
        "wasm_filters_path", "worker_consistency", "worker_events_max_payload", "worker_state_update_frequency",
    ]

    /// Prefixes of Kong's free-form properties (nginx directives injected by name, plugin
    /// servers, vault settings), all accepted and without effect.
    static let ignoredPrefixes = [
        "nginx_main_", "nginx_events_", "nginx_http_", "nginx_upstream_", "nginx_proxy_", "nginx_location_",
        "nginx_status_", "nginx_admin_", "nginx_stream_", "nginx_supstream_", "nginx_sproxy_", "nginx_wasm_",
        "pluginserver_", "vault_",
    ]

    /// What kgate does with a property name.
    enum Kind {
        /// A ``Property`` of ``NodeSettings``.
        case supported
        /// A Kong property without effect on kgate.
        case ignored
        /// Neither.
        case unknown
    }

    /// Classifies a (lower-case) property name. Supported names win over ignored prefixes
    /// (`nginx_admin_client_max_body_size` is supported, `nginx_admin_foo` ignored).
    static func kind(of name: String) -> Kind {
        if Property.byName[name] != nil { return .supported }
        if ignored.contains(name) || ignoredPrefixes.contains(where: { name.hasPrefix($0) && name.count > $0.count }) {
            return .ignored
        }
        return .unknown
    }

    /// Every supported and ignored property name (for "did you mean" suggestions).
    static var knownNames: [String] { Property.all.map(\.name) + ignored.sorted() }
}
