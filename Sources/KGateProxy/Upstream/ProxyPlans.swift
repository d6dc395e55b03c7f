import KGateConfig
import KGatePlugins
import KGateRouter
import KGateSchema
import KGateSettings
import KGateStore

/// The data plane's view of one generation: the router, the plugins iterator, and for every
/// service how to reach it (balancers, DNS or fixed address, timeouts, retries, TLS). Built by
/// ``ProxyPlansBuilder`` in the inactive page, so all of it goes live with one flip.
public final class ProxyPlans: Sendable {
    /// The HTTP router.
    public let router: Router
    /// The generation's plugin phases (nil when the builder runs without plugins).
    public let plugins: PluginRunner?
    /// `plugins` when the generation has an enabled plugin: the one check a request without
    /// plugins pays.
    let activePlugins: PluginRunner?
    /// Service plans by service id.
    let services: [String: ServicePlan]
    /// The plan of each route's service, by ``RouteMatch/entryIndex`` of `router`.
    private let planByEntry: [ServicePlan?]
    /// Balancers by upstream name.
    let balancers: [String: Balancer]
    /// TLS profiles by identity (carried over to the next generation when unchanged).
    let tlsProfiles: [TLSProfile.Identity: TLSProfile]
    /// The profile of an `https` service without TLS settings: what a request a plugin
    /// switched to `https` (`kong.service.request.set_scheme`) uses.
    let defaultTLS: TLSProfile?
    /// The certificates TLS listeners present, by SNI.
    let certificates: ServerCertificates
    /// The stream routes (`tcp`, `tls`, `tls_passthrough`) and their services.
    let stream: StreamPlans

    init(
        router: Router, plugins: PluginRunner? = nil, services: [String: ServicePlan], balancers: [String: Balancer],
        tlsProfiles: [TLSProfile.Identity: TLSProfile], defaultTLS: TLSProfile? = nil,
        certificates: ServerCertificates = .empty, stream: StreamPlans = .empty
    ) {
        self.router = router
        self.stream = stream
        self.certificates = certificates
        self.plugins = plugins
        self.activePlugins = plugins?.hasPlugins == true ? plugins : nil
        self.services = services
        self.planByEntry = router.entryServiceIDs.map { $0.flatMap { services[$0] } }
        self.balancers = balancers
        self.tlsProfiles = tlsProfiles
        self.defaultTLS = defaultTLS
    }

    /// Plans for an empty config (no routes: every request gets the 404).
    static let empty = ProxyPlans(
        router: Router(routes: [], services: []), services: [:], balancers: [:], tlsProfiles: [:])

    /// The plan of a matched route's service (no look-up by id); `match` comes from `router`.
    func service(for match: RouteMatch) -> ServicePlan? {
        planByEntry.indices.contains(match.entryIndex) ? planByEntry[match.entryIndex] : nil
    }

    /// Enabled plugins configured for stream protocols that stream connections do not run
    /// (all but `ip-restriction`), sorted.
    public var streamPluginsNotRun: [String] { stream.unservedPlugins }

    /// Number of services with a plan (diagnostics).
    public var serviceCount: Int { services.count }
}

/// Builds ``ProxyPlans`` for every generation. Register it on the `ConfigStore`:
///
/// ```swift
/// let store = try ConfigStore(artifacts: [ProxyPlansBuilder(settings: settings, plugins: plugins)])
/// ```
///
/// After each flip, call `plans.plugins?.configure()` (Kong's `configure` phase).
public struct ProxyPlansBuilder: GenerationArtifactBuilder {
    /// `router_flavor`.
    public var flavor: Router.Flavor
    /// PEM bundle trusted for upstream TLS when a service has no `ca_certificates` (nil: the
    /// system store).
    public var trustedCertificatesPEM: String?
    /// Whether services whose `tls_verify` is null verify upstream certificates (nginx's
    /// `proxy_ssl_verify`, off unless set).
    public var verifiesByDefault: Bool
    /// The verify depth of services whose `tls_verify_depth` is null
    /// (`nginx_http_proxy_ssl_verify_depth`, nginx's default 1).
    public var verifyDepthByDefault = VerifyDepthLimit.nginxDefault
    /// The PEM certificate and key TLS listeners present when no SNI matches (`ssl_cert`,
    /// `ssl_cert_key`; nil: a certificate made at start-up).
    public var defaultCertificate: (certificate: String, key: String)?
    /// A `proxy_listen` address is marked `http2 ssl`: certificates get contexts whose ALPN
    /// offers `h2`.
    public var offersHTTP2 = false
    /// The TLS versions and ciphers the TLS listeners offer (`ssl_cipher_suite`...).
    public var serverTLS = ServerTLSPolicy.intermediate
    /// The PEM certificate and key upstream TLS connections and health probes present when
    /// neither the service nor the upstream has a `client_certificate` (`client_ssl`; nil: none).
    var clientCertificate: ServerCertificates.Identity?
    /// What verifying `https` probes trust (`lua_ssl_trusted_certificate`) and the chain depth
    /// they accept (`lua_ssl_verify_depth`), as Kong's cosockets.
    var probeTrust = TrustedCertificates.system
    var probeVerifyDepth = 1
    /// Builds the plugins iterator of each generation (nil: requests run no plugin).
    public var plugins: PluginsBuilder?
    /// What the env vault reads for `{vault://...}` references in certificates (the process
    /// environment unless a test gives its own).
    public var environment: [String: String] = VaultResolver.processEnvironment()

