import KGateConfig
import KGateSchema

/// A request body decoded by content type, as Kong's `kong.request.get_body` does:
/// `application/x-www-form-urlencoded`, `application/json` (an object or array only) and
/// `multipart/form-data`.
public enum RequestBody: Sendable, Hashable {
    /// Form arguments.
    case form(QueryArgs)
    /// A JSON object or array.
    case json(Value)
    /// Multipart parts.
    case multipart(MultipartBody)

    /// What `body[name]` is in Kong's Lua table.
    public enum Argument: Sendable, Hashable {
        /// A string.
        case string(String)
        /// A table: a repeated form field, a JSON array or object.
        case table
        /// Anything else (a flag, a JSON number, boolean or null).
        case other
    }

    /// Why a body could not be decoded (Kong's `get_body` error strings).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// `missing content type`, `invalid json body`, `unsupported content type '...'`...
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// The media type part of a `Content-Type`, lower-cased, before any `;`.
    public static func mediaType(_ contentType: String) -> String {
        let lower = contentType.lowercased()
        guard let semi = lower.firstIndex(of: ";") else { return lower }
        return String(lower[..<semi])
    }

    /// Decodes `bytes` by `contentType` (Kong's rules: the media type must start with the known
    /// type). An empty JSON body or invalid JSON is `invalid json body`.
    public static func decode(_ bytes: [UInt8], contentType: String?) -> Result<RequestBody, Failure> {
        guard let contentType else { return .failure(Failure(message: "missing content type")) }
        let media = mediaType(contentType)
        if media.hasPrefix("application/x-www-form-urlencoded") {
            return .success(.form(QueryArgs(parsing: String(decoding: bytes, as: UTF8.self))))
        }
        if media.hasPrefix("application/json") {
            guard case .success(let doc) = JSONReader.read(bytes), doc.value.isTable else {
                return .failure(Failure(message: "invalid json body"))
            }
            return .success(.json(doc.value))
        }
        if media.hasPrefix("multipart/form-data") {
            guard let parts = MultipartBody(parsing: bytes, contentType: contentType) else {
                return .failure(Failure(message: "unable to decode multipart body"))
            }
            return .success(.multipart(parts))
        }
        return .failure(Failure(message: "unsupported content type '\(contentType)'"))
    }

    /// The body as `kong.request.get_body()`'s table: form arguments as `get_query()` shows
    /// them, the JSON value, multipart parts by name (the last of a repeated name).
    public var table: Value {
        switch self {
        case .form(let args): return LogSerializer.queryTable(args)
        case .json(let value): return value
        case .multipart(let parts):
            var table: Object = [:]
            for part in parts.parts { table[part.name] = .string(String(decoding: part.value, as: UTF8.self)) }
            return .object(table)
        }
    }

    /// `body[name]`.
    public func argument(_ name: String) -> Argument? {
        switch self {
        case .form(let args):
            switch args[name] {
            case nil: return nil
            case .string(let s)?: return .string(s)
            case .multiple?: return .table
            case .flag?: return .other
            }
        case .json(let value):
            switch value[name] {
            case nil: return nil
            case .string(let s)?: return .string(s)
            case .array?, .object?: return .table
            default: return .other
            }
        case .multipart(let body):
            let values = body.parts.filter { $0.name == name }
            if values.isEmpty { return nil }
            return values.count == 1 ? .string(String(decoding: values[0].value, as: UTF8.self)) : .table
        }
    }

    /// The body with an argument removed, re-encoded (Kong's `set_body` after `body[name] = nil`).
    public func removing(_ name: String) -> RequestBody {
        switch self {
        case .form(var args):
            args.set(name, nil)
            return .form(args)
        case .json(var value):
            if case .object(var o) = value {
                o[name] = nil
                value = .object(o)
            }
            return .json(value)
        case .multipart(var body):
            body.parts.removeAll { $0.name == name }
            return .multipart(body)
        }
    }

