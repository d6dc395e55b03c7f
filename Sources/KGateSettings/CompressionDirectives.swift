import KGateRegex

/// nginx's gzip directives and ngx_brotli's at one level of the proxy's nginx configuration,
/// as Kong injects them: `nginx_http_gzip` into the http block, `nginx_proxy_brotli_types`
/// into the proxy server, `nginx_location_gzip_vary` into its `location /`.
///
/// A level holds only what it sets; nginx gives every directive a level leaves unset the
/// enclosing level's value (``merged(over:)``), then the directive's default.
public struct CompressionDirectives: Sendable, Hashable {
    /// The directives kgate applies (`gzip_buffers` and `brotli_buffers` size nginx's own
    /// memory and have no counterpart).
    public enum Directive: String, CaseIterable, Sendable, Hashable {
        case gzip, gzip_types, gzip_min_length, gzip_comp_level, gzip_http_version, gzip_proxied, gzip_vary
        case gzip_disable
        case brotli, brotli_types, brotli_comp_level, brotli_min_length, brotli_window
    }

    /// `gzip_proxied`'s parameters: which responses to requests that came through a proxy
    /// (with a `Via` header) may be compressed.
    public struct Proxied: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let off = Proxied(rawValue: 1 << 0)
        public static let expired = Proxied(rawValue: 1 << 1)
        public static let noCache = Proxied(rawValue: 1 << 2)
        public static let noStore = Proxied(rawValue: 1 << 3)
        public static let `private` = Proxied(rawValue: 1 << 4)
        public static let noLastModified = Proxied(rawValue: 1 << 5)
        public static let noETag = Proxied(rawValue: 1 << 6)
        public static let auth = Proxied(rawValue: 1 << 7)
        public static let any = Proxied(rawValue: 1 << 8)

