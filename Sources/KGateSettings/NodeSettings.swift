/// The settings of one kgate node: Kong's `kong.conf` properties that matter to a DB-less
/// gateway, plus a few of kgate's own.
///
/// A plain value: `NodeSettings()` is the documented defaults (Kong's, except where noted).
/// Where values come from — a kong.conf file, `KONG_*` environment variables, command-line
/// flags — is the business of ``KongConfFile``, ``EnvironmentSource`` and ``FlagOverrides``,
/// combined by ``resolve(file:environment:flags:bundledPlugins:)``.
public struct NodeSettings: Sendable, Equatable {
    /// `prefix`: the working directory (pid file, logs, persisted state).
    ///
    /// Default `./kgate-prefix`, relative to the directory kgate starts in. Kong's default,
    /// `/usr/local/kong/`, needs root to create, and sharing it with a Kong installed on the same
    /// host would mix the two nodes' pid files; set `prefix` (or `KONG_PREFIX`) to use another.
    public var prefix: String
    /// `log_level`. Default `notice`.
    public var logLevel: LogLevel
    /// `proxy_error_log`: the file the node's log lines are appended to in nginx's error-log
    /// format, relative to `prefix` unless absolute. Default Kong's `logs/error.log`; `off`
    /// (nil) writes none. The lines also go to standard error.
    public var proxyErrorLog: String? = "logs/error.log"
    /// `proxy_access_log`: one line per proxied request in Kong's `kong_log_format` (or the
    /// format the value names). Default Kong's `logs/access.log`; `off` is nil.
    public var proxyAccessLog: AccessLogSetting? = AccessLogSetting(path: "logs/access.log")
    /// `proxy_stream_access_log`: one line per stream session in Kong's `basic` format. Default
    /// `logs/access.log basic`; `off` is nil.
    public var proxyStreamAccessLog: AccessLogSetting? = AccessLogSetting(path: "logs/access.log", format: .basic)
    /// `admin_access_log`: the Admin API's requests, in nginx's `combined` format. Default
    /// Kong's `logs/admin_access.log`.
    public var adminAccessLog: AccessLogSetting? = AccessLogSetting(path: "logs/admin_access.log")
    /// `status_access_log`: the Status API's requests (`combined`). Default `off`, as Kong's.
    public var statusAccessLog: AccessLogSetting?
    /// `plugins`: enabled plugin names. Default `["bundled"]`; `bundled` is replaced by the bundled
    /// list when ``resolve(file:environment:flags:bundledPlugins:)`` is given one; `off` = none (`[]`).
    public var plugins: [String]
    /// `plugins` as configured, before `bundled` is expanded (`["bundled"]` by default), which is
    /// what Kong's Admin API shows as `configuration.plugins`.
    public var pluginsAsWritten: [String]
    /// `proxy_listen`. Default
    /// `0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384`.
    public var proxyListen: [ListenAddress]
    /// `stream_listen`: where TCP (and TLS) connections are proxied by the routes and services
    /// of protocol `tcp`, `tls` or `tls_passthrough`. Default `off`.
    public var streamListen: [ListenAddress] = []
    /// `admin_listen`. Default
    /// `127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384`.
    public var adminListen: [ListenAddress]
    /// `status_listen`. Default `127.0.0.1:8007 reuseport backlog=16384`.
    public var statusListen: [ListenAddress]
    /// `port_maps`: the ports clients use for the ports kgate listens on (`80:8000, 443:8443`),
    /// for `X-Forwarded-Port` when kgate sits behind port forwarding. Default none.
    public var portMaps: [PortMap] = []
    /// `nginx_worker_processes` (alias `nginx_main_worker_processes`): event loops. Default `auto`.
    public var workerProcesses: WorkerProcesses
    /// `database`: always `off` (Kong's default is `postgres`; kgate has no database).
    public var database: Database
    /// `declarative_config`: the YAML/JSON file loaded at start. Default none.
    /// When both this and ``declarativeConfigString`` are set, Kong loads the file.
    public var declarativeConfig: String?
    /// `declarative_config_string`: the config inline. Default none. Sensitive (redacted).
    public var declarativeConfigString: String?
    /// `declarative_config_watch` (kgate): reload when the declarative config file changes. Default on.
    public var declarativeConfigWatch: Bool
    /// `declarative_config_debounce` (kgate): milliseconds to wait after a change before reloading.
    /// Default 200.
    public var declarativeConfigDebounce: Int
    /// `router_flavor`. Default `traditional_compatible`.
    public var routerFlavor: RouterFlavor
    /// `headers`: response header tokens in Kong's spelling (see ``HeaderTokens``); `[]` = `off`.
    /// Default `server_tokens, latency_tokens, X-Kong-Request-Id`.
    public var headers: [String]
    /// `headers_upstream`: upstream request header tokens; `[]` = `off`. Default `X-Kong-Request-Id`.
    public var headersUpstream: [String]
    /// `trusted_ips`: IPv4/IPv6 addresses, CIDR blocks or `unix:` whose `X-Forwarded-*` and real-IP
    /// headers are believed. Default none.
    public var trustedIPs: [String]
    /// `real_ip_header` (alias `nginx_proxy_real_ip_header`). Default `X-Real-IP`.
    public var realIPHeader: String
    /// `real_ip_recursive` (alias `nginx_proxy_real_ip_recursive`). Default off.
    public var realIPRecursive: Bool
    /// `error_default_type`. Default `text/plain`.
    public var errorDefaultType: ErrorDefaultType
    /// `error_template_html`: the template of HTML error bodies, read at start-up. Default none
    /// (Kong's built-in template).
    public var errorTemplateHTML: ErrorTemplate?
    /// `error_template_json`: the template of JSON error bodies. Default none.
    public var errorTemplateJSON: ErrorTemplate?
    /// `error_template_xml`: the template of XML error bodies. Default none.
    public var errorTemplateXML: ErrorTemplate?
    /// `error_template_plain`: the template of plain-text error bodies. Default none.
    public var errorTemplatePlain: ErrorTemplate?
    /// `upstream_keepalive_pool_size`: idle connections kept per upstream pool; 0 disables. Default 512.
    public var upstreamKeepalivePoolSize: Int
    /// `upstream_keepalive_max_requests`: requests per upstream connection; 0 = unlimited. Default 10000.
    public var upstreamKeepaliveMaxRequests: Int
    /// `upstream_keepalive_idle_timeout`: seconds an idle upstream connection is kept; 0 = no limit.
    /// Default 60.
    public var upstreamKeepaliveIdleTimeout: Int
    /// `nginx_admin_client_max_body_size`: the largest Admin API request body. Default `10m`.
    public var nginxAdminClientMaxBodySize: ByteSize
    /// `nginx_http_client_max_body_size` (alias `client_max_body_size`): the largest proxied
    /// request body (413 beyond it). Default `0`, unlimited.
    public var nginxHttpClientMaxBodySize = ByteSize("0")!
    /// `nginx_http_client_body_buffer_size` (alias `client_body_buffer_size`): the largest body
    /// plugins can read (`kong.request.get_raw_body()` is nil beyond it, as in Kong). Default `8k`.
    public var nginxHttpClientBodyBufferSize = ByteSize("8k")!
    /// `nginx_proxy_proxy_buffer_size` (also `nginx_http_proxy_buffer_size`): room for an
    /// upstream's response head (status line and headers); a larger head is an invalid
    /// response (502, nginx's "upstream sent too big header"). Default nginx's one memory page,
    /// 4k.
    public var nginxProxyProxyBufferSize = ByteSize("4k")!
    /// `nginx_http_client_header_buffer_size` (`nginx_proxy_client_header_buffer_size` wins when
    /// both are set): the buffer a request head is read into first; a head that does not fit
    /// continues in the large buffers. Default `1k`.
    public var nginxHttpClientHeaderBufferSize = ByteSize("1k")!
    /// `nginx_http_large_client_header_buffers` (`nginx_proxy_large_client_header_buffers`
    /// wins when both are set, as a server-level directive does): the longest request line
    /// (414 beyond it) and header line (400), and the largest request head. Default `4 8k`.
    public var nginxHttpLargeClientHeaderBuffers = HeaderBuffers.nginxDefault
    /// `untrusted_lua`: `off`, `sandbox` (default) or `on`.
    public var untrustedLua = UntrustedLua.sandbox
    /// `nginx_http_client_header_timeout`: time to receive a request head (408 after it). Default `60s`.
    public var nginxHttpClientHeaderTimeout = NginxTime("60s")!
    /// `nginx_http_client_body_timeout`: longest pause while receiving a request body (408). Default `60s`.
    public var nginxHttpClientBodyTimeout = NginxTime("60s")!
    /// `nginx_http_keepalive_timeout`: how long an idle client connection stays open. Default `75s`.
    public var nginxHttpKeepaliveTimeout = NginxTime("75s")!
    /// `nginx_http_keepalive_requests`: requests served on one client connection. Default 10000.
    public var nginxHttpKeepaliveRequests = 10000
    /// `nginx_http_charset`: nginx's `charset` directive, added as `; charset=<name>` to a
    /// response `Content-Type` that is one of nginx's `charset_types` with no parameters.
    /// Default `UTF-8`; nil for `off`.
    public var nginxHttpCharset: String? = "UTF-8"
    /// `nginx_http_add_header`: nginx `add_header` directives of the http block (the proxy's
    /// responses get them when neither the proxy server nor its location has its own).
    /// Default none.
    public var nginxHttpAddHeader: [AddHeaderDirective] = []
    /// `nginx_proxy_add_header`: `add_header` directives of the proxy server block (every
    /// response of the proxy, its error pages included, unless `location /` has its own).
    /// Default none.
    public var nginxProxyAddHeader: [AddHeaderDirective] = []
    /// `nginx_location_add_header`: `add_header` directives of the proxy's `location /`
    /// (proxied responses and Kong's own answers, not nginx's error pages). Default none.
    public var nginxLocationAddHeader: [AddHeaderDirective] = []
    /// `nginx_http_gzip*` and `nginx_http_brotli*`: response compression directives of the
    /// http block. Default none (nginx's: compression off).
    public var nginxHttpCompression = CompressionDirectives()
    /// `nginx_proxy_gzip*` and `nginx_proxy_brotli*`: those of the proxy server block.
    public var nginxProxyCompression = CompressionDirectives()
    /// `nginx_location_gzip*` and `nginx_location_brotli*`: those of the proxy's `location /`.
    public var nginxLocationCompression = CompressionDirectives()
    /// `allow_debug_header`: a request with a `Kong-Debug` header gets the matched route's and
    /// service's ids and names as `Kong-Route-Id`, `Kong-Route-Name`, `Kong-Service-Id` and
    /// `Kong-Service-Name` response headers. Default off.
    public var allowDebugHeader = false
    /// `tracing_instrumentations`: what the request spans record (`request`, `router`,
    /// `balancer`, `plugin_rewrite`, `plugin_access`, `plugin_header_filter`, `http_client`,
    /// `dns_query`, `db_query`, or `all`), exported by the opentelemetry plugin. Default
    /// `off` (empty).
    public var tracingInstrumentations: [String] = []
    /// `tracing_sampling_rate`: the share of traces recorded, from 0 to 1. Default 0.01.
    public var tracingSamplingRate = 0.01
    /// `ssl_cipher_suite`: the TLS versions and ciphers clients may use on the `ssl`
    /// listeners. Default `intermediate`.
    public var sslCipherSuite = SSLCipherSuite.intermediate
    /// `ssl_protocols`: the TLS versions of the `custom` suite. Default TLSv1.2 and TLSv1.3.
    public var sslProtocols: [TLSProtocolVersion] = [.tlsv1_2, .tlsv1_3]
    /// `ssl_ciphers`: the ciphers of the `custom` suite (nil: the TLS library's defaults).
    public var sslCiphers: String?
    /// What client TLS connections to the listeners may negotiate, from the three above.
    public var serverTLS: ServerTLSPolicy { ServerTLSPolicy(suite: sslCipherSuite, protocols: sslProtocols, ciphers: sslCiphers) }
    /// `nginx_http_proxy_ssl_verify` (nginx's `proxy_ssl_verify`; `nginx_proxy_proxy_ssl_verify`
    /// wins over it, as the proxy server block's directive does): whether upstream TLS
    /// certificates are verified for the services whose `tls_verify` is null. Default off.
    public var nginxProxySSLVerify = false
    /// `nginx_http_proxy_ssl_verify_depth` (or `nginx_proxy_proxy_ssl_verify_depth`): how many
    /// intermediate CAs a verified upstream chain may hold, for the services whose
    /// `tls_verify_depth` is null (nginx's `proxy_ssl_verify_depth`). Default 1.
    public var nginxProxySSLVerifyDepth = 1
    /// `dns_hostsfile`: the hosts file whose names resolve without a lookup (read once, when the
    /// node starts, as Kong's DNS client does). Default `/etc/hosts`.
    public var dnsHostsfile = "/etc/hosts"
    /// `dns_resolver`: the nameservers asked over UDP, with SRV records (empty: the system
    /// resolver, `getaddrinfo`, for addresses only).
    public var dnsResolver: [Nameserver] = []
    /// `dns_order`: the record types asked for, in order, when `dns_resolver` is set. Default
    /// LAST, SRV, A, CNAME.
    public var dnsOrder: [DNSRecordOrder] = [.last, .srv, .a, .cname]
    /// `dns_valid_ttl`: seconds that replace the TTL of every answer (nil: the answers' own).
    public var dnsValidTTL: Int?
    /// `dns_stale_ttl`: seconds past its TTL an answer is still used while it is refreshed.
    /// Default 3600.
    public var dnsStaleTTL = 3600
    /// `dns_not_found_ttl`: seconds a name without records is remembered. Default 30.
    public var dnsNotFoundTTL = 30
    /// `dns_error_ttl`: seconds a failed query is remembered. Default 1.
    public var dnsErrorTTL = 1
    /// `nginx_http_proxy_ssl_trusted_certificate` (or `nginx_proxy_proxy_ssl_trusted_certificate`):
    /// the CAs that verify upstream certificates for services without `ca_certificates`.
    /// Default none (the system's trust store).
    public var nginxProxySSLTrustedCertificate: PEMFile?
    /// `lua_ssl_trusted_certificate`: the CAs active `https` probes and Redis connections
    /// trust when they verify the server. Default `system`.
    public var luaSSLTrustedCertificate = TrustedCertificates.system
    /// `lua_ssl_verify_depth`: how many intermediate CAs a chain those clients verify may hold.
    /// Default 1.
    public var luaSSLVerifyDepth = 1
    /// `ssl_cert` (paths from the working directory, as Kong makes them absolute): the
    /// certificate TLS proxy listeners present when no `snis` entry matches the client's SNI, or
    /// it sends none. Kong presents the first one, with the first `ssl_cert_key`. Default none:
    /// a certificate made at start-up (`CN=localhost`), as Kong's `kong-default.crt`.
    public var sslCert: [PEMFile] = []
    /// `ssl_cert_key`: the private keys of `ssl_cert`, as many.
    public var sslCertKey: [PEMFile] = []
    /// `client_ssl`: proxied TLS connections to upstreams, and active health probes, present a
    /// client certificate (nginx's `proxy_ssl_certificate`) unless the service or upstream has
    /// its own `client_certificate`. Default off.
    public var clientSSL = false
    /// `client_ssl_cert` and `client_ssl_cert_key`: that certificate and its key (the first of
    /// each). Default none: the certificate made at start-up.
    public var clientSSLCert: [PEMFile] = []
    public var clientSSLCertKey: [PEMFile] = []
    /// `admin_ssl_cert` and `admin_ssl_cert_key`: what the Admin API's `ssl` addresses present
    /// (the first pair). Default none: the certificate made at start-up.
    public var adminSSLCert: [PEMFile] = []
    public var adminSSLCertKey: [PEMFile] = []
    /// `status_ssl_cert` and `status_ssl_cert_key`: the same for the Status API.
    public var statusSSLCert: [PEMFile] = []
    public var statusSSLCertKey: [PEMFile] = []
    /// `admin_token` (kgate): when set, Admin API requests must present it. Default none.
    /// Sensitive (redacted).
    public var adminToken: String?
    /// `node_id`: the node's id (`GET /` `node_id`, `kong.node.get_id()`), a UUID. Default none:
    /// a new random id at each start, as Kong gives a node that is not a data plane.
    public var nodeID: String?
    /// `admin_gui_url`: where Kong Manager is served from. When set, the Admin API's
    /// `Access-Control-Allow-Origin` names a request's `Origin` only if it is one of their
    /// origins, and the first origin otherwise. Default none (any `Origin` is echoed).
    public var adminGUIURLs: [AdminGUIURL] = []
    /// Kong properties set in kong.conf or `KONG_*` that have no effect on kgate (database,
    /// Lua, clustering, nginx directives it does not implement: see `KongProperties`), the
    /// last assignment of each. Not a setting: the node names them when it starts, so a
    /// property that does nothing does not go unnoticed.
    public var ignoredProperties: [SettingAssignment] = []
    /// The values written with `{vault://...}` references, as written, by property name: the
    /// settings hold the secrets, `.kong_env` and the Admin API's `configuration` the
    /// references (Kong's `$refs`).
    public var references: [String: String] = [:]

