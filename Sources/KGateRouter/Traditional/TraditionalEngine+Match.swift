import KGateRegex
import KGateSchema

extension TraditionalEngine {
    /// What the request hit in the plain indexes (`ctx.hits`) and its split host.
    struct Context {
        let view: RequestView
        var category: UInt8 = 0
        var headerName: Int32?
        /// A wildcard host value (`hits.host`).
        var wildcardHost: String?
        var wildcardHostID: Int32?
        var uri: Int32?
        var hostNoPort: UnsafeBufferPointer<UInt8>?
        var hostWithPort: UnsafeBufferPointer<UInt8>?
        /// The routing path as a string, made on first use by a regex.
        var pathString: String?
    }

    /// What an entry matched (`ctx.matches`).
    struct Hit {
        var uriMatched = false
        var prefixLength = 0
        var postfixStart = 1
        var captures: RouteCaptures?
        var host: String?
        var uri: String?
        var methodMatched = false
        var headers: [String: String] = [:]
    }

    /// Runs entries for ``CandidateIndex`` and keeps what the last accepted one matched.
    struct Acceptor: CandidateAcceptor {
        unowned(unsafe) let engine: TraditionalEngine
        var context: Context
        var hit = Hit()

        mutating func accept(_ rank: Int32) -> Bool {
            var h = Hit()
            guard engine.evaluate(engine.ranked[Int(rank)], &context, &h) else { return false }
            hit = h
            return true
        }
    }

    /// `find_route`: hits, category, then the first matching entry in Kong's order.
    /// - Parameter scan: walk the categories route by route instead of using the index (tests).
    func match(_ v: RequestView, scan: Bool) -> EngineMatch? {
        guard let host = v.host else { return find(Context(view: v), scan: scan) }
        let defaultPort = v.scheme == .https ? 443 : 80
        return HostSplit.traditional(host, defaultPort: defaultPort) { noPort, withPort, _ in
            var c = Context(view: v)
            c.hostNoPort = noPort
            c.hostWithPort = withPort
            if !plainHosts.isEmpty, plainHosts.lookup(withPort) != nil || plainHosts.lookup(noPort) != nil {
                c.category |= MatchRule.host
            } else if !wildcardHits.isEmpty {
                var first = Int32.max
                wildcardIndex.candidates(noPort) { list in
                    for i in list where i < first && wildcardHits[Int(i)].matches(withPort) {
                        first = i
                        break
                    }
                }
                if first != Int32.max {
                    let w = wildcardHits[Int(first)]
                    c.wildcardHost = w.value
                    c.wildcardHostID = Bytes.with(w.value) { hostIDs.lookup($0) }
                    c.category |= MatchRule.host
                }
            }
            return find(c, scan: scan)
        }
    }

    private func find(_ context: Context, scan: Bool) -> EngineMatch? {
        var c = context
        let v = c.view
        if !headerNames.isEmpty {
            var first = Int32.max
            for h in v.headers {
                if let o = Bytes.with(h.name, { headerOrder.lookup($0) }), o < first { first = o }
            }
            if first != Int32.max {
                c.headerName = first
                c.category |= MatchRule.header
            }
        }
        if !regexHits.isEmpty {
            var first = Int32.max
            regexTrie.walk(v.path) { list, _ in
                for i in list where i < first {
                    guard case .regex(_, let regex, _) = regexHits[Int(i)].entry else { continue }
                    let subject = c.pathString ?? v.pathString
                    c.pathString = subject
                    if regex.matches(subject) {
                        first = i
                        break
                    }
                }
                return true
            }
            if first != Int32.max {
                c.uri = regexHits[Int(first)].value
                c.category |= MatchRule.uri
            }
        }
        if c.uri == nil {
            var longest: Int32?
            prefixTrie.walk(v.path) { list, _ in
                longest = list.first
                return true
            }
            if let longest {
                c.uri = longest
                c.category |= MatchRule.uri
            }
        }
        if !methodIDs.isEmpty, methodIDs.lookup(v.method) != nil { c.category |= MatchRule.method }
        if !sniIDs.isEmpty, (v.sni.map { sniIDs.lookup($0) } ?? sniIDs.lookup([])) != nil {
            c.category |= MatchRule.sni
        }
        if !(sourceIPs.isEmpty && sourcePorts.isEmpty && sourceRanges.isEmpty),
            TraditionalEngine.hit(v.sourceIP, v.sourcePort, sourceIPs, sourcePorts, sourceRanges)
        {
            c.category |= MatchRule.src
        }
        if !(destinationIPs.isEmpty && destinationPorts.isEmpty && destinationRanges.isEmpty),
            TraditionalEngine.hit(
                v.destinationIP, v.destinationPort, destinationIPs, destinationPorts, destinationRanges)
        {
            c.category |= MatchRule.dst
        }
        if c.category == 0 || categories.isEmpty { return nil }

        let start = categoryOfBits[c.category] ?? 0
        let minRank = categories[start].firstRank
        var acceptor = Acceptor(engine: self, context: c)
        let best =
            scan
            ? CandidateIndex.scanAll(count: ranked.count, minRank: minRank, &acceptor)
            : withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { none in
                // Without a Host, Kong looks the empty string up (`req_host or ""`).
                let raw = v.host ?? UnsafeBufferPointer(rebasing: none[0..<0])
                return index.best(
                    hostKeys: (raw, c.hostNoPort), wildcardHost: c.hostNoPort, path: v.path, minRank: minRank, &acceptor
                )
            }
        guard var winner = best else { return nil }
        c = acceptor.context
        var hit = acceptor.hit
        // Kong tries the category's reduced set before the whole category.
        if let cat = categories.firstIndex(where: { $0.firstRank <= winner && winner < $0.endRank }),
            let reduced = reduce(cat, c)
        {
            // Entries ranked before the category's best cannot match; the best itself is known.
            for r in reduced where r >= winner {
                if r == winner { break }
                var h = Hit()
                if evaluate(ranked[Int(r)], &c, &h) {
                    winner = r
                    hit = h
                    break
                }
            }
        }
        return result(ranked[Int(winner)], hit)
    }

