import KGateRegex
import KGateSchema

extension TraditionalEngine {
    /// `match_route`: every matcher of the entry's rules must pass (`traditional.lua`).
    func evaluate(_ e: TraditionalEntry, _ c: inout Context, _ hit: inout Hit) -> Bool {
        let v = c.view
        let rules = e.matchRules
        if rules & MatchRule.method != 0 {
            guard e.methods.contains(where: { Bytes.equal(v.method, $0) }) else { return false }
            hit.methodMatched = true
        }
        if rules & MatchRule.host != 0, !matchHost(e, c, &hit) { return false }
        if rules & MatchRule.sni != 0 {
            if v.scheme != .http {
                let sni = v.sni
                guard e.snis.contains(where: { s in sni.map { Bytes.equal($0, s) } ?? s.isEmpty }) else { return false }
            }
        }
        if rules & MatchRule.src != 0,
            !e.sources.contains(where: { $0.matches(ip: v.sourceIP, port: v.sourcePort) })
        {
            return false
        }
        if rules & MatchRule.dst != 0,
            !e.destinations.contains(where: { $0.matches(ip: v.destinationIP, port: v.destinationPort) })
        {
            return false
        }
        if rules & MatchRule.uri != 0, !matchURI(e, &c, &hit) { return false }
        if rules & MatchRule.header != 0, !matchHeaders(e, v, &hit) { return false }
        return true
    }

    /// `hosts[hits.host or req_host] or hosts[host_no_port]`, then the wildcards on
    /// `host_with_port`.
    private func matchHost(_ e: TraditionalEntry, _ c: Context, _ hit: inout Hit) -> Bool {
        let v = c.view
        if let w = c.wildcardHost {
            if let i = e.plainHostValues.firstIndex(of: w) {
                hit.host = e.plainHostValues[i]
                return true
            }
        } else {
            let raw = v.host
            for (i, h) in e.plainHosts.enumerated() where raw.map({ Bytes.equal($0, h) }) ?? h.isEmpty {
                hit.host = e.plainHostValues[i]
                return true
            }
        }
        if let noPort = c.hostNoPort {
            for (i, h) in e.plainHosts.enumerated() where Bytes.equal(noPort, h) {
                hit.host = e.plainHostValues[i]
                return true
            }
        }
        guard !e.wildcards.isEmpty, let withPort = c.hostWithPort else { return false }
        for w in e.wildcards where w.matches(withPort) {
            hit.host = w.value
            return true
        }
        return false
    }

    /// A prefix (`find(req_uri, value, 1, true) == 1`) or the anchored regex with its
    /// `uri_postfix` group.
    private func matchURI(_ e: TraditionalEntry, _ c: inout Context, _ hit: inout Hit) -> Bool {
        let path = c.view.path
        if path.isEmpty { return false }
        switch e.uri {
        case .prefix(let value, let bytes)?:
            guard Bytes.hasPrefix(path, bytes) else { return false }
            hit.uriMatched = true
            hit.prefixLength = bytes.count
            hit.postfixStart = bytes.count
            hit.uri = value
            return true
        case .regex(let value, let regex, _)?:
            let subject = c.pathString ?? c.view.pathString
            c.pathString = subject
            guard let m = try? regex.firstMatch(in: subject) else { return false }
            let postfix = m.ranges.last.flatMap { $0 }
            let postfixLength = postfix?.count ?? 0
            hit.uriMatched = true
            hit.prefixLength = path.count - postfixLength
            hit.postfixStart = path.count - postfixLength
            hit.uri = value
            // `m[1] ~= nil`: captures when the regex has groups of its own.
            if regex.captureCount > 1 { hit.captures = RouteCaptures(match: m, dropLast: true) }
            return true
        case nil:
            return false
        }
    }

    /// Whether Kong's traditional router, reading `ngx.req.get_headers()[name]`, finds the
    /// request header `request` under the route's (lower-cased) `name`: the same name, or the
    /// name with its `_` turned into `-` (lua-resty-core's fallback). A request `x_foo` is not
    /// found under `x-foo`, since nginx keeps underscores (`underscores_in_headers on`).
    static func readsHeader(_ request: UnsafeBufferPointer<UInt8>, as name: String) -> Bool {
        guard request.count == name.utf8.count else { return false }
        var exact = true
        var dashed = true
        for (i, n) in name.utf8.enumerated() {
            let r = Bytes.lower(request[i])
            if r != n { exact = false }
            if r != (n == UInt8(ascii: "_") ? UInt8(ascii: "-") : n) { dashed = false }
            if !exact, !dashed { return false }
        }
        return true
    }

    /// Every header of the entry: a request value (lower-cased) among its values, or matching
    /// its `~*` regex.
    private func matchHeaders(_ e: TraditionalEntry, _ v: RequestView, _ hit: inout Hit) -> Bool {
        for h in e.headers {
            var found: String?
            for rh in v.headers where Bytes.with(rh.name, { Self.readsHeader($0, as: h.name) }) {
                let ok = Bytes.with(rh.value) { value in
                    if h.values.contains(where: { Bytes.equalLowered(value, $0) }) { return true }
                    guard let pattern = h.pattern else { return false }
                    return pattern.matches(String(decoding: value.map(Bytes.lower), as: UTF8.self))
                }
                if ok {
                    found = String(decoding: rh.value.utf8.map(Bytes.lower), as: UTF8.self)
                    break
                }
            }
            guard let found else { return false }
            hit.headers[h.name] = found
        }
        return true
    }
}
