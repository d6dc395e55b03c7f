import KGateSchema

/// The StatsD lines of one request, as one ``LogQueue`` entry: each line preceded by its
/// length (4 bytes, big-endian), so that a line may hold any byte. statsd and datadog build
/// the lines in the log phase and send them when the queue sends the batch.
enum StatsdLines {
    /// The entry holding `lines`.
    static func pack(_ lines: [String]) -> [UInt8] {
        var entry: [UInt8] = []
        for line in lines {
            let length = UInt32(line.utf8.count)
            entry += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            entry += line.utf8
        }
        return entry
    }

    /// The lines of an entry.
    static func unpack(_ entry: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var index = 0
        while index + 4 <= entry.count {
            let length = entry[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            index += 4
            guard index + length <= entry.count else { break }
            lines.append(Array(entry[index..<index + length]))
            index += length
        }
        return lines
    }

    /// The per-request metrics statsd and datadog both send: the stat they are sent as and
    /// the request's value (`upstream_latency` is -1 when nothing was proxied, as Kong's
    /// `latencies.proxy`).
    enum PlainMetric: String, Sendable {
        case requestCount = "request_count", requestSize = "request_size", responseSize = "response_size"
        case latency, upstreamLatency = "upstream_latency", kongLatency = "kong_latency"

        /// `request.count`, `latency`, ...
        var stat: String {
            switch self {
            case .requestCount: return "request.count"
            case .requestSize: return "request.size"
            case .responseSize: return "response.size"
            case .latency, .upstreamLatency, .kongLatency: return rawValue
            }
        }

        /// The value for what the proxy served.
        func value(_ served: ServedExchange?) -> Int {
            switch self {
            case .requestCount: return 1
            case .requestSize: return served?.requestSize ?? 0
            case .responseSize: return served?.responseSize ?? 0
            case .latency: return served?.requestLatency ?? 0
            case .upstreamLatency: return served?.proxyLatency ?? -1
            case .kongLatency: return served?.kongLatency ?? 0
            }
        }
    }

    /// The type letters of `stat_type` (`statsd_logger.lua`; `distribution` is DogStatsD's).
    static let types = [
        "gauge": "g", "counter": "c", "timer": "ms", "histogram": "h", "meter": "m", "set": "s", "distribution": "d",
    ]

    /// `|@<rate>`, or nothing for a rate of 1 or none (`statsd_logger.lua`).
    static func rate(_ sampleRate: Double?) -> String {
        guard let sampleRate, sampleRate != 1 else { return "" }
        return "|@" + Value.formatNumber(sampleRate)
    }

    /// `gsub(name, "%.", "_")`: dots in a name that goes into a metric's name.
    static func undotted(_ name: String) -> String { String(name.map { $0 == "." ? "_" : $0 }) }
}
