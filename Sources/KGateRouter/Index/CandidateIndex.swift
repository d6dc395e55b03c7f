/// The full match of a route, run on the candidates the index proposes.
protocol CandidateAcceptor {
    /// Whether the route with this rank matches the request (keeping what it matched).
    mutating func accept(_ rank: Int32) -> Bool
}

/// Finds the best-ranked route that fully matches a request without trying every route.
///
/// Routes are numbered by rank (0 is tried first in Kong's order). Each route is filed where
/// a request could reach it:
/// - under each of its exact hosts, then its path keys, in one radix tree
///   (`0x02 host 0x00 path-key`);
/// - under the anchor of each wildcard host (``AnchorIndex``);
/// - without hosts, under its path keys (`0x01 path-key`): a prefix, or a regex's literal
///   prefix (``RegexLiteral``);
/// - with neither, in a short list tried for every request.
///
/// A query gathers the rank lists of those places (each list ascending) and runs the caller's
/// full match on their members, skipping any rank not better than the best found so far. The
/// answer is the lowest matching rank: exactly what trying all routes in order would give.
struct CandidateIndex: Sendable {
    /// Where a route can be reached from.
    struct Keys {
        /// Exact host keys (compared with the request's host as the flavor splits it).
        var hosts: [[UInt8]] = []
        /// Wildcard hosts: the literal before the `*` and the literal after it (no port).
        var wildcards: [(prefix: [UInt8], suffix: [UInt8])] = []
        /// Path keys: prefixes and regex literal prefixes.
        var paths: [[UInt8]] = []
    }

    static let hostlessTag: UInt8 = 0x01
    static let hostTag: UInt8 = 0x02

    private let trie: RadixTrie
    private let anchors: AnchorIndex
    private let rest: [Int32]
    /// Whether any route has an exact host / a wildcard host.
    let hasHosts: Bool
    let hasWildcards: Bool

    /// Files the routes; `keys[rank]` are the places of the route with that rank.
    init(_ keys: [Keys]) {
        var trieEntries: [(key: [UInt8], value: Int32)] = []
        var anchorEntries: [(prefix: [UInt8], suffix: [UInt8], rank: Int32)] = []
        var rest: [Int32] = []
        for (rank, k) in keys.enumerated() {
            let r = Int32(rank)
            let pathKeys = k.paths.isEmpty ? [[]] : k.paths
            if !k.hosts.isEmpty || !k.wildcards.isEmpty {
                for h in k.hosts {
                    for p in pathKeys { trieEntries.append(([CandidateIndex.hostTag] + h + [0] + p, r)) }
                }
                for w in k.wildcards { anchorEntries.append((w.prefix, w.suffix, r)) }
            } else if !k.paths.isEmpty {
                for p in k.paths { trieEntries.append(([CandidateIndex.hostlessTag] + p, r)) }
            } else {
                rest.append(r)
            }
        }
        trie = RadixTrie(trieEntries)
        anchors = AnchorIndex(anchorEntries)
        self.rest = rest
        hasHosts = keys.contains { !$0.hosts.isEmpty }
        hasWildcards = !anchorEntries.isEmpty
    }

    /// The lowest rank `>= minRank` the acceptor accepts, or nil.
    ///
    /// - Parameters:
    ///   - hostKeys: the request's host as looked up in exact-host keys (one or two forms),
    ///     or none when the request has no host;
    ///   - wildcardHost: the request host matched against wildcard anchors;
    ///   - path: the routing path;
    ///   - acceptor: runs the full match of a rank (and keeps what it matched).
    @inline(__always)
    func best<A: CandidateAcceptor>(
        hostKeys: (UnsafeBufferPointer<UInt8>?, UnsafeBufferPointer<UInt8>?), wildcardHost: UnsafeBufferPointer<UInt8>?,
        path: UnsafeBufferPointer<UInt8>, minRank: Int32 = 0, _ acceptor: inout A
    ) -> Int32? {
        var best = Int32.max
        if hasHosts {
            if let h = hostKeys.0 {
                walk(tag: CandidateIndex.hostTag, host: h, path: path) {
                    CandidateIndex.scan($0, &best, minRank, &acceptor)
                }
            }
            if let h = hostKeys.1 {
                walk(tag: CandidateIndex.hostTag, host: h, path: path) {
                    CandidateIndex.scan($0, &best, minRank, &acceptor)
                }
            }
        }
        if hasWildcards, let w = wildcardHost {
            anchors.candidates(w) { CandidateIndex.scan($0, &best, minRank, &acceptor) }
        }
        walk(tag: CandidateIndex.hostlessTag, host: nil, path: path) {
            CandidateIndex.scan($0, &best, minRank, &acceptor)
        }
        rest.withUnsafeBufferPointer { CandidateIndex.scan($0, &best, minRank, &acceptor) }
        return best == Int32.max ? nil : best
    }

