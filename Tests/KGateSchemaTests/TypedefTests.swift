import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import KGateSchema

/// Kong's typedefs with the value lists of `03-typedefs_spec.lua`, `05-services_spec.lua`,
/// `06-routes_spec.lua` and `05-utils_spec.lua` (hostnames, IPs, header and cookie names).
@Suite struct TypedefTests {
    /// Runs a string field's validators in Kong's order (the subset typedefs use), so these
    /// tests do not depend on the schema engine.
    static func check(_ field: Field, _ s: String) -> String? {
        if s.isEmpty { return "length must be at least 1" }
        if let p = field.startsWith, !s.hasPrefix(p) { return "should start with: \(p)" }
        if let p = field.notMatch, LuaPattern.matches(s, p) { return "invalid value: \(s)" }
        if let hit = field.matchNone?.first(where: { LuaPattern.matches(s, $0.pattern) }) { return hit.err }
        if let p = field.match, !LuaPattern.matches(s, p) { return "invalid value: \(s)" }
        if let miss = field.matchAll?.first(where: { !LuaPattern.matches(s, $0.pattern) }) { return miss.err }
        if let any = field.matchAny, !any.patterns.contains(where: { LuaPattern.matches(s, $0) }) { return any.err }
        return field.customValidator?(.string(s))
    }

    static let validHostnames = [
        "hello.com", "hello.fr", "test.hello.com", "1991.io", "hello.COM", "HELLO.com", "123helloWORLD.com",
        "example.123", "example-api.com", "hello.abcd", "example_api.com", "localhost",
        "3B-ww4c5e180e575a65lsy2b", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n",
        "Hello-Another-Way--fc4qua05auwb3674vfr0b", "2-u9tlzr9756bt3uc0v", "MajiKoi5-783gue6qz075azm5e",
        "de-jg4avhby1noc0d", "d9juau41awczczp",
    ]
    static let invalidHostnames = [
        "/example", ".example", "example:", "mock;bin", "example.com/org", "example-.org", "example.org-",
        "hello..example.com", "hello-.example.com",
    ]

