import KGateSchema
import KGateSettings

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `GET /` `configuration`: the node's settings as Kong's conf loader leaves
/// `kong.configuration`, then `remove_sensitive()` (`kong/conf_loader/init.lua`).
///
/// - Every property kgate reads, with its value, and every Kong property it accepts without
///   using, with Kong's default (`kong/templates/kong_defaults.lua`) unless one was set. As in
///   Kong, other names (`vault_*` and `pluginserver_*` settings, deprecated properties) are
///   not shown, even when set.
/// - Kong's types (`CONF_PARSERS`): numbers, booleans, `on`/`off` strings for nginx booleans,
///   arrays for lists; everything else, nginx directives included, is a string. An unset value
///   (`NONE`) is left out, but an unset list is an empty table (`{}` in JSON, as cjson writes
///   it) and an unset boolean `false`, as Kong's `parse_value` makes them.
/// - Kong's secrets (`CONF_SENSITIVE`) and kgate's (`admin_token`) are `******` whenever they
///   are present, an empty list included.
/// - The keys Kong derives: the absolute `prefix`, `*_listeners` and `*_ssl_enabled`,
///   `loaded_plugins`, `loaded_vaults`, `enabled_headers`, `enabled_headers_upstream`,
///   `admin_gui_origin`, `host_ports`, and the prefix files kgate writes too (`nginx_pid`,
///   `kong_env`, the default log files).
///
/// `ssl_ciphers` is the cipher suite's, as Kong sets it. Not reproduced: the values Kong
/// derives for nginx's other TLS directives (`nginx_*_ssl_*`) and the `nginx_*_directives` lists, which describe an nginx kgate does not
/// run. `nginx_user` is left out, as Kong leaves it out on a host without a `kong` user.
public enum NodeConfiguration {
    /// How Kong's conf loader types a property; the properties it does not list are strings.
    enum Kind {
        case string, number, boolean, ngxBoolean, array
    }

    /// Kong's `CONF_PARSERS` types other than strings, for the properties kgate knows.
    static let kinds: [String: Kind] = {
        var kinds: [String: Kind] = [:]
        for name in [
            "port_maps", "proxy_listen", "admin_listen", "admin_gui_listen", "status_listen", "stream_listen",
            "cluster_listen", "ssl_cert", "ssl_cert_key", "admin_ssl_cert", "admin_ssl_cert_key", "admin_gui_ssl_cert",
            "admin_gui_ssl_cert_key", "status_ssl_cert", "status_ssl_cert_key", "db_cache_warmup_entities", "headers",
            "headers_upstream", "trusted_ips", "dns_resolver", "dns_order", "resolver_address", "resolver_family",
            "vaults", "plugins", "lua_ssl_trusted_certificate", "cluster_dp_labels", "pluginserver_names",
            "untrusted_lua_sandbox_requires", "untrusted_lua_sandbox_environment", "opentelemetry_tracing",
            "tracing_instrumentations", "wasm_filters", "admin_gui_url",
        ] { kinds[name] = .array }
        for name in [
            "db_update_frequency", "db_update_propagation", "db_cache_ttl", "db_cache_neg_ttl", "db_resurrect_ttl",
            "worker_events_max_payload", "upstream_keepalive_pool_size", "upstream_keepalive_max_requests",
            "upstream_keepalive_idle_timeout", "pg_port", "pg_timeout", "pg_max_concurrent_queries",
            "pg_semaphore_timeout", "pg_keepalive_timeout", "pg_pool_size", "pg_backlog",
            "_debug_pg_ttl_cleanup_interval", "pg_ro_port", "pg_ro_timeout", "pg_ro_max_concurrent_queries",
            "pg_ro_semaphore_timeout", "pg_ro_keepalive_timeout", "pg_ro_pool_size", "pg_ro_backlog", "dns_valid_ttl",
            "dns_stale_ttl", "dns_cache_size", "dns_not_found_ttl", "dns_error_ttl", "resolver_valid_ttl",
            "resolver_stale_ttl", "resolver_error_ttl", "resolver_lru_cache_size", "worker_state_update_frequency",
            "lua_max_req_headers", "lua_max_resp_headers", "lua_max_uri_args", "lua_max_post_args",
            "lua_ssl_verify_depth", "lua_socket_pool_size", "cluster_data_plane_purge_delay", "cluster_max_payload",
            "opentelemetry_tracing_sampling_rate", "tracing_sampling_rate",
        ] { kinds[name] = .number }
        for name in [
            "allow_debug_header", "pg_ssl", "pg_ssl_verify", "pg_ro_ssl", "pg_ro_ssl_verify", "dns_no_sync",
            "new_dns_client", "privileged_worker", "dedicated_config_processing", "client_ssl", "anonymous_reports",
            "cluster_use_proxy", "cluster_rpc", "cluster_rpc_sync", "cluster_cjson", "kic", "proxy_server_ssl_verify",
            "wasm", "admin_gui_csp_header", "request_debug",
        ] { kinds[name] = .boolean }
        for name in ["nginx_daemon", "real_ip_recursive", "ssl_prefer_server_ciphers", "ssl_session_tickets"] {
            kinds[name] = .ngxBoolean
        }
        return kinds
    }()

