import Testing

@testable import KGateSettings

/// The configuration shown by the Admin API's `GET /`: every property, secrets masked.
struct RedactionTests {
    @Test func defaultsRendered() {
        let rendered = NodeSettings().redactedConfiguration
        #expect(rendered.map(\.name) == [
            "prefix", "log_level", "proxy_error_log", "proxy_access_log", "proxy_stream_access_log", "admin_access_log", "status_access_log", "plugins", "proxy_listen", "stream_listen", "admin_listen", "status_listen", "port_maps",
            "nginx_worker_processes", "database", "declarative_config", "declarative_config_string",
            "declarative_config_watch", "declarative_config_debounce", "router_flavor", "headers", "headers_upstream",
            "trusted_ips", "real_ip_header", "real_ip_recursive", "error_default_type", "error_template_html",
            "error_template_json", "error_template_xml", "error_template_plain", "upstream_keepalive_pool_size",
            "upstream_keepalive_max_requests", "upstream_keepalive_idle_timeout", "nginx_admin_client_max_body_size",
            "nginx_http_client_max_body_size", "nginx_http_client_body_buffer_size", "nginx_proxy_proxy_buffer_size",
            "nginx_http_client_header_buffer_size", "nginx_http_large_client_header_buffers", "nginx_http_client_header_timeout",
            "nginx_http_client_body_timeout", "nginx_http_keepalive_timeout", "nginx_http_keepalive_requests",
            "nginx_http_charset", "nginx_http_add_header", "nginx_proxy_add_header", "nginx_location_add_header", "ssl_cert", "ssl_cert_key", "client_ssl",
            "client_ssl_cert", "client_ssl_cert_key", "admin_ssl_cert",
            "admin_ssl_cert_key", "status_ssl_cert", "status_ssl_cert_key", "nginx_http_proxy_ssl_verify", "dns_hostsfile", "dns_resolver", "dns_order",
            "dns_valid_ttl", "dns_stale_ttl", "dns_not_found_ttl", "dns_error_ttl",
            "lua_ssl_trusted_certificate", "lua_ssl_verify_depth", "nginx_http_proxy_ssl_verify_depth",
            "nginx_http_proxy_ssl_trusted_certificate", "untrusted_lua", "allow_debug_header", "tracing_instrumentations", "tracing_sampling_rate",
            "ssl_cipher_suite", "ssl_protocols", "ssl_ciphers", "admin_token", "node_id", "admin_gui_url",
        ])
        #expect(NodeSettings().redactedDictionary == [
            "prefix": "./kgate-prefix",
            "log_level": "notice",
            "proxy_error_log": "logs/error.log",
            "proxy_access_log": "logs/access.log",
            "proxy_stream_access_log": "logs/access.log basic",
            "admin_access_log": "logs/admin_access.log",
            "status_access_log": "off",
            "plugins": "bundled",
            "proxy_listen": "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384",
            "stream_listen": "off",
            "admin_listen": "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
            "status_listen": "127.0.0.1:8007 reuseport backlog=16384",
            "port_maps": "",
            "nginx_worker_processes": "auto",
            "database": "off",
            "declarative_config_watch": "on",
            "declarative_config_debounce": "200",
            "router_flavor": "traditional_compatible",
            "headers": "server_tokens, latency_tokens, X-Kong-Request-Id",
            "headers_upstream": "X-Kong-Request-Id",
            "trusted_ips": "",
            "real_ip_header": "X-Real-IP",
            "real_ip_recursive": "off",
            "error_default_type": "text/plain",
            "upstream_keepalive_pool_size": "512",
            "upstream_keepalive_max_requests": "10000",
            "upstream_keepalive_idle_timeout": "60",
            "nginx_admin_client_max_body_size": "10m",
            "nginx_http_client_max_body_size": "0",
            "nginx_http_client_body_buffer_size": "8k",
            "nginx_proxy_proxy_buffer_size": "4k",
            "nginx_http_client_header_buffer_size": "1k",
            "nginx_http_large_client_header_buffers": "4 8k",
            "nginx_http_client_header_timeout": "60s",
            "nginx_http_client_body_timeout": "60s",
            "nginx_http_keepalive_timeout": "75s",
            "nginx_http_keepalive_requests": "10000",
            "lua_ssl_trusted_certificate": "system",
            "lua_ssl_verify_depth": "1",
            "nginx_http_charset": "UTF-8",
            "ssl_cert": "",
            "ssl_cert_key": "",
            "client_ssl": "off",
            "client_ssl_cert": "",
            "client_ssl_cert_key": "",
            "admin_ssl_cert": "",
            "admin_ssl_cert_key": "",
            "status_ssl_cert": "",
            "status_ssl_cert_key": "",
            "nginx_http_proxy_ssl_verify": "off",
            "nginx_http_proxy_ssl_verify_depth": "1",
            "dns_hostsfile": "/etc/hosts",
            "dns_resolver": "",
            "dns_order": "LAST, SRV, A, CNAME",
            "dns_stale_ttl": "3600",
            "dns_not_found_ttl": "30",
            "dns_error_ttl": "1",
            "untrusted_lua": "sandbox",
            "allow_debug_header": "off",
            "tracing_instrumentations": "off",
            "tracing_sampling_rate": "0.01",
            "ssl_cipher_suite": "intermediate",
            "ssl_protocols": "TLSv1.2 TLSv1.3",
            "admin_gui_url": "",
        ])
    }

    @Test func typedValues() {
        let byName = Dictionary(uniqueKeysWithValues: NodeSettings().redactedConfiguration.map { ($0.name, $0.value) })
        #expect(byName["declarative_config_watch"] == .boolean(true))
        #expect(byName["upstream_keepalive_pool_size"] == .integer(512))
        #expect(byName["status_listen"] == .list(["127.0.0.1:8007 reuseport backlog=16384"]))
        #expect(byName["declarative_config"] == SettingValue.none)
        #expect(byName["admin_token"] == SettingValue.none)
    }

    @Test func secretsAreMasked() throws {
        let s = try settings(
            "declarative_config_string = {\"_format_version\": \"3.0\", \"consumers\": [{\"username\": \"x\"}]}",
            env: ["KONG_ADMIN_TOKEN": "hunter2"])
        let rendered = s.redactedDictionary
        #expect(rendered["declarative_config_string"] == "******")
        #expect(rendered["admin_token"] == "******")
        #expect(!rendered.values.contains { $0.contains("hunter2") || $0.contains("username") })
        #expect(NodeSettings.sensitiveProperties == ["declarative_config_string", "admin_token"])
    }

    /// Kong's `GET /` lists every property: those kgate ignores too, Kong's secrets among
    /// them masked (02-kong_routes_spec "obfuscates sensitive settings").
    @Test func ignoredPropertiesShownAndMasked() throws {
        let s = try settings("pg_host = db.example", env: ["KONG_PG_PASSWORD": "hide_me"])
        let rendered = s.redactedDictionary
        #expect(rendered["pg_password"] == "******")
        #expect(rendered["pg_host"] == "db.example")
    }

    @Test func offListsRenderAsOff() throws {
        let s = try settings("proxy_listen = off\nplugins = off\nheaders = off\nheaders_upstream = off")
        let rendered = s.redactedDictionary
        #expect(rendered["proxy_listen"] == "off")
        #expect(rendered["plugins"] == "off")
        #expect(rendered["headers"] == "off")
        #expect(rendered["headers_upstream"] == "off")
    }

    /// The rendering is valid kong.conf: written back, it resolves to the same settings.
    @Test func renderingRoundTrips() throws {
        let original = try settings(
            """
            log_level = debug
            plugins = key-auth, cors
            proxy_listen = [::1]:8000 http2 ssl proxy_protocol, 127.0.0.1:8001 so_keepalive=30m::10
            admin_listen = off
            nginx_worker_processes = 3
            declarative_config = /etc/kgate/kong.yml
            declarative_config_watch = off
            headers = Via, latency_tokens
            trusted_ips = 10.0.0.0/8, unix:
            real_ip_recursive = on
            error_default_type = application/json
            nginx_admin_client_max_body_size = 1m
            """)
        let text = original.redactedConfiguration
            .filter { $0.value != .none }
            .map { "\($0.name) = \($0.value)" }
            .joined(separator: "\n")
        #expect(try settings(text) == original)
    }
}

