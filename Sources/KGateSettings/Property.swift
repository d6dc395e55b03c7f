#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema

/// One kong.conf property kgate understands: how to read it into ``NodeSettings`` and how to
/// show it back. The table below drives every source (file, environment, flags) and the
/// redacted rendering, so a property is declared exactly once.
struct Property: Sendable {
    /// What a parser may need beyond the value itself.
    struct Context: Sendable {
        /// The bundled plugin names `bundled` expands to; nil keeps the token.
        var bundledPlugins: [String]?
    }

    typealias Apply = @Sendable (inout NodeSettings, String, Context) throws(InvalidValue) -> Void

    /// The kong.conf name (`proxy_listen`).
    let name: String
    /// Whether the value is secret (shown as `******`).
    let isSensitive: Bool
    /// For Kong's nginx spellings (`nginx_main_worker_processes`): the property it stands for.
    /// Applied after that property, so it wins when both are set (as Kong's aliases do).
    let aliasOf: String?
    /// Left out of the rendered configuration while unset (nginx directives Kong injects only
    /// when given, such as `nginx_proxy_gzip`).
    let omitsUnset: Bool
    /// Parses the (trimmed) value into the settings.
    let apply: Apply
    /// The current value, for the redacted rendering.
    let render: @Sendable (NodeSettings) -> SettingValue

    init(
        _ name: String, sensitive: Bool = false, aliasOf: String? = nil, omitsUnset: Bool = false,
        apply: @escaping Apply, render: @escaping @Sendable (NodeSettings) -> SettingValue
    ) {
        self.name = name
        self.isSensitive = sensitive
        self.aliasOf = aliasOf
        self.omitsUnset = omitsUnset
        self.apply = apply
        self.render = render
    }

