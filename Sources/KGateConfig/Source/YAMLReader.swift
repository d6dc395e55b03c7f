#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CYAML
import KGateSchema
import OrderedCollections

/// A YAML reader that sees a document as Kong's `lyaml.load` does, with source positions.
///
/// Built on libyaml's event parser and mirroring lyaml's loader (`lyaml/init.lua`):
/// - The whole stream is parsed (an error in a later document fails the load) and the first
///   document is returned; `nil` when the stream has no document (empty text, only comments).
/// - Mappings keep key order; a duplicate key replaces the earlier value (keeping its place).
///   Keys that are not strings become their scalar text (`1`, `true`, `~`); a mapping or
///   sequence used as a key becomes the key `table`.
/// - Anchors and aliases: an alias gives the anchored value and reuses its source nodes. An
///   undefined alias is `invalid reference: NAME`; an alias to an anchor still being built
///   (a recursive structure, which lyaml would build as a cyclic Lua table) is
///   `recursive reference: NAME`. Anchors are reset at each document.
/// - Merge keys (`<<`, or a key tagged `!!merge`): a mapping, or a sequence of mappings (the
///   earlier wins; null elements are skipped), is merged in; keys already present are kept, later
///   explicit keys replace merged ones. Other merge values fail as in lyaml
///   (`invalid '<<' merge event: x`, `invalid '<<' sequence element 2: x`).
/// - Scalars: see ``ScalarResolver`` (quoted scalars stay strings; `!!str/!!int/!!float/!!bool/!!null`
///   are honoured on any style). As in lyaml, scalar text stops at an embedded NUL.
///
/// Errors read like lyaml's: `LINE:COLUMN: problem`, where the position is the start of the last
/// event libyaml produced before the problem (for a syntax error, libyaml's problem text such as
/// `did not find expected key`). Nesting deeper than ``ConfigText/maxDepth`` (counting values
/// reached through aliases) is refused.
public enum YAMLReader {
    /// Loads the first document of `bytes`. Errors carry lyaml's message (no Kong prefix).
    public static func read(_ bytes: [UInt8]) -> Result<SourceDocument?, ConfigTextError> {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            return .failure(ConfigTextError(message: "cannot initialize the YAML parser", mark: nil))
        }
        defer { yaml_parser_delete(parser) }
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        // libyaml wants a non-null input pointer even for empty text.
        let empty = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        empty.initialize(to: 0)
        defer { empty.deallocate() }
        return bytes.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(parser, buf.count > 0 ? buf.baseAddress! : UnsafePointer(empty), buf.count)
            return load(parser, event)
        }
    }

    private static func load(_ parser: UnsafeMutablePointer<yaml_parser_t>, _ event: UnsafeMutablePointer<yaml_event_t>)
        -> Result<SourceDocument?, ConfigTextError>
    {
        var loader = YAMLLoader(parser: parser, event: event)
        defer { loader.releaseEvent() }
        do throws(ConfigTextError) {
            return .success(try loader.loadStream())
        } catch {
            return .failure(error)
        }
    }
}

private struct YAMLLoader {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    let event: UnsafeMutablePointer<yaml_event_t>
    var hasEvent = false
    /// lyaml's `self.mark`: the start of the last event parsed (0:0 before any).
    var lastMark = SourceMark(line: 0, column: 0)
    var anchors: [String: Item] = [:]
    var frames: [Frame] = []

    init(parser: UnsafeMutablePointer<yaml_parser_t>, event: UnsafeMutablePointer<yaml_event_t>) {
        self.parser = parser
        self.event = event
    }

    /// A finished node.
    struct Item {
        enum Kind { case scalar, sequence, mapping }
        var value: Value
        var node: SourceNode
        var kind: Kind
        /// The text of this node used as a mapping key.
        var keyText: String
        /// Non-nil when this node used as a key makes a merge key: the tag lyaml names in messages.
        var mergeTag: String?
        /// Nesting height: 0 for scalars, 1 + deepest child for collections.
        var height: Int
    }

