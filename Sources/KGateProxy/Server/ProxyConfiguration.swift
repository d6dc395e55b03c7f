import KGatePlugins
import KGateSettings
import NIOCore

/// Everything the data plane needs from the node settings, resolved once at start-up.
///
/// `init(settings:)` maps `NodeSettings` (kong.conf, with Kong's `nginx_*` spellings of the
/// nginx directives kgate honours); only the graceful shutdown deadline is fixed here (tests
/// set fields directly).
public struct ProxyConfiguration: Sendable {
    /// `proxy_listen`: every address is bound (ssl entries are skipped until TLS listeners land).
    public var listen: [ListenAddress]
    /// `stream_listen`: TCP listeners proxied by the stream routes (`udp` entries are skipped).
    public var streamListen: [ListenAddress] = []
    /// Event loops (`nginx_worker_processes`, resolved).
    public var eventLoops: Int
    /// The `Server` / `Via` token, `kong/<version>`.
    public var serverToken: String
    /// Response headers turned on by `headers`.
    public var responseHeaders: ResponseHeaders
    /// `headers_upstream` contains `X-Kong-Request-Id`.
    public var requestIDUpstream: Bool
    /// `trusted_ips`.
    public var trustedIPs: TrustedIPs
    /// `dns_hostsfile`, read when the configuration is made (only `localhost` by default).
    var hosts = HostsFile()
    /// `dns_resolver` (empty: the system resolver) and the record types of `dns_order`.
    var nameservers: [SocketAddress] = []
    var dnsOrder: [DNSMessage.RecordType] = [.srv, .a]
    /// `dns_valid_ttl`, `dns_stale_ttl`, `dns_not_found_ttl`, `dns_error_ttl`.
    var dnsTTLs = DNSTTLs()
    /// `real_ip_header` (`X-Real-IP`), or `proxy_protocol`: the address of the PROXY protocol
    /// header of `proxy_protocol` listeners.
    public var realIPHeader: String
    /// `real_ip_recursive`.
    public var realIPRecursive: Bool
    /// `error_default_type`.
    public var errorDefaultType: ErrorDefaultType
    /// `error_template_html`, `_json`, `_xml` and `_plain`, read at start-up.
    public var errorTemplates: ErrorTemplates
    /// `nginx_http_charset`: the charset nginx adds to text responses without one; nil for `off`.
    public var charset: String?
    /// `nginx_http_add_header`, `nginx_proxy_add_header` and `nginx_location_add_header`.
    public var addedHeaders: AddedResponseHeaders
    /// The gzip and brotli directives in force in `location /`; nil when compression is off.
    var compression: ResponseCompression?
    /// `allow_debug_header`: a request with a `Kong-Debug` header gets the `Kong-Route-*` and
    /// `Kong-Service-*` response headers.
    public var allowDebugHeader: Bool
    /// `tracing_instrumentations` and `tracing_sampling_rate`: nil when tracing is off.
    public var tracer: TracerSettings?
    /// `port_maps`: the port clients reach for each port kgate listens on (kong port → host
    /// port), sent as `X-Forwarded-Port`. Empty without port forwarding.
    public var hostPorts: [Int: Int]
    /// `upstream_keepalive_pool_size`: idle connections kept per event loop and peer; 0 disables.
    public var upstreamKeepalivePoolSize: Int
    /// `upstream_keepalive_max_requests`: requests per upstream connection; 0 = unlimited.
    public var upstreamKeepaliveMaxRequests: Int
    /// `upstream_keepalive_idle_timeout`: idle time before an upstream connection is closed; nil = never.
    public var upstreamKeepaliveIdleTimeout: TimeAmount?
    /// `nginx_http_client_max_body_size` (Kong: 0 = unlimited).
    public var clientMaxBodySize: Int
    /// `nginx_http_client_body_buffer_size`: the largest request body plugins can read.
    public var clientBodyBufferSize: Int
    /// Where buffered request bodies larger than `clientBodyBufferSize` are kept (nginx's
    /// `client_body_temp` in the prefix).
    public var clientBodyTempPath: String
    /// `nginx_proxy_proxy_buffer_size`: the largest upstream response head.
    public var upstreamResponseHeadLimit: Int
    /// nginx `client_header_timeout` (60 s): the whole request head must arrive in this time.
    public var clientHeaderTimeout: TimeAmount
    /// nginx `client_body_timeout` (60 s): the longest pause between two body reads.
    public var clientBodyTimeout: TimeAmount
    /// nginx `keepalive_timeout` (75 s): how long an idle client connection is kept.
    public var keepaliveTimeout: TimeAmount
    /// `nginx_http_keepalive_requests` (10000): requests per client connection.
    public var keepaliveRequests: Int
    /// `large_client_header_buffers` size (8k): the longest request line (else 414) and the
    /// longest header line (else 400).
    public var largeHeaderBufferSize: Int
    /// `large_client_header_buffers` count (4): how many of them a request head may fill.
    public var largeHeaderBufferCount: Int
    /// `client_header_buffer_size` (1k): the buffer a request head is read into first.
    public var clientHeaderBufferSize: Int
    /// How long a graceful shutdown waits for in-flight requests before closing them.
    public var shutdownGracePeriod: TimeAmount

