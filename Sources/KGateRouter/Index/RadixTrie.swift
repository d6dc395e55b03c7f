/// An immutable radix tree (compressed trie) over byte strings, stored in flat arrays.
///
/// Each key carries values (route ranks); ``walk(_:_:)`` visits, shallowest first, the values of
/// every key that is a prefix of the query. This is how prefix paths are found without scanning
/// routes: the walk costs one step per query byte, whatever the number of keys.
struct RadixTrie: Sendable {
    private struct Node: Sendable {
        var labelStart: Int32
        var labelLength: Int32
        var edgeStart: Int32 = 0
        var edgeCount: Int32 = 0
        var valueStart: Int32
        var valueCount: Int32 = 0
    }

    private struct Edge: Sendable {
        var byte: UInt8
        var node: Int32
    }

    private var nodes: [Node] = []
    /// Edges grouped per parent, sorted by their first label byte.
    private var edges: [Edge] = []
    private var labels: [UInt8] = []
    private var values: [Int32] = []

    /// Number of nodes (0 for an empty trie).
    var nodeCount: Int { nodes.count }

    /// Builds the tree. Values of equal keys are kept in ascending order.
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        guard !entries.isEmpty else { return }
        let sorted = entries.sorted { a, b in
            let c = RadixTrie.compare(a.key, b.key)
            return c != 0 ? c < 0 : a.value < b.value
        }
        _ = build(sorted, 0..<sorted.count, from: 0)
    }

    private static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Builds the node for `sorted[range]`, whose keys share their first `from` bytes.
    private mutating func build(_ sorted: [(key: [UInt8], value: Int32)], _ range: Range<Int>, from: Int) -> Int32 {
        let first = sorted[range.lowerBound].key
        let last = sorted[range.upperBound - 1].key
        var lcp = from
        while lcp < first.count, lcp < last.count, first[lcp] == last[lcp] { lcp += 1 }
        let index = nodes.count
        nodes.append(
            Node(labelStart: Int32(labels.count), labelLength: Int32(lcp - from), valueStart: Int32(values.count)))
        labels.append(contentsOf: first[from..<lcp])
        var i = range.lowerBound
        while i < range.upperBound, sorted[i].key.count == lcp {
            values.append(sorted[i].value)
            i += 1
        }
        nodes[index].valueCount = Int32(values.count) - nodes[index].valueStart
        // The remaining keys are longer: group them by their byte at `lcp`.
        var groups: [(byte: UInt8, range: Range<Int>)] = []
        while i < range.upperBound {
            let b = sorted[i].key[lcp]
            var j = i + 1
            while j < range.upperBound, sorted[j].key[lcp] == b { j += 1 }
            groups.append((b, i..<j))
            i = j
        }
        var built: [Edge] = []
        built.reserveCapacity(groups.count)
        for g in groups { built.append(Edge(byte: g.byte, node: build(sorted, g.range, from: lcp))) }
        nodes[index].edgeStart = Int32(edges.count)
        nodes[index].edgeCount = Int32(built.count)
        edges.append(contentsOf: built)
        return Int32(index)
    }

    /// Calls `visit` with the values of each key that is a prefix of `query` (shallowest key
    /// first) and that key's length. `visit` returns false to stop the walk.
    @inline(__always)
    func walk(_ query: UnsafeBufferPointer<UInt8>, _ visit: (UnsafeBufferPointer<Int32>, Int) -> Bool) {
        if nodes.isEmpty { return }
        nodes.withUnsafeBufferPointer { nodes in
            edges.withUnsafeBufferPointer { edges in
                labels.withUnsafeBufferPointer { labels in
                    values.withUnsafeBufferPointer { values in
                        var node = nodes[0]
                        var pos = 0
                        while true {
                            let ls = Int(node.labelStart)
                            let ll = Int(node.labelLength)
                            if pos + ll > query.count { return }
                            for k in 0..<ll where labels[ls + k] != query[pos + k] { return }
                            pos += ll
                            if node.valueCount > 0 {
                                let vs = Int(node.valueStart)
                                let slice = UnsafeBufferPointer(rebasing: values[vs..<vs + Int(node.valueCount)])
                                if !visit(slice, pos) { return }
                            }
                            if pos == query.count { return }
                            let b = query[pos]
                            var lo = Int(node.edgeStart)
                            var hi = lo + Int(node.edgeCount)
                            while lo < hi {
                                let mid = (lo + hi) >> 1
                                if edges[mid].byte < b { lo = mid + 1 } else { hi = mid }
                            }
                            if lo >= Int(node.edgeStart) + Int(node.edgeCount) || edges[lo].byte != b { return }
                            node = nodes[Int(edges[lo].node)]
                        }
                    }
                }
            }
        }
    }

    /// ``walk(_:_:)`` for an array query (tests and build time).
    func walk(_ query: [UInt8], _ visit: (UnsafeBufferPointer<Int32>, Int) -> Bool) {
        query.withUnsafeBufferPointer { walk($0, visit) }
    }
}
