#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization

/// The request metrics of Kong's `prometheus` plugin (`kong/plugins/prometheus/exporter.lua`):
/// `http_requests_total`, `bandwidth_bytes` and the `kong_latency_ms`, `upstream_latency_ms` and
/// `request_latency_ms` histograms, per service, route, workspace (and code, source, consumer).
///
/// Kong counts in per-worker counters that a timer adds into a shared dict; kgate counts in
/// shards, one per event loop thread in practice, each behind its own lock, which only a scrape
/// contends for. A scrape (``snapshot()``) adds the shards up. Series live as long as the node,
/// as Kong's shared dict keys do.
public final class PrometheusMetrics: Sendable {
    /// The labels every series has: `service`, `route`, `workspace`.
    public struct RouteLabels: Hashable, Sendable {
        /// The service's name, or its host; empty without a service.
        public var service: String
        /// The route's name, or its id.
        public var route: String
        /// The workspace's name.
        public var workspace: String

        public init(service: String, route: String, workspace: String) {
            self.service = service
            self.route = route
            self.workspace = workspace
        }
    }

    /// `http_requests_total`'s labels.
    public struct StatusLabels: Hashable, Sendable {
        public var route: RouteLabels
        public var code: Int
        /// `service` when the upstream answered, `kong` otherwise.
        public var source: String
        /// The consumer's username with `per_consumer`, else empty.
        public var consumer: String
    }

    /// `bandwidth_bytes`'s labels.
    public struct BandwidthLabels: Hashable, Sendable {
        public var route: RouteLabels
        /// `ingress` (the request's bytes) or `egress` (the response's).
        public var direction: String
        public var consumer: String
    }

    /// The latency histograms.
    public enum Latency: Int, Sendable, CaseIterable {
        /// `kong_latency_ms`: Kong's own time.
        case kong
        /// `upstream_latency_ms`: waiting for the upstream.
        case upstream
        /// `request_latency_ms`: the whole request.
        case request
        /// `session_duration_ms`: a whole stream session.
        case session

        /// The metric's name.
        public var name: String {
            switch self {
            case .kong: return "kong_latency_ms"
            case .upstream: return "upstream_latency_ms"
            case .request: return "request_latency_ms"
            case .session: return "session_duration_ms"
            }
        }

        /// Kong's bucket bounds (ms): `KONG_LATENCY_BUCKETS` and `UPSTREAM_LATENCY_BUCKETS`.
        public var buckets: [Int] { self == .kong ? Self.kongBuckets : Self.upstreamBuckets }

        private static let kongBuckets = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]
        private static let upstreamBuckets = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]
    }

    /// A histogram's key: which one, and its labels.
    public struct HistogramKey: Hashable, Sendable {
        public var latency: Latency
        public var route: RouteLabels
    }

    /// Observations of one histogram series.
    public struct Histogram: Sendable, Equatable {
        /// Observations per bucket, not cumulative: `counts[i]` holds those in
        /// `(bounds[i-1], bounds[i]]`, the last entry those above every bound.
        public var counts: [Int]
        /// `_count`.
        public var count = 0
        /// `_sum`.
        public var sum = 0

        init(bucketCount: Int) { counts = Array(repeating: 0, count: bucketCount + 1) }

        mutating func observe(_ value: Int, bounds: [Int]) {
            count += 1
            sum += value
            counts[bounds.firstIndex { value <= $0 } ?? bounds.count] += 1
        }

        mutating func add(_ other: Histogram) {
            count += other.count
            sum += other.sum
            for i in counts.indices { counts[i] += other.counts[i] }
        }
    }

    /// Every series' values.
    public struct Series: Sendable, Equatable {
        public var requests: [StatusLabels: Int] = [:]
        public var bandwidth: [BandwidthLabels: Int] = [:]
        public var histograms: [HistogramKey: Histogram] = [:]

        public init() {}

        mutating func add(_ other: Series) {
            requests.merge(other.requests, uniquingKeysWith: +)
            bandwidth.merge(other.bandwidth, uniquingKeysWith: +)
            for (key, histogram) in other.histograms {
                histograms[key, default: Histogram(bucketCount: key.latency.buckets.count)].add(histogram)
            }
        }
    }

    /// What the log phase reports about one request; nil fields are not counted.
    public struct Observation: Sendable {
        public var route: RouteLabels
        public var consumer = ""
        /// `status_code_metrics`: the status and whether the upstream answered.
        public var status: (code: Int, fromService: Bool)?
        /// `bandwidth_metrics`: request and response bytes.
        public var ingress: Int?
        public var egress: Int?
        /// `latency_metrics`, ms (nil: not observed); negative values are not observed either.
        public var kongLatency: Int?
        public var upstreamLatency: Int?
        public var requestLatency: Int?
        public var sessionLatency: Int?

        /// The value of one histogram.
        func latency(_ latency: Latency) -> Int? {
            switch latency {
            case .kong: return kongLatency
            case .upstream: return upstreamLatency
            case .request: return requestLatency
            case .session: return sessionLatency
            }
        }

        public init(route: RouteLabels) { self.route = route }
    }

    /// A shard's lock, boxed so that shards sit apart in memory.
    final class Shard: Sendable {
        let series = Mutex(Series())
    }

    private let shards: [Shard]
    private static let shardCount = 16

    public init() {
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    /// Counts one request, in the calling thread's shard.
    public func record(_ observation: Observation) {
        shards[Self.threadShard()].series.withLock { series in
            if let (code, fromService) = observation.status {
                let labels = StatusLabels(
                    route: observation.route, code: code, source: fromService ? "service" : "kong",
                    consumer: observation.consumer)
                series.requests[labels, default: 0] += 1
            }
            func count(_ bytes: Int?, _ direction: String) {
                guard let bytes, bytes > 0 else { return }
                let labels = BandwidthLabels(route: observation.route, direction: direction, consumer: observation.consumer)
                series.bandwidth[labels, default: 0] += bytes
            }
            count(observation.ingress, "ingress")
            count(observation.egress, "egress")
            for latency in Latency.allCases {
                guard let value = observation.latency(latency), value >= 0 else { continue }
                let bounds = latency.buckets
                series.histograms[
                    HistogramKey(latency: latency, route: observation.route), default: Histogram(bucketCount: bounds.count)
                ].observe(value, bounds: bounds)
            }
        }
    }

    /// Every shard added up.
    public func snapshot() -> Series {
        var total = Series()
        for shard in shards {
            let series = shard.series.withLock { $0 }
            total.add(series)
        }
        return total
    }

    /// The calling thread's shard: event loop threads keep theirs, so they rarely share a lock.
    private static func threadShard() -> Int {
        #if canImport(Darwin)
            let id = UInt64(UInt(bitPattern: pthread_self()))
        #else
            let id = UInt64(pthread_self())
        #endif
        return Int((id &* 0x9E37_79B9_7F4A_7C15) >> 60) % shardCount
    }
}