    /// Builds the configuration from the node settings, with nginx defaults for the rest.
    ///
    /// - Parameters:
    ///   - settings: the node settings.
    ///   - coreCount: used to resolve `nginx_worker_processes = auto`.
    ///   - serverToken: `kong/<version>` as `Server` and `Via` carry it.
    public init(settings: NodeSettings, coreCount: Int = System.coreCount, serverToken: String = "kong/3.10.0") {
        self.listen = settings.proxyListen
        self.streamListen = settings.streamListen
        self.eventLoops = settings.workerProcesses.resolved(coreCount: coreCount)
        self.serverToken = serverToken
        self.responseHeaders = ResponseHeaders(settings.enabledHeaders)
        self.requestIDUpstream = settings.sendsRequestIDUpstream
        self.trustedIPs = TrustedIPs(settings.trustedIPs)
        self.hosts = HostsFile(path: settings.dnsHostsfile)
        self.nameservers = settings.dnsResolver.compactMap { try? SocketAddress(ipAddress: $0.ip, port: $0.port) }
        // LAST and CNAME ask nothing of their own: recursive nameservers follow CNAMEs.
        let order = settings.dnsOrder.compactMap { type -> DNSMessage.RecordType? in
            switch type {
            case .srv: return .srv
            case .a: return .a
            case .aaaa: return .aaaa
            case .last, .cname: return nil
            }
        }
        self.dnsOrder = order.isEmpty ? [.a] : order
        self.dnsTTLs = DNSTTLs(
            valid: settings.dnsValidTTL.map { .seconds(Int64($0)) }, stale: .seconds(Int64(settings.dnsStaleTTL)),
            notFound: .seconds(Int64(settings.dnsNotFoundTTL)), error: .seconds(Int64(settings.dnsErrorTTL)))
        self.realIPHeader = settings.realIPHeader
        self.realIPRecursive = settings.realIPRecursive
        self.errorDefaultType = settings.errorDefaultType
        self.errorTemplates = ErrorTemplates(
            html: settings.errorTemplateHTML, json: settings.errorTemplateJSON, xml: settings.errorTemplateXML,
            plain: settings.errorTemplatePlain)
        self.allowDebugHeader = settings.allowDebugHeader
        let tracer = TracerSettings(
            instrumentations: TracingInstrumentations(names: settings.tracingInstrumentations),
            samplingRate: settings.tracingSamplingRate)
        self.tracer = tracer.isEnabled ? tracer : nil
        self.charset = settings.nginxHttpCharset
        self.addedHeaders = AddedResponseHeaders(
            http: settings.nginxHttpAddHeader, proxy: settings.nginxProxyAddHeader,
            location: settings.nginxLocationAddHeader)
        self.compression = ResponseCompression(
            http: settings.nginxHttpCompression, proxy: settings.nginxProxyCompression,
            location: settings.nginxLocationCompression)
        // A later entry for the same kong port wins, as in Kong's `host_ports` table.
        self.hostPorts = Dictionary(settings.portMaps.map { ($0.kongPort, $0.hostPort) }, uniquingKeysWith: { $1 })
        self.upstreamKeepalivePoolSize = settings.upstreamKeepalivePoolSize
        self.upstreamKeepaliveMaxRequests = settings.upstreamKeepaliveMaxRequests
        let idle = settings.upstreamKeepaliveIdleTimeout
        self.upstreamKeepaliveIdleTimeout = idle > 0 ? .seconds(Int64(idle)) : nil
        self.clientMaxBodySize = settings.nginxHttpClientMaxBodySize.bytes
        self.clientBodyBufferSize = settings.nginxHttpClientBodyBufferSize.bytes
        self.clientBodyTempPath = settings.prefix + "/client_body_temp"
        self.upstreamResponseHeadLimit = max(1024, settings.nginxProxyProxyBufferSize.bytes)
        self.clientHeaderTimeout = .milliseconds(Int64(settings.nginxHttpClientHeaderTimeout.milliseconds))
        self.clientBodyTimeout = .milliseconds(Int64(settings.nginxHttpClientBodyTimeout.milliseconds))
        self.keepaliveTimeout = .milliseconds(Int64(settings.nginxHttpKeepaliveTimeout.milliseconds))
        self.keepaliveRequests = settings.nginxHttpKeepaliveRequests
        self.largeHeaderBufferSize = settings.nginxHttpLargeClientHeaderBuffers.size
        self.largeHeaderBufferCount = settings.nginxHttpLargeClientHeaderBuffers.count
        self.clientHeaderBufferSize = settings.nginxHttpClientHeaderBufferSize.bytes
        self.shutdownGracePeriod = .seconds(10)
    }
}