    private static func hit(_ ip: IPAddress?, _ port: Int?, _ ips: Set<IPAddress>, _ ports: Set<Int>, _ ranges: [CIDR])
        -> Bool
    {
        if let ip, ips.contains(ip) { return true }
        if let port, ports.contains(port) { return true }
        if let ip, ranges.contains(where: { $0.contains(ip) }) { return true }
        return false
    }

    /// The reducer of a category: the smallest hit bucket, a header bucket at once.
    private func reduce(_ index: Int, _ c: Context) -> [Int32]? {
        let v = c.view
        var smallest: [Int32]?
        func offer(_ list: [Int32]?) {
            guard let list else { return }
            if smallest == nil || list.count < smallest!.count { smallest = list }
        }
        let order: [UInt8] =
            stream
            ? [MatchRule.sni, MatchRule.src, MatchRule.dst]
            : [MatchRule.host, MatchRule.header, MatchRule.uri, MatchRule.method, MatchRule.sni]
        let bits = categories[index].bits
        for rule in order where bits & rule != 0 {
            switch rule {
            case MatchRule.host:
                let id = c.wildcardHostID ?? (v.host.flatMap { hostIDs.lookup($0) } ?? hostIDs.lookup([]))
                offer(id.flatMap { categories[index].byHost[$0] })
            case MatchRule.header:
                if let id = c.headerName, let list = categories[index].byHeader[id] { return list }
            case MatchRule.uri:
                offer(c.uri.flatMap { categories[index].byURI[$0] })
            case MatchRule.method:
                offer(methodIDs.lookup(v.method).flatMap { categories[index].byMethod[$0] })
            case MatchRule.sni:
                offer((v.sni.map { sniIDs.lookup($0) } ?? sniIDs.lookup([])).flatMap { categories[index].bySNI[$0] })
            case MatchRule.src:
                offer(
                    v.sourceIP.flatMap { categories[index].bySourceIP[$0] }
                        ?? v.sourcePort.flatMap { categories[index].bySourcePort[$0] })
            default:
                offer(
                    v.destinationIP.flatMap { categories[index].byDestinationIP[$0] }
                        ?? v.destinationPort.flatMap { categories[index].byDestinationPort[$0] })
            }
        }
        return smallest
    }

    private func result(_ e: TraditionalEntry, _ hit: Hit) -> EngineMatch {
        var m = EngineMatch(entry: e.entry)
        m.postfixStart = hit.uriMatched ? hit.postfixStart : 1
        m.sanitizePostfix = hit.uriMatched
        m.prefixLength = hit.uriMatched ? hit.prefixLength : nil
        m.captures = hit.captures
        m.matchedHost = hit.host
        m.matchedPath = hit.uri
        m.methodMatched = hit.methodMatched
        m.matchedHeaders = hit.headers
        return m
    }
}
