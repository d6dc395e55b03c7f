import KGateSchema

/// Kong's `response-transformer` (PRIORITY 800, `kong/plugins/response-transformer`): changes
/// the response's headers in `header_filter` and the fields of a JSON body in `body_filter`,
/// in Kong's order: remove, rename, replace, add, append.
///
/// Header rules read the headers as the upstream sent them (Kong's `get_headers()` table taken
/// before any change): rename and replace need the header, add needs it absent. Body rules
/// apply to a JSON body (`application/json` or a `+json` type), gathered whole, then sent
/// again encoded as cjson does; `Content-Length` goes as the body changes length. A body that
/// does not parse as JSON is sent as it came, with a warning.
public struct ResponseTransformerPlugin: Plugin {
    /// One `name:value` rule; `value` is nil when empty.
    struct Rule: Sendable {
        var name: String
        var value: String?
        /// The `json_types` entry at the same position (add, append, replace).
        var jsonType: String?
    }

    /// One of remove / rename / replace / add / append.
    struct Section: Sendable {
        var headers: [Rule]
        var json: [Rule]

        init(_ record: Object?) {
            func rules(_ key: String, types: [String] = []) -> [Rule] {
                (record?.strings(key) ?? []).enumerated().compactMap { index, entry in
                    TransformerRules.split(entry).map {
                        Rule(name: $0.name, value: $0.value.isEmpty ? nil : $0.value, jsonType: index < types.count ? types[index] : nil)
                    }
                }
            }
            headers = rules("headers")
            json = rules("json", types: record?.strings("json_types") ?? [])
        }
    }

    /// The parsed config.
    public struct Config: Sendable {
        var remove: Section
        var rename: Section
        var replace: Section
        var add: Section
        var append: Section
        /// Kong's `is_body_transform_set`.
        var transformsBody: Bool
    }