        static let names: [(String, Proxied)] = [
            ("off", .off), ("expired", .expired), ("no-cache", .noCache), ("no-store", .noStore),
            ("private", .private), ("no_last_modified", .noLastModified), ("no_etag", .noETag), ("auth", .auth),
            ("any", .any),
        ]
    }

    /// The values this level sets, as written (each checked when set).
    public private(set) var values: [Directive: String] = [:]

    public init() {}

    /// Whether the level sets nothing.
    public var isEmpty: Bool { values.isEmpty }

    /// Sets a directive from a property's value, refusing what nginx would refuse at start.
    public mutating func set(_ directive: Directive, _ text: String, property: String) throws(InvalidValue) {
        guard !text.isEmpty else {
            values[directive] = nil
            return
        }
        if let problem = Self.problem(directive, text) {
            throw InvalidValue(ValueSyntax.invalidValue(property, text, problem))
        }
        values[directive] = text
    }

    /// This level over an enclosing one: a directive this level sets wins.
    public func merged(over outer: CompressionDirectives) -> CompressionDirectives {
        var result = outer
        result.values.merge(values) { _, inner in inner }
        return result
    }

    // MARK: Typed values (defaults as nginx's and ngx_brotli's)

    /// `gzip` (off).
    public var gzip: Bool { values[.gzip].map(Self.isOn) ?? false }
    /// `brotli` (off).
    public var brotli: Bool { values[.brotli].map(Self.isOn) ?? false }
    /// `gzip_vary` (off): `Vary: Accept-Encoding` on responses either filter considered.
    public var gzipVary: Bool { values[.gzip_vary].map(Self.isOn) ?? false }
    /// `gzip_types`, lower-cased, `text/html` always included; nil for `*` (every type).
    public var gzipTypes: Set<String>? { Self.types(values[.gzip_types]) }
    /// `brotli_types`, as `gzip_types`.
    public var brotliTypes: Set<String>? { Self.types(values[.brotli_types]) }
    /// `gzip_min_length` (20 bytes): shorter responses of known length are sent as they are.
    public var gzipMinLength: Int { values[.gzip_min_length].flatMap { ByteSize($0)?.bytes } ?? 20 }
    /// `brotli_min_length` (20 bytes).
    public var brotliMinLength: Int { values[.brotli_min_length].flatMap { ByteSize($0)?.bytes } ?? 20 }
    /// `gzip_comp_level` (1).
    public var gzipLevel: Int { values[.gzip_comp_level].flatMap { Int($0) } ?? 1 }
    /// `brotli_comp_level` (6).
    public var brotliLevel: Int { values[.brotli_comp_level].flatMap { Int($0) } ?? 6 }
    /// `brotli_window` as a base-2 logarithm (512k: 19).
    public var brotliWindowBits: Int {
        guard let bytes = values[.brotli_window].flatMap({ ByteSize($0)?.bytes }) else { return 19 }
        return Int.bitWidth - 1 - bytes.leadingZeroBitCount
    }
    /// `gzip_http_version`: the lowest request minor version compressed (1.1: 1).
    public var gzipMinimumMinorVersion: Int { values[.gzip_http_version] == "1.0" ? 0 : 1 }
    /// `gzip_proxied` (off).
    public var gzipProxied: Proxied { values[.gzip_proxied].map(Self.proxied) ?? .off }
    /// `gzip_disable`: `msie6`, or case-insensitive regexes of `User-Agent` values.
    public var gzipDisable: [String] { values[.gzip_disable].map(ValueSyntax.words) ?? [] }

    // MARK: Parsing

    private static func isOn(_ text: String) -> Bool { text.lowercased() == "on" }

    private static func types(_ text: String?) -> Set<String>? {
        var types: Set<String> = ["text/html"]
        for word in text.map(ValueSyntax.words) ?? [] {
            if word == "*" { return nil }
            types.insert(word.lowercased())
        }
        return types
    }

    private static func proxied(_ text: String) -> Proxied {
        var result: Proxied = []
        for word in ValueSyntax.words(text) {
            if let flag = Proxied.names.first(where: { $0.0 == word.lowercased() })?.1 { result.insert(flag) }
        }
        return result
    }

    /// Why nginx would refuse the value; nil when it is fine.
    static func problem(_ directive: Directive, _ text: String) -> String? {
        let words = ValueSyntax.words(text)
        switch directive {
        case .gzip, .brotli, .gzip_vary:
            return ["on", "off"].contains(text.lowercased()) ? nil : "expected on or off"
        case .gzip_types, .brotli_types:
            let valid = !words.isEmpty && words.allSatisfy { $0 == "*" || $0.contains("/") }
            return valid ? nil : "expected MIME types such as text/plain application/json, or *"
        case .gzip_min_length, .brotli_min_length:
            return ByteSize(text) != nil ? nil : "expected a size such as 20, 1k or 1m"
        case .gzip_comp_level:
            return Int(text).map { (1...9).contains($0) } == true ? nil : "expected a level from 1 to 9"
        case .brotli_comp_level:
            return Int(text).map { (0...11).contains($0) } == true ? nil : "expected a level from 0 to 11"
        case .brotli_window:
            let sizes = (10...24).map { 1 << $0 }
            return ByteSize(text).map { sizes.contains($0.bytes) } == true
                ? nil : "expected a power of two from 1k to 16m, such as 512k"
        case .gzip_http_version:
            return text == "1.0" || text == "1.1" ? nil : "expected 1.0 or 1.1"
        case .gzip_proxied:
            let names = Proxied.names.map(\.0)
            let valid = !words.isEmpty && words.allSatisfy { names.contains($0.lowercased()) }
            return valid ? nil : "expected some of: \(names.joined(separator: ", "))"
        case .gzip_disable:
            guard !words.isEmpty else { return "expected msie6 or regular expressions of User-Agent values" }
            for word in words where word != "msie6" {
                do throws(PCREError) {
                    _ = try PCRERegex(word, options: .caseless)
                } catch {
                    return "invalid regular expression \"\(word)\": \(error)"
                }
            }
            return nil
        }
    }
}
