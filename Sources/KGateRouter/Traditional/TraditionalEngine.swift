import KGateSchema

/// The `traditional` router (`kong/router/traditional.lua`), with Kong's exact selection:
/// categories by match weight and bits, the request's category first (from the plain-index
/// hits), in each category the reduced candidate set before the whole category.
///
/// "The whole category in order" is answered by ``CandidateIndex`` (the lowest-ranked full
/// match), not by a scan; the reduced set of the winning category is then checked first, as
/// Kong does, which can only pick a later-sorted route of that same category.
final class TraditionalEngine: Sendable {
    /// Reducer buckets of one category (`routes_by_*`), rank lists keyed by interned ids.
    struct Category: Sendable {
        let bits: UInt8
        let weight: Int
        let firstRank: Int32
        let endRank: Int32
        var byHost: [Int32: [Int32]] = [:]
        var byHeader: [Int32: [Int32]] = [:]
        var byURI: [Int32: [Int32]] = [:]
        var byMethod: [Int32: [Int32]] = [:]
        var bySNI: [Int32: [Int32]] = [:]
        var bySourceIP: [IPAddress: [Int32]] = [:]
        var bySourcePort: [Int: [Int32]] = [:]
        var byDestinationIP: [IPAddress: [Int32]] = [:]
        var byDestinationPort: [Int: [Int32]] = [:]
    }

    /// Entries by rank (category order, then `sort_routes` order).
    let ranked: [TraditionalEntry]
    let categories: [Category]
    let categoryOfBits: [UInt8: Int]
    let index: CandidateIndex
    let stream: Bool
    let usesHeaders: Bool
    // Plain indexes (built in `sort_routes` order) for the request's hits.
    let plainHosts: ByteTable
    let wildcardHits: [WildcardHost]
    let wildcardIndex: AnchorIndex
    let headerNames: [String]
    let headerOrder: ByteTable
    let regexHits: [(value: Int32, entry: TraditionalEntry.URI)]
    let regexTrie: RadixTrie
    let prefixTrie: RadixTrie
    let uriValues: [String]
    let hostIDs: ByteTable
    let methodIDs: ByteTable
    let sniIDs: ByteTable
    let sourceIPs: Set<IPAddress>
    let sourcePorts: Set<Int>
    let sourceRanges: [CIDR]
    let destinationIPs: Set<IPAddress>
    let destinationPorts: Set<Int>
    let destinationRanges: [CIDR]

    init(entries: [RouteEntry], stream: Bool, diagnostics: inout [String]) {
        self.stream = stream
        var built: [TraditionalEntry] = []
        for (i, e) in entries.enumerated() {
            let paths = e.route.paths ?? []
            let split: [String?] = paths.count > 1 ? paths.map { $0 } : [paths.first]
            do {
                var parts: [TraditionalEntry] = []
                for p in split {
                    parts.append(
                        try TraditionalEntry(entry: i, order: built.count + parts.count, route: e.route, path: p))
                }
                built += parts
            } catch {
                diagnostics.append("route \(e.route.id): \(error.description); route skipped")
            }
        }
        let sorted = built.sorted(by: TraditionalEntry.precedes)
        // Categories: by weight, then bits, descending.
        var bitsSeen: [UInt8: Int] = [:]
        for e in sorted where bitsSeen[e.matchRules] == nil { bitsSeen[e.matchRules] = e.weight }
        let order = bitsSeen.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
        var ranked: [TraditionalEntry] = []
        var categories: [Category] = []
        var categoryOfBits: [UInt8: Int] = [:]
        for (bits, weight) in order {
            let first = Int32(ranked.count)
            ranked += sorted.filter { $0.matchRules == bits }
            categoryOfBits[bits] = categories.count
            categories.append(Category(bits: bits, weight: weight, firstRank: first, endRank: Int32(ranked.count)))
        }
        self.ranked = ranked
        self.categoryOfBits = categoryOfBits
        index = CandidateIndex(ranked.map(\.indexKeys))
        usesHeaders = ranked.contains { !$0.headers.isEmpty }

        // Interned values and the plain indexes, in `sort_routes` order as Kong indexes them.
        var hostValues = Interner()
        var methodValues = Interner()
        var sniValues = Interner()
        var uriValues = Interner()
        var headerValues = Interner()
        var plainHostEntries: [(key: [UInt8], value: Int32)] = []
        var wildcards: [WildcardHost] = []
        var wildcardSeen = Set<String>()
        var headerOrderEntries: [(key: [UInt8], value: Int32)] = []
        var regexHits: [(value: Int32, entry: TraditionalEntry.URI)] = []
        var regexTrieEntries: [(key: [UInt8], value: Int32)] = []
        var prefixEntries: [(key: [UInt8], value: Int32)] = []
        var nets = NetIndexBuilder()
        for e in sorted {
            for (h, b) in zip(e.plainHostValues, e.plainHosts) { plainHostEntries.append((b, hostValues.id(h))) }
            for w in e.wildcards where wildcardSeen.insert(w.value).inserted {
                _ = hostValues.id(w.value)
                wildcards.append(w)
            }
            for h in e.headers where !headerValues.contains(h.name) {
                headerOrderEntries.append((h.folded, headerValues.id(h.name)))
            }
            switch e.uri {
            case .prefix(let v, let b)?: prefixEntries.append((b, uriValues.id(v)))
            case .regex(let v, _, let literal)?:
                regexTrieEntries.append((literal, Int32(regexHits.count)))
                regexHits.append((uriValues.id(v), e.uri!))
            case nil: break
            }
            for m in e.methods { _ = methodValues.id(String(decoding: m, as: UTF8.self)) }
            for s in e.snis { _ = sniValues.id(String(decoding: s, as: UTF8.self)) }
            nets.add(e)
        }
        plainHosts = ByteTable(plainHostEntries)
        wildcardHits = wildcards
        wildcardIndex = AnchorIndex(
            wildcards.enumerated().map { (i, w) in (w.anchors.prefix, w.anchors.suffix, Int32(i)) })
        headerNames = headerValues.values
        headerOrder = ByteTable(headerOrderEntries, folding: true)
        self.regexHits = regexHits
        regexTrie = RadixTrie(regexTrieEntries)
        prefixTrie = RadixTrie(prefixEntries)
        self.uriValues = uriValues.values
        hostIDs = hostValues.table
        methodIDs = methodValues.table
        sniIDs = sniValues.table
        (sourceIPs, sourcePorts, sourceRanges) = (nets.sourceIPs, nets.sourcePorts, nets.sourceRanges)
        (destinationIPs, destinationPorts, destinationRanges) = (
            nets.destinationIPs, nets.destinationPorts, nets.destinationRanges
        )

        // Reducer buckets, filled in rank order so each list is ascending.
        for (c, category) in categories.enumerated() {
            var cat = category
            for r in Int(category.firstRank)..<Int(category.endRank) {
                let e = ranked[r]
                let rank = Int32(r)
                for h in e.plainHostValues { cat.byHost[hostValues.id(h), default: []].append(rank) }
                for w in e.wildcards { cat.byHost[hostValues.id(w.value), default: []].append(rank) }
                for h in e.headers { cat.byHeader[headerValues.id(h.name), default: []].append(rank) }
                if let u = e.uri { cat.byURI[uriValues.id(u.value), default: []].append(rank) }
                for m in Set(e.methods) {
                    cat.byMethod[methodValues.id(String(decoding: m, as: UTF8.self)), default: []].append(rank)
                }
                for s in Set(e.snis) {
                    cat.bySNI[sniValues.id(String(decoding: s, as: UTF8.self)), default: []].append(rank)
                }
                NetIndexBuilder.categorize(e.sources, rank, &cat.bySourceIP, &cat.bySourcePort)
                NetIndexBuilder.categorize(e.destinations, rank, &cat.byDestinationIP, &cat.byDestinationPort)
            }
            for key in cat.bySourceIP.keys {
                cat.bySourceIP[key] = NetIndexBuilder.sortByIPPort(cat.bySourceIP[key]!, ranked, \.sources)
            }
            for key in cat.bySourcePort.keys {
                cat.bySourcePort[key] = NetIndexBuilder.sortByIPPort(cat.bySourcePort[key]!, ranked, \.sources)
            }
            for key in cat.byDestinationIP.keys {
                cat.byDestinationIP[key] = NetIndexBuilder.sortByIPPort(
                    cat.byDestinationIP[key]!, ranked, \.destinations)
            }
            for key in cat.byDestinationPort.keys {
                cat.byDestinationPort[key] = NetIndexBuilder.sortByIPPort(
                    cat.byDestinationPort[key]!, ranked, \.destinations)
            }
            categories[c] = cat
        }
        self.categories = categories
    }
}