    enum Pending {
        case none
        case key(String, SourceMark)
        case merge(String)
    }

    /// An open sequence or mapping.
    struct Frame {
        var isMapping: Bool
        var mark: SourceMark
        var keyMark: SourceMark?
        var anchor: String?
        var height = 0
        var elements: [Value] = []
        var elementNodes: [SourceNode] = []
        var members: Object = [:]
        var memberNodes: OrderedDictionary<String, SourceNode> = [:]
        var pending = Pending.none
    }

    // MARK: Events

    mutating func releaseEvent() {
        if hasEvent {
            yaml_event_delete(event)
            hasEvent = false
        }
    }

    /// lyaml's `parse`: the next event, or libyaml's problem at the last good event's position.
    mutating func next() throws(ConfigTextError) -> yaml_event_type_t {
        releaseEvent()
        guard yaml_parser_parse(parser, event) != 0 else {
            let problem = parser.pointee.problem.map { String(cString: $0) } ?? "A problem"
            throw error(problem)
        }
        hasEvent = true
        let m = event.pointee.start_mark
        lastMark = SourceMark(line: m.line + 1, column: m.column + 1)
        return event.pointee.type
    }

    /// lyaml's `self:error(...)`.
    func error(_ message: String) -> ConfigTextError {
        ConfigTextError(message: "\(lastMark.line):\(lastMark.column): \(message)", mark: lastMark)
    }

    static func name(_ t: yaml_event_type_t) -> String {
        switch t {
        case YAML_STREAM_START_EVENT: return "STREAM_START"
        case YAML_STREAM_END_EVENT: return "STREAM_END"
        case YAML_DOCUMENT_START_EVENT: return "DOCUMENT_START"
        case YAML_DOCUMENT_END_EVENT: return "DOCUMENT_END"
        case YAML_ALIAS_EVENT: return "ALIAS"
        case YAML_SCALAR_EVENT: return "SCALAR"
        case YAML_SEQUENCE_START_EVENT: return "SEQUENCE_START"
        case YAML_SEQUENCE_END_EVENT: return "SEQUENCE_END"
        case YAML_MAPPING_START_EVENT: return "MAPPING_START"
        case YAML_MAPPING_END_EVENT: return "MAPPING_END"
        default: return "NO_EVENT"
        }
    }

    // MARK: Stream

    /// lyaml's `load`: every document is loaded, the first is returned.
    mutating func loadStream() throws(ConfigTextError) -> SourceDocument? {
        let first = try next()
        guard first == YAML_STREAM_START_EVENT else {
            throw error("expecting STREAM_START event, but got \(Self.name(first))")
        }
        var document: Item?
        while try next() != YAML_STREAM_END_EVENT {
            let item = try loadNode()
            let end = try next()
            guard end == YAML_DOCUMENT_END_EVENT else {
                throw error("expecting DOCUMENT_END event, but got \(Self.name(end))")
            }
            if document == nil { document = item }
            anchors.removeAll(keepingCapacity: true)
        }
        return document.map { SourceDocument(value: $0.value, root: $0.node, fileName: nil) }
    }

    /// lyaml's `load_node` for a document root, built iteratively over the events.
    mutating func loadNode() throws(ConfigTextError) -> Item {
        frames.removeAll(keepingCapacity: true)
        while true {
            let type = try next()
            let item: Item
            switch type {
            case YAML_SCALAR_EVENT:
                guard let scalarItem = try scalar() else { continue }
                item = scalarItem
            case YAML_ALIAS_EVENT:
                item = try alias()
            case YAML_SEQUENCE_START_EVENT:
                try push(mapping: false, anchor: event.pointee.data.sequence_start.anchor)
                continue
            case YAML_MAPPING_START_EVENT:
                try push(mapping: true, anchor: event.pointee.data.mapping_start.anchor)
                continue
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard !frames.isEmpty else { throw error("unexpected \(Self.name(type)) event") }
                item = pop()
            default:
                throw error("invalid event: \(Self.name(type))")
            }
            if frames.isEmpty { return item }
            try deliver(item)
        }
    }

