import KGateRegex

/// The code behind Kong's typedef validators (`kong/db/schema/typedefs.lua`, `kong/tools/ip.lua`,
/// `kong/tools/http.lua`). Each returns Kong's message for an invalid value, or nil. Non-string
/// values answer nil: the engine's type check reports them first.
///
/// The `Field` attributes that run before these (`starts_with`, `match_none`, `match_any`...) are
/// declared on the typedefs in `Typedefs.swift`; only Kong's `custom_validator` bodies live here.
public enum TypedefValidators {
    /// The `host` typedef's `custom_validator`.
    public static let host: Field.Validator = { string($0, validateHost) }
    /// The `host_with_optional_port` typedef's `custom_validator`.
    public static let hostWithOptionalPort: Field.Validator = { string($0, validateHostWithOptionalPort) }
    /// The `wildcard_host` typedef's `custom_validator`.
    public static let wildcardHost: Field.Validator = { string($0, validateWildcardHost) }
    /// The `sni` typedef's `custom_validator`.
    public static let sni: Field.Validator = { string($0, validateSNI) }
    /// The `ip` typedef's `custom_validator`.
    public static let ip: Field.Validator = { string($0) { HostAndIP.isValidIP($0) ? nil : "not an ip address: \($0)" } }
    /// The `ip_or_cidr` typedef's `custom_validator`.
    public static let ipOrCIDR: Field.Validator = {
        string($0) { HostAndIP.isValidIPOrCIDR($0) ? nil : "invalid ip or cidr range: '\($0)'" }
    }
    /// The `cidr_v4` typedef's `custom_validator`.
    public static let cidrV4: Field.Validator = {
        string($0) { HostAndIP.isValidIPOrCIDRv4($0) ? nil : "invalid ipv4 cidr range: '\($0)'" }
    }
    /// The `path` typedef's `custom_validator`.
    public static let path: Field.Validator = { string($0) { validatePath($0)?.message } }
    /// The `url` typedef's `custom_validator`.
    public static let url: Field.Validator = { string($0, validateURL) }
    /// The `header_name` typedef's `custom_validator`.
    public static let headerName: Field.Validator = { string($0, validateHeaderName) }
    /// The `cookie_name` typedef's `custom_validator`.
    public static let cookieName: Field.Validator = { string($0, validateHTTPToken) }
    /// The `name` typedef's `custom_validator`.
    public static let name: Field.Validator = { string($0, validateName) }
    /// The `utf8_name` typedef's `custom_validator`.
    public static let utf8Name: Field.Validator = { string($0, validateUTF8Name) }
    /// The `tag` typedef's `custom_validator`.
    public static let tag: Field.Validator = { string($0, validateTag) }
    /// `hosts` elements: every `*` becomes `abc`, then `host_with_optional_port`.
    public static let hostsElement: Field.Validator = {
        string($0) { validateHostWithOptionalPort(String(decoding: replaceStars($0, with: "abc").bytes, as: UTF8.self)) }
    }
    /// The `router_path` typedef's `custom_validator`.
    public static let routerPath: Field.Validator = { string($0, validateRouterPath) }

    private static func string(_ v: Value, _ check: (String) -> String?) -> String? {
        guard case .string(let s) = v else { return nil }
        return check(s)
    }

    // MARK: - Hosts

    /// `validate_host`: an IP or a hostname without a port.
    public static func validateHost(_ host: String) -> String? {
        do {
            return try HostAndIP.normalize(host).port == nil ? nil : "must not have a port"
        } catch {
            return error.message == "invalid port number" ? "must not have a port" : "invalid value: \(host)"
        }
    }

    /// `validate_host_with_optional_port`: `normalize_ip`'s own message.
    public static func validateHostWithOptionalPort(_ host: String) -> String? {
        do {
            _ = try HostAndIP.normalize(host)
            return nil
        } catch {
            return error.message
        }
    }

    /// `validate_sni`: a hostname, no IP, no port.
    public static func validateSNI(_ host: String) -> String? {
        let result: HostAndIP.Normalized
        do {
            result = try HostAndIP.normalize(host)
        } catch {
            return error.message == "invalid port number" ? "must not have a port" : "invalid value: \(host)"
        }
        if result.type != .name { return "must not be an IP" }
        return result.port == nil ? nil : "must not have a port"
    }