    /// The encoded bytes and the `Content-Type` to send with them.
    public func encoded() -> (bytes: [UInt8], contentType: String) {
        switch self {
        case .form(let args):
            return (Array(args.encoded().utf8), "application/x-www-form-urlencoded")
        case .json(let value):
            var out: [UInt8] = []
            KongJSONEncoder().encode(value, into: &out)
            return (out, "application/json")
        case .multipart(let body):
            return (body.encoded(), "multipart/form-data; boundary=" + body.boundary)
        }
    }
}

/// A `multipart/form-data` body: its boundary and parts, in order.
public struct MultipartBody: Sendable, Hashable {
    /// One part.
    public struct Part: Sendable, Hashable {
        /// The `name` of its `Content-Disposition`.
        public var name: String
        /// The part's headers as received (or a plain `Content-Disposition` for new parts).
        public var headers: [String]
        /// The content.
        public var value: [UInt8]

        /// A simple form field (`Content-Disposition: form-data; name="<name>"`).
        public init(name: String, value: String) {
            self.name = name
            self.headers = ["Content-Disposition: form-data; name=\"\(name)\""]
            self.value = Array(value.utf8)
        }

        init(name: String, headers: [String], value: [UInt8]) {
            self.name = name
            self.headers = headers
            self.value = value
        }
    }

    /// The boundary (without the leading `--`).
    public var boundary: String
    /// The parts in order.
    public var parts: [Part]

    /// Parses a body; nil when the content type has no boundary.
    public init?(parsing bytes: [UInt8], contentType: String) {
        guard let boundary = Self.boundary(of: contentType) else { return nil }
        self.boundary = boundary
        self.parts = []
        let delimiter = Array(("--" + boundary).utf8)
        var starts: [Int] = []
        var i = 0
        while let at = Self.find(delimiter, in: bytes, from: i) {
            starts.append(at)
            i = at + delimiter.count
        }
        for (n, start) in starts.enumerated() where n + 1 < starts.count {
            var lo = start + delimiter.count
            if lo + 1 < bytes.count, bytes[lo] == 0x0D, bytes[lo + 1] == 0x0A { lo += 2 }
            var hi = starts[n + 1]
            if hi - 2 >= lo, bytes[hi - 2] == 0x0D, bytes[hi - 1] == 0x0A { hi -= 2 }
            guard lo <= hi else { continue }
            let chunk = Array(bytes[lo..<hi])
            let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
            guard let split = Self.find(separator, in: chunk, from: 0) else { continue }
            let headers = chunk[..<split].split(separator: 0x0A).map { line in
                String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }.filter { !$0.isEmpty }
            guard let name = Self.dispositionName(headers) else { continue }
            parts.append(Part(name: name, headers: headers, value: Array(chunk[(split + 4)...])))
        }
    }

    /// Makes a body from parts.
    public init(boundary: String, parts: [Part]) {
        self.boundary = boundary
        self.parts = parts
    }

    /// The body's bytes: each part after `--boundary`, then `--boundary--`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            out += Array("--\(boundary)\r\n".utf8)
            for h in part.headers { out += Array((h + "\r\n").utf8) }
            out += [0x0D, 0x0A]
            out += part.value
            out += [0x0D, 0x0A]
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }

    static func boundary(of contentType: String) -> String? {
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingSpaces().lowercased() == "boundary" else { continue }
            var v = kv[1].trimmingSpaces()
            if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            return v.isEmpty ? nil : v
        }
        return nil
    }

    static func dispositionName(_ headers: [String]) -> String? {
        for h in headers where h.lowercased().hasPrefix("content-disposition:") {
            for param in h.split(separator: ";").dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingSpaces() == "name" else { continue }
                var v = kv[1].trimmingSpaces()
                if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
                return v
            }
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }

    /// Kong's `strip` (`kong.tools.string`): spaces, tabs, CR, LF, VT and FF off both ends.
    public var kongStripped: String {
        var bytes = Substring(self).utf8[...]
        while let first = bytes.first, Self.isKongSpace(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, Self.isKongSpace(last) { bytes = bytes.dropLast() }
        return String(Substring(bytes))
    }

    private static func isKongSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}