    // MARK: Nodes

    /// True when the next finished node is a mapping key.
    var atKey: Bool {
        guard let top = frames.indices.last, frames[top].isMapping else { return false }
        if case .none = frames[top].pending { return true }
        return false
    }

    /// The key mark for a node that is the value of a mapping entry, if it is one.
    var valueKeyMark: SourceMark? {
        guard let top = frames.indices.last, frames[top].isMapping,
            case .key(_, let mark) = frames[top].pending
        else { return nil }
        return mark
    }

    mutating func push(mapping: Bool, anchor: UnsafeMutablePointer<yaml_char_t>?) throws(ConfigTextError) {
        if frames.count >= ConfigText.maxDepth {
            throw error("too many nested data structures (\(frames.count + 1))")
        }
        var name: String?
        if let a = anchor {
            let n = String(cString: a)
            anchors[n] = nil  // lyaml registers the table now; an alias to it before it ends is recursive.
            name = n
        }
        frames.append(Frame(isMapping: mapping, mark: lastMark, keyMark: valueKeyMark, anchor: name))
    }

    mutating func pop() -> Item {
        let f = frames.removeLast()
        let item: Item
        if f.isMapping {
            item = Item(
                value: .object(f.members),
                node: SourceNode(mark: f.mark, keyMark: f.keyMark, children: .mapping(f.memberNodes)),
                kind: .mapping, keyText: "table", mergeTag: nil, height: f.height + 1)
        } else {
            item = Item(
                value: .array(f.elements),
                node: SourceNode(mark: f.mark, keyMark: f.keyMark, children: .sequence(f.elementNodes)),
                kind: .sequence, keyText: "table", mergeTag: nil, height: f.height + 1)
        }
        if let a = f.anchor { anchors[a] = item }
        return item
    }

    mutating func alias() throws(ConfigTextError) -> Item {
        let name = event.pointee.data.alias.anchor.map { String(cString: $0) } ?? ""
        guard var item = anchors[name] else {
            if frames.contains(where: { $0.anchor == name }) { throw error("recursive reference: \(name)") }
            throw error("invalid reference: \(name)")
        }
        if !atKey { item.node = item.node.withKeyMark(valueKeyMark) }
        if item.kind == .scalar, case .string("<<") = item.value {
            item.mergeTag = "<<"
        } else {
            item.mergeTag = nil
        }
        return item
    }

    /// lyaml's `load_scalar`. In key position without an anchor the key is recorded directly and
    /// nil is returned (no node is needed for it).
    mutating func scalar() throws(ConfigTextError) -> Item? {
        let s = event.pointee.data.scalar
        var length = 0
        if let v = s.value, s.length > 0 {
            // lua_pushstring: the text stops at the first NUL.
            if let nul = memchr(v, 0, s.length) {
                length = UnsafeRawPointer(nul) - UnsafeRawPointer(v)
            } else {
                length = s.length
            }
        }
        let bytes = UnsafeBufferPointer<UInt8>(start: s.value, count: length)

        var explicitTag: ScalarResolver.Tag?
        var isMergeTag = false
        var tagText: String?
        if let t = s.tag {
            let tag = String(cString: t)
            tagText = tag
            explicitTag = ScalarResolver.tag(named: tag)
            isMergeTag = tag == "tag:yaml.org,2002:merge"
        }

        let resolution: ScalarResolver.Resolution
        if let tag = explicitTag {
            resolution = ScalarResolver.explicit(bytes, tag: tag)
        } else if s.style == YAML_PLAIN_SCALAR_STYLE {
            resolution = ScalarResolver.implicit(bytes)
        } else {
            resolution = .string
        }

        let value: Value
        var text: String?
        switch resolution {
        case .string:
            let t = String(decoding: bytes, as: UTF8.self)
            text = t
            value = .string(t)
        case .value(let v):
            value = v
        case .invalid:
            throw error("invalid '\(tagText ?? "")' value: '\(String(decoding: bytes, as: UTF8.self))'")
        case .luaError:
            throw error(
                "attempt to perform arithmetic on a nil value (lyaml cannot convert '\(String(decoding: bytes, as: UTF8.self))')")
        }

        let anchor = s.anchor.map { String(cString: $0) }
        let key = atKey
        if (key || anchor != nil) && text == nil { text = String(decoding: bytes, as: UTF8.self) }
        var mergeTag: String?
        if isMergeTag {
            mergeTag = tagText
        } else if case .string("<<") = value {
            mergeTag = tagText ?? "<<"
        }

        if key && anchor == nil {
            setKey(text!, mark: lastMark, mergeTag: mergeTag)
            return nil
        }
        let item = Item(
            value: value,
            node: SourceNode(mark: lastMark, keyMark: key ? nil : valueKeyMark),
            kind: .scalar, keyText: text ?? "", mergeTag: mergeTag, height: 0)
        if let a = anchor {
            var anchored = item
            anchored.mergeTag = nil
            anchors[a] = anchored
        }
        return item
    }