    /// The properties, in the order they are applied and rendered.
    static let all: [Property] = [
        Property("prefix", apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty else {
                throw InvalidValue(ValueSyntax.invalidValue("prefix", v, "expected a directory path"))
            }
            s.prefix = v
        }, render: { .string($0.prefix) }),
        Property("log_level", apply: { s, v, _ throws(InvalidValue) in
            s.logLevel = try ValueSyntax.oneOf(v, property: "log_level", as: LogLevel.self)
        }, render: { .string($0.logLevel.rawValue) }),
        Property("proxy_error_log", apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty else {
                throw InvalidValue(ValueSyntax.invalidValue("proxy_error_log", v, "expected a file path or 'off'"))
            }
            s.proxyErrorLog = v == "off" ? nil : v
        }, render: { .string($0.proxyErrorLog ?? "off") }),
        accessLog("proxy_access_log", \.proxyAccessLog),
        accessLog("proxy_stream_access_log", \.proxyStreamAccessLog),
        accessLog("admin_access_log", \.adminAccessLog),
        accessLog("status_access_log", \.statusAccessLog),
        Property("plugins", apply: { s, v, c throws(InvalidValue) in
            s.plugins = try parsePlugins(v, bundled: c.bundledPlugins)
            s.pluginsAsWritten = ValueSyntax.list(v)
        }, render: { .list($0.pluginsAsWritten) }),
        listen("proxy_listen", \.proxyListen),
        Property("stream_listen", apply: { s, v, _ throws(InvalidValue) in
            s.streamListen = try ListenAddress.parseList(v, property: "stream_listen", stream: true)
        }, render: { .list($0.streamListen.isEmpty ? ["off"] : $0.streamListen.map(\.description)) }),
        listen("admin_listen", \.adminListen),
        listen("status_listen", \.statusListen),
        Property("port_maps", apply: { s, v, _ throws(InvalidValue) in
            s.portMaps = try PortMap.parseList(v, property: "port_maps")
        }, render: { .list($0.portMaps.map(\.description)) }),
        workerProcesses("nginx_worker_processes", aliasOf: nil),
        workerProcesses("nginx_main_worker_processes", aliasOf: "nginx_worker_processes"),
        Property("database", apply: { s, v, _ throws(InvalidValue) in
            s.database = try parseDatabase(v)
        }, render: { .string($0.database.rawValue) }),
        Property("declarative_config", apply: { s, v, _ in
            s.declarativeConfig = v.isEmpty ? nil : v
        }, render: { $0.declarativeConfig.map(SettingValue.string) ?? .none }),
        Property("declarative_config_string", sensitive: true, apply: { s, v, _ in
            s.declarativeConfigString = v.isEmpty ? nil : v
        }, render: { $0.declarativeConfigString.map(SettingValue.string) ?? .none }),
        Property("declarative_config_watch", apply: { s, v, _ throws(InvalidValue) in
            s.declarativeConfigWatch = try ValueSyntax.boolean(v, property: "declarative_config_watch")
        }, render: { .boolean($0.declarativeConfigWatch) }),
        Property("declarative_config_debounce", apply: { s, v, _ throws(InvalidValue) in
            s.declarativeConfigDebounce = try ValueSyntax.integer(
                v, property: "declarative_config_debounce", minimum: 0,
                expectation: "expected a number of milliseconds, 0 or greater")
        }, render: { .integer($0.declarativeConfigDebounce) }),
        Property("router_flavor", apply: { s, v, _ throws(InvalidValue) in
            s.routerFlavor = try ValueSyntax.oneOf(v, property: "router_flavor", as: RouterFlavor.self)
        }, render: { .string($0.routerFlavor.rawValue) }),
        Property("headers", apply: { s, v, _ throws(InvalidValue) in
            s.headers = try HeaderTokens.parse(v, property: "headers", accepted: HeaderTokens.downstream)
        }, render: { .list($0.headers.isEmpty ? ["off"] : $0.headers) }),
        Property("headers_upstream", apply: { s, v, _ throws(InvalidValue) in
            s.headersUpstream = try HeaderTokens.parse(v, property: "headers_upstream", accepted: HeaderTokens.upstream)
        }, render: { .list($0.headersUpstream.isEmpty ? ["off"] : $0.headersUpstream) }),
        Property("trusted_ips", apply: { s, v, _ throws(InvalidValue) in
            s.trustedIPs = try parseTrustedIPs(v)
        }, render: { .list($0.trustedIPs) }),
        realIPHeader("real_ip_header", aliasOf: nil),
        realIPHeader("nginx_proxy_real_ip_header", aliasOf: "real_ip_header"),
        realIPRecursive("real_ip_recursive", aliasOf: nil),
        realIPRecursive("nginx_proxy_real_ip_recursive", aliasOf: "real_ip_recursive"),
        Property("error_default_type", apply: { s, v, _ throws(InvalidValue) in
            s.errorDefaultType = try ValueSyntax.oneOf(v, property: "error_default_type", as: ErrorDefaultType.self)
        }, render: { .string($0.errorDefaultType.rawValue) }),
        errorTemplate("error_template_html", \.errorTemplateHTML),
        errorTemplate("error_template_json", \.errorTemplateJSON),
        errorTemplate("error_template_xml", \.errorTemplateXML),
        errorTemplate("error_template_plain", \.errorTemplatePlain),
        count("upstream_keepalive_pool_size", \.upstreamKeepalivePoolSize),
        count("upstream_keepalive_max_requests", \.upstreamKeepaliveMaxRequests),
        count("upstream_keepalive_idle_timeout", \.upstreamKeepaliveIdleTimeout),
        size("nginx_admin_client_max_body_size", \.nginxAdminClientMaxBodySize),
        size("nginx_http_client_max_body_size", \.nginxHttpClientMaxBodySize),
        size("client_max_body_size", \.nginxHttpClientMaxBodySize, aliasOf: "nginx_http_client_max_body_size"),
        size("nginx_http_client_body_buffer_size", \.nginxHttpClientBodyBufferSize),
        size("client_body_buffer_size", \.nginxHttpClientBodyBufferSize, aliasOf: "nginx_http_client_body_buffer_size"),
        size("nginx_proxy_proxy_buffer_size", \.nginxProxyProxyBufferSize),
        size("nginx_http_proxy_buffer_size", \.nginxProxyProxyBufferSize, aliasOf: "nginx_proxy_proxy_buffer_size"),
        size("nginx_http_client_header_buffer_size", \.nginxHttpClientHeaderBufferSize),
        size(
            "nginx_proxy_client_header_buffer_size", \.nginxHttpClientHeaderBufferSize,
            aliasOf: "nginx_http_client_header_buffer_size"),
        headerBuffers("nginx_http_large_client_header_buffers", aliasOf: nil),
        headerBuffers("nginx_proxy_large_client_header_buffers", aliasOf: "nginx_http_large_client_header_buffers"),
        time("nginx_http_client_header_timeout", \.nginxHttpClientHeaderTimeout),
        time("nginx_http_client_body_timeout", \.nginxHttpClientBodyTimeout),
        time("nginx_http_keepalive_timeout", \.nginxHttpKeepaliveTimeout),
        count("nginx_http_keepalive_requests", \.nginxHttpKeepaliveRequests),
        Property("nginx_http_charset", apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty, !v.contains(where: { $0 == " " || $0 == ";" || $0 == "\"" }) else {
                throw InvalidValue(ValueSyntax.invalidValue(
                    "nginx_http_charset", v, "expected a charset name such as UTF-8, or off"))
            }
            s.nginxHttpCharset = v.lowercased() == "off" ? nil : v
        }, render: { .string($0.nginxHttpCharset ?? "off") }),
        addHeader("nginx_http_add_header", \.nginxHttpAddHeader),
        addHeader("nginx_proxy_add_header", \.nginxProxyAddHeader),
        addHeader("nginx_location_add_header", \.nginxLocationAddHeader),
    ] + compression("nginx_http_", \.nginxHttpCompression) + compression("nginx_proxy_", \.nginxProxyCompression)
        + compression("nginx_location_", \.nginxLocationCompression) + [
        pemFiles("ssl_cert", \.sslCert, content: .certificate),
        pemFiles("ssl_cert_key", \.sslCertKey, content: .privateKey),
        Property("client_ssl", apply: { s, v, _ throws(InvalidValue) in
            s.clientSSL = try ValueSyntax.boolean(v, property: "client_ssl")
        }, render: { .boolean($0.clientSSL) }),
        pemFiles("client_ssl_cert", \.clientSSLCert, content: .certificate),
        pemFiles("client_ssl_cert_key", \.clientSSLCertKey, content: .privateKey),
        pemFiles("admin_ssl_cert", \.adminSSLCert, content: .certificate),
        pemFiles("admin_ssl_cert_key", \.adminSSLCertKey, content: .privateKey),
        pemFiles("status_ssl_cert", \.statusSSLCert, content: .certificate),
        pemFiles("status_ssl_cert_key", \.statusSSLCertKey, content: .privateKey),
        proxySSLVerify("nginx_http_proxy_ssl_verify", aliasOf: nil),
        proxySSLVerify("nginx_proxy_proxy_ssl_verify", aliasOf: "nginx_http_proxy_ssl_verify"),
        Property("dns_hostsfile", apply: { s, v, _ throws(InvalidValue) in
            // Kong's conf_loader: `dns_hostsfile: file does not exist`.
            guard !v.isEmpty, access(v, F_OK) == 0 else {
                throw InvalidValue(ValueSyntax.invalidValue("dns_hostsfile", v, "file does not exist"))
            }
            s.dnsHostsfile = v
        }, render: { .string($0.dnsHostsfile) }),
        Property("dns_resolver", apply: { s, v, _ throws(InvalidValue) in
            s.dnsResolver = try ValueSyntax.list(v).map { entry throws(InvalidValue) in
                guard let server = Nameserver.parse(entry) else {
                    // Kong's conf_loader message.
                    throw InvalidValue(
                        "dns_resolver must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got '\(entry)'")
                }
                return server
            }
        }, render: { .list($0.dnsResolver.map(\.description)) }),
        Property("dns_order", apply: { s, v, _ throws(InvalidValue) in
            s.dnsOrder = try DNSRecordOrder.parseList(v)
        }, render: { .list($0.dnsOrder.map(\.rawValue)) }),
        Property("dns_valid_ttl", apply: { s, v, _ throws(InvalidValue) in
            s.dnsValidTTL = v.isEmpty ? nil : try seconds(v, "dns_valid_ttl")
        }, render: { $0.dnsValidTTL.map(SettingValue.integer) ?? .none }),
        seconds("dns_stale_ttl", \.dnsStaleTTL),
        seconds("dns_not_found_ttl", \.dnsNotFoundTTL),
        seconds("dns_error_ttl", \.dnsErrorTTL),
        Property("lua_ssl_trusted_certificate", apply: { s, v, _ throws(InvalidValue) in
            s.luaSSLTrustedCertificate = try TrustedCertificates(entries: ValueSyntax.list(v))
        }, render: { .list($0.luaSSLTrustedCertificate.entries) }),
        Property("lua_ssl_verify_depth", apply: { s, v, _ throws(InvalidValue) in
            s.luaSSLVerifyDepth = try ValueSyntax.integer(
                v, property: "lua_ssl_verify_depth", minimum: 0, expectation: "expected a non-negative integer")
        }, render: { .integer($0.luaSSLVerifyDepth) }),
        proxySSLVerifyDepth("nginx_http_proxy_ssl_verify_depth", aliasOf: nil),
        proxySSLVerifyDepth("nginx_proxy_proxy_ssl_verify_depth", aliasOf: "nginx_http_proxy_ssl_verify_depth"),
        proxySSLTrustedCertificate("nginx_http_proxy_ssl_trusted_certificate", aliasOf: nil),
        proxySSLTrustedCertificate(
            "nginx_proxy_proxy_ssl_trusted_certificate", aliasOf: "nginx_http_proxy_ssl_trusted_certificate"),
        Property("untrusted_lua", apply: { s, v, _ throws(InvalidValue) in
            s.untrustedLua = try ValueSyntax.oneOf(v, property: "untrusted_lua", as: UntrustedLua.self)
        }, render: { .string($0.untrustedLua.rawValue) }),
        Property("allow_debug_header", apply: { s, v, _ throws(InvalidValue) in
            s.allowDebugHeader = try ValueSyntax.boolean(v, property: "allow_debug_header")
        }, render: { .boolean($0.allowDebugHeader) }),
        tracingInstrumentations("tracing_instrumentations", aliasOf: nil),
        tracingInstrumentations("opentelemetry_tracing", aliasOf: "tracing_instrumentations"),
        tracingSamplingRate("tracing_sampling_rate", aliasOf: nil),
        tracingSamplingRate("opentelemetry_tracing_sampling_rate", aliasOf: "tracing_sampling_rate"),
        Property("ssl_cipher_suite", apply: { s, v, _ throws(InvalidValue) in
            s.sslCipherSuite = try ValueSyntax.oneOf(v, property: "ssl_cipher_suite", as: SSLCipherSuite.self)
        }, render: { .string($0.sslCipherSuite.rawValue) }),
        Property("ssl_protocols", apply: { s, v, _ throws(InvalidValue) in
            s.sslProtocols = try TLSProtocolVersion.parseList(v, property: "ssl_protocols")
        }, render: { .string($0.sslProtocols.map(\.rawValue).joined(separator: " ")) }),
        Property("ssl_ciphers", apply: { s, v, _ in
            s.sslCiphers = v.isEmpty ? nil : v
        }, render: { $0.sslCiphers.map(SettingValue.string) ?? .none }),
        Property("admin_token", sensitive: true, apply: { s, v, _ in
            s.adminToken = v.isEmpty ? nil : v
        }, render: { $0.adminToken.map(SettingValue.string) ?? .none }),
        Property("node_id", apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty else { s.nodeID = nil; return }
            guard UUIDFormat.isValid(v) else { throw InvalidValue(ValueSyntax.invalidValue("node_id", v, "must be a valid UUID")) }
            s.nodeID = v
        }, render: { $0.nodeID.map(SettingValue.string) ?? .none }),
        Property("admin_gui_url", apply: { s, v, _ throws(InvalidValue) in
            s.adminGUIURLs = try AdminGUIURL.parseList(v, property: "admin_gui_url")
        }, render: { .list($0.adminGUIURLs.map(\.text)) }),
    ]

    /// The properties by name.
    static let byName: [String: Property] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    // MARK: - Families

    private static func listen(
        _ name: String, _ field: WritableKeyPath<NodeSettings, [ListenAddress]> & Sendable
    ) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            s[keyPath: field] = try ListenAddress.parseList(v, property: name)
        }, render: { settings in
            let addresses = settings[keyPath: field]
            return .list(addresses.isEmpty ? ["off"] : addresses.map(\.description))
        })
    }

    private static func accessLog(
        _ name: String, _ field: WritableKeyPath<NodeSettings, AccessLogSetting?> & Sendable
    ) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            s[keyPath: field] = try AccessLogSetting.parse(v, property: name)
        }, render: { .string($0[keyPath: field]?.description ?? "off") })
    }

    private static func workerProcesses(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            s.workerProcesses = try WorkerProcesses.parse(v, property: name)
        }, render: { .string($0.workerProcesses.description) })
    }

    /// Kong's instrumentation names (`available_types`, with `request`, `all` and `off`).
    static let tracingTypes: Set<String> = [
        "off", "all", "request", "router", "balancer", "plugin_rewrite", "plugin_access", "plugin_header_filter",
        "http_client", "dns_query", "db_query", "create_span",
    ]

    private static func tracingInstrumentations(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            let types = ValueSyntax.list(v)
            if let invalid = types.first(where: { !tracingTypes.contains($0) }) {
                throw InvalidValue("invalid tracing type: \(invalid)")
            }
            if types.count > 1, types.contains("off") {
                throw InvalidValue("invalid tracing types: off, other types are mutually exclusive")
            }
            s.tracingInstrumentations = types.first == "off" ? [] : types
        }, render: { .list($0.tracingInstrumentations.isEmpty ? ["off"] : $0.tracingInstrumentations) })
    }

    /// A whole number of seconds (the `dns_*_ttl` settings).
    private static func seconds(_ v: String, _ property: String) throws(InvalidValue) -> Int {
        try ValueSyntax.integer(v, property: property, minimum: 0, expectation: "expected a number of seconds")
    }

    private static func seconds(_ name: String, _ field: WritableKeyPath<NodeSettings, Int> & Sendable) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            s[keyPath: field] = try seconds(v, name)
        }, render: { .integer($0[keyPath: field]) })
    }

    private static func tracingSamplingRate(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            guard let rate = Double(v), rate.isFinite else {
                throw InvalidValue(ValueSyntax.invalidValue(name, v, "expected a number between 0 and 1"))
            }
            guard rate >= 0, rate <= 1 else { throw InvalidValue("tracing_sampling_rate must be between 0 and 1") }
            s.tracingSamplingRate = rate
        }, render: { s in
            let rate = s.tracingSamplingRate
            return .string(rate == rate.rounded() ? String(Int(rate)) : String(rate))
        })
    }

    private static func realIPHeader(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            guard ValueSyntax.isHeaderName(v) else {
                throw InvalidValue(ValueSyntax.invalidValue(
                    name, v, "expected a header name such as X-Real-IP or X-Forwarded-For, or proxy_protocol"))
            }
            s.realIPHeader = v
        }, render: { .string($0.realIPHeader) })
    }

    private static func realIPRecursive(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            s.realIPRecursive = try ValueSyntax.boolean(v, property: name)
        }, render: { .boolean($0.realIPRecursive) })
    }

    private static func proxySSLVerify(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            s.nginxProxySSLVerify = try ValueSyntax.boolean(v, property: name)
        }, render: { .boolean($0.nginxProxySSLVerify) })
    }

    private static func proxySSLVerifyDepth(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            s.nginxProxySSLVerifyDepth = try ValueSyntax.integer(
                v, property: name, minimum: 0, expectation: "expected a non-negative integer")
        }, render: { .integer($0.nginxProxySSLVerifyDepth) })
    }

    /// A PEM file, read now from `prefix` (applied before it) when relative.
    private static func proxySSLTrustedCertificate(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty else {
                s.nginxProxySSLTrustedCertificate = nil
                return
            }
            do throws(ErrorTemplate.Problem) {
                s.nginxProxySSLTrustedCertificate = try PEMFile.load(path: v, relativeTo: s.prefix, content: .certificate)
            } catch {
                throw InvalidValue(ValueSyntax.invalidValue(name, v, error.description))
            }
        }, render: { $0.nginxProxySSLTrustedCertificate.map { .string($0.path) } ?? .none })
    }

    /// A list of PEM files, read now from the working directory.
    private static func pemFiles(
        _ name: String, _ field: WritableKeyPath<NodeSettings, [PEMFile]> & Sendable, content: PEMFile.Content
    ) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            var files: [PEMFile] = []
            for path in ValueSyntax.list(v) {
                do throws(ErrorTemplate.Problem) {
                    files.append(try PEMFile.load(path: path, relativeTo: "", content: content))
                } catch {
                    throw InvalidValue(ValueSyntax.invalidEntry(name, path, error.description))
                }
            }
            s[keyPath: field] = files
        }, render: { .list($0[keyPath: field].map(\.path)) })
    }

    /// A template file, read and checked now (an empty value is Kong's `NONE`).
    private static func errorTemplate(
        _ name: String, _ field: WritableKeyPath<NodeSettings, ErrorTemplate?> & Sendable
    ) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            guard !v.isEmpty else {
                s[keyPath: field] = nil
                return
            }
            do throws(ErrorTemplate.Problem) {
                s[keyPath: field] = try ErrorTemplate.load(path: v)
            } catch {
                throw InvalidValue(ValueSyntax.invalidValue(name, v, error.description))
            }
        }, render: { $0[keyPath: field].map { .string($0.path) } ?? .none })
    }

    private static func addHeader(
        _ name: String, _ field: WritableKeyPath<NodeSettings, [AddHeaderDirective]> & Sendable
    ) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            s[keyPath: field] = try AddHeaderDirective.parseList(v, property: name)
        }, render: { s in
            let directives = s[keyPath: field]
            return directives.isEmpty ? .none : .string(directives.map(\.text).joined(separator: "; add_header "))
        })
    }

    /// The gzip and brotli directives of one nginx level (`nginx_proxy_gzip`, ...).
    private static func compression(
        _ prefix: String, _ field: WritableKeyPath<NodeSettings, CompressionDirectives> & Sendable
    ) -> [Property] {
        CompressionDirectives.Directive.allCases.map { directive in
            let name = prefix + directive.rawValue
            return Property(name, omitsUnset: true, apply: { s, v, _ throws(InvalidValue) in
                try s[keyPath: field].set(directive, v, property: name)
            }, render: { s in s[keyPath: field].values[directive].map(SettingValue.string) ?? .none })
        }
    }

    private static func count(_ name: String, _ field: WritableKeyPath<NodeSettings, Int> & Sendable) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            s[keyPath: field] = try ValueSyntax.integer(
                v, property: name, minimum: 0, expectation: "expected an integer, 0 or greater")
        }, render: { .integer($0[keyPath: field]) })
    }

    private static func size(
        _ name: String, _ field: WritableKeyPath<NodeSettings, ByteSize> & Sendable, aliasOf: String? = nil
    ) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            guard let size = ByteSize(v) else {
                throw InvalidValue(ValueSyntax.invalidValue(
                    name, v, "expected a size such as 0 (unlimited), 512, 8k, 10m or 1g"))
            }
            s[keyPath: field] = size
        }, render: { .string($0[keyPath: field].text) })
    }

    private static func headerBuffers(_ name: String, aliasOf: String?) -> Property {
        Property(name, aliasOf: aliasOf, apply: { s, v, _ throws(InvalidValue) in
            guard let buffers = HeaderBuffers(v) else {
                throw InvalidValue(ValueSyntax.invalidValue(
                    name, v, "expected a number of buffers and a buffer size of at least 512 bytes, such as 4 8k"))
            }
            s.nginxHttpLargeClientHeaderBuffers = buffers
        }, render: { .string($0.nginxHttpLargeClientHeaderBuffers.text) })
    }

    private static func time(_ name: String, _ field: WritableKeyPath<NodeSettings, NginxTime> & Sendable) -> Property {
        Property(name, apply: { s, v, _ throws(InvalidValue) in
            guard let time = NginxTime(v) else {
                throw InvalidValue(ValueSyntax.invalidValue(name, v, "expected a time such as 60s, 500ms, 5m or 1h"))
            }
            s[keyPath: field] = time
        }, render: { .string($0[keyPath: field].text) })
    }

    // MARK: - Parsers

    /// `off` (first) = none; `bundled` expands when the list is known; names are
    /// letters, digits, `-` and `_`; other `off`s are skipped and duplicates dropped.
    static func parsePlugins(_ text: String, bundled: [String]?) throws(InvalidValue) -> [String] {
        let names = ValueSyntax.list(text)
        if names.first == "off" { return [] }
        var result: [String] = []
        var messages: [String] = []
        for name in names where name != "off" {
            let valid = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
            guard valid else {
                messages.append(ValueSyntax.invalidEntry(
                    "plugins", name, "expected a plugin name, 'bundled' or 'off', separated by commas"))
                continue
            }
            let expanded = name == "bundled" ? (bundled ?? [name]) : [name]
            for plugin in expanded where !result.contains(plugin) { result.append(plugin) }
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return result
    }

    /// `off` only; `postgres` and `cassandra` get an explanation.
    static func parseDatabase(_ text: String) throws(InvalidValue) -> Database {
        if let database = Database(rawValue: text) { return database }
        if text == "postgres" || text == "cassandra" {
            throw InvalidValue(ValueSyntax.invalidValue(
                "database", text,
                "kgate is DB-less and only supports 'off'; load entities with 'declarative_config' or POST /config"))
        }
        throw InvalidValue(ValueSyntax.invalidValue("database", text, "expected one of: off"))
    }

    /// IPv4/IPv6 addresses, CIDR blocks, or `unix:`; every bad entry is reported.
    static func parseTrustedIPs(_ text: String) throws(InvalidValue) -> [String] {
        let entries = ValueSyntax.list(text)
        let messages = entries.filter { $0 != "unix:" && !ValueSyntax.isIPOrCIDR($0) }.map {
            ValueSyntax.invalidEntry(
                "trusted_ips", $0, "expected an IPv4 or IPv6 address, a CIDR block or 'unix:', separated by commas")
        }
        guard messages.isEmpty else { throw InvalidValue(messages: messages) }
        return entries
    }
}