extension ProxyConfiguration {
    /// The port a client reached for the listener port `port` (Kong's `ctx.host_port`:
    /// `host_ports[server_port] or server_port`).
    @inline(__always)
    func hostPort(for port: Int) -> Int {
        hostPorts.isEmpty ? port : hostPorts[port] ?? port
    }
}

/// The downstream headers `headers` turns on (`server_tokens` and `latency_tokens` expanded).
public struct ResponseHeaders: OptionSet, Sendable, Hashable {
    /// The raw value.
    public let rawValue: UInt16
    /// Makes a set from its raw value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `Server`.
    public static let server = ResponseHeaders(rawValue: 1 << 0)
    /// `Via`.
    public static let via = ResponseHeaders(rawValue: 1 << 1)
    /// `X-Kong-Proxy-Latency`.
    public static let proxyLatency = ResponseHeaders(rawValue: 1 << 2)
    /// `X-Kong-Response-Latency`.
    public static let responseLatency = ResponseHeaders(rawValue: 1 << 3)
    /// `X-Kong-Upstream-Latency`.
    public static let upstreamLatency = ResponseHeaders(rawValue: 1 << 4)
    /// `X-Kong-Upstream-Status`.
    public static let upstreamStatus = ResponseHeaders(rawValue: 1 << 5)
    /// `X-Kong-Request-Id`.
    public static let requestID = ResponseHeaders(rawValue: 1 << 6)

    /// Kong's default: `server_tokens, latency_tokens, X-Kong-Request-Id`.
    public static let kongDefault: ResponseHeaders = [
        .server, .via, .proxyLatency, .responseLatency, .upstreamLatency, .requestID,
    ]

    /// From header names in Kong's spelling (`NodeSettings.enabledHeaders`).
    public init(_ names: Set<String>) {
        var set: ResponseHeaders = []
        for name in names {
            switch name.lowercased() {
            case "server": set.insert(.server)
            case "via": set.insert(.via)
            case "x-kong-proxy-latency": set.insert(.proxyLatency)
            case "x-kong-response-latency": set.insert(.responseLatency)
            case "x-kong-upstream-latency": set.insert(.upstreamLatency)
            case "x-kong-upstream-status": set.insert(.upstreamStatus)
            case "x-kong-request-id": set.insert(.requestID)
            default: break
            }
        }
        self = set
    }
}
