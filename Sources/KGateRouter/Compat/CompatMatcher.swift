import KGateRegex
import KGateSchema

/// One ATC matcher of the `traditional_compatible` flavor: a route (or one path group of a
/// split route) compiled to the predicates of the expression `transform.lua` would generate,
/// with its 64-bit priority and its UUID.
final class CompatMatcher: Sendable {
    /// Index of the route in the router's entries.
    let entry: Int
    /// The matcher id: the route id, or `uuid_v5(ns, "<id>#<group>")` for a split route.
    let uuid: UInt128
    let priority: UInt64
    let stream: Bool
    let stripPath: Bool
    let snis: [CompatSNI]
    let sources: [NetRule]
    let destinations: [NetRule]
    let methods: [[UInt8]]
    let hosts: [CompatHost]
    /// The path group: prefixes (all of one length) or regexes.
    let prefixes: [[UInt8]]
    let regexes: [PathRegex]
    let headers: [CompatHeader]

    /// Compiles `route` restricted to `paths` (one group). Throws for a regex that does not
    /// compile, as Kong then leaves the route out of the router.
    init(
        entry: Int, route: RouteDefinition, paths: [String], uuid: UInt128, stream: Bool, luajit: Bool
    ) throws(PCREError) {
        self.entry = entry
        self.uuid = uuid
        self.stream = stream
        stripPath = route.stripPath
        snis = (route.snis ?? []).map(CompatSNI.init)
        sources = (route.sources ?? []).map(NetRule.init)
        destinations = (route.destinations ?? []).map(NetRule.init)
        let http = !stream
        methods = http ? (route.methods ?? []).map { Array($0.utf8) } : []
        hosts = http ? (route.hosts ?? []).map(CompatHost.init) : []
        var prefixes: [[UInt8]] = []
        var regexes: [PathRegex] = []
        if http {
            for p in paths {
                if p.hasPrefix("~") {
                    let source = String(p.dropFirst())
                    let regex = try PCRERegex("^" + source)
                    regexes.append(PathRegex(value: source, regex: regex, literal: RegexLiteral.prefix(source)))
                } else {
                    prefixes.append(Array(p.utf8))
                }
            }
        }
        self.prefixes = prefixes
        self.regexes = regexes
        headers = http ? try (route.headers ?? []).map { rule throws(PCREError) in try CompatHeader(rule) } : []
        var limited = route
        limited.paths = paths.isEmpty ? route.paths : paths
        priority = stream ? CompatPriority.stream(route) : CompatPriority.http(limited, luajit: luajit)
    }

    /// The keys under which ``CandidateIndex`` files this matcher.
    var indexKeys: CandidateIndex.Keys {
        var keys = CandidateIndex.Keys()
        for h in hosts {
            switch h.kind {
            case .exact: keys.hosts.append(h.value)
            case .suffix: keys.wildcards.append(([], h.value))
            case .prefix: keys.wildcards.append((h.value, []))
            }
        }
        keys.paths = prefixes + regexes.map(\.literal)
        return keys
    }
}

/// A regex path: its text (without `~`), the compiled regex and its literal prefix.
struct PathRegex: Sendable {
    let value: String
    let regex: PCRERegex
    let literal: [UInt8]
}

/// `(net.protocol != "https" || tls.sni == ...)`: exact, `*.x` (postfix) or `x.*` (prefix),
/// a trailing dot stripped from the configured name.
struct CompatSNI: Sendable {
    let kind: CompatHost.Kind
    let value: [UInt8]

    init(_ configured: String) {
        var b = Array(configured.utf8)
        if b.first == 0x2A {
            kind = .suffix
            if b.count > 1, b.last == 0x2E { b.removeLast() }
            b.removeFirst()
        } else if b.last == 0x2A {
            kind = .prefix
            b.removeLast()
        } else {
            kind = .exact
            if b.count > 1, b.last == 0x2E { b.removeLast() }
        }
        value = b
    }

    func matches(_ sni: UnsafeBufferPointer<UInt8>) -> Bool {
        switch kind {
        case .exact: return Bytes.equal(sni, value)
        case .suffix: return Bytes.hasSuffix(sni, value)
        case .prefix: return Bytes.hasPrefix(sni, value)
        }
    }
}

/// `any(lower(http.headers.<name>)) == "<value>"` (or `~ "<regex>"` for `~*` values), all
/// values lower-cased, the regex text included.
struct CompatHeader: Sendable {
    /// The name as configured (for explanations).
    let name: String
    let folded: [UInt8]
    let exact: [[UInt8]]
    let regexes: [PCRERegex]

    init(_ rule: HeaderRule) throws(PCREError) {
        name = rule.name
        folded = rule.name.utf8.map(ByteTable.fold)
        var exact: [[UInt8]] = []
        var regexes: [PCRERegex] = []
        for v in rule.values {
            let lowered = v.utf8.map(Bytes.lower)
            if lowered.count >= 2, lowered[0] == 0x7E, lowered[1] == 0x2A {
                regexes.append(try PCRERegex(String(decoding: lowered.dropFirst(2), as: UTF8.self)))
            } else {
                exact.append(lowered)
            }
        }
        self.exact = exact
        self.regexes = regexes
    }