/// Strings numbered in order of first appearance, with a byte table to find them.
struct Interner {
    private(set) var values: [String] = []
    private var ids: [String: Int32] = [:]

    mutating func id(_ s: String) -> Int32 {
        if let i = ids[s] { return i }
        let i = Int32(values.count)
        ids[s] = i
        values.append(s)
        return i
    }

    func contains(_ s: String) -> Bool { ids[s] != nil }

    var table: ByteTable { ByteTable(values.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) }) }
}

/// The plain `sources` / `destinations` indexes and Kong's per-category buckets for them.
struct NetIndexBuilder {
    var sourceIPs = Set<IPAddress>()
    var sourcePorts = Set<Int>()
    var sourceRanges: [CIDR] = []
    var destinationIPs = Set<IPAddress>()
    var destinationPorts = Set<Int>()
    var destinationRanges: [CIDR] = []

    mutating func add(_ e: TraditionalEntry) {
        for n in e.sources {
            if let r = n.range { sourceRanges.append(r) } else if let a = n.address { sourceIPs.insert(a) }
            if let p = n.port { sourcePorts.insert(p) }
        }
        for n in e.destinations {
            if let r = n.range { destinationRanges.append(r) } else if let a = n.address { destinationIPs.insert(a) }
            if let p = n.port { destinationPorts.insert(p) }
        }
    }

    /// `categorize_src_dst`: a route once per ip and once per port.
    static func categorize(
        _ nets: [TraditionalEntry.Net], _ rank: Int32, _ byIP: inout [IPAddress: [Int32]],
        _ byPort: inout [Int: [Int32]]
    ) {
        var ips = Set<IPAddress>()
        var ports = Set<Int>()
        for n in nets {
            if n.range == nil, let a = n.address, ips.insert(a).inserted { byIP[a, default: []].append(rank) }
            if let p = n.port, ports.insert(p).inserted { byPort[p, default: []].append(rank) }
        }
    }

    /// `sort_sources` / `sort_destinations`: routes with an ip+port entry first (stable).
    static func sortByIPPort(
        _ list: [Int32], _ ranked: [TraditionalEntry], _ field: KeyPath<TraditionalEntry, [TraditionalEntry.Net]>
    ) -> [Int32] {
        func ipPort(_ r: Int32) -> Bool { ranked[Int(r)][keyPath: field].contains { $0.ip != nil && $0.port != nil } }
        return list.filter(ipPort) + list.filter { !ipPort($0) }
    }
}