    /// kgate's properties that Kong does not have: they keep their natural type.
    static let kgateProperties: Set<String> = ["declarative_config_watch", "declarative_config_debounce", "admin_token"]

    /// Kong's type of a property: its `CONF_PARSERS` entry, else a string; nil for kgate's own.
    static func kind(of name: String) -> Kind? {
        kinds[name] ?? (kgateProperties.contains(name) ? nil : .string)
    }

    /// Kong's secrets (`CONF_SENSITIVE`).
    static let sensitive: Set<String> = [
        "pg_password", "pg_ro_password", "proxy_server", "declarative_config_string", "cluster_cert_key",
        "ssl_cert_key", "client_ssl_cert_key", "admin_ssl_cert_key", "admin_gui_ssl_cert_key", "status_ssl_cert_key",
        "debug_ssl_cert_key",
    ]

    /// Kong's nginx spellings that its defaults list beside the property they stand for.
    static let aliases: [(alias: String, property: String)] = [
        ("nginx_main_worker_processes", "nginx_worker_processes"), ("nginx_proxy_real_ip_header", "real_ip_header"),
        ("nginx_proxy_real_ip_recursive", "real_ip_recursive"),
        ("client_body_buffer_size", "nginx_http_client_body_buffer_size"),
    ]

    /// Kong's defaults of the properties kgate accepts without using, `NONE` written as an empty
    /// value (`kong_defaults.lua`, in its order).
    static let kongDefaults: [(name: String, text: String)] = [
("proxy_stream_error_log", "logs/error.log"),
        ("admin_error_log", "logs/error.log"), ("admin_gui_access_log", "logs/admin_gui_access.log"),
        ("admin_gui_error_log", "logs/admin_gui_error.log"), ("status_error_log", "logs/status_error.log"),
        ("vaults", "bundled"), ("host_ports", ""), ("anonymous_reports", "on"), ("proxy_server", ""),
        ("proxy_server_ssl_verify", "on"),
        ("admin_gui_listen", "0.0.0.0:8002, 0.0.0.0:8445 ssl"), ("cluster_listen", "0.0.0.0:8005"),
        ("cluster_control_plane", "127.0.0.1:8005"), ("cluster_cert", ""), ("cluster_cert_key", ""),
        ("cluster_mtls", "shared"), ("cluster_ca_cert", ""), ("cluster_server_name", ""),
        ("cluster_data_plane_purge_delay", "1209600"), ("cluster_ocsp", "off"), ("cluster_max_payload", "16777216"),
        ("cluster_use_proxy", "off"), ("cluster_dp_labels", ""), ("cluster_rpc", "off"), ("cluster_rpc_sync", "off"),
        ("cluster_cjson", "off"), ("lmdb_environment_path", "dbless.lmdb"), ("lmdb_map_size", "2048m"),
        ("mem_cache_size", "128m"), ("worker_events_max_payload", "65535"), ("ssl_prefer_server_ciphers", "on"),
        ("ssl_dhparam", ""), ("ssl_session_tickets", "on"), ("ssl_session_timeout", "1d"),
        ("ssl_session_cache_size", "10m"), ("admin_gui_ssl_cert", ""), ("admin_gui_ssl_cert_key", ""),
        ("nginx_daemon", "on"), ("nginx_main_daemon", "on"), ("nginx_main_worker_rlimit_nofile", "auto"),
        ("nginx_events_worker_connections", "auto"), ("nginx_events_multi_accept", "on"),
        ("nginx_http_ssl_protocols", ""), ("nginx_http_ssl_prefer_server_ciphers", ""),
        ("nginx_http_ssl_dhparam", ""), ("nginx_http_ssl_session_tickets", ""),
        ("nginx_http_ssl_session_timeout", ""), ("nginx_http_ssl_conf_command", ""),
        ("nginx_http_proxy_ssl_conf_command", ""), ("nginx_http_lua_ssl_conf_command", ""),
        ("nginx_http_grpc_ssl_conf_command", ""), ("nginx_http_lua_regex_match_limit", "100000"),
        ("nginx_http_lua_regex_cache_max_entries", "8192"), ("nginx_stream_ssl_conf_command", ""),
        ("nginx_stream_proxy_ssl_conf_command", ""), ("nginx_stream_lua_ssl_conf_command", ""),
        ("nginx_stream_ssl_protocols", ""), ("nginx_stream_ssl_prefer_server_ciphers", ""),
        ("nginx_stream_ssl_dhparam", ""), ("nginx_stream_ssl_session_tickets", ""),
        ("nginx_stream_ssl_session_timeout", ""), ("nginx_admin_client_body_buffer_size", "10m"),
        ("pg_host", "127.0.0.1"), ("pg_port", "5432"), ("pg_database", "kong"), ("pg_schema", ""),
        ("pg_timeout", "5000"), ("pg_user", "kong"), ("pg_password", ""), ("pg_ssl", "off"),
        ("pg_ssl_verify", "off"), ("pg_max_concurrent_queries", "0"), ("pg_semaphore_timeout", "60000"),
        ("pg_keepalive_timeout", ""), ("pg_pool_size", ""), ("pg_backlog", ""),
        ("_debug_pg_ttl_cleanup_interval", "300"), ("pg_ro_host", ""), ("pg_ro_port", ""), ("pg_ro_database", ""),
        ("pg_ro_schema", ""), ("pg_ro_timeout", ""), ("pg_ro_user", ""), ("pg_ro_password", ""), ("pg_ro_ssl", ""),
        ("pg_ro_ssl_verify", ""), ("pg_ro_max_concurrent_queries", ""), ("pg_ro_semaphore_timeout", ""),
        ("pg_ro_keepalive_timeout", ""), ("pg_ro_pool_size", ""), ("pg_ro_backlog", ""),
        ("db_update_frequency", "5"), ("db_update_propagation", "0"), ("db_cache_ttl", "0"),
        ("db_cache_neg_ttl", ""), ("db_resurrect_ttl", "30"), ("db_cache_warmup_entities", "services"),

        ("dns_cache_size", "10000"), ("dns_no_sync", "off"),
        ("new_dns_client", "off"), ("resolver_address", ""), ("resolver_hosts_file", "/etc/hosts"),
        ("resolver_family", "A,SRV"), ("resolver_valid_ttl", ""), ("resolver_stale_ttl", "3600"),
        ("resolver_lru_cache_size", "10000"), ("resolver_mem_cache_size", "5m"), ("resolver_error_ttl", "1"),
        ("dedicated_config_processing", "on"), ("worker_consistency", "eventual"),
        ("worker_state_update_frequency", "5"), ("lua_socket_pool_size", "256"),
        ("lua_ssl_protocols", "TLSv1.2 TLSv1.3"), ("lua_package_path", "./?.lua;./?/init.lua;"),
        ("lua_package_cpath", ""), ("lua_max_req_headers", "100"), ("lua_max_resp_headers", "100"),
        ("lua_max_uri_args", "100"), ("lua_max_post_args", "100"), ("role", "traditional"), ("kic", "off"),
        ("pluginserver_names", ""), ("untrusted_lua_sandbox_requires", ""),
        ("untrusted_lua_sandbox_environment", ""), ("admin_gui_path", "/"), ("admin_gui_api_url", ""),
        ("admin_gui_csp_header", "off"), ("openresty_path", ""), ("wasm", "off"), ("wasm_filters_path", ""),
        ("wasm_dynamic_module", ""),
        ("wasm_filters", "bundled,user"), ("request_debug", "on"), ("request_debug_token", ""),
    ]