    /// Kong's default `proxy_listen`.
    public static let defaultProxyListen = [
        ListenAddress(host: "0.0.0.0", port: 8000, reuseport: true, backlog: 16384),
        ListenAddress(host: "0.0.0.0", port: 8443, ssl: true, http2: true, reuseport: true, backlog: 16384),
    ]
    /// Kong's default `admin_listen`.
    public static let defaultAdminListen = [
        ListenAddress(host: "127.0.0.1", port: 8001, reuseport: true, backlog: 16384),
        ListenAddress(host: "127.0.0.1", port: 8444, ssl: true, http2: true, reuseport: true, backlog: 16384),
    ]
    /// Kong's default `status_listen`.
    public static let defaultStatusListen = [
        ListenAddress(host: "127.0.0.1", port: 8007, reuseport: true, backlog: 16384)
    ]

    /// Creates settings; every parameter defaults to the documented default.
    public init(
        prefix: String = "./kgate-prefix",
        logLevel: LogLevel = .notice,
        plugins: [String] = ["bundled"],
        proxyListen: [ListenAddress] = NodeSettings.defaultProxyListen,
        adminListen: [ListenAddress] = NodeSettings.defaultAdminListen,
        statusListen: [ListenAddress] = NodeSettings.defaultStatusListen,
        workerProcesses: WorkerProcesses = .auto,
        database: Database = .off,
        declarativeConfig: String? = nil,
        declarativeConfigString: String? = nil,
        declarativeConfigWatch: Bool = true,
        declarativeConfigDebounce: Int = 200,
        routerFlavor: RouterFlavor = .traditionalCompatible,
        headers: [String] = [HeaderTokens.serverTokens, HeaderTokens.latencyTokens, "X-Kong-Request-Id"],
        headersUpstream: [String] = ["X-Kong-Request-Id"],
        trustedIPs: [String] = [],
        realIPHeader: String = "X-Real-IP",
        realIPRecursive: Bool = false,
        errorDefaultType: ErrorDefaultType = .plain,
        upstreamKeepalivePoolSize: Int = 512,
        upstreamKeepaliveMaxRequests: Int = 10000,
        upstreamKeepaliveIdleTimeout: Int = 60,
        nginxAdminClientMaxBodySize: ByteSize = ByteSize("10m")!,
        adminToken: String? = nil
    ) {
        self.prefix = prefix
        self.logLevel = logLevel
        self.plugins = plugins
        self.pluginsAsWritten = plugins.isEmpty ? ["off"] : plugins
        self.proxyListen = proxyListen
        self.adminListen = adminListen
        self.statusListen = statusListen
        self.workerProcesses = workerProcesses
        self.database = database
        self.declarativeConfig = declarativeConfig
        self.declarativeConfigString = declarativeConfigString
        self.declarativeConfigWatch = declarativeConfigWatch
        self.declarativeConfigDebounce = declarativeConfigDebounce
        self.routerFlavor = routerFlavor
        self.headers = headers
        self.headersUpstream = headersUpstream
        self.trustedIPs = trustedIPs
        self.realIPHeader = realIPHeader
        self.realIPRecursive = realIPRecursive
        self.errorDefaultType = errorDefaultType
        self.upstreamKeepalivePoolSize = upstreamKeepalivePoolSize
        self.upstreamKeepaliveMaxRequests = upstreamKeepaliveMaxRequests
        self.upstreamKeepaliveIdleTimeout = upstreamKeepaliveIdleTimeout
        self.nginxAdminClientMaxBodySize = nginxAdminClientMaxBodySize
        self.adminToken = adminToken
    }