    mutating func setKey(_ text: String, mark: SourceMark, mergeTag: String?) {
        let top = frames.count - 1
        if let tag = mergeTag {
            frames[top].pending = .merge(tag)
        } else {
            frames[top].pending = .key(text, mark)
        }
    }

    /// Hands a finished node to the innermost open collection (lyaml's `load_map`/`load_sequence`).
    mutating func deliver(_ item: Item) throws(ConfigTextError) {
        let top = frames.count - 1
        if !frames[top].isMapping {
            try checkDepth(item)
            frames[top].elements.append(item.value)
            frames[top].elementNodes.append(item.node)
            frames[top].height = max(frames[top].height, item.height)
            return
        }
        switch frames[top].pending {
        case .none:
            setKey(item.keyText, mark: item.node.mark, mergeTag: item.mergeTag)
        case .key(let key, _):
            try checkDepth(item)
            frames[top].members[key] = item.value
            frames[top].memberNodes[key] = item.node
            frames[top].height = max(frames[top].height, item.height)
            frames[top].pending = .none
        case .merge(let tag):
            try checkDepth(item)
            try merge(item, tag: tag)
            frames[top].pending = .none
        }
    }

    func checkDepth(_ item: Item) throws(ConfigTextError) {
        if frames.count + item.height > ConfigText.maxDepth {
            throw error("too many nested data structures (\(frames.count + item.height))")
        }
    }

    /// lyaml's merge-key handling.
    mutating func merge(_ item: Item, tag: String) throws(ConfigTextError) {
        switch item.kind {
        case .mapping:
            mergeTable(item.value, node: item.node, height: item.height - 1)
        case .sequence:
            guard case .array(let elements) = item.value else { return }
            for (i, element) in elements.enumerated() {
                switch element {
                case .object, .array:
                    mergeTable(element, node: item.node.child(index: i), height: max(0, item.height - 2))
                case .null:
                    continue  // lyaml.null is an empty table: nothing to merge.
                default:
                    throw error("invalid '\(tag)' sequence element \(i + 1): \(element.luaString)")
                }
            }
        case .scalar:
            throw error("invalid '\(tag)' merge event: \(item.value.luaString)")
        }
    }

    /// Copies the entries of a merged table that the mapping being built does not have yet.
    mutating func mergeTable(_ table: Value, node: SourceNode?, height: Int) {
        let top = frames.count - 1
        switch table {
        case .object(let object):
            for (k, v) in object where frames[top].members[k] == nil {
                frames[top].members[k] = v
                if let n = node?.child(key: k) { frames[top].memberNodes[k] = n }
            }
        case .array(let array):
            // pairs() over a Lua array: keys 1...n.
            for (i, v) in array.enumerated() {
                let k = String(i + 1)
                guard frames[top].members[k] == nil else { continue }
                frames[top].members[k] = v
                if let n = node?.child(index: i) { frames[top].memberNodes[k] = n }
            }
        default:
            return
        }
        frames[top].height = max(frames[top].height, height)
    }
}