    /// Tries the ranks of one ascending list that could beat `best`.
    @inline(__always)
    static func scan<A: CandidateAcceptor>(
        _ list: UnsafeBufferPointer<Int32>, _ best: inout Int32, _ minRank: Int32, _ acceptor: inout A
    ) {
        for r in list {
            if r >= best { return }
            if r >= minRank, acceptor.accept(r) {
                best = r
                return
            }
        }
    }

    /// The lowest rank in `minRank..<count` the acceptor accepts, trying them all in order
    /// (the reference the index is tested against).
    static func scanAll<A: CandidateAcceptor>(count: Int, minRank: Int32 = 0, _ acceptor: inout A) -> Int32? {
        var r = minRank
        while r < Int32(count) {
            if acceptor.accept(r) { return r }
            r += 1
        }
        return nil
    }

    /// Walks the tree with `tag [host 0x00] path`, assembled on the stack.
    @inline(__always)
    private func walk(
        tag: UInt8, host: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>,
        _ scan: (UnsafeBufferPointer<Int32>) -> Void
    ) {
        let hostCount = host.map { $0.count + 1 } ?? 0
        let total = 1 + hostCount + path.count
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { key in
            key[0] = tag
            var i = 1
            if let host {
                for b in host {
                    key[i] = b
                    i += 1
                }
                key[i] = 0
                i += 1
            }
            for b in path {
                key[i] = b
                i += 1
            }
            trie.walk(UnsafeBufferPointer(key)) { values, _ in
                scan(values)
                return true
            }
        }
    }
}

/// Wildcard hosts by anchor: `*.example.com` under the suffix `.example.com`, `example.*`
/// under the prefix `example.`. A request host reaches every pattern whose anchor it starts
/// or ends with; only the distinct anchor lengths are tried, each with one hash lookup.
struct AnchorIndex: Sendable {
    private let suffixes: ByteTable
    private let prefixes: ByteTable
    private let suffixLengths: [Int]
    private let prefixLengths: [Int]
    /// Patterns with an anchor on both sides or none: always candidates.
    private let always: [Int32]
    private let lists: [[Int32]]

    init(_ entries: [(prefix: [UInt8], suffix: [UInt8], rank: Int32)]) {
        var suffixMap: [[UInt8]: [Int32]] = [:]
        var prefixMap: [[UInt8]: [Int32]] = [:]
        var always: [Int32] = []
        for e in entries {
            if e.prefix.isEmpty, !e.suffix.isEmpty {
                suffixMap[e.suffix, default: []].append(e.rank)
            } else if e.suffix.isEmpty, !e.prefix.isEmpty {
                prefixMap[e.prefix, default: []].append(e.rank)
            } else {
                always.append(e.rank)
            }
        }
        var lists: [[Int32]] = []
        func table(_ map: [[UInt8]: [Int32]]) -> ByteTable {
            var items: [(key: [UInt8], value: Int32)] = []
            for (key, ranks) in map {
                items.append((key, Int32(lists.count)))
                lists.append(Array(Set(ranks)).sorted())
            }
            return ByteTable(items)
        }
        suffixes = table(suffixMap)
        prefixes = table(prefixMap)
        suffixLengths = Set(suffixMap.keys.map(\.count)).sorted()
        prefixLengths = Set(prefixMap.keys.map(\.count)).sorted()
        self.always = Array(Set(always)).sorted()
        self.lists = lists
    }

    /// Calls `visit` with each rank list the host may match.
    @inline(__always)
    func candidates(_ host: UnsafeBufferPointer<UInt8>, _ visit: (UnsafeBufferPointer<Int32>) -> Void) {
        for len in suffixLengths {
            if len > host.count { break }
            if let id = suffixes.lookup(UnsafeBufferPointer(rebasing: host[(host.count - len)...])) {
                lists[Int(id)].withUnsafeBufferPointer(visit)
            }
        }
        for len in prefixLengths {
            if len > host.count { break }
            if let id = prefixes.lookup(UnsafeBufferPointer(rebasing: host[..<len])) {
                lists[Int(id)].withUnsafeBufferPointer(visit)
            }
        }
        if !always.isEmpty { always.withUnsafeBufferPointer(visit) }
    }
}