    /// ``proxyErrorLog`` as a path: under `prefix` when relative.
    public var errorLogPath: String? { proxyErrorLog.map(inPrefix) }

    /// A log file's path as Kong reads it: under `prefix` when relative.
    public func inPrefix(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return prefix.hasSuffix("/") ? prefix + path : prefix + "/" + path
    }

    /// The response headers `headers` turns on, tokens expanded
    /// (`server_tokens` → `Server`, `Via`; `latency_tokens` → the four latency headers).
    public var enabledHeaders: Set<String> {
        var result: Set<String> = []
        for token in headers {
            switch token {
            case HeaderTokens.serverTokens: result.formUnion(HeaderTokens.serverTokenHeaders)
            case HeaderTokens.latencyTokens: result.formUnion(HeaderTokens.latencyTokenHeaders)
            default: result.insert(token)
            }
        }
        return result
    }

    /// Kong's `admin_gui_origin`: the origin of each `admin_gui_url`, in order.
    public var adminGUIOrigins: [String] { adminGUIURLs.map(\.origin) }

    /// Whether `headers_upstream` adds `X-Kong-Request-Id` to upstream requests.
    public var sendsRequestIDUpstream: Bool { headersUpstream.contains("X-Kong-Request-Id") }

    /// `plugins` with any `bundled` token replaced by `bundled` (order kept, duplicates dropped).
    public func expandingBundledPlugins(_ bundled: [String]) -> [String] {
        var result: [String] = []
        for name in plugins.flatMap({ $0 == "bundled" ? bundled : [$0] }) where !result.contains(name) {
            result.append(name)
        }
        return result
    }
}