    /// Deprecated aliases kgate reads into the properties they name, which Kong's configuration
    /// still shows with their own defaults (`kong_defaults.lua`).
    static let aliasDefaults: [(name: String, text: String)] = [
        ("opentelemetry_tracing", "off"), ("opentelemetry_tracing_sampling_rate", "0.01"),
    ]

    /// The names of `kongDefaults`.
    static let defaultNames = Set(kongDefaults.map(\.name))

    /// The header names `headers` may turn on (`HEADER_KEY_TO_NAME`), and those of
    /// `headers_upstream`.
    static let downstreamHeaders = [
        "server_tokens", "latency_tokens", "Via", "Server", "X-Kong-Proxy-Latency", "X-Kong-Response-Latency",
        "X-Kong-Admin-Latency", "X-Kong-Upstream-Latency", "X-Kong-Upstream-Status", "X-Kong-Request-Id",
    ]
    static let upstreamHeaders = ["X-Kong-Request-Id"]

    /// The `configuration` object, keys sorted.
    ///
    /// - Parameters:
    ///   - settings: the node's settings.
    ///   - loadedPlugins: the enabled plugins (`plugins` with `bundled` expanded).
    ///   - workingDirectory: what a relative `prefix` is relative to.
    public static func object(settings: NodeSettings, loadedPlugins: [String], workingDirectory: String) -> Object {
        var conf = Object()
        for (name, text) in kongDefaults + aliasDefaults { conf[name] = parse(text, kind(of: name)) }
        let ignored = Set(settings.ignoredProperties.map(\.property))
        // Kong keeps only the properties of its defaults and the nginx directives: the others
        // (`vault_*`, `pluginserver_*` settings, deprecated names) are not shown.
        for assignment in settings.ignoredProperties
        where defaultNames.contains(assignment.property) || assignment.property.hasPrefix("nginx_") {
            conf[assignment.property] = parse(assignment.value, kind(of: assignment.property))
        }
        for entry in settings.redactedConfiguration where !ignored.contains(entry.name) {
            conf[entry.name] = typed(entry.value, kind(of: entry.name))
        }
        // Kong's conf loader sets `ssl_ciphers` to the cipher suite's (none for `modern`).
        conf["ssl_ciphers"] = ServerTLSPolicy.ciphers(of: settings.sslCipherSuite, custom: settings.sslCiphers).map(Value.string)
        for (alias, property) in aliases where !ignored.contains(alias) {
            conf[alias] = conf[property].map { retyped($0, kind(of: alias)) }
        }
        for name in sensitive.union(NodeSettings.sensitiveProperties) where conf[name] != nil {
            conf[name] = .string(NodeSettings.redactedPlaceholder)
        }

        let prefix = absolutePath(settings.prefix, from: workingDirectory)
        conf["prefix"] = .string(prefix)
        for (key, file) in [
            ("nginx_pid", "pids/nginx.pid"), ("kong_env", ".kong_env"), ("nginx_err_logs", "logs/error.log"),
            ("nginx_acc_logs", "logs/access.log"), ("admin_acc_logs", "logs/admin_access.log"),
        ] { conf[key] = .string(prefix + "/" + file) }
        conf["loaded_plugins"] = .object(Object(uniqueKeysWithValues: loadedPlugins.map { ($0, .bool(true)) }))
        conf["loaded_vaults"] = .object(loadedVaults(conf["vaults"]))
        addListeners(to: &conf, settings: settings)
        conf["enabled_headers"] = .object(enabled(downstreamHeaders, by: settings.headers))
        conf["enabled_headers_upstream"] = .object(enabled(upstreamHeaders, by: settings.headersUpstream))
        if !settings.adminGUIOrigins.isEmpty {
            conf["admin_gui_origin"] = .array(settings.adminGUIOrigins.map(Value.string))
        }
        conf["host_ports"] = .object(
            Object(settings.portMaps.map { (String($0.kongPort), Value.integer($0.hostPort)) }) { first, _ in first })
        conf.sort()
        return conf
    }

