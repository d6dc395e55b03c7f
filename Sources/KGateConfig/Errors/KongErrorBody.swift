import KGateSchema
import OrderedCollections

/// Kong's code-14 error object, the body of a refused `POST /config` (`kong/db/errors.lua`,
/// `declarative_config`):
///
/// ```json
/// {"code":14,"name":"invalid declarative configuration",
///  "message":"declarative config is invalid: {services={{host=\"required field missing\"}}}",
///  "fields":{"services":[{"host":"required field missing"}]}}
/// ```
///
/// `message` embeds penlight's `pretty.write(err_t, "")` (see `penlightText(_:)`); `fields` is
/// the error tree as cjson encodes it (see `fieldsValue(_:)`).
public enum KongErrorBody {
    /// `ERRORS.DECLARATIVE_CONFIG`.
    public static let code = 14
    /// `ERRORS_NAMES[14]`.
    public static let name = "invalid declarative configuration"
    /// The prefix of `message`.
    public static let messagePrefix = "declarative config is invalid: "

    /// The plain error object: `code`, `name`, `message`, `fields`, in that order.
    public static func object(fields: ErrorNode) -> Value {
        var body = Object()
        body["code"] = .integer(code)
        body["name"] = .string(name)
        body["message"] = .string(message(fields: fields))
        body["fields"] = fieldsValue(fields)
        return .object(body)
    }

    /// `declarative config is invalid: ` followed by the penlight dump of the tree.
    public static func message(fields: ErrorNode) -> String {
        messagePrefix + penlightText(fields)
    }

    /// The error tree as Kong's cjson writes it.
    ///
    /// A node whose keys are all indexes is a JSON array with `null` in the holes (Kong sets
    /// `encode_sparse_array(nil, nil, 2^15)`: arrays stay arrays up to index 32768); any other
    /// non-empty node is an object (index keys become `"2"`); an empty node is `{}`.
    public static func fieldsValue(_ node: ErrorNode) -> Value {
        if node.isEmpty { return .object([:]) }
        let indexes = node.entries.compactMap { entry -> Int? in
            if case .index(let i) = entry.key { return i } else { return nil }
        }
        if indexes.count == node.count, let top = indexes.max(), top <= 32768, indexes.allSatisfy({ $0 >= 1 }) {
            var items = [Value](repeating: .null, count: top)
            for entry in node.entries {
                if case .index(let i) = entry.key { items[i - 1] = value(entry.value) }
            }
            return .array(items)
        }
        var object = Object()
        for entry in node.entries {
            object[entry.key.description] = value(entry.value)
        }
        return .object(object)
    }

    private static func value(_ v: ErrorValue) -> Value {
        switch v {
        case .message(let m): return .string(m)
        case .node(let n): return fieldsValue(n)
        }
    }

    // MARK: - penlight pretty.write(t, "")

    /// penlight 1.14's `pretty.write(tbl, "")`, as used in Kong's `message`.
    ///
    /// The consecutive indexes from 1 come first without keys (`{{...},{...}}`), then field keys
    /// sorted bytewise (bare when a Lua identifier, else `["@entity"]=`), then the remaining
    /// indexes as `[2]=` in ascending order (penlight follows Lua's `pairs` there). Strings are
    /// quoted with Lua's `%q` (LuaJIT flavour), or with long brackets when they hold a newline or
    /// a `[[`/`]]`-like sequence, exactly as `stringx.quote_string` does.
    public static func penlightText(_ node: ErrorNode) -> String {
        var writer = PenlightWriter()
        writer.write(node)
        return writer.finish()
    }

    /// Lua's `%q` quoting through penlight's `quote_string`.
    public static func luaQuote(_ s: String) -> String {
        let hasCR = s.utf8.contains(0x0D)
        let equals = longQuoteLevel(Array(s.utf8) + [UInt8(ascii: "]")])
        if (s.utf8.contains(0x0A) || equals != nil) && !hasCR {
            let eq = String(repeating: "=", count: (equals ?? -1) + 1)
            let body = s.hasPrefix("\n") ? "\n" + s : s
            return "[" + eq + "[" + body + "]" + eq + "]"
        }
        return LuaQuote.percentQ(s)
    }

    /// penlight's `has_lquote`: the largest `n` such that `[` `=`×n `[` or `]` `=`×n `]` occurs.
    private static func longQuoteLevel(_ bytes: [UInt8]) -> Int? {
        var best: Int?
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "]") {
                var j = i + 1
                while j < bytes.count, bytes[j] == UInt8(ascii: "=") { j += 1 }
                if j < bytes.count, bytes[j] == c {
                    best = max(best ?? 0, j - i - 1)
                }
            }
            i += 1
        }
        return best
    }

    fileprivate static let luaKeywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    fileprivate static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !luaKeywords.contains(s) else { return false }
        func isAlpha(_ c: UInt8) -> Bool { (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
        guard isAlpha(first) || first == UInt8(ascii: "_") else { return false }
        return s.utf8.allSatisfy { isAlpha($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") }
    }
}

/// A line-for-line port of penlight's writer state (`put`, `putln`, `eat_last_comma`) with
/// `space = ""`, so that comma handling matches byte for byte.
private struct PenlightWriter {
    var lines: [String] = []
    var line = ""

    mutating func put(_ s: String) { line += s }

    mutating func putln(_ s: String) {
        if line.isEmpty {
            lines.append(s)
        } else {
            lines.append(line + s)
            line = ""
        }
    }

    mutating func eatLastComma() {
        guard let last = lines.last, last.hasSuffix(",") else { return }
        lines[lines.count - 1].removeLast()
    }

    mutating func write(_ value: ErrorValue) {
        switch value {
        case .message(let m): putln(KongErrorBody.luaQuote(m) + ",")
        case .node(let n): write(n)
        }
    }

    mutating func write(_ node: ErrorNode) {
        putln("{")
        var used = Set<Int>()
        var i = 1
        while let v = node[.index(i)] {
            write(v)
            used.insert(i)
            i += 1
        }
        let fieldKeys = node.entries.compactMap { entry -> String? in
            if case .field(let f) = entry.key { return f } else { return nil }
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for key in fieldKeys {
            let shown = KongErrorBody.isIdentifier(key) ? key : index(quoted: KongErrorBody.luaQuote(key))
            put(shown + "=")
            write(node[.field(key)]!)
        }
        let sparse = node.entries.compactMap { entry -> Int? in
            if case .index(let i) = entry.key, !used.contains(i) { return i } else { return nil }
        }.sorted()
        for key in sparse {
            put("[\(key)]=")
            write(node[.index(key)]!)
        }
        eatLastComma()
        putln("},")
    }

    private func index(quoted: String) -> String {
        quoted.hasPrefix("[") ? "[ " + quoted + " ]" : "[" + quoted + "]"
    }

    mutating func finish() -> String {
        eatLastComma()
        if !line.isEmpty { lines.append(line) }
        return lines.joined()
    }
}
