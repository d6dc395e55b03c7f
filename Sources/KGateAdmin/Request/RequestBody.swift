import KGateConfig
import KGateHTTP
import KGateSchema
import NIOCore
import NIOHTTP1

/// A request body as Kong's Admin API reads it (`kong/api/api_helpers.lua`, `arguments.lua`).
struct RequestBody: Sendable {
    /// The form of the body.
    enum Form: Sendable, Equatable {
        case none, json, form, multipart, other
    }

    /// How the body was sent.
    var form: Form
    /// The arguments it carries: the JSON object, or the form / multipart fields with nested keys
    /// (`a.b`, `a[1]`, `a[]`) expanded. Values of form fields are strings (see `inferred(by:)`).
    var params: Object
    /// The body's bytes.
    var raw: [UInt8]
    /// The fields of an urlencoded form in the order sent, before nesting (see `decodedArgs`).
    var formFields: [(String, Value)] = []

    /// Kong's `before_filter`: a body on POST/PUT/PATCH must be JSON, a form or multipart (or
    /// YAML for `/config`); otherwise 415, and 400 for several `Content-Type` headers.
    static func contentTypeRefusal(_ request: HTTPRequest, acceptsYAML: Bool) -> HTTPResponse? {
        guard [.POST, .PUT, .PATCH].contains(request.method) else { return nil }
        let types = request.headers["Content-Type"]
        // Kong exits with a plain string here, not a `{"message": ...}` object.
        if types.count > 1 { return .json(.badRequest, "Multiple Content-Type headers not allowed") }
        guard let type = types.first else {
            return request.body.readableBytes == 0 ? nil : .empty(.unsupportedMediaType)
        }
        let accepted =
            ["application/json", "multipart/form-data", "application/x-www-form-urlencoded"]
            + (acceptsYAML ? ["application/yaml", "text/yaml"] : [])
        return accepted.contains { type.hasPrefix($0) } ? nil : .empty(.unsupportedMediaType)
    }

    /// Reads the body; a JSON content type with a body that is not JSON gives 400
    /// `Cannot parse JSON body`.
    static func read(_ request: HTTPRequest) -> Checked<RequestBody> {
        var buffer = request.body
        let raw = buffer.readBytes(length: buffer.readableBytes) ?? []
        let type = request.headers.first(name: "Content-Type")?.lowercased() ?? ""
        let needsBody = [.POST, .PUT, .PATCH].contains(request.method)
        if type.contains("application/json") {
            guard case .success(let document) = JSONReader.read(raw) else {
                return needsBody
                    ? .refused(.message(.badRequest, "Cannot parse JSON body"))
                    : .ok(.init(form: .json, params: [:], raw: raw))
            }
            return .ok(RequestBody(form: .json, params: document.value.objectValue ?? [:], raw: raw))
        }
        if type.hasPrefix("application/x-www-form-urlencoded") {
            let text = String(decoding: raw, as: UTF8.self)
            let pairs = urlencodedPairs(text[...]).map { ($0.name, Value.string($0.value ?? "")) }
            return .ok(RequestBody(form: .form, params: NestedParams.expand(pairs), raw: raw, formFields: pairs))
        }
        if type.hasPrefix("multipart/form-data") {
            let fields = Multipart.fields(raw, contentType: request.headers.first(name: "Content-Type") ?? "")
            return .ok(RequestBody(form: .multipart, params: NestedParams.expand(fields), raw: raw))
        }
        return .ok(RequestBody(form: raw.isEmpty ? .none : .other, params: [:], raw: raw))
    }

    /// The `name=value` pairs of an urlencoded text (a form body, a query string), in order,
    /// decoded with `+` as a space; a name given without `=` has no value.
    static func urlencodedPairs(_ text: Substring) -> [(name: String, value: String?)] {
        text.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: URIText.unescape(kv[0], plusAsSpace: true), as: UTF8.self)
            let value = kv.count > 1 ? String(decoding: URIText.unescape(kv[1], plusAsSpace: true), as: UTF8.self) : nil
            return (name, value)
        }
    }

    /// The params as Kong's `parse_params` leaves them for routes that are not DAO endpoints
    /// (`/schemas/.../validate`): there is no schema inference, but an urlencoded form goes through
    /// `decode_args` first, which turns a field given once under a plain name (`a.b`, no
    /// brackets, as Lapis keeps it a string) from `""` into null and from `"true"` / `"false"`
    /// into booleans. Other bodies are returned as they are.
    var decodedArgs: Object {
        guard form == .form else { return params }
        var counts: [String: Int] = [:]
        for (name, _) in formFields { counts[name, default: 0] += 1 }
        let decoded = formFields.map { (name, value) -> (String, Value) in
            guard counts[name] == 1, !name.contains("[") else { return (name, value) }
            switch value {
            case .string(""): return (name, .null)
            case .string("true"): return (name, .bool(true))
            case .string("false"): return (name, .bool(false))
            default: return (name, value)
            }
        }
        return NestedParams.expand(decoded)
    }

    /// The params with form strings turned into the schema's types (Kong's `arguments.infer`);
    /// JSON params are returned as they are.
    func inferred(by schema: Schema) -> Object {
        guard form == .form || form == .multipart else { return params }
        return NestedParams.infer(params, schema: schema)
    }
}

/// Kong's nested parameter names (`config.key_names[1]=apikey`, `hosts[]=a`) and type inference.
enum NestedParams {
    /// Deepest nesting a field name may ask for (`a.b.c...`); deeper names are ignored, so no
    /// request can make the parser recurse without bound.
    static let maxDepth = 32

