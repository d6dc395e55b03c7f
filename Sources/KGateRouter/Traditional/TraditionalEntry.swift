import KGateRegex
import KGateSchema

/// The match rule bits of the traditional router (`MATCH_RULES`).
enum MatchRule {
    static let host: UInt8 = 0x40
    static let header: UInt8 = 0x20
    static let uri: UInt8 = 0x10
    static let method: UInt8 = 0x08
    static let sni: UInt8 = 0x04
    static let src: UInt8 = 0x02
    static let dst: UInt8 = 0x01
}

/// One entry of the traditional router (`marshall_route`): a route, split per path.
final class TraditionalEntry: Sendable {
    enum URI: Sendable {
        case prefix(value: String, bytes: [UInt8])
        /// `(*LIMIT_MATCH=10000)<regex>(?<uri_postfix>.*)`, anchored.
        case regex(value: String, regex: PCRERegex, literal: [UInt8])

        var value: String {
            switch self {
            case .prefix(let v, _), .regex(let v, _, _): return v
            }
        }
    }

    struct Header: Sendable {
        /// Lower-cased name (Kong's key for it).
        let name: String
        let folded: [UInt8]
        let values: [[UInt8]]
        /// The regex of a single `~*` value (not lower-cased, run on the lower-cased value).
        let pattern: PCRERegex?
    }

    struct Net: Sendable {
        let ip: String?
        let address: IPAddress?
        let range: CIDR?
        let port: Int?

        init(_ e: NetworkEndpoint) {
            ip = e.ip
            address = e.ip.flatMap(IPAddress.init)
            range = (e.ip?.contains("/") ?? false) ? e.ip.flatMap(CIDR.init) : nil
            port = e.port
        }

        /// `matcher_src_dst` for one entry.
        func matches(ip: IPAddress?, port: Int?) -> Bool {
            if self.ip != nil {
                if let range {
                    guard let ip, range.contains(ip) else { return false }
                } else {
                    guard let ip, let address, address == ip else { return false }
                }
            }
            if let p = self.port, p != port { return false }
            return true
        }
    }

    let entry: Int
    /// Build order (route, then path), the final tie-breaker.
    let order: Int
    let matchRules: UInt8
    let weight: Int
    let submatch: UInt8
    let maxURILength: Int
    let plainHosts: [[UInt8]]
    let plainHostValues: [String]
    let wildcards: [WildcardHost]
    let headers: [Header]
    let uri: URI?
    let methods: [[UInt8]]
    let snis: [[UInt8]]
    let sources: [Net]
    let destinations: [Net]
    let regexPriority: Int
    let createdAt: Double?

    /// `marshall_route` for `route` with at most one of its paths; throws the message Kong
    /// gives (`could not categorize route`) or a regex compile error.
    init(entry: Int, order: Int, route: RouteDefinition, path: String?) throws(RouterBuildError) {
        if route.hosts == nil, route.headers == nil, route.methods == nil, route.paths == nil, route.snis == nil,
            route.sources == nil, route.destinations == nil
        {
            throw RouterBuildError("could not categorize route")
        }
        self.entry = entry
        self.order = order
        var rules: UInt8 = 0
        var weight = 0
        var submatch: UInt8 = 0
        var plain: [String] = []
        var wildcards: [WildcardHost] = []
        if let hosts = route.hosts {
            var wildcardPort = false
            for h in hosts {
                if h.contains("*") {
                    let w = WildcardHost(h)
                    if w.hasPort { wildcardPort = true }
                    wildcards.append(w)
                } else {
                    plain.append(h)
                }
            }
            if !hosts.isEmpty {
                rules |= MatchRule.host
                weight += 1
            }
            if wildcards.isEmpty { submatch |= 0x02 }
            if wildcardPort { submatch |= 0x04 }
        }
        plainHostValues = plain
        plainHosts = plain.map { Array($0.utf8) }
        self.wildcards = wildcards
        var headers: [Header] = []
        for rule in route.headers ?? [] {
            let name = String(decoding: rule.name.utf8.map(Bytes.lower), as: UTF8.self)
            if name == "host" { continue }
            var pattern: PCRERegex?
            if rule.values.count == 1, rule.values[0].hasPrefix("~*") {
                do {
                    pattern = try PCRERegex(String(rule.values[0].dropFirst(2)))
                } catch {
                    throw RouterBuildError("invalid header regex \(rule.values[0]): \(error)")
                }
            }
            headers.append(
                Header(
                    name: name, folded: rule.name.utf8.map(ByteTable.fold),
                    values: rule.values.map { $0.utf8.map(Bytes.lower) },
                    pattern: pattern))
        }
        self.headers = headers
        if !headers.isEmpty {
            rules |= MatchRule.header
            weight += 1
        }
        var maxLength = 0
        if let path {
            rules |= MatchRule.uri
            weight += 1
            if path.hasPrefix("~") {
                let value = String(path.dropFirst())
                do {
                    let regex = try PCRERegex("(*LIMIT_MATCH=10000)" + value + "(?<uri_postfix>.*)", options: .anchored)
                    uri = .regex(value: value, regex: regex, literal: RegexLiteral.prefix(value))
                } catch {
                    throw RouterBuildError("invalid regex path \(path): \(error)")
                }
                submatch |= 0x01
            } else {
                uri = .prefix(value: path, bytes: Array(path.utf8))
                maxLength = path.utf8.count
            }
        } else {
            uri = nil
        }
        maxURILength = maxLength
        methods = (route.methods ?? []).map { Array($0.uppercased().utf8) }
        if !methods.isEmpty {
            rules |= MatchRule.method
            weight += 1
        }
        snis = (route.snis ?? []).map { s in
            var b = Array(s.utf8)
            if b.count > 1, b.last == 0x2E { b.removeLast() }
            return b
        }
        if !snis.isEmpty {
            rules |= MatchRule.sni
            weight += 1
        }
        sources = (route.sources ?? []).map(Net.init)
        if !sources.isEmpty {
            rules |= MatchRule.src
            weight += 1
        }
        destinations = (route.destinations ?? []).map(Net.init)
        if !destinations.isEmpty {
            rules |= MatchRule.dst
            weight += 1
        }
        matchRules = rules
        self.weight = weight
        self.submatch = submatch
        regexPriority = route.regexPriority
        createdAt = route.createdAt
    }

    /// `sort_routes`, then build order.
    static func precedes(_ a: TraditionalEntry, _ b: TraditionalEntry) -> Bool {
        if a.submatch != b.submatch { return a.submatch > b.submatch }
        if a.headers.count != b.headers.count { return a.headers.count > b.headers.count }
        if a.submatch & 0x01 != 0, a.regexPriority != b.regexPriority { return a.regexPriority > b.regexPriority }
        if a.maxURILength != b.maxURILength { return a.maxURILength > b.maxURILength }
        if let ca = a.createdAt, let cb = b.createdAt, ca != cb { return ca < cb }
        return a.order < b.order
    }

    /// Where ``CandidateIndex`` files this entry.
    var indexKeys: CandidateIndex.Keys {
        var keys = CandidateIndex.Keys()
        keys.hosts = plainHosts
        keys.wildcards = wildcards.map(\.anchors)
        switch uri {
        case .prefix(_, let bytes): keys.paths = [bytes]
        case .regex(_, _, let literal): keys.paths = [literal]
        case nil: break
        }
        return keys
    }
}

/// Why a route could not be added to a router.
struct RouterBuildError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