    /// Kong's `parse_value` of a value as written: trimmed; `on`/`true` for booleans; `on`/`off`
    /// for nginx booleans; a number or nothing; a comma list; an empty value is unset.
    static func parse(_ text: String, _ kind: Kind?) -> Value? {
        let text = text.trimmingSpaces
        switch kind {
        case .boolean?: return .bool(text == "on" || text == "true")
        case .ngxBoolean?: return .string(text == "on" ? "on" : "off")
        case .number?:
            if let integer = Int(text) { return .integer(integer) }
            return Double(text).map(Value.number)
        case .array?: return list(text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty })
        case .string?, nil: return text.isEmpty ? nil : .string(text)
        }
    }

    /// A rendered setting in Kong's type for the property.
    static func typed(_ value: SettingValue, _ kind: Kind?) -> Value? {
        switch value {
        case .none: return nil
        case .string(let text): return parse(text, kind)
        case .integer(let number): return retyped(.integer(number), kind)
        case .boolean(let flag): return retyped(.bool(flag), kind)
        case .list(let items):
            guard kind == .string else { return list(items) }
            return items.isEmpty ? nil : .string(items.joined(separator: ", "))
        }
    }

    /// A typed value as another kind would show it (an nginx spelling of a property).
    static func retyped(_ value: Value, _ kind: Kind?) -> Value {
        switch (value, kind) {
        case (.bool(let flag), .string?), (.bool(let flag), .ngxBoolean?): return .string(flag ? "on" : "off")
        case (.integer(let number), .string?): return .string(String(number))
        default: return value
        }
    }

    /// A Lua list as cjson writes it: an empty one is `{}`.
    static func list(_ items: [String]) -> Value {
        items.isEmpty ? .object([:]) : .array(items.map(Value.string))
    }

    /// `loaded_vaults`: `bundled` is Kong's `env` vault; `off` first is none.
    static func loadedVaults(_ vaults: Value?) -> Object {
        let names = vaults?.arrayValue?.compactMap(\.stringValue) ?? []
        guard names.first != "off" else { return [:] }
        var loaded = Object()
        for name in names where name != "off" {
            for vault in name == "bundled" ? ["env"] : [name] { loaded[vault] = true }
        }
        return loaded
    }

    /// `enabled_headers`: every name false, then the tokens given, `server_tokens` and
    /// `latency_tokens` with the headers they stand for.
    static func enabled(_ names: [String], by tokens: [String]) -> Object {
        var result = Object(uniqueKeysWithValues: names.map { ($0, Value.bool(false)) })
        let byLowercase = Dictionary(uniqueKeysWithValues: names.map { ($0.lowercased(), $0) })
        for token in tokens {
            guard let name = byLowercase[token.lowercased()] else { continue }
            result[name] = true
        }
        if result["server_tokens"] == true {
            for name in ["Via", "Server"] { result[name] = true }
        }
        if result["latency_tokens"] == true {
            for name in ["Proxy", "Response", "Admin", "Upstream"] { result["X-Kong-\(name)-Latency"] = true }
        }
        return result
    }

    /// `proxy_listeners`, `admin_listeners`, `status_listeners` and `stream_listeners` from
    /// kgate's listeners, the others (`admin_gui_listen`, `cluster_listen`) from their Kong values; and
    /// each API's `*_ssl_enabled`.
    static func addListeners(to conf: inout Object, settings: NodeSettings) {
        var sets: [(String, [ListenAddress], String?)] = [
            ("proxy_listeners", settings.proxyListen, "proxy_ssl_enabled"),
            ("admin_listeners", settings.adminListen, "admin_ssl_enabled"),
            ("status_listeners", settings.statusListen, "status_ssl_enabled"),
            ("stream_listeners", settings.streamListen, "stream_proxy_ssl_enabled"),
        ]
        for (property, plural, flag) in [
            ("admin_gui_listen", "admin_gui_listeners", "admin_gui_ssl_enabled"),
            ("cluster_listen", "cluster_listeners", nil),
        ] {
            let text = (conf[property]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
            guard let addresses = try? ListenAddress.parseList(text, property: property) else { continue }
            sets.append((plural, addresses, flag))
        }
        for (plural, addresses, flag) in sets {
            let stream = plural == "stream_listeners"
            conf[plural] = addresses.isEmpty ? .object([:]) : .array(addresses.map { listener($0, stream: stream) })
            if let flag { conf[flag] = .bool(addresses.contains { $0.ssl }) }
        }
    }

    /// One parsed listener as Kong's `listeners.parse` writes it: a boolean per flag it knows
    /// (a pattern flag under its pattern when absent, under the flag as written when present),
    /// `ip` (IPv6 expanded, in brackets), `port` (a number, but text for a host name) and
    /// `listener` (the address and its flags, without `http2`).
    static func listener(_ address: ListenAddress, stream: Bool) -> Value {
        var flags: [(String, Bool)] = stream ? [("udp", address.udp)] : []
        flags.append(("ssl", address.ssl))
        if !stream { flags.append(("http2", address.http2)) }
        flags.append(("proxy_protocol", address.proxyProtocol))
        if !stream { flags.append(("deferred", address.deferred)) }
        flags += [("bind", address.bind), ("reuseport", address.reuseport)]
        flags.append(address.backlog.map { ("backlog=\($0)", true) } ?? ("backlog=%d+", false))
        flags += [("ipv6only=on", address.ipv6only == true), ("ipv6only=off", address.ipv6only == false)]
        flags += [("so_keepalive=on", address.soKeepalive == "on"), ("so_keepalive=off", address.soKeepalive == "off")]
        if let keepalive = address.soKeepalive, keepalive != "on", keepalive != "off" {
            flags.append(("so_keepalive=\(keepalive)", true))
        } else {
            flags.append(("so_keepalive=%w*:%w*:%d*", false))
        }
        var object = Object(flags.map { ($0.0, Value.bool($0.1)) }) { first, _ in first }
        let ip = normalizedIP(address.host)
        object["ip"] = .string(ip ?? address.host)
        object["port"] = ip == nil ? .string(String(address.port)) : .integer(address.port)
        let written = flags.filter { $0.1 && $0.0 != "http2" }.map(\.0)
        let host = ip ?? address.host
        object["listener"] = .string(([host + ":" + String(address.port)] + written).joined(separator: " "))
        return .object(object)
    }

    /// Kong's `normalize_ip`: an IPv4 address without leading zeros, an IPv6 one with its eight
    /// groups written out (`[0000:...:0001]`); nil for a host name.
    static func normalizedIP(_ host: String) -> String? {
        if host.contains(":") {
            var bytes = in6_addr()
            guard inet_pton(AF_INET6, host, &bytes) == 1 else { return nil }
            let groups = withUnsafeBytes(of: &bytes) { raw in
                (0..<8).map { i in
                    let value = UInt16(raw[2 * i]) << 8 | UInt16(raw[2 * i + 1])
                    let hex = String(value, radix: 16)
                    return String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
            return "[" + groups.joined(separator: ":") + "]"
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }) else {
            return nil
        }
        let octets = parts.compactMap { Int($0) }
        guard octets.allSatisfy({ $0 <= 255 }) else { return nil }
        return octets.map(String.init).joined(separator: ".")
    }

    /// Penlight's `abspath`: relative to `directory`, `.` and `..` segments resolved, no trailing
    /// slash.
    static func absolutePath(_ path: String, from directory: String) -> String {
        let full = path.hasPrefix("/") ? path : directory + "/" + path
        var segments: [Substring] = []
        for segment in full.split(separator: "/") where segment != "." {
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
            } else {
                segments.append(segment)
            }
        }
        return "/" + segments.joined(separator: "/")
    }

    /// The process's working directory.
    public static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
