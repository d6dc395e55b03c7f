import Testing

@testable import KGateRouter

/// Kong's access-phase protocol rules (kong-reference §5.6) and the route explanation.
@Suite struct OutcomeTests {
    static func outcome(
        protocols: [String], code: Int = 426, proto: String, contentType: String? = nil, version: Int = 1,
        service: Bool = true
    ) -> RouteOutcome {
        let r = route(1, paths: ["/x"], protocols: protocols, service: service ? specService : nil)
        var def = r
        def.httpsRedirectStatusCode = code
        let router = makeRouter([def], flavor: .traditionalCompatible)
        let m = router.match(exec("GET", "/x/y?a=1", host: "h"))
        return RouteOutcome.evaluate(
            m, forwardedProto: proto, forwardedHost: "fwd.example", requestURI: "/x/y?a=1", contentType: contentType,
            httpMajorVersion: version)
    }

    static func response(_ o: RouteOutcome) -> RouteResponse? {
        if case .respond(let r) = o { return r }
        return nil
    }

    @Test func noRoute() {
        let o = RouteOutcome.evaluate(nil, forwardedProto: "http", forwardedHost: "h", requestURI: "/")
        #expect(Self.response(o) == RouteResponse(status: 404, message: "no Route matched with those values"))
    }

    @Test func httpsOnlyRouteOnPlainHTTP() {
        #expect(
            Self.response(Self.outcome(protocols: ["https"], proto: "http"))
                == RouteResponse(
                    status: 426, message: "Please use HTTPS protocol",
                    headers: [("Connection", "Upgrade"), ("Upgrade", "TLS/1.2, HTTP/1.1")]))
        for code in [301, 302, 307, 308] {
            #expect(
                Self.response(Self.outcome(protocols: ["https"], code: code, proto: "http"))
                    == RouteResponse(status: code, message: nil, headers: [("Location", "https://fwd.example/x/y?a=1")])
            )
        }
        #expect(Self.response(Self.outcome(protocols: ["https"], proto: "https")) == nil)
        #expect(Self.response(Self.outcome(protocols: ["http", "https"], proto: "http")) == nil)
    }

    @Test func grpcRules() {
        #expect(Self.response(Self.outcome(protocols: ["grpc"], proto: "http"))?.status == 415)
        let h1 = Self.response(Self.outcome(protocols: ["grpc"], proto: "http", contentType: "application/grpc"))
        #expect(
            h1
                == RouteResponse(
                    status: 426, message: "Please use HTTP2 protocol",
                    headers: [("connection", "Upgrade"), ("upgrade", "HTTP/2")]))
        #expect(
            Self.response(
                Self.outcome(protocols: ["grpc"], proto: "http", contentType: "application/grpc+proto", version: 2))
                == nil)
        let secure = Self.response(
            Self.outcome(protocols: ["grpcs"], proto: "http", contentType: "application/grpc", version: 2))
        #expect(secure?.status == 200 && secure?.message == nil)
        #expect(
            secure?.headers.contains(RouteResponse.Header("grpc-message", "gRPC request matched gRPCs route")) == true)
    }

    @Test func serviceless() throws {
        let o = Self.outcome(protocols: ["http"], proto: "http", service: false)
        guard case .proceed(let m) = o else {
            Issue.record("expected proceed")
            return
        }
        #expect(
            RouteOutcome.afterAccess(m) == RouteResponse(status: 503, message: "no Service found with those values"))
        let withService = Self.outcome(protocols: ["http"], proto: "http")
        guard case .proceed(let ok) = withService else { return }
        #expect(RouteOutcome.afterAccess(ok) == nil)
    }

    @Test(arguments: Router.Flavor.allCases)
    func explainsTheClosestRoutes(_ flavor: Router.Flavor) throws {
        let router = makeRouter(
            [
                route(1, hosts: ["api.example.com"], paths: ["/v1/users"], methods: ["GET"], name: "users"),
                route(2, hosts: ["admin.example.com"], paths: ["/v1"], headers: [("x-admin", ["yes"])], name: "admin"),
                route(3, hosts: ["tls.example.com"], snis: ["secure.example.com"], protocols: ["https"], name: "tls"),
            ], flavor: flavor)
        let request = exec("POST", "/v1/users/7", host: "api.example.com")
        #expect(router.match(request) == nil)
        let e = router.explain(request)
        let first = try #require(e.first)
        #expect(first.route.name == "users")
        #expect(first.failed.map(\.name) == ["methods"])
        let admin = try #require(e.first { $0.route.name == "admin" })
        #expect(Set(admin.failed.map(\.name)) == ["hosts", "headers.x-admin"])
        let tls = try #require(e.first { $0.route.name == "tls" })
        #expect(tls.failed.map(\.name) == ["hosts"] && tls.fields.last?.detail == "ignored for plain http")
    }
}