    /// `validate_wildcard_host`: like SNI, with one `*` allowed as the first or last character
    /// (replaced by `wildcard` before the hostname check, which then appears in messages).
    public static func validateWildcardHost(_ host: String) -> String? {
        let bytes = Array(host.utf8)
        guard let idx = bytes.firstIndex(of: 0x2A) else { return validateSNI(host) }
        if idx != 0 && idx != bytes.count - 1 { return "wildcard must be leftmost or rightmost character" }
        let (mock, count) = replaceStars(host, with: "wildcard")
        if count > 1 { return "only one wildcard must be specified" }
        return validateSNI(String(decoding: mock, as: UTF8.self))
    }

    private static func replaceStars(_ s: String, with replacement: String) -> (bytes: [UInt8], count: Int) {
        var out: [UInt8] = []
        var n = 0
        for b in s.utf8 {
            if b == 0x2A {
                out += replacement.utf8
                n += 1
            } else {
                out.append(b)
            }
        }
        return (out, n)
    }

    // MARK: - Paths

    /// Which check of `validate_path` failed; `router_path` only honours `.percent`.
    public enum PathError: Sendable, Hashable {
        case rfc3986, percent
    }

    private static let rfc3986Path = LuaPattern("^/[%w%.%-%_%~%/%%%:%@%!%$%&%'%(%)%*%+%,%;%=]*$")
    private static let percentTriplet = LuaPattern("%%%x%x")
    private static let strayPercent = LuaPattern("%%.?.?")

    /// `validate_path`: only RFC 3986 characters (checked first, and alone when it fails), then
    /// properly percent-encoded (`invalid url-encoded value: '%zz'`).
    public static func validatePath(_ path: String) -> (message: String, kind: PathError)? {
        if !rfc3986Path.matches(path) {
            return ("invalid path: '\(path)' (characters outside of the reserved list of RFC 3986 found)", .rfc3986)
        }
        guard let (raw, _) = try? percentTriplet.gsub(path, "___"), raw.utf8.contains(0x25),
              let stray = try? strayPercent.match(raw)
        else { return nil }
        return ("invalid url-encoded value: '\(stray[0])'", .percent)
    }

    /// `validate_path_with_regexes` (the `router_path` custom validator): percent errors first;
    /// then a prefix path must be normalised, a `~` path must compile as Kong's router compiles
    /// it (`ngx.re.find("", re, "aj")`).
    public static func validateRouterPath(_ path: String) -> String? {
        if let err = validatePath(path), err.kind == .percent { return err.message }
        guard path.utf8.first == 0x7E else {
            let normalized = PathNormalizer.normalize(path, mergeSlashes: true)
            return normalized == path ? nil : "non-normalized path, consider use '\(normalized)' instead"
        }
        let re = String(decoding: path.utf8.dropFirst(), as: UTF8.self)
        guard let err = PCRERegex.ngxReError(pattern: re, subject: "", options: .anchored) else { return nil }
        return "invalid regex: '\(re)' (PCRE returned: \(err))"
    }

    // MARK: - URLs, headers, names, tags

    /// `validate_url` (LuaSocket `url.parse`): host and scheme required.
    public static func validateURL(_ url: String) -> String? {
        guard let parsed = ParsedURL(url) else { return "could not parse url. \(ParsedURL.invalidURLMessage)" }
        if parsed.host == nil { return "missing host in url" }
        if parsed.scheme == nil { return "missing scheme in url" }
        return nil
    }

