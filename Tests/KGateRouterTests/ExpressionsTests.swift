import KGateSchema
import Testing

@testable import KGateRouter

/// The `expressions` flavor: atc-router's language (parser, checks, interpreter) and Kong's
/// `spec/01-unit/08-router_spec.lua` cases for expression routes.
struct ExpressionsTests {
    func expr(_ n: Int, _ expression: String, priority: Int = 0, protocols: [String] = ["http", "https"], stripPath: Bool = false)
        -> RouteDefinition
    {
        var r = RouteDefinition(
            id: uid(n), protocols: protocols, stripPath: stripPath, serviceID: specService.id, expression: expression)
        r.priority = priority
        return r
    }

    func matched(_ router: Router, _ request: RouteRequest) -> String? {
        router.match(request)?.route.id
    }

    @Test func parsesWithAtcRoutersPrecedence() throws {
        // `||` binds tighter than `&&`.
        guard case .and(let l, let r) = try ATCExpression.compile(#"http.method == "GET" && http.path == "/a" || http.path == "/b""#),
            case .predicate = l, case .or = r
        else { Issue.record("precedence"); return }
        guard case .or(let a, _) = try ATCExpression.compile(#"http.path == "/a" || http.path == "/b" || http.path == "/c""#),
            case .or = a
        else { Issue.record("left associative"); return }
        // Literals.
        let p = try ATCExpression.compile(
            ##"net.dst.port == 0x1F90 && net.src.port > 010 && net.src.ip in 10.0.0.0/8 && net.dst.ip == ::1 && http.path ~ r#"^/\d+"# && http.host == "a\"b\\c""##
        ).predicates
        #expect(p.count == 6)
        if case .int(let n) = p[0].value { #expect(n == 8080) } else { Issue.record("hex") }
        if case .int(let n) = p[1].value { #expect(n == 8) } else { Issue.record("octal") }
        if case .cidr(let c) = p[2].value { #expect(c.prefixLength == 8) } else { Issue.record("cidr") }
        if case .ip = p[3].value {} else { Issue.record("ipv6") }
        if case .regex(_, let source) = p[4].value { #expect(source == #"^/\d+"#) } else { Issue.record("regex") }
        if case .string(let s) = p[5].value { #expect(s == #"a"b\c"#) } else { Issue.record("escapes") }
        let t = try ATCExpression.compile(#"any(lower(http.headers.x_foo)) == "a""#).predicates[0]
        #expect(t.lower && t.any && t.field == "http.headers.x_foo")
    }

    @Test func refusesWhatAtcRouterRefuses() {
        func error(_ s: String) -> String? { ATCExpression.validationError(s) }
        #expect(error(#"http.path == "/a""#) == nil)
        #expect(error(#"http.pathx == "/a""#) == "Unknown LHS field")
        #expect(error(#"http.path == 1"#) == "Type mismatch between the LHS and RHS values of predicate")
        #expect(error(#"net.src.port ^= "1""#) == "Type mismatch between the LHS and RHS values of predicate")
        #expect(error(#"lower(net.src.port) == 1"#) == "lower-case transformation function only supported with String type fields")
        #expect(error(#"net.src.ip in 10.0.0.1"#) == "In/NotIn operators only supports IP in CIDR")
        #expect(error(#"http.path > "a""#) == "Greater/GreaterOrEqual/Less/LessOrEqual operators only supports integer operands")
        #expect(error(#"net.src.port ~ "1""#) == "Regex operators only supports string operands")
        #expect(error(#"upper(http.path) == "/""#)?.contains("unknown transformation function: upper") == true)
        #expect(error(#"http.path ~ "(""#) != nil)
        // Syntax errors in pest's layout.
        let syntax = error(#"http.path == "/a" &&"#)
        #expect(syntax?.hasPrefix(" --> 1:") == true)
        #expect(syntax?.contains("1 | http.path == \"/a\" &&") == true)
        #expect(error(#"http.headers.x-foo == "a""#) != nil)
        #expect(error(#"http.path == "/a" http.method == "GET""#) != nil)
        #expect(error("") != nil)
        // `net.port` is the deprecated name of `net.dst.port`.
        #expect(error("net.port == 8000") == nil)
    }

    @Test("spec: queries, headers, segments, addresses, ports")
    func matchesKongsFields() {
        let router = makeRouter(
            [
                expr(1, #"http.path == "/foo/bar" && http.queries.a == "1""#, priority: 100),
                expr(2, #"http.path == "/foo/bar" && http.queries.a == """#, priority: 100),
                expr(3, #"http.path == "/foo/bar" && any(http.queries.a) == "2""#, priority: 100),
                expr(4, #"http.path == "/h" && http.headers.test1 == "Quote""#),
                expr(5, #"http.path == "/h" && lower(http.headers.test2) == "quote""#),
                expr(6, #"http.host == "www.example.com" && net.port == 8000"#),
                expr(7, #"net.src.ip == 1.1.1.1 && net.dst.ip == 2.2.2.2 && http.method == "GET""#),
                expr(8, #"http.path.segments.0 == "seg" && http.path.segments.len == 1"#),
                expr(9, ##"http.path.segments.1_3 == r#"xxx/yyy/zzz"#"##),
                expr(10, ##"http.path.segments.0_1 ~ r#"\d+/\w+"#"##),
            ], flavor: .expressions)
        func query(_ q: String) -> String? { matched(router, exec("GET", "/foo/bar?" + q, host: "domain.org")) }
        #expect(query("a=1") == uid(1))
        #expect(query("a=") == uid(2))
        #expect(query("a") == uid(2))
        #expect(query("a=2&a=10") == uid(3))
        #expect(query("a=x") == nil)
        #expect(query("a=%31") == uid(1))
        #expect(matched(router, select("GET", "/h", headers: [("Test1", "Quote")])) == uid(4))
        #expect(matched(router, select("GET", "/h", headers: [("test1", "quote")])) == nil)
        #expect(matched(router, select("GET", "/h", headers: [("TEST2", "QUOTE")])) == uid(5))
        #expect(matched(router, select("GET", "/", "www.example.com", dstPort: 8000)) == uid(6))
        #expect(matched(router, select("GET", "/", "www.example.com:8000", dstPort: 9000)) == uid(6))
        #expect(matched(router, select("GET", "/", "www.example.com", dstPort: 8001)) == nil)
        #expect(matched(router, select("GET", "/x", srcIP: "1.1.1.1", dstIP: "2.2.2.2")) == uid(7))
        #expect(matched(router, select("POST", "/x", srcIP: "1.1.1.1", dstIP: "2.2.2.2")) == nil)
        #expect(matched(router, select("GET", "/seg")) == uid(8))
        #expect(matched(router, select("GET", "/seg/")) == uid(8))
        #expect(matched(router, select("GET", "/seg/x")) == nil)
        #expect(matched(router, select("GET", "/foo/xxx/yyy/zzz/bar")) == uid(9))
        #expect(matched(router, select("GET", "/123/hello-world/bar")) == uid(10))
    }

    @Test("priority, then UUID; expression routes before the others; protocols")
    func ordersAndChecksProtocols() {
        let router = makeRouter(
            [
                route(1, paths: ["/api"]),
                expr(2, #"http.path ^= "/api""#, priority: 1),
                expr(3, #"http.path ^= "/api/v2""#, priority: 5),
                expr(4, #"http.path ^= "/api/v2""#, priority: 5),
                expr(5, #"http.path ^= "/secure""#, protocols: ["https"]),
                expr(6, #"http.path ^= "/plain""#, protocols: ["http"]),
                expr(7, #"!(http.path ^= "/api") && http.method == "DELETE""#),
            ], flavor: .expressions)
        #expect(matched(router, select("GET", "/api/v1")) == uid(2))
        #expect(matched(router, select("GET", "/api/v2/x")) == uid(4))
        // An https-only route still matches http (for its redirect or 426).
        #expect(matched(router, select("GET", "/secure")) == uid(5))
        #expect(matched(router, select("GET", "/plain", scheme: .https)) == nil)
        #expect(matched(router, select("GET", "/plain")) == uid(6))
        #expect(matched(router, select("DELETE", "/x")) == uid(7))
        #expect(matched(router, select("DELETE", "/api")) == uid(2))
        // Routes without an expression still route, after the expression routes.
        let mixed = makeRouter([route(1, paths: ["/api"]), expr(2, #"http.path == "/other""#)], flavor: .expressions)
        #expect(matched(mixed, select("GET", "/api/x")) == uid(1))
        #expect(matched(mixed, select("GET", "/other")) == uid(2))
    }

    @Test("strip_path removes the matched prefix; regex captures are uri_captures")
    func stripsAndCaptures() throws {
        let router = makeRouter(
            [
                expr(1, #"http.path ^= "/prefix""#, stripPath: true),
                expr(2, ##"http.path ~ r#"^/users/(?P<id>\d+)"#"##, stripPath: true),
                expr(3, #"http.path == "/exact""#, stripPath: false),
            ], flavor: .expressions)
        let a = try #require(router.match(exec("GET", "/prefix/rest?q=1", host: "h")))
        #expect(a.upstreamPath == "/rest")
        #expect(a.prefix == "/prefix")
        let b = try #require(router.match(exec("GET", "/users/42/profile", host: "h")))
        #expect(b.upstreamPath == "/profile")
        #expect(b.captures?.named["id"] == "42")
        #expect(b.captures?.numbered[1] == "42")
        let c = try #require(router.match(exec("GET", "/exact", host: "h")))
        #expect(c.upstreamPath == "/exact")
        #expect(c.captures == nil)
    }

    @Test("many values: all must match, unless any()")
    func manyValues() {
        let router = makeRouter(
            [expr(1, #"http.headers.x_v == "a""#, priority: 2), expr(2, #"any(http.headers.x_v) == "b""#, priority: 1)],
            flavor: .expressions)
        #expect(matched(router, select("GET", "/", headers: [("X-V", "a"), ("x-v", "a")])) == uid(1))
        #expect(matched(router, select("GET", "/", headers: [("X-V", "a"), ("x-v", "b")])) == uid(2))
        #expect(matched(router, select("GET", "/", headers: [("X-V", "c")])) == nil)
        #expect(router.usesHeaders)
    }

    @Test("kgate route test explains each predicate")
    func explainsPredicates() {
        let router = makeRouter([expr(1, #"http.path ^= "/a" && lower(http.host) == "x.test""#)], flavor: .expressions)
        let fields = router.explain(select("GET", "/a/b", "y.test")).first?.fields ?? []
        #expect(fields.map(\.detail) == [#"http.path ^= "/a""#, #"lower(http.host) == "x.test""#])
        #expect(fields.map(\.matched) == [true, false])
    }
}