    /// Builds nested objects from `name → value` pairs; a name given twice becomes an array, an
    /// object whose keys are all indexes becomes an array in index order.
    static func expand(_ pairs: [(String, Value)]) -> Object {
        var root = Object()
        for (name, value) in pairs {
            let path = keyPath(name)
            guard !path.isEmpty, path.count <= maxDepth else { continue }
            set(&root, path[...], value)
        }
        return root.mapValues(arrays)
    }

    /// `a.b[1][]` → `a`, `b`, `1`, `[]`.
    static func keyPath(_ name: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inBracket = false
        for c in name {
            switch c {
            case "[" where !inBracket:
                if !current.isEmpty || parts.isEmpty { parts.append(current) }
                current = ""
                inBracket = true
            case "]" where inBracket:
                parts.append(current.isEmpty ? "[]" : current)
                current = ""
                inBracket = false
            case "." where !inBracket:
                if !current.isEmpty { parts.append(current) }
                current = ""
            default:
                current.append(c)
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    private static func set(_ object: inout Object, _ path: ArraySlice<String>, _ value: Value) {
        var key = path.first!
        if key == "[]" { key = String(object.count + 1) }
        if path.count == 1 {
            switch object[key] {
            case nil: object[key] = value
            case .array(var items)?:
                items.append(value)
                object[key] = .array(items)
            case let existing?: object[key] = .array([existing, value])
            }
            return
        }
        var child = object[key]?.objectValue ?? Object()
        set(&child, path.dropFirst(), value)
        object[key] = .object(child)
    }

    private static func arrays(_ value: Value) -> Value {
        guard case .object(let o) = value else { return value }
        let converted = o.mapValues(arrays)
        let indexes = converted.keys.compactMap { Int($0) }
        guard !converted.isEmpty, indexes.count == converted.count, indexes.allSatisfy({ $0 >= 1 }) else {
            return .object(converted)
        }
        return .array(converted.sorted { Int($0.key)! < Int($1.key)! }.map(\.value))
    }

    /// Kong's `arguments.infer`: strings of form fields turned into the field types.
    static func infer(_ args: Object, schema: Schema) -> Object {
        var out = args
        let subschema = schema.subschema(for: args)
        for (name, value) in args {
            let field =
                schema.resolvedField(name, subschema: subschema)
                ?? schema.shorthandFields.first { $0.name == name }?.field
            if let field { out[name] = infer(value, field) }
        }
        return out
    }

    static func infer(_ value: Value, _ field: Field) -> Value {
        if value == .string("") { return .null }
        switch field.type {
        case .number, .integer:
            if case .string(let s) = value {
                if let i = Int(s) { return .integer(i) }
                if let d = Double(s) { return .number(d) }
            }
            return value
        case .boolean:
            if value == .string("true") { return .bool(true) }
            if value == .string("false") { return .bool(false) }
            return value
        case .array, .set:
            let items = value.arrayValue ?? [value]
            guard let elements = field.elements else { return .array(items) }
            return .array(items.map { infer($0, elements) })
        case .map:
            guard case .object(let o) = value, let values = field.values else { return value }
            return .object(o.mapValues { infer($0, values) })
        case .record:
            guard case .object(let o) = value, let record = field.record, !field.abstract else { return value }
            return .object(infer(o, schema: record))
        default:
            return value
        }
    }
}

/// `multipart/form-data` fields: each part's `name` with its text (or JSON value when the part
/// says `Content-Type: application/json`).
enum Multipart {
    static func fields(_ body: [UInt8], contentType: String) -> [(String, Value)] {
        guard let boundary = boundary(contentType) else { return [] }
        let delimiter = Array(("--" + boundary).utf8)
        var fields: [(String, Value)] = []
        var parts = split(body, on: delimiter)
        if !parts.isEmpty { parts.removeFirst() }  // the preamble
        for var part in parts {
            if part.starts(with: Array("--".utf8)) { break }  // the closing delimiter
            if part.starts(with: [13, 10]) { part.removeFirst(2) }
            if part.suffix(2) == [13, 10] { part.removeLast(2) }
            guard let end = firstRange(of: [13, 10, 13, 10], in: part) else { continue }
            let head = String(decoding: part[..<end], as: UTF8.self)
            let content = Array(part[(end + 4)...])
            var name: String?
            var isJSON = false
            for line in head.split(separator: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("content-disposition:") { name = parameter("name", in: String(line)) }
                if lower.hasPrefix("content-type:"), lower.contains("application/json") { isJSON = true }
            }
            guard let name else { continue }
            if isJSON, case .success(let doc) = JSONReader.read(content) {
                fields.append((name, doc.value))
            } else {
                fields.append((name, .string(String(decoding: content, as: UTF8.self))))
            }
        }
        return fields
    }

    private static func boundary(_ contentType: String) -> String? {
        guard let value = parameter("boundary", in: contentType), !value.isEmpty else { return nil }
        return value
    }

    /// `name="value"` (or unquoted) in a header's `;`-separated parameters.
    private static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingSpaces.lowercased() == key else { continue }
            var value = kv[1].trimmingSpaces
            if value.count >= 2, value.first == "\"" || value.first == "'", value.last == value.first {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }

    private static func split(_ bytes: [UInt8], on delimiter: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0
        var i = 0
        while i + delimiter.count <= bytes.count {
            if matches(delimiter, in: bytes, at: i) {
                parts.append(Array(bytes[start..<i]))
                i += delimiter.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(Array(bytes[start...]))
        return parts
    }

    private static func firstRange(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { matches(needle, in: bytes, at: $0) }
    }

    private static func matches(_ needle: [UInt8], in bytes: [UInt8], at offset: Int) -> Bool {
        guard offset + needle.count <= bytes.count else { return false }
        for k in 0..<needle.count where bytes[offset + k] != needle[k] { return false }
        return true
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