    @Test(arguments: validHostnames + ["example.test.", "127.0.0.1", "::1", "[::1]"])
    func hostAccepts(_ h: String) { #expect(Self.check(Typedefs.host, h) == nil) }

    @Test(arguments: invalidHostnames + ["*example.com", "www.example*", "mock*bin.com", "1.2.3.400", "::x"])
    func hostRejects(_ h: String) { #expect(Self.check(Typedefs.host, h) == "invalid value: \(h)") }

    @Test(arguments: ["example.com:80", "example.com:1000000", "1.2.3.4:80", "[::1]:80", "[::1]:99999"])
    func hostRejectsPorts(_ h: String) { #expect(Self.check(Typedefs.host, h) == "must not have a port") }

    /// Route `hosts` elements: (value, expected message).
    static let hostsElements: [(String, String?)] =
        validHostnames.map { ($0, nil) } + invalidHostnames.map { ($0, "invalid hostname: \($0)") } + [
            ("example.com:80", nil), ("example.com:8080", nil), ("example.*", nil), ("*.example.org", nil),
            ("*.example.org:321", nil), ("[::1]:80", nil), ("1.2.3.4:8000", nil),
            ("example.com:1000000", "invalid port number"),
            ("*example.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
            ("www.example*", "invalid wildcard: must be placed at leftmost or rightmost label"),
            ("mock*bin.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
            ("*.example.*", "invalid wildcard: must have at most one wildcard"),
            ("**.example.com", "invalid wildcard: must have at most one wildcard"),
            ("*.example*.*", "invalid wildcard: must have at most one wildcard"),
            ("*.exa mple", "invalid hostname: abc.exa mple"),
            ("", "length must be at least 1"),
            ("[::1]:80a", "invalid ipv6 address"), ("1.2.3.400", "invalid ipv4 address: 1.2.3.400"),
            ("::x", "invalid ipv6 address: ::x"),
        ]

    @Test(arguments: hostsElements)
    func routeHosts(_ c: (String, String?)) { #expect(Self.check(Typedefs.hosts.elements!, c.0) == c.1) }

    static let snis: [(String, String?)] = [
        ("example.com", nil), ("9foo.te-st.bar.test", nil), ("example.org", nil), ("www.example.org", nil),
        ("127.0.0.1", "must not be an IP"), ("[::1]", "must not be an IP"), ("example.com:80", "must not have a port"),
        ("example.org:80", "must not have a port"), ("example.org:99999", "must not have a port"),
        ("bad name", "invalid value: bad name"), ("*.example.org", "invalid value: *.example.org"),
    ]

    @Test(arguments: snis)
    func sni(_ c: (String, String?)) { #expect(Self.check(Typedefs.sni, c.0) == c.1) }

    static let wildcardHosts: [(String, String?)] = [
        ("*.example.org", nil), ("*.foo.bar.test", nil), ("example.*", nil), ("foo.bar.*", nil), ("example.org", nil),
        ("foo.*.test", "wildcard must be leftmost or rightmost character"),
        ("foo*.test", "wildcard must be leftmost or rightmost character"),
        ("*.example.*", "only one wildcard must be specified"),
        ("*:80", "must not have a port"), ("127.0.0.1", "must not be an IP"),
        ("*.exa mple", "invalid value: wildcard.exa mple"),
    ]

    @Test(arguments: wildcardHosts)
    func wildcardHost(_ c: (String, String?)) { #expect(Self.check(Typedefs.wildcardHost, c.0) == c.1) }

    static let ips: [(String, Bool)] = [
        ("127.0.0.1", true), ("::1", true), ("[::1]", true), ("::ffff:1.2.3.4", true), ("1::", true),
        ("127.", false), (":::1", false), ("-1", false), ("localhost", false), ("foo", false),
        ("01.2.3.4", false), ("1.2.3.4/8", false), ("256.1.1.1", false), ("1:2:3:4:5:6:7:8:9", false),
    ]

    @Test(arguments: ips)
    func ip(_ c: (String, Bool)) {
        #expect(Self.check(Typedefs.ip, c.0) == (c.1 ? nil : "not an ip address: \(c.0)"))
    }

    static let ipOrCIDRs: [(String, Bool)] = [
        ("127.75.78.72", true), ("127.0.0.1", true), ("0.0.0.0/0", true), ("::/0", true), ("0.0.0.0/1", true),
        ("::/1", true), ("0.0.0.0/32", true), ("::/128", true), ("[::1]/64", true),
        ("127.", false), (":::1", false), ("-1", false), ("localhost", false), ("foo", false), ("f", false),
        ("example.org", false), ("1/0", false), ("2130706433/2", false), ("4294967295/3", false), ("-1/0", false),
        ("4294967296/2", false), ("0.0.0.0/a", false), ("::/a", false), ("0.0.0.0/-1", false), ("::/-1", false),
        ("0.0.0.0/33", false), ("::/129", false), ("x.x.x.x", false), ("10.0.0.0/08", false),
    ]

    @Test(arguments: ipOrCIDRs)
    func ipOrCIDR(_ c: (String, Bool)) {
        #expect(Self.check(Typedefs.ipOrCIDR, c.0) == (c.1 ? nil : "invalid ip or cidr range: '\(c.0)'"))
    }

    @Test(arguments: [("10.0.0.0/8", true), ("1.2.3.4", true), ("::1", false), ("::/0", false), ("10.0.0.0/33", false)])
    func cidrV4(_ c: (String, Bool)) {
        #expect(Self.check(Typedefs.cidrV4, c.0) == (c.1 ? nil : "invalid ipv4 cidr range: '\(c.0)'"))
    }

    static let badPercent: [(String, String)] = [
        ("/some%2words", "%2w"), ("/some%0Xwords", "%0X"), ("/some%2Gwords", "%2G"), ("/some%20words%", "%"),
        ("/some%20words%a", "%a"), ("/some%20words%ax", "%ax"), ("/a%4%41", "%4_"),
    ]

    static let servicePaths: [(String, String?)] = [
        ("foo", "should start with: /"),
        ("/foo//bar", "must not have empty segments"), ("/foo/bar//", "must not have empty segments"),
        ("//foo/bar", "must not have empty segments"),
        ("/users/|foo/profile", "invalid path: '/users/|foo/profile' (characters outside of the reserved list of RFC 3986 found)"),
        ("/users/(this|foo/profile)",
         "invalid path: '/users/(this|foo/profile)' (characters outside of the reserved list of RFC 3986 found)"),
        ("/hello/path$with$!&'()*+,;=stuff", nil), ("/", nil), ("/abcd~user~2", nil), ("/abcd%aa%10%ff%AA%FF", nil),
        ("/ovo/", nil), ("/a/../b", nil),
    ] + badPercent.map { ($0.0, "invalid url-encoded value: '\($0.1)'") }

    @Test(arguments: servicePaths)
    func servicePath(_ c: (String, String?)) { #expect(Self.check(Typedefs.path, c.0) == c.1) }

    static let routePaths: [(String, String?)] = [
        ("foo", "should start with: / (fixed path) or ~/ (regex path)"),
        ("~foo", "should start with: / (fixed path) or ~/ (regex path)"),
        ("/foo//bar", "must not have empty segments"), ("/foo/bar//", "must not have empty segments"),
        ("//foo/bar", "must not have empty segments"),
        ("~/users/(foo/profile", "invalid regex: '/users/(foo/profile' (PCRE returned: pcre2_compile() failed: "
            + "missing closing parenthesis in \"/users/(foo/profile\")"),
        ("~/[abc/*/user$", "invalid regex: '/[abc/*/user$' (PCRE returned: pcre2_compile() failed: "
            + "missing terminating ] for character class in \"/[abc/*/user$\")"),
        ("~/\\/*/user$", nil), ("~/users/(?<id>\\d+)$", nil), ("~/foo%zz", nil),
        ("/", nil), ("/abcd~user~2", nil), ("/ovo/", nil), ("/%25", nil), ("/ä%zz", nil), ("/%2F", nil),
        ("/%c3%A4", "non-normalized path, consider use '/ä' instead"),
        ("/%20", "non-normalized path, consider use '/ ' instead"),
        ("/a/../b", "non-normalized path, consider use '/b' instead"),
        ("/a/./b", "non-normalized path, consider use '/a/b' instead"),
        ("/%2e", "non-normalized path, consider use '/' instead"),
        ("/%2f", "non-normalized path, consider use '/%2F' instead"),
    ] + badPercent.map { ($0.0, "invalid url-encoded value: '\($0.1)'") }

    @Test(arguments: routePaths)
    func routePath(_ c: (String, String?)) { #expect(Self.check(Typedefs.routerPath, c.0) == c.1) }

    static let versions: [(String, String?)] = [
        ("1", nil), ("1.2", nil), ("1.2.3", nil), ("100.200.300", nil), ("1.2.3-rc.1", nil), ("1.2.3-alpha.1", nil),
        ("1.2.3-beta.1", nil), ("1.2.3.4-enterprise-edition", nil),
        ("hello", "invalid version number: must be in format of X.Y.Z"),
        (".1", "invalid version number: must be in format of X.Y.Z"),
        ("1..1", "must not have empty version segments"),
    ]

    @Test(arguments: versions)
    func semanticVersion(_ c: (String, String?)) { #expect(Self.check(Typedefs.semanticVersion, c.0) == c.1) }

    @Test(arguments: [("GET", nil), ("FOOBAR", nil), ("POST", nil), ("CUSTOM", nil), ("get", "invalid value: get"),
                      ("HELLO WORLD", "invalid value: HELLO WORLD"), (" GET", "invalid value:  GET")] as [(String, String?)])
    func httpMethod(_ c: (String, String?)) { #expect(Self.check(Typedefs.httpMethod, c.0) == c.1) }

    static let asciiNames = ["example", "EXAMPLE", "exa.mp.le", "3x4mp13", "3x4-mp-13", "3x4_mp_13", "~3x4~mp~13", "~3..x4~.M-p~1__3_"]
    static let badNames = ["examp:le", "examp;le", "examp/le", "examp le"]

    @Test(arguments: asciiNames.map { ($0, nil) } + (badNames + ["孔"]).map {
        ($0, "invalid value '\($0)': it must only contain alphanumeric and '., -, _, ~' characters")
    } as [(String, String?)])
    func name(_ c: (String, String?)) { #expect(Self.check(Typedefs.name, c.0) == c.1) }

    @Test(arguments: (asciiNames + ["孔", "Конг", "🦍"]).map { ($0, nil) } + badNames.map {
        ($0, "invalid value '\($0)': the only accepted ascii characters are alphanumerics or ., -, _, and ~")
    } as [(String, String?)])
    func utf8Name(_ c: (String, String?)) { #expect(Self.check(Typedefs.utf8Name, c.0) == c.1) }

    @Test(arguments: ["foo", "with space", "ünïcödé", "!#$%&'()*+-.:;<=>?@[\\]^_`{|}~", "🦍"])
    func tagAccepts(_ t: String) { #expect(Self.check(Typedefs.tag, t) == nil) }

    @Test(arguments: ["a,b", "a/b", "tab\t", "del\u{7F}", "new\nline"])
    func tagRejects(_ t: String) {
        #expect(Self.check(Typedefs.tag, t) == "invalid tag '\(t)': expected printable ascii (except `,` and `/`) or valid utf-8 sequences")
    }

    /// (bytes, 1-based position of the error) from `05-utils_spec.lua` "checks valid UTF8 values".
    @Test(arguments: [([105, 213, 205, 149], 2), ([128], 1), ([192, 32], 1), ([192], 1), ([254], 1), ([255], 1),
                      ([237, 160, 128], 1), ([104, 105], nil), ([0xF0, 0x9F, 0xA6, 0x8D], nil), ([194, 123], nil)]
            as [([UInt8], Int?)])
    func kongValidateUTF8(_ c: ([UInt8], Int?)) {
        #expect(TypedefValidators.kongUTF8ErrorPosition(c.0) == c.1)
    }

    @Test func utf8ErrorMessage() {
        #expect(TypedefValidators.validateUTF8String([105, 213, 205, 149]) == "invalid utf-8 character sequence detected at position 2")
    }

    /// 05-services_spec / 06-routes_spec "rejects invalid names": `string.char(105, 213, 205, 149)`
    /// reaches kgate's schema decoded (the bad byte as U+FFFD), and must still fail as in Kong.
    @Test func utf8NamesAndTagsRefuseDecodedInvalidBytes() {
        let decoded = String(decoding: [105, 213, 205, 149] as [UInt8], as: UTF8.self)
        let message = "invalid utf-8 character sequence detected at position 2"
        #expect(TypedefValidators.validateUTF8Name(decoded) == message)
        #expect(TypedefValidators.validateTag(decoded) == message)
        #expect(TypedefValidators.validateUTF8Name("Конг🦍") == nil)
    }

    /// `validate_header_name` and `validate_cookie_name` over every single byte (05-utils_spec).
    @Test func headerAndCookieNameCharacters() {
        let header = Set("_-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        let cookie = Set("~`|!#$%&'*+-._-^0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for b in UInt8(1)...127 {
            let s = String(decoding: [b], as: UTF8.self)
            #expect((TypedefValidators.validateHeaderName(s) == nil) == header.contains(b), "header byte \(b)")
            #expect((TypedefValidators.validateHTTPToken(s) == nil) == cookie.contains(b), "cookie byte \(b)")
        }
        #expect(TypedefValidators.validateHTTPToken("é") != nil)
    }

    @Test func headerAndCookieMessages() {
        #expect(Self.check(Typedefs.headerName, "foo bar") == "bad header name 'foo bar', allowed characters are A-Z, a-z, 0-9, '_', and '-'")
        #expect(Self.check(Typedefs.headerName, "X-Foo_1") == nil)
        #expect(Self.check(Typedefs.headerName, "X-Foo\n") == nil)  // PCRE `$` before a final newline
        #expect(TypedefValidators.validateHeaderName("") == "no header name provided")
        #expect(Self.check(Typedefs.cookieName, "a b") == "contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed.")
        #expect(TypedefValidators.validateHTTPToken("") == "no token provided")
    }

    static let urls: [(String, String?)] = [
        ("http://example.com", nil), ("https://example.com:8443/path?q=1", nil), ("http://[::1]:80/", nil),
        ("grpc://h", nil), ("http://example.com?x=1", nil), ("http://u:p@h:1/x;p#f", nil),
        ("example.com", "missing host in url"), ("example.com:80", "missing host in url"),
        ("http:example.com", "missing host in url"), ("/path", "missing host in url"),
        ("//example.com", "missing scheme in url"), ("", "length must be at least 1"),
    ]

    @Test(arguments: urls)
    func url(_ c: (String, String?)) { #expect(Self.check(Typedefs.url, c.0) == c.1) }

    @Test func urlParserErrorForEmptyURL() {
        #expect(TypedefValidators.validateURL("") == "could not parse url. invalid url")
    }

    @Test func typedefShapes() {
        #expect(Typedefs.port.between == 0...65535)
        #expect(Typedefs.timeout.between == 0...2_147_483_646)
        #expect(Typedefs.ttl.between == 0...100_000_000)
        #expect(Typedefs.tag.required)
        #expect(Typedefs.name.unique && Typedefs.utf8Name.unique)
        #expect(Typedefs.noHosts.eq == .null && Typedefs.noPaths.eq == .null && Typedefs.noMethods.eq == .null)
        #expect(Typedefs.protocols.defaultValue == ["grpc", "grpcs", "http", "https"])
    }
}

/// `kong.tools.ip` (05-utils_spec "hostnames and ip addresses") and LuaSocket's `url.parse`.
@Suite struct HostAndIPTests {
    @Test func hostnameType() {
        for s in ["123.123.123.123", "1.2.3.4", "1.2.3.4:80"] { #expect(HostAndIP.hostnameType(s) == .ipv4) }
        for s in ["::1", "2345::6789", "0001:0001:0001:0001:0001:0001:0001:0001", "[2345::6789]:80"] {
            #expect(HostAndIP.hostnameType(s) == .ipv6)
        }
        for s in ["example.com", "example.com:80", "", ":"] { #expect(HostAndIP.hostnameType(s) == .name) }
    }

    @Test func normalizeIPv4() throws {
        #expect(try HostAndIP.normalizeIPv4("123.123.123.123") == ("123.123.123.123", nil))
        #expect(try HostAndIP.normalizeIPv4("123.123.123.123:80") == ("123.123.123.123", 80))
        #expect(try HostAndIP.normalizeIPv4("001.001.001.001:00080") == ("1.1.1.1", 80))
        for bad in ["123.123:80", "123.123.123.999", "123.123.123.123:80a", "123.123.123.123.123:80", "localhost:80", "[::1]:80"] {
            #expect(throws: HostAndIP.Failure("invalid ipv4 address: \(bad)")) { try HostAndIP.normalizeIPv4(bad) }
        }
        #expect(throws: HostAndIP.Failure("invalid port number")) { try HostAndIP.normalizeIPv4("123.123.123.123:99999") }
    }

    @Test func normalizeIPv6() throws {
        let one = "0000:0000:0000:0000:0000:0000:0000:0001"
        #expect(try HostAndIP.normalizeIPv6("::1") == (one, nil))
        #expect(try HostAndIP.normalizeIPv6("[::1]") == (one, nil))
        #expect(try HostAndIP.normalizeIPv6("[::1]:80") == (one, 80))
        #expect(try HostAndIP.normalizeIPv6("[\(one)]:80") == (one, 80))
        #expect(try HostAndIP.normalizeIPv6("2001:DB8::") == ("2001:0db8:0000:0000:0000:0000:0000:0000", nil))
        for bad in ["123.123.123.123", "localhost:80", "::x", "[::x]:80", "1"] {
            #expect(throws: HostAndIP.Failure("invalid ipv6 address: \(bad)")) { try HostAndIP.normalizeIPv6(bad) }
        }
        #expect(throws: HostAndIP.Failure("invalid ipv6 address")) { try HostAndIP.normalizeIPv6("[::1]:80a") }
        #expect(throws: HostAndIP.Failure("invalid port number")) { try HostAndIP.normalizeIPv6("[::1]:99999") }
    }

    @Test(arguments: TypedefTests.validHostnames + ["example."])
    func checkHostnameAccepts(_ name: String) throws {
        #expect(try HostAndIP.checkHostname(name) == (name, nil))
        #expect(try HostAndIP.checkHostname(name + ":80") == (name, 80))
        #expect(throws: HostAndIP.Failure("invalid hostname: \(name):xx")) { try HostAndIP.checkHostname(name + ":xx") }
        #expect(throws: HostAndIP.Failure("invalid port number")) { try HostAndIP.checkHostname(name + ":99999") }
    }

    @Test(arguments: ["/example", ".example", "exam;ple", "example.com/org", "example-.org", "example.org-",
                      "hello..example.com", "hello-.example.com"])
    func checkHostnameRejects(_ name: String) {
        #expect(throws: HostAndIP.Failure("invalid hostname: \(name)")) { try HostAndIP.checkHostname(name) }
        #expect(throws: HostAndIP.Failure("invalid hostname: \(name):80")) { try HostAndIP.checkHostname(name + ":80") }
    }

    @Test func normalize() throws {
        #expect(try HostAndIP.normalize("1.2.3.4:80") == .init(type: .ipv4, host: "1.2.3.4", port: 80))
        #expect(try HostAndIP.normalize("::1") == .init(type: .ipv6, host: "0000:0000:0000:0000:0000:0000:0000:0001", port: nil))
        #expect(try HostAndIP.normalize("localhost:80") == .init(type: .name, host: "localhost", port: 80))
        for bad in ["1.2.3.4:8x0", "1.2.3.400", "[::1]:8x0", ":x:1", "localhost:8x0", "mashape..test"] {
            #expect((try? HostAndIP.normalize(bad)) == nil, "\(bad)")
        }
    }

    @Test func formatHost() {
        #expect(HostAndIP.formatHost("1.2.3.4") == "1.2.3.4")
        #expect(HostAndIP.formatHost("1.2.3.4", port: 80) == "1.2.3.4:80")
        #expect(HostAndIP.formatHost("::1") == "[0000:0000:0000:0000:0000:0000:0000:0001]")
        #expect(HostAndIP.formatHost("::1", port: 80) == "[0000:0000:0000:0000:0000:0000:0000:0001]:80")
        #expect(HostAndIP.formatHost("mashape.test", port: 80) == "mashape.test:80")
    }

    /// The targets DAO's `format_target`.
    @Test func formatTarget() {
        #expect(HostAndIP.formatTarget("10.0.0.1") == "10.0.0.1:8000")
        #expect(HostAndIP.formatTarget("001.002.003.004:123") == "1.2.3.4:123")
        #expect(HostAndIP.formatTarget("::1") == "[0000:0000:0000:0000:0000:0000:0000:0001]:8000")
        #expect(HostAndIP.formatTarget("[::1]:81") == "[0000:0000:0000:0000:0000:0000:0000:0001]:81")
        #expect(HostAndIP.formatTarget("api.test") == "api.test:8000")
        #expect(HostAndIP.formatTarget("api.test:80") == "api.test:80")
        #expect(HostAndIP.formatTarget("bad..name") == nil)
    }

    /// The Swift `inet_pton` port against glibc's, on tricky inputs.
    @Test func inetPtonMatchesGlibc() {
        let corpus = ["1.2.3.4", "01.2.3.4", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "255.255.255.255", "256.0.0.0", "0.0.0.0",
                      "1..2.3", " 1.2.3.4", "::", "::1", "1::", ":1", "1:", ":::", "1::2::3", "1:2:3:4:5:6:7:8",
                      "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "12345::", "::ffff:1.2.3.4",
                      "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::01.2.3.4", "fe80::1%eth0",
                      "ABCD:ef01::", "g::", "1.2.3.4::", "[::1]", ""]
        for s in corpus {
            var v4 = in_addr()
            var v6 = in6_addr()
            let sys4 = inet_pton(AF_INET, s, &v4) == 1
            let sys6 = inet_pton(AF_INET6, s.hasPrefix("[") && s.hasSuffix("]") ? String(s.dropFirst().dropLast()) : s, &v6) == 1
            #expect(HostAndIP.isValidIPv4(s) == sys4, "ipv4 \(s)")
            #expect(HostAndIP.isValidIPv6(s) == sys6, "ipv6 \(s)")
            if let mine = HostAndIP.parseIPv6(s), sys6 {
                let bytes = withUnsafeBytes(of: v6) { Array($0) }
                #expect(mine == bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }, "ipv6 value \(s)")
            }
        }
    }

    @Test func cidrContains() throws {
        let net = try #require(CIDR("10.1.2.3/16"))
        #expect(net.contains(try #require(IPAddress("10.1.200.1"))))
        #expect(!net.contains(try #require(IPAddress("10.2.0.1"))))
        #expect(try #require(CIDR("::/0")).contains(try #require(IPAddress("2001:db8::1"))))
        #expect(!(try #require(CIDR("0.0.0.0/0"))).contains(try #require(IPAddress("::1"))))
        #expect(try #require(CIDR("127.0.0.1")).prefixLength == 32)
        #expect(CIDR("10.0.0.0/33") == nil)
    }

    @Test func parsedURL() throws {
        let u = try #require(ParsedURL("https://user:pass@example.com:8443/a/b;p?q=1#frag"))
        #expect(u.scheme == "https" && u.userinfo == "user:pass" && u.user == "user" && u.password == "pass")
        #expect(u.host == "example.com" && u.port == "8443" && u.portInteger == 8443)
        #expect(u.path == "/a/b" && u.params == "p" && u.query == "q=1" && u.fragment == "frag")
        let q = try #require(ParsedURL("http://example.com?x=1"))  // 3.0-rc1: `?` does not end the authority
        #expect(q.host == "example.com?x=1" && q.query == nil && q.path == nil)
        #expect(ParsedURL("http://[::1]:8080/x")?.host == "::1")
        #expect(ParsedURL("http://[::1]/x")?.port == nil)
        #expect(ParsedURL("example.com:80")?.scheme == "example.com")
        #expect(ParsedURL("http://host:")?.port == "")
        #expect(ParsedURL("http://h:abc")?.portNumber == nil)
        #expect(ParsedURL("http://h:0x50")?.portInteger == 80)
        #expect(ParsedURL("//example.com/path")?.scheme == nil)
        #expect(ParsedURL("") == nil)
    }
}