/// The address and name checks behind `trusted_ips`, hosts and suggestions.
struct ValueSyntaxTests {
    @Test(arguments: [
        ("1.2.3.4", true), ("255.255.255.255", true), ("0.0.0.0/0", true), ("10.0.0.0/8", true),
        ("::", true), ("::1", true), ("fe80::1/64", true), ("2001:db8:0:0:0:0:0:1", true),
        ("1:2:3:4:5:6:7::", true), ("::ffff:1.2.3.4", true), ("1:2:3:4:5:6:1.2.3.4", true), ("::/0", true),
        ("256.1.1.1", false), ("1.2.3", false), ("1.2.3.4/33", false), ("1.2.3.4/", false), ("01234.1.1.1", false),
        ("1:2:3:4:5:6:7:8:9", false), ("1::2::3", false), (":::1", false), ("12345::", false), ("::1/129", false),
        ("1:2:3:4:5:6:7:1.2.3.4", false), ("g::1", false), ("", false), ("localhost", false),
    ])
    func ipOrCIDR(_ text: String, _ valid: Bool) {
        #expect(ValueSyntax.isIPOrCIDR(text) == valid)
    }

    @Test func listsAndTrimming() {
        #expect(ValueSyntax.list(" a ,b,, c ,") == ["a", "b", "c"])
        #expect(ValueSyntax.list("") == [])
        #expect(ValueSyntax.trim(" \t x y \r\n") == "x y")
    }

    @Test func suggestions() {
        #expect(ValueSyntax.editDistance("kitten", "sitting") == 3)
        #expect(ValueSyntax.suggestion(for: "log_levl", among: ["log_level", "prefix"]) == "log_level")
        #expect(ValueSyntax.suggestion(for: "zzz", among: ["log_level", "prefix"]) == nil)
    }
}