    /// Whether some request value of this header satisfies a value predicate.
    func matches<S: Sequence<RouteRequest.Header>>(_ headers: S) -> Bool {
        for h in headers where Bytes.with(h.name, { name in Self.sameName(name, folded) }) {
            let hit = Bytes.with(h.value) { value in
                for e in exact where Bytes.equalLowered(value, e) { return true }
                if regexes.isEmpty { return false }
                let lowered = String(decoding: value.map(Bytes.lower), as: UTF8.self)
                return regexes.contains { $0.matches(lowered) }
            }
            if hit { return true }
        }
        return false
    }

    /// Header names compare case-insensitively, `-` and `_` alike.
    @inline(__always)
    static func sameName(_ name: UnsafeBufferPointer<UInt8>, _ folded: [UInt8]) -> Bool {
        if name.count != folded.count { return false }
        for i in 0..<name.count where ByteTable.fold(name[i]) != folded[i] { return false }
        return true
    }
}

/// One `sources` / `destinations` entry: `net.*.ip == a` (or `in cidr`) and/or
/// `net.*.port == p`.
struct NetRule: Sendable {
    let text: String?
    let cidr: CIDR?
    let port: Int?

    init(_ endpoint: NetworkEndpoint) {
        text = endpoint.ip
        cidr = endpoint.ip.flatMap(CIDR.init)
        port = endpoint.port
    }

    /// Whether the address and port satisfy the entry (a missing value never does).
    func matches(ip: IPAddress?, port: Int?) -> Bool {
        if text != nil {
            guard let ip, let cidr, cidr.contains(ip) else { return false }
        }
        if let p = self.port, p != port { return false }
        return true
    }
}

/// `transform.lua get_priority` (kong-reference §5.4).
enum CompatPriority {
    /// An HTTP route: match weight 63..61, plain hosts only 60, header count 59..52, regex
    /// paths 51, regex_priority 50..19, prefix length 18..0.
    ///
    /// With `luajit`, the arithmetic Kong actually performs: `lshift_uint64` hands plain Lua
    /// numbers to LuaJIT's 32-bit `bit.lshift` (shift counts masked to 5 bits), so weight,
    /// header count and regex_priority land at bits 29, 20 and 19 of a signed 32-bit value,
    /// sign-extended when OR-ed with the two true 64-bit bits (60 and 51).
    static func http(_ route: RouteDefinition, luajit: Bool) -> UInt64 {
        func nonEmpty<T>(_ a: [T]?) -> Bool { !(a ?? []).isEmpty }
        var weight: UInt64 = 0
        for set in [
            nonEmpty(route.sources), nonEmpty(route.destinations), nonEmpty(route.methods), nonEmpty(route.hosts),
            nonEmpty(route.headers), nonEmpty(route.snis), nonEmpty(route.paths),
        ] where set { weight += 1 }
        let headerCount = UInt64(min(route.headers?.count ?? 0, 255))
        let plainHostOnly = route.hosts.map { hosts in !hosts.contains { $0.contains("*") } } ?? false
        let paths = route.paths ?? []
        let regexURL = paths.first?.hasPrefix("~") ?? false
        let uriLength = regexURL ? 0 : UInt64(paths.first?.utf8.count ?? 0)
        let regexPriority = regexURL ? route.regexPriority : 0
        if luajit {
            return luajitHTTP(
                weight: Int32(weight), headers: Int32(headerCount), regexPriority: regexPriority,
                length: Int32(uriLength & 0x7FFFF), plain: plainHostOnly, regex: regexURL)
        }
        var p = weight << 61 | headerCount << 52 | uriLength & 0x7FFFF
        if plainHostOnly { p |= 1 << 60 }
        if regexURL { p |= 1 << 51 }
        p |= UInt64(bitPattern: Int64(regexPriority)) &<< 19
        return p
    }

    private static func luajitHTTP(
        weight: Int32, headers: Int32, regexPriority: Int, length: Int32, plain: Bool, regex: Bool
    ) -> UInt64 {
        // bit.lshift(x, n) on numbers: tobit(x) << (n & 31), as int32.
        let w = weight &<< 29
        let h = headers &<< 20
        let rp = Int32(truncatingIfNeeded: regexPriority) &<< 19
        let low = Int64(w) | Int64(h) | Int64(rp) | Int64(length)
        if plain || regex {
            var p = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: low)))
            if plain { p |= 1 << 60 }
            if regex { p |= 1 << 51 }
            return p
        }
        // A 32-bit result; negative values reach the router as their 64-bit two's complement.
        return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: low)))
    }

    /// A stream route: bit 61 for snis (or sources and destinations together), then the
    /// source kinds << 4 | destination kinds, each IP 8, PORT 4, CIDR 1.
    static func stream(_ route: RouteDefinition) -> UInt64 {
        func weight(_ endpoints: [NetworkEndpoint]?) -> UInt64 {
            var w: UInt64 = 0
            for e in endpoints ?? [] {
                if let ip = e.ip { w |= ip.contains("/") ? 1 : 8 }
                if e.port != nil { w |= 4 }
            }
            return w
        }
        var p: UInt64 = 0
        if !(route.snis ?? []).isEmpty { p = 1 << 61 }
        if !(route.sources ?? []).isEmpty, !(route.destinations ?? []).isEmpty { p = 1 << 61 }
        return p | weight(route.sources) << 4 | weight(route.destinations)
    }
}
