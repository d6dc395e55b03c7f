import KGateSchema
import OrderedCollections

/// A node of the parsed document with its position, navigable by path.
///
/// The node tree mirrors the `Value` tree of a ``SourceDocument``: a mapping value has one child per
/// key (in document order, merge keys and duplicates resolved as in the value), a sequence has one
/// child per element, a scalar has none. Nodes are immutable and shared: an alias reuses the
/// children of the anchored node.
public final class SourceNode: Sendable {
    /// Where the node's value starts.
    public let mark: SourceMark
    /// For a mapping value: where its key starts.
    public let keyMark: SourceMark?
    /// The node's children.
    public let children: Children

    /// The children of a node: none for a scalar, indexed for a sequence, keyed for a mapping.
    public enum Children: Sendable {
        /// A scalar.
        case none
        /// A sequence's elements, in order.
        case sequence([SourceNode])
        /// A mapping's values by key, in document order.
        case mapping(OrderedDictionary<String, SourceNode>)
    }

    /// One step of a path through a document.
    public enum PathComponent: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        /// A mapping key.
        case key(String)
        /// A 0-based sequence index.
        case index(Int)

        /// A string literal is a key.
        public init(stringLiteral value: String) { self = .key(value) }
        /// An integer literal is a 0-based index.
        public init(integerLiteral value: Int) { self = .index(value) }
    }

    /// Creates a node. `keyMark` is set for values of mappings.
    public init(mark: SourceMark, keyMark: SourceMark? = nil, children: Children = .none) {
        self.mark = mark
        self.keyMark = keyMark
        self.children = children
    }

    /// The value of `key` when this node is a mapping.
    public func child(key: String) -> SourceNode? {
        if case .mapping(let m) = children { return m[key] }
        return nil
    }

    /// The element at the 0-based `index` when this node is a sequence.
    public func child(index: Int) -> SourceNode? {
        if case .sequence(let s) = children, index >= 0, index < s.count { return s[index] }
        return nil
    }

    /// The node reached by following `path` from this node, or nil when some step is missing.
    public func descendant(_ path: some Sequence<PathComponent>) -> SourceNode? {
        var node = self
        for step in path {
            let next: SourceNode?
            switch step {
            case .key(let k): next = node.child(key: k)
            case .index(let i): next = node.child(index: i)
            }
            guard let n = next else { return nil }
            node = n
        }
        return node
    }

    /// Number of children (mapping entries or sequence elements); 0 for scalars.
    public var count: Int {
        switch children {
        case .none: return 0
        case .sequence(let s): return s.count
        case .mapping(let m): return m.count
        }
    }

    /// The same node seen as the value of another key (used for aliases and merge keys).
    func withKeyMark(_ keyMark: SourceMark?) -> SourceNode {
        if keyMark == self.keyMark { return self }
        return SourceNode(mark: mark, keyMark: keyMark, children: children)
    }
}

/// A parsed configuration file: the value Kong would see plus the position of every node.
public struct SourceDocument: Sendable {
    /// The whole document as Kong sees it (a mapping, or a sequence as Kong also accepts tables).
    public let value: Value
    /// Positions of the document's nodes, in the shape of `value`.
    public let root: SourceNode
    /// The file name the text was read from, if any.
    public let fileName: String?

    /// Creates a document.
    public init(value: Value, root: SourceNode, fileName: String?) {
        self.value = value
        self.root = root
        self.fileName = fileName
    }
}