    /// Makes the builder.
    public init(
        flavor: Router.Flavor = .traditionalCompatible, trustedCertificatesPEM: String? = nil,
        verifiesByDefault: Bool = false, defaultCertificate: (certificate: String, key: String)? = nil,
        plugins: PluginsBuilder? = nil
    ) {
        self.flavor = flavor
        self.trustedCertificatesPEM = trustedCertificatesPEM
        self.verifiesByDefault = verifiesByDefault
        self.defaultCertificate = defaultCertificate
        self.plugins = plugins
    }

    /// Makes the builder from the node settings (`router_flavor`, the upstream TLS defaults
    /// `nginx_http_proxy_ssl_verify`, `_verify_depth` and `_trusted_certificate`, and the
    /// first `ssl_cert` with its `ssl_cert_key`, as Kong's `runloop/certificate.lua` serves).
    public init(settings: NodeSettings, plugins: PluginsBuilder? = nil) {
        self.init(
            flavor: Router.Flavor(rawValue: settings.routerFlavor.rawValue) ?? .traditionalCompatible,
            trustedCertificatesPEM: settings.nginxProxySSLTrustedCertificate?.pem,
            verifiesByDefault: settings.nginxProxySSLVerify,
            defaultCertificate: settings.sslCert.first.flatMap { cert in settings.sslCertKey.first.map { (cert.pem, $0.pem) } },
            plugins: plugins)
        verifyDepthByDefault = settings.nginxProxySSLVerifyDepth
        offersHTTP2 = settings.proxyListen.contains { $0.ssl && $0.http2 }
        serverTLS = settings.serverTLS
        probeTrust = settings.luaSSLTrustedCertificate
        probeVerifyDepth = settings.luaSSLVerifyDepth
        if settings.clientSSL {
            if let cert = settings.clientSSLCert.first, let key = settings.clientSSLCertKey.first {
                clientCertificate = ServerCertificates.Identity(certificate: cert.pem, key: key.pem)
            } else {
                clientCertificate = try? DefaultCertificate.identity.get()
            }
        }
    }