    /// `kong.tools.http.validate_header_name`: PCRE `^[a-zA-Z0-9-_]+$` (whose `$` also accepts
    /// one trailing newline).
    public static func validateHeaderName(_ name: String) -> String? {
        if name.isEmpty { return "no header name provided" }
        var body = name.utf8[...]
        if body.last == 0x0A { body = body.dropLast() }
        let ok = !body.isEmpty && body.allSatisfy { LuaMatcher.isAlpha($0) || LuaMatcher.isDigit($0) || $0 == 0x2D || $0 == 0x5F }
        return ok ? nil : "bad header name '\(name)', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    }

    /// `kong.tools.http.validate_http_token` (the `cookie_name` validator): RFC 2616 token.
    public static func validateHTTPToken(_ token: String) -> String? {
        if token.isEmpty { return "no token provided" }
        let separators = Set(" \t()<>@,;:\\\"/?={}[]".utf8)
        let bad = token.utf8.contains { $0 < 0x20 || $0 >= 0x7F || separators.contains($0) }
        return bad
            ? "contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed."
            : nil
    }

    private static let namePattern = LuaPattern("^[%w%.%-%_~]+$")
    private static let utf8NamePattern = LuaPattern(luaLiteral: #"^[%w%.%-%_~\128-\244]+$"#)
    private static let tagPattern = LuaPattern(luaLiteral: #"^[ \033-\043\045\046\048-\126\128-\244]+$"#)

    /// `validate_name`.
    public static func validateName(_ name: String) -> String? {
        namePattern.matches(name) ? nil : "invalid value '\(name)': it must only contain alphanumeric and '., -, _, ~' characters"
    }

    /// `validate_utf8_name`.
    public static func validateUTF8Name(_ name: String) -> String? {
        if let err = validateDecodedUTF8String(name) { return err }
        return utf8NamePattern.matches(name)
            ? nil : "invalid value '\(name)': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
    }

    /// `validate_tag`: printable ASCII except `,` and `/`, or UTF-8 sequences.
    public static func validateTag(_ tag: String) -> String? {
        if let err = validateDecodedUTF8String(tag) { return err }
        return tagPattern.matches(tag)
            ? nil : "invalid tag '\(tag)': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
    }

    /// `validate_utf8_string`, for byte strings (a Swift `String` is always valid UTF-8).
    public static func validateUTF8String(_ bytes: [UInt8]) -> String? {
        kongUTF8ErrorPosition(bytes).map { "invalid utf-8 character sequence detected at position \($0)" }
    }

    /// `validate_utf8_string` for text that was decoded from bytes: Kong sees a JSON body's
    /// strings byte for byte (cjson does not check UTF-8), so an invalid byte there fails this
    /// check; here that byte arrived as U+FFFD, which is therefore treated as invalid.
    static func validateDecodedUTF8String(_ text: String) -> String? {
        decodedUTF8ErrorPosition(Array(text.utf8)).map { "invalid utf-8 character sequence detected at position \($0)" }
    }

    /// The 1-based byte position of the first invalid UTF-8 sequence, Kong's way, in bytes that
    /// went through a `String`: a U+FFFD counts as invalid too, since that is what an invalid
    /// byte (of a request line or a JSON body) becomes once decoded into a `String`.
    public static func decodedUTF8ErrorPosition(_ bytes: [UInt8]) -> Int? {
        if let kong = kongUTF8ErrorPosition(bytes) { return kong }
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == 0xEF, bytes[i + 1] == 0xBF, bytes[i + 2] == 0xBD { return i + 1 }
            i += 1
        }
        return nil
    }

    /// `kong.tools.string.validate_utf8`: the 1-based position of the first byte that does not
    /// start a valid sequence, or nil. Faithful to Kong's table, including its quirk of accepting
    /// `\194-\223` followed by `\123-\191` as a two-byte sequence.
    public static func kongUTF8ErrorPosition(_ b: [UInt8]) -> Int? {
        func inRange(_ i: Int, _ r: ClosedRange<UInt8>) -> Bool { i < b.count && r.contains(b[i]) }
        let tail: ClosedRange<UInt8> = 128...191
        var i = 0
        while i < b.count {
            let c = b[i]
            if c <= 127 {
                i += 1
            } else if (194...223).contains(c), inRange(i + 1, 123...191) {
                i += 2
            } else if (c == 224 && inRange(i + 1, 160...191) && inRange(i + 2, tail))
                || ((225...236).contains(c) && inRange(i + 1, tail) && inRange(i + 2, tail))
                || (c == 237 && inRange(i + 1, 128...159) && inRange(i + 2, tail))
                || ((238...239).contains(c) && inRange(i + 1, tail) && inRange(i + 2, tail)) {
                i += 3
            } else if (c == 240 && inRange(i + 1, 144...191) && inRange(i + 2, tail) && inRange(i + 3, tail))
                || ((241...243).contains(c) && inRange(i + 1, tail) && inRange(i + 2, tail) && inRange(i + 3, tail))
                || (c == 244 && inRange(i + 1, 128...143) && inRange(i + 2, tail) && inRange(i + 3, tail)) {
                i += 4
            } else {
                return i + 1
            }
        }
        return nil
    }
}
