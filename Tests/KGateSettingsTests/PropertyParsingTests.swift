import Testing

@testable import KGateSettings

/// Every property: accepted spellings (one kong.conf line each) and refused values with their messages.
struct PropertyParsingTests {
    static let accepted: [SettingsCase] = [
        SettingsCase("prefix = /tmp/kgate") { $0.prefix = "/tmp/kgate" },
        SettingsCase("prefix = servroot") { $0.prefix = "servroot" },
        SettingsCase("log_level = debug") { $0.logLevel = .debug },
        SettingsCase("log_level = info") { $0.logLevel = .info },
        SettingsCase("log_level = warn") { $0.logLevel = .warn },
        SettingsCase("log_level = error") { $0.logLevel = .error },
        SettingsCase("log_level = crit") { $0.logLevel = .crit },
        SettingsCase("log_level = alert") { $0.logLevel = .alert },
        SettingsCase("log_level = emerg") { $0.logLevel = .emerg },
        SettingsCase("proxy_error_log = logs/kgate.log") { $0.proxyErrorLog = "logs/kgate.log" },
        SettingsCase("proxy_error_log = /dev/stderr") { $0.proxyErrorLog = "/dev/stderr" },
        SettingsCase("proxy_error_log = off") { $0.proxyErrorLog = nil },
        SettingsCase("proxy_access_log = off") { $0.proxyAccessLog = nil },
        SettingsCase("proxy_access_log = /dev/stdout") { $0.proxyAccessLog = .init(path: "/dev/stdout") },
        SettingsCase("proxy_access_log = logs/a.log combined") {
            $0.proxyAccessLog = .init(path: "logs/a.log", format: .combined)
        },
        SettingsCase("proxy_access_log = logs/a.log buffer=32k flush=5s") {
            $0.proxyAccessLog = .init(path: "logs/a.log", parameters: ["buffer=32k", "flush=5s"])
        },
        SettingsCase("admin_access_log = /dev/stdout kong_log_format") {
            $0.adminAccessLog = .init(path: "/dev/stdout", format: .kong)
        },
        SettingsCase("admin_access_log = off") { $0.adminAccessLog = nil },
        SettingsCase("status_access_log = logs/status_access.log") {
            $0.statusAccessLog = .init(path: "logs/status_access.log")
        },
        SettingsCase("plugins = bundled") { $0.plugins = ["bundled"] },
        SettingsCase("plugins = off") { $0.plugins = []; $0.pluginsAsWritten = ["off"] },
        SettingsCase("plugins = off, key-auth") { $0.plugins = []; $0.pluginsAsWritten = ["off", "key-auth"] },
        SettingsCase("plugins = ") { $0.plugins = []; $0.pluginsAsWritten = [] },
        SettingsCase("plugins = key-auth,rate-limiting , my_plugin") {
            $0.plugins = ["key-auth", "rate-limiting", "my_plugin"]
            $0.pluginsAsWritten = $0.plugins
        },
        SettingsCase("plugins = bundled, my-plugin, my-plugin, off") {
            $0.plugins = ["bundled", "my-plugin"]
            $0.pluginsAsWritten = ["bundled", "my-plugin", "my-plugin", "off"]
        },
        SettingsCase("proxy_listen = off") { $0.proxyListen = [] },
        SettingsCase("proxy_listen = 127.0.0.1:9000") { $0.proxyListen = [.init(host: "127.0.0.1", port: 9000)] },
        SettingsCase("admin_listen = off") { $0.adminListen = [] },
        SettingsCase("admin_listen = [::1]:8001 http2 ssl") {
            $0.adminListen = [.init(host: "::1", port: 8001, ssl: true, http2: true)]
        },
        SettingsCase("status_listen = off") { $0.statusListen = [] },
        SettingsCase("status_listen = 0.0.0.0:8100") { $0.statusListen = [.init(host: "0.0.0.0", port: 8100)] },
        SettingsCase("nginx_worker_processes = auto") { $0.workerProcesses = .auto },
        SettingsCase("nginx_worker_processes = 4") { $0.workerProcesses = .count(4) },
        SettingsCase("nginx_main_worker_processes = 2") { $0.workerProcesses = .count(2) },
        SettingsCase("database = off") { $0.database = .off },
        SettingsCase("declarative_config = /etc/kong/kong.yml") { $0.declarativeConfig = "/etc/kong/kong.yml" },
        SettingsCase("declarative_config = ") { $0.declarativeConfig = nil },
        SettingsCase("declarative_config_string = {\"_format_version\":\"3.0\"}") {
            $0.declarativeConfigString = "{\"_format_version\":\"3.0\"}"
        },
        SettingsCase("declarative_config_watch = off") { $0.declarativeConfigWatch = false },
        SettingsCase("declarative_config_watch = false") { $0.declarativeConfigWatch = false },
        SettingsCase("declarative_config_watch = ON") { $0.declarativeConfigWatch = true },
        SettingsCase("declarative_config_debounce = 0") { $0.declarativeConfigDebounce = 0 },
        SettingsCase("declarative_config_debounce = 750") { $0.declarativeConfigDebounce = 750 },
        SettingsCase("router_flavor = traditional") { $0.routerFlavor = .traditional },
        SettingsCase("router_flavor = traditional_compatible") { $0.routerFlavor = .traditionalCompatible },
        SettingsCase("router_flavor = expressions") { $0.routerFlavor = .expressions },
        SettingsCase("headers = off") { $0.headers = [] },
        SettingsCase("headers = server_tokens") { $0.headers = ["server_tokens"] },
        SettingsCase("headers = via, x-kong-upstream-status, SERVER, Via") {
            $0.headers = ["Via", "X-Kong-Upstream-Status", "Server"]
        },
        SettingsCase("headers = X-Kong-Proxy-Latency, X-Kong-Response-Latency, X-Kong-Admin-Latency") {
            $0.headers = ["X-Kong-Proxy-Latency", "X-Kong-Response-Latency", "X-Kong-Admin-Latency"]
        },
        SettingsCase("headers = latency_tokens, X-Kong-Upstream-Latency, X-Kong-Request-Id") {
            $0.headers = ["latency_tokens", "X-Kong-Upstream-Latency", "X-Kong-Request-Id"]
        },
        SettingsCase("headers_upstream = off") { $0.headersUpstream = [] },
        SettingsCase("headers_upstream = x-kong-request-id") { $0.headersUpstream = ["X-Kong-Request-Id"] },
        SettingsCase("trusted_ips = 0.0.0.0/0, ::/0") { $0.trustedIPs = ["0.0.0.0/0", "::/0"] },
        SettingsCase("trusted_ips = 10.0.0.1, 2001:db8::1, 192.168.0.0/16, fe80::/10, unix:") {
            $0.trustedIPs = ["10.0.0.1", "2001:db8::1", "192.168.0.0/16", "fe80::/10", "unix:"]
        },
        SettingsCase("trusted_ips = ::ffff:10.0.0.1") { $0.trustedIPs = ["::ffff:10.0.0.1"] },
        SettingsCase("trusted_ips = ") { $0.trustedIPs = [] },
        SettingsCase("real_ip_header = X-Forwarded-For") { $0.realIPHeader = "X-Forwarded-For" },
        SettingsCase("real_ip_header = proxy_protocol") { $0.realIPHeader = "proxy_protocol" },
        SettingsCase("nginx_proxy_real_ip_header = CF-Connecting-IP") { $0.realIPHeader = "CF-Connecting-IP" },
        SettingsCase("real_ip_recursive = on") { $0.realIPRecursive = true },
        SettingsCase("real_ip_recursive = true") { $0.realIPRecursive = true },
        SettingsCase("nginx_proxy_real_ip_recursive = on") { $0.realIPRecursive = true },
        SettingsCase("error_default_type = application/json") { $0.errorDefaultType = .json },
        SettingsCase("error_default_type = application/xml") { $0.errorDefaultType = .xml },
        SettingsCase("error_default_type = text/html") { $0.errorDefaultType = .html },
        SettingsCase("error_default_type = text/plain") { $0.errorDefaultType = .plain },
        SettingsCase("upstream_keepalive_pool_size = 0") { $0.upstreamKeepalivePoolSize = 0 },
        SettingsCase("upstream_keepalive_pool_size = 1024") { $0.upstreamKeepalivePoolSize = 1024 },
        SettingsCase("upstream_keepalive_max_requests = 0") { $0.upstreamKeepaliveMaxRequests = 0 },
        SettingsCase("upstream_keepalive_max_requests = +500") { $0.upstreamKeepaliveMaxRequests = 500 },
        SettingsCase("upstream_keepalive_idle_timeout = 120") { $0.upstreamKeepaliveIdleTimeout = 120 },
        SettingsCase("nginx_admin_client_max_body_size = 0") { $0.nginxAdminClientMaxBodySize = ByteSize("0")! },
        SettingsCase("nginx_admin_client_max_body_size = 512") { $0.nginxAdminClientMaxBodySize = ByteSize("512")! },
        SettingsCase("nginx_admin_client_max_body_size = 8K") { $0.nginxAdminClientMaxBodySize = ByteSize("8K")! },
        SettingsCase("nginx_admin_client_max_body_size = 1g") { $0.nginxAdminClientMaxBodySize = ByteSize("1g")! },
        SettingsCase("port_maps = 80:8000, 443:8443") {
            $0.portMaps = [.init(hostPort: 80, kongPort: 8000), .init(hostPort: 443, kongPort: 8443)]
        },
        SettingsCase("port_maps = 8080 : 8000,,65535:1") {
            $0.portMaps = [.init(hostPort: 8080, kongPort: 8000), .init(hostPort: 65535, kongPort: 1)]
        },
        SettingsCase("port_maps = ") { $0.portMaps = [] },
        SettingsCase("allow_debug_header = on") { $0.allowDebugHeader = true },
        SettingsCase("allow_debug_header = true") { $0.allowDebugHeader = true },
        SettingsCase("allow_debug_header = off") { $0.allowDebugHeader = false },
        SettingsCase("tracing_instrumentations = off") { $0.tracingInstrumentations = [] },
        SettingsCase("tracing_instrumentations = all") { $0.tracingInstrumentations = ["all"] },
        SettingsCase("tracing_instrumentations = router, balancer") { $0.tracingInstrumentations = ["router", "balancer"] },
        SettingsCase("opentelemetry_tracing = request") { $0.tracingInstrumentations = ["request"] },
        SettingsCase("tracing_sampling_rate = 1") { $0.tracingSamplingRate = 1 },
        SettingsCase("tracing_sampling_rate = 0.25") { $0.tracingSamplingRate = 0.25 },
        SettingsCase("opentelemetry_tracing_sampling_rate = 0") { $0.tracingSamplingRate = 0 },
        SettingsCase("ssl_cipher_suite = modern") { $0.sslCipherSuite = .modern },
        SettingsCase("dns_resolver = 10.0.0.1, [::1]:8600") {
            $0.dnsResolver = [Nameserver(ip: "10.0.0.1"), Nameserver(ip: "::1", port: 8600)]
        },
        SettingsCase("dns_order = srv,A") { $0.dnsOrder = [.srv, .a] },
        SettingsCase("dns_valid_ttl = 10") { $0.dnsValidTTL = 10 },
        SettingsCase("dns_stale_ttl = 0") { $0.dnsStaleTTL = 0 },
        SettingsCase("dns_not_found_ttl = 5") { $0.dnsNotFoundTTL = 5 },
        SettingsCase("dns_error_ttl = 2") { $0.dnsErrorTTL = 2 },
        SettingsCase("ssl_protocols = TLSv1.3 TLSv1.1") { $0.sslProtocols = [.tlsv1_1, .tlsv1_3] },
        SettingsCase("ssl_ciphers = ECDHE-ECDSA-AES256-GCM-SHA384") { $0.sslCiphers = "ECDHE-ECDSA-AES256-GCM-SHA384" },
        SettingsCase("error_template_html = ") { $0.errorTemplateHTML = nil },
        SettingsCase("admin_token = s3cr3t") { $0.adminToken = "s3cr3t" },
        SettingsCase("admin_token = ") { $0.adminToken = nil },
        SettingsCase("node_id = 0B1D5E4C-4D3B-4B8F-9C1E-2F6A7B8C9D0E") { $0.nodeID = "0B1D5E4C-4D3B-4B8F-9C1E-2F6A7B8C9D0E" },
        // Kong writes these into nginx.conf as `add_header <value>;` (spec 16-custom_nginx_directive).
        SettingsCase("nginx_proxy_add_header = foo-header bar-value") {
            $0.nginxProxyAddHeader = [AddHeaderDirective(name: "foo-header", value: "bar-value")]
        },
        SettingsCase("nginx_proxy_add_header = ") { $0.nginxProxyAddHeader = [] },
        // nginx's gzip and ngx_brotli's directives (spec 34-proxy_with_compress).
        SettingsCase("nginx_proxy_brotli = on") { try! $0.nginxProxyCompression.set(.brotli, "on", property: "nginx_proxy_brotli") },
        SettingsCase("nginx_location_gzip_types = text/plain application/json") {
            try! $0.nginxLocationCompression.set(.gzip_types, "text/plain application/json", property: "nginx_location_gzip_types")
        },
        SettingsCase(#"nginx_http_add_header = Strict-Transport-Security "max-age=31536000; includeSubDomains" always"#) {
            $0.nginxHttpAddHeader = [
                AddHeaderDirective(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains", always: true)
            ]
        },
        SettingsCase(#"nginx_location_add_header = X-A 'it\'s'; add_header X-B "" always"#) {
            $0.nginxLocationAddHeader = [
                AddHeaderDirective(name: "X-A", value: "it's"), AddHeaderDirective(name: "X-B", value: "", always: true),
            ]
        },
        SettingsCase("admin_gui_url = ") { $0.adminGUIURLs = [] },
        SettingsCase("admin_gui_url = http://admin.api:9100") {
            $0.adminGUIURLs = [AdminGUIURL("http://admin.api:9100")!]
        },
        SettingsCase("admin_gui_url = http://localhost:8002/manager, https://localhost:8445/manager") {
            $0.adminGUIURLs = [
                AdminGUIURL("http://localhost:8002/manager")!, AdminGUIURL("https://localhost:8445/manager")!,
            ]
        },
    ]

    @Test(arguments: accepted)
    func acceptedValue(_ c: SettingsCase) throws {
        #expect(try settings(c.input) == c.expected)
    }

    /// Every accepted line also works as the matching `KONG_*` variable.
    @Test(arguments: accepted)
    func acceptedValueFromEnvironment(_ c: SettingsCase) throws {
        let parts = c.input.split(separator: "=", maxSplits: 1).map { String($0) }
        let variable = EnvironmentSource.variable(for: parts[0].trimmingSpaces)
        #expect(try settings(env: [variable: parts.count > 1 ? parts[1] : ""]) == c.expected)
    }

    static let refused: [FailureCase] = [
        FailureCase("tracing_instrumentations = router, foo", "kong.conf:1: invalid tracing type: foo"),
        FailureCase(
            "tracing_instrumentations = off, router",
            "kong.conf:1: invalid tracing types: off, other types are mutually exclusive"),
        FailureCase("tracing_sampling_rate = 1.5", "kong.conf:1: tracing_sampling_rate must be between 0 and 1"),
        FailureCase(
            "dns_resolver = 8.8.8.8, dns.example",
            "kong.conf:1: dns_resolver must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got 'dns.example'"),
        FailureCase("dns_order = LAST,MX", "kong.conf:1: dns_order: invalid entry 'MX'"),
        FailureCase(
            "ssl_cipher_suite = strong",
            "kong.conf:1: invalid value for 'ssl_cipher_suite': 'strong' (expected one of: modern, intermediate, old, fips, custom)"),
        FailureCase(
            "ssl_protocols = TLSv1.2 SSLv3",
            "kong.conf:1: invalid value for 'ssl_protocols': 'TLSv1.2 SSLv3' "
                + "('SSLv3' is not a TLS version kgate offers (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3))"),
        FailureCase(
            "tracing_sampling_rate = half",
            "kong.conf:1: invalid value for 'tracing_sampling_rate': 'half' (expected a number between 0 and 1)"),
        FailureCase(
            "node_id = 1234", "kong.conf:1: invalid value for 'node_id': '1234' (must be a valid UUID)"),
        FailureCase("prefix = ", "kong.conf:1: invalid value for 'prefix': '' (expected a directory path)"),
        FailureCase(
            "proxy_access_log = logs/a.log apigw_json",
            "kong.conf:1: invalid value for 'proxy_access_log': 'logs/a.log apigw_json' "
                + "(unknown log format 'apigw_json'; kgate knows combined, kong_log_format, basic)"),
        FailureCase(
            "admin_access_log = logs/a.log gzip=9",
            "kong.conf:1: invalid value for 'admin_access_log': 'logs/a.log gzip=9' "
                + "(kgate supports the access_log parameters buffer= and flush=, not 'gzip=')"),
        FailureCase(
            "status_access_log = ", "kong.conf:1: invalid value for 'status_access_log': '' (expected a file path or 'off')"),
        FailureCase(
            "proxy_error_log = ", "kong.conf:1: invalid value for 'proxy_error_log': '' (expected a file path or 'off')"),
        FailureCase(
            "log_level = verbose",
            "kong.conf:1: invalid value for 'log_level': 'verbose' "
                + "(expected one of: debug, info, notice, warn, error, crit, alert, emerg)"),
        FailureCase(
            "log_level = DEBUG",
            "kong.conf:1: invalid value for 'log_level': 'DEBUG' "
                + "(expected one of: debug, info, notice, warn, error, crit, alert, emerg)"),
        FailureCase(
            "plugins = key-auth rate-limiting",
            "kong.conf:1: invalid entry for 'plugins': 'key-auth rate-limiting' "
                + "(expected a plugin name, 'bundled' or 'off', separated by commas)"),
        FailureCase(
            "nginx_worker_processes = 0",
            "kong.conf:1: invalid value for 'nginx_worker_processes': '0' (expected 'auto' or a positive integer)"),
        FailureCase(
            "nginx_main_worker_processes = many",
            "kong.conf:1: invalid value for 'nginx_main_worker_processes': 'many' (expected 'auto' or a positive integer)"
        ),
        FailureCase(
            "database = postgres",
            "kong.conf:1: invalid value for 'database': 'postgres' (kgate is DB-less and only supports 'off'; "
                + "load entities with 'declarative_config' or POST /config)"),
        FailureCase(
            "database = cassandra",
            "kong.conf:1: invalid value for 'database': 'cassandra' (kgate is DB-less and only supports 'off'; "
                + "load entities with 'declarative_config' or POST /config)"),
        FailureCase("database = mysql", "kong.conf:1: invalid value for 'database': 'mysql' (expected one of: off)"),
        FailureCase(
            "nginx_http_gzip_comp_level = 10",
            "kong.conf:1: invalid value for 'nginx_http_gzip_comp_level': '10' (expected a level from 1 to 9)"),
        FailureCase(
            "declarative_config_watch = yes",
            "kong.conf:1: invalid value for 'declarative_config_watch': 'yes' (expected one of: on, off, true, false)"),
        FailureCase(
            "declarative_config_debounce = -5",
            "kong.conf:1: invalid value for 'declarative_config_debounce': '-5' "
                + "(expected a number of milliseconds, 0 or greater)"),
        FailureCase(
            "declarative_config_debounce = 1.5",
            "kong.conf:1: invalid value for 'declarative_config_debounce': '1.5' "
                + "(expected a number of milliseconds, 0 or greater)"),
        FailureCase(
            "router_flavor = fast",
            "kong.conf:1: invalid value for 'router_flavor': 'fast' "
                + "(expected one of: traditional, traditional_compatible, expressions)"),
        FailureCase(
            "headers = Server, X-Powered-By, X-Foo",
            "kong.conf:1: invalid entry for 'headers': 'X-Powered-By' (expected any of: off, server_tokens, "
                + "latency_tokens, Server, Via, X-Kong-Proxy-Latency, X-Kong-Response-Latency, X-Kong-Admin-Latency, "
                + "X-Kong-Upstream-Latency, X-Kong-Upstream-Status, X-Kong-Request-Id)",
            "kong.conf:1: invalid entry for 'headers': 'X-Foo' (expected any of: off, server_tokens, "
                + "latency_tokens, Server, Via, X-Kong-Proxy-Latency, X-Kong-Response-Latency, X-Kong-Admin-Latency, "
                + "X-Kong-Upstream-Latency, X-Kong-Upstream-Status, X-Kong-Request-Id)"),
        FailureCase(
            "headers_upstream = Via",
            "kong.conf:1: invalid entry for 'headers_upstream': 'Via' (expected any of: off, X-Kong-Request-Id)"),
        FailureCase(
            "trusted_ips = 10.0.0.0/33, example.com, 1.2.3.4",
            "kong.conf:1: invalid entry for 'trusted_ips': '10.0.0.0/33' "
                + "(expected an IPv4 or IPv6 address, a CIDR block or 'unix:', separated by commas)",
            "kong.conf:1: invalid entry for 'trusted_ips': 'example.com' "
                + "(expected an IPv4 or IPv6 address, a CIDR block or 'unix:', separated by commas)"),
        FailureCase(
            "real_ip_header = X Real IP",
            "kong.conf:1: invalid value for 'real_ip_header': 'X Real IP' "
                + "(expected a header name such as X-Real-IP or X-Forwarded-For, or proxy_protocol)"),
        FailureCase(
            "nginx_proxy_add_header = X-Only",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-Only' "
                + "(invalid number of arguments in \"add_header\" directive)"),
        FailureCase(
            "nginx_proxy_add_header = X-A b sometimes",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-A b sometimes' (invalid parameter \"sometimes\")"),
        FailureCase(
            "nginx_proxy_add_header = X-Id $request_id",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-Id $request_id' "
                + "(kgate does not evaluate nginx variables in add_header values)"),
        FailureCase(
            "nginx_proxy_add_header = X-A b; expires 1h",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-A b; expires 1h' "
                + "(kgate only reads add_header directives here, not \"expires\")"),
        FailureCase(
            "nginx_proxy_add_header = X-A \"b",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-A \"b' "
                + "(unexpected end of value, expecting a closing quote)"),
        FailureCase(
            "nginx_proxy_add_header = X-A b;;",
            "kong.conf:1: invalid value for 'nginx_proxy_add_header': 'X-A b;;' (unexpected \";\")"),
        FailureCase(
            "real_ip_recursive = 1",
            "kong.conf:1: invalid value for 'real_ip_recursive': '1' (expected one of: on, off, true, false)"),
        FailureCase(
            "nginx_proxy_real_ip_recursive = maybe",
            "kong.conf:1: invalid value for 'nginx_proxy_real_ip_recursive': 'maybe' "
                + "(expected one of: on, off, true, false)"),
        FailureCase(
            "error_default_type = application/yaml",
            "kong.conf:1: invalid value for 'error_default_type': 'application/yaml' "
                + "(expected one of: application/json, application/xml, text/html, text/plain)"),
        FailureCase(
            "port_maps = 80, 0:8000, 80:65536, http:8000, 80:8000:1, 443:8443",
            "kong.conf:1: invalid entry for 'port_maps': '80' (invalid port mapping: expected <host port>:<kong port>, "
                + "each from 1 to 65535, separated by commas)",
            "kong.conf:1: invalid entry for 'port_maps': '0:8000' (invalid port mapping: expected <host port>:<kong port>, "
                + "each from 1 to 65535, separated by commas)",
            "kong.conf:1: invalid entry for 'port_maps': '80:65536' (invalid port mapping: expected "
                + "<host port>:<kong port>, each from 1 to 65535, separated by commas)",
            "kong.conf:1: invalid entry for 'port_maps': 'http:8000' (invalid port mapping: expected "
                + "<host port>:<kong port>, each from 1 to 65535, separated by commas)",
            "kong.conf:1: invalid entry for 'port_maps': '80:8000:1' (invalid port mapping: expected "
                + "<host port>:<kong port>, each from 1 to 65535, separated by commas)"),
        FailureCase(
            "allow_debug_header = 1",
            "kong.conf:1: invalid value for 'allow_debug_header': '1' (expected one of: on, off, true, false)"),
        FailureCase(
            "error_template_html = /nonexistent/kgate/error.html",
            "kong.conf:1: invalid value for 'error_template_html': '/nonexistent/kgate/error.html' (no such file)"),
        FailureCase(
            "error_template_json = /",
            "kong.conf:1: invalid value for 'error_template_json': '/' (not a regular file)"),
        FailureCase(
            "upstream_keepalive_pool_size = -1",
            "kong.conf:1: invalid value for 'upstream_keepalive_pool_size': '-1' (expected an integer, 0 or greater)"),
        FailureCase(
            "upstream_keepalive_max_requests = lots",
            "kong.conf:1: invalid value for 'upstream_keepalive_max_requests': 'lots' (expected an integer, 0 or greater)"
        ),
        FailureCase(
            "upstream_keepalive_idle_timeout = 60s",
            "kong.conf:1: invalid value for 'upstream_keepalive_idle_timeout': '60s' (expected an integer, 0 or greater)"
        ),
        FailureCase(
            "nginx_admin_client_max_body_size = 10mb",
            "kong.conf:1: invalid value for 'nginx_admin_client_max_body_size': '10mb' "
                + "(expected a size such as 0 (unlimited), 512, 8k, 10m or 1g)"),
        FailureCase(
            "nginx_admin_client_max_body_size = 99999999999999g",
            "kong.conf:1: invalid value for 'nginx_admin_client_max_body_size': '99999999999999g' "
                + "(expected a size such as 0 (unlimited), 512, 8k, 10m or 1g)"),
        FailureCase(
            "admin_gui_url = localhost:8002, http://ok.example, /manager",
            "kong.conf:1: invalid entry for 'admin_gui_url': 'localhost:8002' "
                + "(expected a URL such as http://localhost:8002 or https://example.com/manager)",
            "kong.conf:1: invalid entry for 'admin_gui_url': '/manager' "
                + "(expected a URL such as http://localhost:8002 or https://example.com/manager)"),
    ]

    @Test(arguments: refused)
    func refusedValue(_ c: FailureCase) {
        #expect(problems(c.input) == c.messages)
    }

    /// The same refusal from a variable names the variable instead of the file line.
    @Test(arguments: refused)
    func refusedValueFromEnvironment(_ c: FailureCase) {
        let parts = c.input.split(separator: "=", maxSplits: 1).map { String($0) }
        let variable = EnvironmentSource.variable(for: parts[0].trimmingSpaces)
        let expected = c.messages.map { variable + ": " + $0.dropFirst("kong.conf:1: ".count) }
        #expect(problems(env: [variable: parts.count > 1 ? parts[1] : ""]) == expected)
    }

    /// Kong's `admin_gui_origin`: scheme and authority of each URL, path, query after the path
    /// and fragment dropped (`spec/01-unit/03-conf_loader_spec.lua`).
    @Test(arguments: [
        ("http://localhost:8002", "http://localhost:8002"),
        ("https://localhost:8002", "https://localhost:8002"),
        ("http://localhost:8002/manager", "http://localhost:8002"),
        ("http://admin.api:9100/path/to/any/way", "http://admin.api:9100"),
        ("https://user@[::1]:8445/manager?x=1#top", "https://user@[::1]:8445"),
        ("http://manager.example#top", "http://manager.example"),
    ])
    func adminGUIOrigins(_ url: String, _ origin: String) {
        #expect(AdminGUIURL(url)?.origin == origin)
    }

    @Test(arguments: ["", "localhost", "localhost:8002", "http:/manager", "http://", "http:///manager", "-x://a"])
    func adminGUIURLsWithoutAnOrigin(_ url: String) {
        #expect(AdminGUIURL(url) == nil)
    }

    @Test func byteSizes() {
        #expect(ByteSize("8k")?.bytes == 8192)
        #expect(ByteSize("10M")?.bytes == 10_485_760)
        #expect(ByteSize("1g")?.bytes == 1_073_741_824)
        #expect(ByteSize("0")?.isUnlimited == true)
        #expect(ByteSize("") == nil)
        #expect(ByteSize("k") == nil)
        #expect(ByteSize("-1") == nil)
    }

    @Test func bundledExpandsWhenTheListIsGiven() throws {
        let bundled = ["key-auth", "cors"]
        #expect(try settings(bundled: bundled).plugins == ["key-auth", "cors"])
        #expect(try settings("plugins = bundled, custom, cors", bundled: bundled).plugins == ["key-auth", "cors", "custom"])
        #expect(try settings("plugins = custom", bundled: bundled).plugins == ["custom"])
        #expect(try settings("plugins = off", bundled: bundled).plugins == [])
    }

    /// Kong's `nginx_*` spelling of a property wins over the plain one when both are set.
    @Test func aliasesWinOverTheirProperty() throws {
        let s = try settings(
            """
            nginx_main_worker_processes = 2
            nginx_worker_processes = 8
            real_ip_header = X-Forwarded-For
            nginx_proxy_real_ip_header = X-Real-IP-2
            """)
        #expect(s.workerProcesses == .count(2))
        #expect(s.realIPHeader == "X-Real-IP-2")
        let env = try settings("nginx_main_worker_processes = 2", env: ["KONG_NGINX_WORKER_PROCESSES": "8"])
        #expect(env.workerProcesses == .count(2))
    }
}

extension String {
    var trimmingSpaces: String { ValueSyntax.trim(self) }
}

/// `ssl_cipher_suite` with `ssl_protocols` and `ssl_ciphers`: the versions and ciphers the
/// listeners offer, as Kong's suites (`kong/conf_loader/constants.lua`) set nginx's.
@Suite struct ServerTLSPolicyTests {
    @Test func suites() {
        let intermediate = ServerTLSPolicy(suite: .intermediate, protocols: [.tlsv1], ciphers: "IGNORED")
        #expect(intermediate == .intermediate)
        #expect(intermediate.minimum == .tlsv1_2 && intermediate.maximum == .tlsv1_3)
        #expect(intermediate.ciphers?.hasPrefix("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:") == true)
        let modern = ServerTLSPolicy(suite: .modern, protocols: [], ciphers: nil)
        #expect(modern.minimum == .tlsv1_3 && modern.maximum == .tlsv1_3 && modern.ciphers == nil)
        let old = ServerTLSPolicy(suite: .old, protocols: [], ciphers: nil)
        #expect(old.minimum == .tlsv1 && old.ciphers?.hasSuffix(":DES-CBC3-SHA") == true)
        #expect(ServerTLSPolicy(suite: .fips, protocols: [], ciphers: nil).maximum == .tlsv1_2)
        let custom = ServerTLSPolicy(suite: .custom, protocols: [.tlsv1_1, .tlsv1_2], ciphers: "HIGH")
        #expect(custom == ServerTLSPolicy(minimum: .tlsv1_1, maximum: .tlsv1_2, ciphers: "HIGH"))
        // The settings' defaults are Kong's.
        #expect(NodeSettings().serverTLS == .intermediate)
    }

    /// The settings show what was set (the Admin API's configuration shows the suite's
    /// ciphers, as Kong's conf loader sets them).
    @Test func rendering() {
        var settings = NodeSettings()
        let rendered = { (s: NodeSettings) in Dictionary(uniqueKeysWithValues: s.redactedConfiguration.map { ($0.name, $0.value) }) }
        #expect(rendered(settings)["ssl_cipher_suite"] == .string("intermediate"))
        #expect(rendered(settings)["ssl_protocols"] == .string("TLSv1.2 TLSv1.3"))
        #expect(rendered(settings)["ssl_ciphers"] == SettingValue.none)
        settings.sslCipherSuite = .custom
        settings.sslCiphers = "HIGH:!aNULL"
        #expect(rendered(settings)["ssl_ciphers"] == .string("HIGH:!aNULL"))
        #expect(ServerTLSPolicy.ciphers(of: .modern, custom: "X") == nil)
        #expect(ServerTLSPolicy.ciphers(of: .custom, custom: "X") == "X")
    }
}
