import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/13-cors/01-access_spec.lua`.
@Suite struct CORSTests {
    static let defaultMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"

    /// Kong's `regex_testcases`: origins, then request origin → expected ACAO (`true`: the
    /// request's origin, a string: that value, nil: none).
    static let regexCases: [(origins: [String], tests: [String: String?])] = {
        let all = [
            "http://evil.test", "http://foo.test", "http://foo.test.evil.test", "http://something.foo.test",
            "http://evilfoo.test", "http://foo.test:80", "http://foo.test:8000", "https://foo.test:8000",
            "http://foo.test:90", "http://foobtest", "https://bar.test:1234",
        ]
        func table(_ accepted: [String: String?]) -> [String: String?] {
            var t: [String: String?] = [:]
            for o in all { t[o] = accepted[o] ?? nil }
            return t
        }
        func same(_ list: [String]) -> [String: String?] { Dictionary(uniqueKeysWithValues: list.map { ($0, $0) }) }
        return [
            (["foo.test"], Dictionary(uniqueKeysWithValues: all.map { ($0, "foo.test") })),
            (["https://bar.test:1234"], Dictionary(uniqueKeysWithValues: all.map { ($0, "https://bar.test:1234") })),
            (["foo\\.test"], table(same(["http://foo.test", "http://foo.test:8000", "https://foo.test:8000", "http://foo.test:90"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["(.*[./])?foo\\.test"], table(same(["http://foo.test", "http://something.foo.test", "http://foo.test:8000", "https://foo.test:8000", "http://foo.test:90"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["(.*[./])?foo\\.test:8000"], table(same(["http://foo.test:8000", "https://foo.test:8000"]))),
            (["https://(.*[.])?foo\\.test:8000"], table(same(["https://foo.test:8000"]))),
            (["^http://(.*[.])?foo\\.test(:(80|90))?$"], table(same(["http://foo.test", "http://something.foo.test", "http://foo.test:90"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["foo.test", "bar.test"], table([:])),
            (["http://foo.test", "https://bar.test:1234"], table(same(["http://foo.test", "https://bar.test:1234"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["bar.test", "foo\\.test"], table(same(["http://foo.test", "http://foo.test:8000", "https://foo.test:8000", "http://foo.test:90"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["bar.test", "(.*\\.)?foo\\.test"], table(same(["http://foo.test", "http://something.foo.test", "http://foo.test:8000", "https://foo.test:8000", "http://foo.test:90"]).merging(["http://foo.test:80": "http://foo.test"]) { a, _ in a })),
            (["bar.test", "(.*[./])?foo\\.test:8000"], table(same(["http://foo.test:8000", "https://foo.test:8000"]))),
            (["bar.test", "https://(.*\\.)?foo\\.test:8000"], table(same(["https://foo.test:8000"]))),
        ]
    }()

    static func yamlList(_ items: [String]) -> String {
        "[" + items.map { "'\($0)'" }.joined(separator: ", ") + "]"
    }

    @Test func regexOrigins() throws {
        var yaml = "_format_version: \"3.0\"\nroutes:\n"
        for (i, c) in Self.regexCases.enumerated() {
            yaml += "- {name: regex\(i), paths: [/regex\(i)], plugins: [{name: cors, config: {origins: \(Self.yamlList(c.origins))}}]}\n"
        }
        let runner = try Gate.runner(yaml)
        for (i, c) in Self.regexCases.enumerated() {
            for (origin, expected) in c.tests {
                var ex = Exchange(
                    runner, route: "regex\(i)", method: "OPTIONS",
                    headers: ["Origin": origin, "Access-Control-Request-Method": "GET"])
                #expect(ex.status == 200)
                let h = ex.respond()
                #expect(h["Access-Control-Allow-Origin"] == expected, "\(c.origins) given \(origin)")
                if expected != nil {
                    #expect(h["Access-Control-Allow-Methods"] == Self.defaultMethods)
                    #expect(h["Access-Control-Allow-Headers"] == nil)
                    #expect(h["Access-Control-Allow-Credentials"] == nil)
                    #expect(h["Access-Control-Max-Age"] == nil)
                }
            }
        }
    }

    static let config = """
        _format_version: "3.0"
        routes:
        - {name: cors1, paths: [/1], plugins: [{name: cors}]}
        - name: cors2
          paths: [/2]
          plugins:
          - name: cors
            config: {origins: [example.test], methods: [GET], headers: [origin, type, accepts], exposed_headers: [x-auth-token], max_age: 23, credentials: true}
        - {name: cors3, paths: [/3], plugins: [{name: cors, config: {preflight_continue: true}}]}
        - {name: cors4, paths: [/4], plugins: [{name: cors}, {name: key-auth}]}
        - {name: cors5, paths: [/5], plugins: [{name: cors, config: {origins: ["*"], credentials: true}}]}
        - {name: cors6, paths: [/6], plugins: [{name: cors, config: {origins: [example.test, example.org]}}]}
        - {name: cors9, paths: [/9], plugins: [{name: cors, config: {origins: ['.*\\.?example(?:-foo)?.test']}}]}
        - {name: cors10, paths: [/10], plugins: [{name: cors, config: {origins: ["http://my-site.test", "http://my-other-site.test"]}}]}
        - {name: cors13, paths: [/13], plugins: [{name: cors, config: {origins: [allowed-domain.test], private_network: true}}]}
        - {name: cors14, paths: [/14], plugins: [{name: cors, config: {origins: [foo.bar, "*"]}}]}
        - {name: anyHost, paths: [/h], plugins: [{name: cors, config: {origins: ['.*']}}]}
        - {name: queryHost, paths: [/q], plugins: [{name: cors, config: {origins: ['a\\?b', 'http://a:']}}]}
        - {name: empty, paths: [/e], plugins: [{name: cors, config: {origins: []}}]}
        - {name: absent, paths: [/a], plugins: [{name: cors, config: {origins: [foo.bar], allow_origin_absent: false}}]}
        - {name: noMethods, paths: [/m], plugins: [{name: cors, config: {methods: []}}]}
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    func preflight(_ route: String, origin: String, extra: HTTPFields = [:]) -> (Int, HTTPFields) {
        var headers: HTTPFields = ["Origin": origin, "Access-Control-Request-Method": "GET"]
        for f in extra { headers.add(f.name, f.value) }
        var ex = Exchange(runner, route: route, method: "OPTIONS", headers: headers)
        return (ex.status, ex.respond())
    }

    /// LuaSocket 3.0-rc1's `url.parse` as Kong's `normalize_origin` uses it: the allowed
    /// origin echoed is the request's normalized one.
    @Test(arguments: [
        ("http://a.test:80", "http://a.test"), ("https://a.test:443", "https://a.test"), ("http://a.test:443", "http://a.test:443"),
        ("HTTP://a.test:80", "HTTP://a.test:80"), ("http://a.test/p?q#f", "http://a.test"),
        // The query stays in the authority; the fragment goes first.
        ("http://a?b", "http://a?b"), ("http://a?b:80", "http://a?b"), ("http://a#b@c", "http://a"),
        // The user part ends at the first `@`.
        ("http://u@v@h.test", "http://v@h.test"), ("http://u:p@h.test:80", "http://h.test"),
        // An empty port keeps its `:`.
        ("http://a:", "http://a:"),
        // Brackets go; a `]` after the last `:` means no port.
        ("http://[::1]:8080", "http://::1:8080"), ("https://[::1]:443", "https://::1"), ("http://[::1]", "http://::1"),
        ("http://[::1", "http://[::1"), ("http://[]", "http://[]"),
        // No scheme, or no host: as they are.
        ("//a.test:80", "a.test:80"), ("null", "null"), ("http://:80", "http://:80"), ("http://@", "http://@"),
        ("-x://a", "-x://a"), ("1a+b.c-d://h:1", "1a+b.c-d://h:1"),
    ])
    func originNormalization(origin: String, allowed: String) {
        let (_, h) = preflight("anyHost", origin: origin)
        #expect(h["Access-Control-Allow-Origin"] == allowed)
    }

    /// `set_header(name, "")` leaves no header in nginx: an empty methods list, or an empty
    /// `Access-Control-Request-Headers` echoed.
    @Test func emptyValuesSendNoHeader() {
        #expect(preflight("noMethods", origin: "o.test").1["Access-Control-Allow-Methods"] == nil)
        let (_, h) = preflight("cors1", origin: "o.test", extra: ["Access-Control-Request-Headers": ""])
        #expect(h["Access-Control-Allow-Headers"] == nil)
    }

    @Test func hostsAndDomainsOfOddOrigins() {
        // Matched by host (`a\?b` has no `:`), and by domain with its empty port.
        #expect(preflight("queryHost", origin: "https://a?b").1["Access-Control-Allow-Origin"] == "https://a?b")
        #expect(preflight("queryHost", origin: "http://a:").1["Access-Control-Allow-Origin"] == "http://a:")
        #expect(preflight("queryHost", origin: "http://a").1["Access-Control-Allow-Origin"] == nil)
    }

    @Test func preflightDefaults() {
        for route in ["cors1", "empty", "cors14"] {
            let (status, h) = preflight(route, origin: "origin1.test")
            #expect(status == 200)
            #expect(h["Access-Control-Allow-Methods"] == Self.defaultMethods)
            #expect(h["Access-Control-Allow-Origin"] == "*")
            #expect(h["Access-Control-Allow-Headers"] == nil)
            #expect(h["Access-Control-Allow-Credentials"] == nil)
            // Kong adds `Vary` before finding `*` among several origins.
            #expect(h["Vary"] == (route == "cors14" ? "Origin" : nil))
        }
        let (_, star) = preflight("cors5", origin: "origin5.test")
        #expect(star["Access-Control-Allow-Origin"] == "origin5.test")
        #expect(star["Access-Control-Allow-Credentials"] == "true")
        #expect(star["Vary"] == "Origin")
    }

    @Test func preflightConfigOptions() {
        let (status, h) = preflight("cors2", origin: "origin5.test")
        #expect(status == 200)
        #expect(h["Access-Control-Allow-Methods"] == "GET")
        #expect(h["Access-Control-Allow-Origin"] == "example.test")
        #expect(h["Access-Control-Max-Age"] == "23")
        #expect(h["Access-Control-Allow-Credentials"] == "true")
        #expect(h["Access-Control-Allow-Headers"] == "origin,type,accepts")
        #expect(h["Vary"] == "Origin")
        #expect(h["Access-Control-Expose-Headers"] == nil)
        let (_, requested) = preflight("cors5", origin: "origin5.test", extra: ["Access-Control-Request-Headers": "origin,accepts"])
        #expect(requested["Access-Control-Allow-Headers"] == "origin,accepts")
        let (_, pn) = preflight("cors13", origin: "allowed-domain.test", extra: ["Access-Control-Request-Private-Network": "true"])
        #expect(pn["Access-Control-Allow-Private-Network"] == "true")
    }

    @Test func preflightContinueAndNonPreflightOptions() {
        let cont = Exchange(runner, route: "cors3", method: "OPTIONS", headers: ["Origin": "a.test", "Access-Control-Request-Method": "GET"])
        #expect(cont.status == 0)
        var plain = Exchange(runner, route: "cors1", method: "OPTIONS")
        #expect(plain.status == 0)
        let h = plain.respond()
        #expect(h["Access-Control-Allow-Origin"] == "*")
        #expect(h["Access-Control-Allow-Methods"] == nil)
        // Flat strings are compared whole.
        for (origin, expected) in [
            ("http://my-site.test", "http://my-site.test"), ("http://bad-guys.test", nil),
            ("http://my-site.test.bad-guys.test", nil),
        ] as [(String, String?)] {
            var ex = Exchange(runner, route: "cors10", method: "OPTIONS", headers: ["Origin": origin])
            #expect(ex.respond()["Access-Control-Allow-Origin"] == expected)
        }
    }

    @Test func otherMethods() {
        var ex = Exchange(runner, route: "cors2")
        let h = ex.respond()
        #expect(h["Access-Control-Allow-Origin"] == "example.test")
        #expect(h["Access-Control-Expose-Headers"] == "x-auth-token")
        #expect(h["Access-Control-Allow-Credentials"] == "true")
        #expect(h["Vary"] == "Origin")
        #expect(h["Access-Control-Allow-Methods"] == nil)
        // 401 from another plugin still gets the headers.
        var denied = Exchange(runner, route: "cors4")
        #expect(denied.status == 401)
        #expect(denied.respond()["Access-Control-Allow-Origin"] == "*")
        // Origin by host; Vary appended to the upstream's.
        var byHost = Exchange(runner, route: "cors6", headers: ["Origin": "example.test"])
        let bh = byHost.respond(headers: ["Vary": "Accept-Encoding"])
        #expect(bh["Access-Control-Allow-Origin"] == "example.test")
        #expect(bh.values("Vary") == ["Accept-Encoding", "Origin"])
        for (domain, ok) in [
            ("example.test", true), ("www.example.test", true), ("example-foo.test", true),
            ("www.example-foo.test", true), ("www.example-fo0.test", false),
        ] {
            var ex = Exchange(runner, route: "cors9", headers: ["Origin": domain])
            #expect(ex.respond()["Access-Control-Allow-Origin"] == (ok ? domain : nil), "\(domain)")
        }
        // No host parsing for flat origins: http://example.test is not example.test.
        var scheme = Exchange(runner, route: "cors6", headers: ["Origin": "http://example.test"])
        #expect(scheme.respond()["Access-Control-Allow-Origin"] == nil)
        // The upstream's ACAO is removed when nothing matches.
        var removed = Exchange(runner, route: "cors6", headers: ["Origin": "http://evil.test"])
        #expect(removed.respond(headers: ["Access-Control-Allow-Origin": "*"])["Access-Control-Allow-Origin"] == nil)
        // allow_origin_absent: false leaves responses without Origin alone.
        var absent = Exchange(runner, route: "absent")
        #expect(absent.respond()["Access-Control-Allow-Origin"] == nil)
    }

    @Test func schema() {
        let bad = Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: cors\n  config: {origins: ['[bad']}\n")
        #expect(bad?.contains("'[bad' is not a valid regex") == true)
        let method = Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: cors\n  config: {methods: [FOO]}\n")
        #expect(method?.contains("expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT") == true)
    }
}