    /// `response-transformer`.
    public static let name = "response-transformer"
    /// 800.
    public static let priority = 800
    /// header_filter and body_filter.
    public static let phases: PluginPhases = [.headerFilter, .bodyFilter]

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let sections = ["remove", "rename", "replace", "add", "append"].map { Section(config.record($0)) }
        return Config(
            remove: sections[0], rename: sections[1], replace: sections[2], add: sections[3], append: sections[4],
            transformsBody: sections.contains { !$0.json.isEmpty })
    }

    /// Kong's `transform_headers`.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        let original = ctx.response.headers
        for rule in config.remove.headers { ctx.response.clearHeader(rule.name) }
        for rule in config.rename.headers {
            guard let new = rule.value else { continue }
            let values = original.tableValues(rule.name)
            guard !values.isEmpty else { continue }
            ctx.response.clearHeader(new)
            for value in values { ctx.response.addHeader(new, value) }
            ctx.response.clearHeader(rule.name)
        }
        for rule in config.replace.headers where original.tableValue(rule.name) != nil {
            if let value = rule.value { ctx.response.setHeader(rule.name, value) }
        }
        for rule in config.add.headers where original.tableValue(rule.name) == nil {
            if let value = rule.value { ctx.response.setHeader(rule.name, value) }
        }
        for rule in config.append.headers {
            if let value = rule.value { ctx.response.addHeader(rule.name, value) }
        }
        if config.transformsBody, Self.isJSON(original.tableValue("content-type")?.value) {
            ctx.response.clearHeader("Content-Length")
        }
    }

    /// Gathers a JSON body and sends it transformed with the last chunk.
    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard config.transformsBody, Self.isJSON(ctx.response.header("content-type")) else { return }
        var gathered = ctx.plugin["body"] as? [UInt8] ?? []
        gathered += chunk
        guard last else {
            ctx.plugin["body"] = gathered
            chunk = []
            return
        }
        ctx.plugin["body"] = nil
        if let transformed = Self.transform(config, gathered) {
            chunk = transformed
        } else {
            ctx.logger.warning("body transform failed: failed parsing json body")
            chunk = gathered
        }
    }

    /// Kong's `is_json_body`: one of the comma-separated media types is `application/json` or
    /// `application/<something>+json`.
    static func isJSON(_ contentType: String?) -> Bool {
        contentType?.split(separator: ",").contains { MediaType(String($0))?.isJSON == true } ?? false
    }

    /// Kong's `transform_json_body`; nil when the body is not JSON.
    static func transform(_ config: Config, _ body: [UInt8]) -> [UInt8]? {
        // cjson decodes `1E400` as infinity but refuses to encode it: the body stays as it came.
        guard let decoded = KongJSONEncoderShim.decode(body), isFinite(decoded) else { return nil }
        // Kong indexes the decoded value as a table: only objects have fields to change.
        guard case .object(var json) = decoded else { return Array(KongJSONEncoderShim.string(decoded).utf8) }
        for rule in config.remove.json { json[rule.name] = nil }
        for rule in config.rename.json {
            guard let new = rule.value, let value = json[rule.name] else { continue }
            json[rule.name] = nil
            json[new] = value
        }
        for rule in config.replace.json {
            guard let current = json[rule.name], isTruthy(current), let value = jsonValue(rule) else { continue }
            json[rule.name] = value
        }
        for rule in config.add.json {
            guard json[rule.name].map(isTruthy) != true, let value = jsonValue(rule) else { continue }
            json[rule.name] = value
        }
        for rule in config.append.json {
            guard let value = jsonValue(rule) else { continue }
            json[rule.name] = appended(json[rule.name], value)
        }
        return Array(KongJSONEncoderShim.string(.object(json)).utf8)
    }

    /// Whether every number in `value` is finite (cjson encodes no other).
    static func isFinite(_ value: Value) -> Bool {
        switch value {
        case .number(let n): return n.isFinite
        case .array(let items): return items.allSatisfy(isFinite)
        case .object(let fields): return fields.values.allSatisfy(isFinite)
        default: return true
        }
    }

    /// Lua truthiness of a decoded JSON value (cjson's null is a truthy sentinel).
    static func isTruthy(_ value: Value) -> Bool { value != .bool(false) }

    /// Kong's `json_value`: the rule's value as cjson writes a string, without its quotes and
    /// with `\"` and `\/` undone, then cast by `json_types` (`number` with Lua's `tonumber`,
    /// `boolean` true only for `true`); an empty value is cjson's `null` as text. nil for a
    /// number that does not parse.
    static func jsonValue(_ rule: Rule) -> Value? {
        // An empty value (`k:`) is Lua's nil, which cjson encodes as the text `null`.
        var text = "null"
        if let raw = rule.value {
            let encoded = Array(KongJSONEncoderShim.string(.string(raw)).utf8.dropFirst().dropLast())
            text = String(decoding: unescaping(unescaping(encoded, UInt8(ascii: "\"")), UInt8(ascii: "/")), as: UTF8.self)
        }
        switch rule.jsonType {
        case "number":
            guard let number = ParsedURL.luaToNumber(text) else { return nil }
            if number == number.rounded(), abs(number) < 1e15 { return .integer(Int(number)) }
            return .number(number)
        case "boolean":
            return .bool(text == "true")
        default:
            return .string(text)
        }
    }

    /// `gsub(s, [[\c]], "c")`: each backslash followed by `c` becomes `c`, scanning left to right.
    static func unescaping(_ bytes: [UInt8], _ c: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == c {
                out.append(c)
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// Kong's `append_value`: a string becomes a list of both, a list grows, anything else
    /// is replaced by a list of the new value. An object grows a field `1` (Lua's `insert`
    /// into a table with no array part).
    static func appended(_ current: Value?, _ value: Value) -> Value {
        switch current {
        case .string(let s)?: return .array([.string(s), value])
        case .array(var list)?:
            list.append(value)
            return .array(list)
        case .object(var object)?:
            object["1"] = value
            return .object(object)
        default: return .array([value])
        }
    }
}
