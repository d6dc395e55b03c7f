import KGateSchema
import KGateSettings

/// An upstream's `healthchecks` record, read once per config load.
///
/// Field names and defaults are Kong's (`kong/db/schema/entities/upstreams.lua`); the schema
/// filled the defaults in, the fallbacks here only cover rows built by hand in tests.
struct HealthcheckSettings: Sendable, Equatable {
    /// One side's thresholds (`healthy` or `unhealthy`) of the active or passive checks.
    struct Thresholds: Sendable, Equatable {
        /// Seconds between active probes of targets in this state (0: none).
        var interval: Double = 0
        var httpStatuses: Set<Int> = []
        /// Successes that make an unhealthy target healthy (0: never counted).
        var successes = 0
        var httpFailures = 0
        var tcpFailures = 0
        var timeouts = 0
    }

    /// The active or passive half.
    struct Checks: Sendable, Equatable {
        var type = "http"
        var healthy = Thresholds()
        var unhealthy = Thresholds()
    }

    /// What an active probe sends and expects.
    struct Probe: Sendable, Equatable {
        var timeout: Double = 1
        var concurrency = 10
        var httpPath = "/"
        var httpsSNI: String?
        var httpsVerifyCertificate = true
        /// `headers`: name and values, sent in the probe's request.
        var headers: [(name: String, values: [String])] = []
        /// PEM certificate and key an `https` probe presents (the upstream's
        /// `client_certificate`, else `client_ssl`'s; nil: none).
        var clientCertificate: ServerCertificates.Identity?
        /// The CAs a verifying `https` probe trusts (`lua_ssl_trusted_certificate`), and how
        /// many intermediate CAs the chain may hold (`lua_ssl_verify_depth`).
        var trust = TrustedCertificates.system
        var verifyDepth = 1

        static func == (a: Probe, b: Probe) -> Bool {
            a.timeout == b.timeout && a.concurrency == b.concurrency && a.httpPath == b.httpPath
                && a.httpsSNI == b.httpsSNI && a.httpsVerifyCertificate == b.httpsVerifyCertificate
                && a.headers.elementsEqual(b.headers) { $0.name == $1.name && $0.values == $1.values }
                && a.clientCertificate == b.clientCertificate && a.trust == b.trust && a.verifyDepth == b.verifyDepth
        }
    }

    var active = Checks()
    var passive = Checks()
    var probe = Probe()
    /// The percentage of weight that must be healthy for the upstream to be (Kong's
    /// `healthchecks.threshold`).
    var threshold: Double = 0

    /// Kong's `is_upstream_using_healthcheck`: an active interval, or a passive failure
    /// counter, is set. Without one, targets report `HEALTHCHECKS_OFF` and are never marked.
    var isEnabled: Bool {
        active.healthy.interval != 0 || active.unhealthy.interval != 0 || passive.unhealthy.tcpFailures != 0
            || passive.unhealthy.timeouts != 0 || passive.unhealthy.httpFailures != 0
    }

    /// Whether probes run: an interval is set. Kong runs a `tcp` check in its stream subsystem
    /// and the others in its HTTP one, each with balancers of its own; kgate's balancers serve
    /// both, so every type runs (a `tcp` probe only connects).
    var probes: Bool {
        active.healthy.interval > 0 || active.unhealthy.interval > 0
    }

    init() {}

    /// Reads `row["healthchecks"]`; a missing record gives Kong's defaults with no check on.
    init(upstream row: Object) {
        guard let record = row["healthchecks"]?.objectValue else { return }
        threshold = record["threshold"]?.doubleValue ?? 0
        if let active = record["active"]?.objectValue {
            self.active = Self.checks(active)
            probe.timeout = active["timeout"]?.doubleValue ?? probe.timeout
            probe.concurrency = max(1, active["concurrency"]?.integerValue ?? probe.concurrency)
            probe.httpPath = active["http_path"]?.stringValue ?? probe.httpPath
            probe.httpsSNI = active["https_sni"]?.stringValue
            probe.httpsVerifyCertificate = active["https_verify_certificate"]?.boolValue ?? true
            if let headers = active["headers"]?.objectValue {
                probe.headers = headers.map { name, value in
                    (name, (value.sequenceElements ?? [value]).compactMap(\.stringValue))
                }
            }
        }
        if let passive = record["passive"]?.objectValue {
            self.passive = Self.checks(passive)
        }
    }

    private static func checks(_ object: Object) -> Checks {
        var checks = Checks()
        checks.type = object["type"]?.stringValue ?? "http"
        checks.healthy = thresholds(object["healthy"]?.objectValue)
        checks.unhealthy = thresholds(object["unhealthy"]?.objectValue)
        return checks
    }

    private static func thresholds(_ object: Object?) -> Thresholds {
        guard let object else { return Thresholds() }
        var t = Thresholds()
        t.interval = object["interval"]?.doubleValue ?? 0
        t.httpStatuses = Set((object["http_statuses"]?.sequenceElements ?? []).compactMap(\.integerValue))
        t.successes = object["successes"]?.integerValue ?? 0
        t.httpFailures = object["http_failures"]?.integerValue ?? 0
        t.tcpFailures = object["tcp_failures"]?.integerValue ?? 0
        t.timeouts = object["timeouts"]?.integerValue ?? 0
        return t
    }
}