    /// The data plane's plans for a page.
    public func build(page: Page, previous: Generation?) throws -> ProxyPlans {
        let previousProfiles = previous?.artifact(for: ProxyPlansBuilder.self)?.tlsProfiles ?? [:]
        let serviceRows = page["services"].map { Array($0.rows.values) } ?? []
        let routeRows = page["routes"].map { Array($0.rows.values) } ?? []
        let router = Router(routeEntities: routeRows, serviceEntities: serviceRows, flavor: flavor)
        let runner = try plugins?.build(page: page, previous: previous)

        let vault = VaultResolver(vaults: page["vaults"].map { Array($0.rows.values) } ?? [], environment: environment)
        /// An upstream's health-check settings with the client certificate its probes present:
        /// its own `client_certificate`, else `client_ssl`'s (Kong's `create_healthchecker`).
        func probeSettings(upstream row: Object) throws -> HealthcheckSettings {
            var settings = HealthcheckSettings(upstream: row)
            settings.probe.clientCertificate =
                try Self.certificate(namedBy: row, page: page, vault: vault) ?? clientCertificate
            settings.probe.trust = probeTrust
            settings.probe.verifyDepth = probeVerifyDepth
            return settings
        }
        var balancers: [String: Balancer] = [:]
        var upstreamsByName: [String: Object] = [:]
        let previousBalancers = previous?.artifact(for: ProxyPlansBuilder.self)?.balancers ?? [:]
        if let upstreams = page["upstreams"] {
            let targets = page["targets"]
            for (id, row) in upstreams.rows {
                guard let name = row["name"]?.stringValue else { continue }
                upstreamsByName[name] = row
                let rows = targets?.rows(referencing: id, via: "upstream") ?? []
                let parsed = rows.compactMap { t -> BalancerTarget? in
                    guard let target = t["target"]?.stringValue else { return nil }
                    return BalancerTarget(target: target, weight: t["weight"]?.integerValue ?? 100)
                }
                balancers[name] = Balancer(
                    id: id, name: name, hostHeader: row["host_header"]?.stringValue, targets: parsed,
                    algorithm: row["algorithm"]?.stringValue.flatMap(BalancerAlgorithm.init(rawValue:)) ?? .roundRobin,
                    slots: row["slots"]?.integerValue ?? 10000, hashing: HashSource.Pair(upstream: row),
                    healthchecks: try probeSettings(upstream: row), previous: previousBalancers[name])
            }
        }

        var profiles: [TLSProfile.Identity: TLSProfile] = [:]
        var tlsError: (any Error)?
        func profile(for service: Object) -> TLSProfile? {
            let upstream = service["host"]?.stringValue.flatMap { upstreamsByName[$0] }
            let identity: TLSProfile.Identity
            do {
                identity = try Self.tlsIdentity(
                    service, upstream: upstream, page: page, verifyByDefault: verifiesByDefault,
                    verifyDepthByDefault: verifyDepthByDefault, clientCertificate: clientCertificate, vault: vault)
            } catch {
                tlsError = error
                return nil
            }
            if let existing = profiles[identity] ?? previousProfiles[identity] {
                profiles[identity] = existing
                return existing
            }
            do {
                let made = try TLSProfile(identity: identity, defaultTrustPEM: trustedCertificatesPEM)
                profiles[identity] = made
                return made
            } catch {
                tlsError = error
                return nil
            }
        }

        var services: [String: ServicePlan] = [:]
        for row in serviceRows {
            let plan = ServicePlan(entity: row, balancers: balancers, tls: profile(for:))
            services[plan.id] = plan
        }
        let defaultTLS = profile(for: ["protocol": .string("https")])
        if let tlsError { throw tlsError }
        let certificates = try ServerCertificates(
            page: page, vault: vault, previous: previous?.artifact(for: ProxyPlansBuilder.self)?.certificates,
            defaultCertificate: defaultCertificate.map { .init(certificate: $0.certificate, key: $0.key) },
            offersHTTP2: offersHTTP2, policy: serverTLS)
        let stream = StreamPlans(
            router: Router(routeEntities: routeRows, serviceEntities: serviceRows, flavor: flavor, subsystem: .stream),
            services: services, plugins: page["plugins"].map { Array($0.rows.values) } ?? [],
            logging: runner?.streamPluginNames ?? [])
        return ProxyPlans(
            router: router, plugins: runner, services: services, balancers: balancers, tlsProfiles: profiles,
            defaultTLS: defaultTLS, certificates: certificates, stream: stream)
    }

    /// The TLS settings of a service; `upstream` is the upstream its host names, if any, whose
    /// `client_certificate` serves when the service has none (Kong's
    /// `fallback_upstream_client_cert`), and `clientCertificate` (`client_ssl`) when neither
    /// has one; `verifyByDefault` stands for a null `tls_verify`. The client certificate's
    /// `{vault://...}` references are resolved with `vault`.
    static func tlsIdentity(
        _ service: Object, upstream: Object?, page: Page, verifyByDefault: Bool,
        verifyDepthByDefault: Int, clientCertificate: ServerCertificates.Identity? = nil, vault: VaultResolver
    ) throws -> TLSProfile.Identity {
        var cas: [String] = []
        for id in service["ca_certificates"]?.sequenceElements ?? [] {
            if let id = id.stringValue, let pem = page.entity("ca_certificates", id: id)?["cert"]?.stringValue {
                cas.append(pem)
            }
        }
        let client =
            try certificate(namedBy: service, page: page, vault: vault)
            ?? upstream.flatMap { try certificate(namedBy: $0, page: page, vault: vault) } ?? clientCertificate
        return TLSProfile.Identity(
            verify: service["tls_verify"]?.boolValue ?? verifyByDefault, verifyDepth: service["tls_verify_depth"]?.integerValue ?? verifyDepthByDefault,
            caCertificates: cas, client: client, http2: service["protocol"]?.stringValue == "grpcs")
    }

    /// The certificate an entity's `client_certificate` names, its `{vault://...}` references
    /// resolved with `vault`; nil when it names none.
    static func certificate(namedBy row: Object, page: Page, vault: VaultResolver) throws -> ServerCertificates.Identity? {
        guard let id = EntityTable.keyString(row["client_certificate"]), let certificate = page.entity("certificates", id: id)
        else { return nil }
        return try ServerCertificates.identity(ofCertificate: certificate, id: id, vault: vault)
    }
}
