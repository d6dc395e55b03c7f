import KGateRegex
import KGateSchema
import Testing

@testable import KGateRouter

/// The building blocks: byte table, radix tree, regex literal prefixes, the normalisation fast
/// path, wildcard hosts, and reading route entities.
@Suite struct InternalsTests {
    @Test func byteTable() {
        let t = ByteTable([(Array("a.com".utf8), 1), (Array("b.com".utf8), 2), (Array("a.com".utf8), 9), ([], 3)])
        #expect(t.count == 3)
        #expect(t.lookup(Array("a.com".utf8)) == 1)
        #expect(t.lookup(Array("b.com".utf8)) == 2)
        #expect(t.lookup([]) == 3)
        #expect(t.lookup(Array("A.com".utf8)) == nil)
        let folded = ByteTable([(Array("x-forwarded-for".utf8), 7)], folding: true)
        #expect(folded.lookup(Array("X_Forwarded-FOR".utf8)) == 7)
        #expect(folded.lookup(Array("x-forwarded-fo".utf8)) == nil)
        #expect(ByteTable([]).lookup(Array("x".utf8)) == nil)
    }

    @Test func radixTrieVisitsEveryPrefixKey() {
        let keys = ["/", "/a", "/a/b", "/ab", "/a/b/c", "/b", "/a/b", "x"]
        let trie = RadixTrie(keys.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) })
        func visited(_ q: String) -> [[Int32]] {
            var out: [[Int32]] = []
            trie.walk(Array(q.utf8)) { values, _ in
                out.append(Array(values))
                return true
            }
            return out
        }
        #expect(visited("/a/b/c/d") == [[0], [1], [2, 6], [4]])
        #expect(visited("/abc") == [[0], [1], [3]])
        #expect(visited("/c") == [[0]])
        #expect(visited("") == [])
        #expect(visited("x") == [[7]])
        #expect(RadixTrie([]).nodeCount == 0)
    }

    @Test(arguments: [
        (#"/users/\d+/profile"#, "/users/"), ("/route/(fixture)", "/route/"), ("/a.*z", "/a"), ("/ab?c", "/a"),
        ("/ab+c", "/ab"), (#"/x\/y\.z"#, "/x/y.z"), ("/(a|b)/x", "/"), ("/a/b|/c", ""), ("/[0]?a", "/"),
        ("(?i)/abc", ""), ("/a{2}", "/"), (#"/\Qa\E"#, "/"), ("^/x", ""), ("/a[|]b", "/a"),
    ])
    func regexLiteralPrefix(_ pattern: String, _ prefix: String) {
        #expect(String(decoding: RegexLiteral.prefix(pattern), as: UTF8.self) == prefix)
    }

    /// The fast path agrees with Kong's normalisation.
    @Test(arguments: [
        "/", "/a/b", "/a.b/c", "/a/./b", "/a/../b", "/a//b", "/a/b/.", "/a/b/..", "/.x", "/..x/y", "/a%2Fb", "/a%41",
        "/a/...", "", "a/b", "/a/b/", "/%2e%2E/x",
    ])
    func normalisationFastPath(_ path: String) {
        let normal = Array(path.utf8).withUnsafeBufferPointer { RoutingPath.isNormal($0) }
        if normal { #expect(PathNormalizer.normalize(path) == path) }
        let request = RouteRequest(target: path + "?q=1")
        let routed = RoutingPath(request)
        #expect(String(routed.path(of: request.target)) == PathNormalizer.routingPath(path + "?q=1"))
        #expect(routed.query(of: request.target) == "q=1")
    }

    @Test func queryIsFoundFromTheSecondByte() {
        let request = RouteRequest(target: "?a?b")
        let r = RoutingPath(request)
        #expect(String(r.path(of: request.target)) == "?a")
        #expect(r.query(of: request.target) == "a?b")
    }

    /// Native wildcard matching agrees with the regex Kong builds.
    @Test(arguments: ["*.route.com", "route.*", "*.route.net:123", "route.*:80", "*.a-b_c.org"])
    func wildcardHostsAgreeWithKongsRegex(_ pattern: String) throws {
        let w = WildcardHost(pattern)
        var regex = ""
        for c in pattern { regex += c == "." ? "\\." : c == "*" ? ".+" : String(c) }
        regex += w.hasPort ? "$" : "(?::\\d+)?$"
        let kong = try PCRERegex(regex, options: .anchored)
        let subjects = [
            "foo.route.com:80", "route.com:80", "foo.route.com", "route.org:80", "route.:80", "route.org:123",
            "a.route.net:123",
            "a.route.net:1234", "route.x:80", "route.x:8080", "x.a-b_c.org:443", ".route.com:80", "foo.route.com:",
            "foo.route.com:x",
        ]
        for s in subjects {
            let native = Array(s.utf8).withUnsafeBufferPointer { w.matches($0) }
            #expect(native == kong.matches(s), "\(pattern) on \(s)")
        }
    }

    @Test func routeFromEntity() {
        let entity: Object = [
            "id": "e8fb37f1-102d-461e-9c51-6608a6bb8101", "name": "r", "protocols": ["https"], "methods": ["GET"],
            "hosts": ["a.com"], "paths": ["/x", "~/y"], "headers": ["X-Foo": ["a", "b"]], "snis": .null,
            "sources": [["ip": "10.0.0.0/8", "port": 80]], "strip_path": false, "preserve_host": true,
            "path_handling": "v1",
            "regex_priority": 3, "https_redirect_status_code": 301, "service": ["id": "s1"],
            "created_at": 1_700_000_000,
        ]
        let r = RouteDefinition(entity: entity)
        #expect(r.id == "e8fb37f1-102d-461e-9c51-6608a6bb8101" && r.name == "r" && r.protocols == ["https"])
        #expect(r.methods == ["GET"] && r.hosts == ["a.com"] && r.paths == ["/x", "~/y"] && r.snis == nil)
        #expect(r.headers == [HeaderRule(name: "X-Foo", values: ["a", "b"])])
        #expect(r.sources == [NetworkEndpoint(ip: "10.0.0.0/8", port: 80)])
        #expect(!r.stripPath && r.preserveHost && r.pathHandling == .v1 && r.regexPriority == 3)
        #expect(r.httpsRedirectStatusCode == 301 && r.serviceID == "s1" && r.createdAt == 1_700_000_000)
        let d = RouteDefinition(entity: ["id": "x", "service": .null])
        #expect(d.protocols == ["http", "https"] && d.stripPath && !d.preserveHost && d.serviceID == nil)
        let s = ServiceDefinition(entity: [
            "id": "s1", "name": "svc", "protocol": "https", "host": "h", "port": 8443, "path": "/p", "enabled": false,
        ])
        #expect(
            s.id == "s1" && s.name == "svc" && s.protocol == "https" && s.host == "h" && s.port == 8443
                && s.path == "/p" && !s.enabled)
        #expect(ServiceDefinition(entity: ["id": "s", "protocol": "https"]).effectivePort == 443)
    }

    @Test func buildFromEntities() {
        let routes: [Object] = [
            ["id": .string(uid(1)), "paths": ["/a"], "service": ["id": "s1"]],
            ["id": .string(uid(2)), "paths": ["/b"], "service": ["id": "nope"]],
        ]
        let services: [Object] = [["id": "s1", "host": "h", "protocol": "http"]]
        let router = Router(routeEntities: routes, serviceEntities: services)
        #expect(router.match(RouteRequest(target: "/a/x"))?.upstreamPath == "/x")
        #expect(router.match(RouteRequest(target: "/b")) == nil)
        #expect(router.diagnostics == ["route \(uid(2)): could not find service nope; route skipped"])
    }
}

/// The upstream target's escaping is `kong.tools.uri.escape` (`PathNormalizer.escape`).
@Suite struct UpstreamEscapingTests {
    @Test func sameAsPathNormalizerEscape() {
        var all = "/"
        for b in 0x20..<0x7F { all.unicodeScalars.append(Unicode.Scalar(UInt8(b))) }
        all += "é€/ \t"
        let mine = Array(all.utf8).withUnsafeBufferPointer { UpstreamPath.target(path: $0, query: nil) }
        #expect(mine == PathNormalizer.escape(all))
        let withQuery = Array("/a b".utf8).withUnsafeBufferPointer { p in
            Array("x=1&y= 2".utf8).withUnsafeBufferPointer { UpstreamPath.target(path: p, query: $0) }
        }
        #expect(withQuery == "/a%20b?x=1&y= 2")
    }

    @Test func joinOnStrings() {
        #expect(
            UpstreamPath.join(base: "/srv/", requestPath: "/rou", postfix: "", stripPath: true, v1: false) == "/srv")
        #expect(
            UpstreamPath.join(base: "/srv/", requestPath: "/rou", postfix: "", stripPath: true, v1: true) == "/srv/")
        #expect(
            UpstreamPath.join(base: "/srv", requestPath: "/roureq", postfix: "req", stripPath: true, v1: false)
                == "/srv/req")
    }
}
