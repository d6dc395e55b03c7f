import Testing

@testable import KGateRouter

/// Kong's `spec/fixtures/router_path_handling_tests.lua`, all 113 rows (212 cases once the
/// strip_path / path_handling alternatives are expanded), run as Kong's unit spec runs them:
/// each with a prefix route and again with the path turned into a regex (`~/[0]?...`), with
/// every flavor (the ATC flavors only take the v0 rows, as they always join paths with v0).
@Suite struct PathHandlingTests {
    /// service_path, route_path (nil: the route matches on host), strip_path alternatives,
    /// path_handling alternatives, request path, expected upstream path.
    typealias Row = (
        service: String, route: String?, strip: [Bool], handling: [String], request: String, expected: String
    )

    static let rows: [Row] = [
        ("/", "/", [false, true], ["v0", "v1"], "/", "/"),
        ("/", "/", [false, true], ["v0", "v1"], "/route", "/route"),
        ("/", "/", [false, true], ["v0", "v1"], "/route/", "/route/"),
        ("/", "/", [false, true], ["v0", "v1"], "/routereq", "/routereq"),
        ("/", "/", [false, true], ["v0", "v1"], "/route/req", "/route/req"),
        ("/", "/route", [false], ["v0", "v1"], "/route", "/route"),
        ("/", "/route", [false], ["v0", "v1"], "/route/", "/route/"),
        ("/", "/route", [false], ["v0", "v1"], "/routereq", "/routereq"),
        ("/", "/route", [true], ["v0", "v1"], "/route", "/"),
        ("/", "/route", [true], ["v0", "v1"], "/route/", "/"),
        ("/", "/route", [true], ["v0", "v1"], "/routereq", "/req"),
        ("/", "/route/", [false], ["v0", "v1"], "/route/", "/route/"),
        ("/", "/route/", [false], ["v0", "v1"], "/route/req", "/route/req"),
        ("/", "/route/", [true], ["v0", "v1"], "/route/", "/"),
        ("/", "/route/", [true], ["v0", "v1"], "/route/req", "/req"),
        ("/srv", "/rou", [false], ["v0"], "/roureq", "/srv/roureq"),
        ("/srv", "/rou", [false], ["v1"], "/roureq", "/srvroureq"),
        ("/srv", "/rou", [true], ["v0"], "/roureq", "/srv/req"),
        ("/srv", "/rou", [true], ["v1"], "/roureq", "/srvreq"),
        ("/srv/", "/rou", [false], ["v0", "v1"], "/rou", "/srv/rou"),
        ("/srv/", "/rou", [true], ["v0"], "/rou", "/srv"),
        ("/srv/", "/rou", [true], ["v1"], "/rou", "/srv/"),
        ("/service", "/", [false, true], ["v0", "v1"], "/", "/service"),
        ("/service", "/", [false, true], ["v0"], "/route", "/service/route"),
        ("/service", "/", [false, true], ["v1"], "/route", "/serviceroute"),
        ("/service", "/", [false, true], ["v0"], "/route/", "/service/route/"),
        ("/service", "/", [false, true], ["v1"], "/route/", "/serviceroute/"),
        ("/service", "/", [false, true], ["v0"], "/routereq", "/service/routereq"),
        ("/service", "/", [false, true], ["v1"], "/routereq", "/serviceroutereq"),
        ("/service", "/", [false, true], ["v0"], "/route/req", "/service/route/req"),
        ("/service", "/", [false, true], ["v1"], "/route/req", "/serviceroute/req"),
        ("/service", "/route", [false], ["v0"], "/route", "/service/route"),
        ("/service", "/route", [false], ["v1"], "/route", "/serviceroute"),
        ("/service", "/route", [false], ["v0"], "/route/", "/service/route/"),
        ("/service", "/route", [false], ["v1"], "/route/", "/serviceroute/"),
        ("/service", "/route", [false], ["v0"], "/routereq", "/service/routereq"),
        ("/service", "/route", [false], ["v1"], "/routereq", "/serviceroutereq"),
        ("/service", "/route", [true], ["v0", "v1"], "/route", "/service"),
        ("/service", "/route", [true], ["v0", "v1"], "/route/", "/service/"),
        ("/service", "/route", [true], ["v0"], "/routereq", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/routereq", "/servicereq"),
        ("/service", "/route/", [false], ["v0"], "/route/", "/service/route/"),
        ("/service", "/route/", [false], ["v1"], "/route/", "/serviceroute/"),
        ("/service", "/route/", [false], ["v0"], "/route/req", "/service/route/req"),
        ("/service", "/route/", [false], ["v1"], "/route/req", "/serviceroute/req"),
        ("/service", "/route/", [true], ["v0"], "/route/", "/service/"),
        ("/service", "/route/", [true], ["v1"], "/route/", "/service"),
        ("/service", "/route/", [true], ["v0"], "/route/req", "/service/req"),
        ("/service", "/route/", [true], ["v1"], "/route/req", "/servicereq"),
        ("/service/", "/", [false, true], ["v0"], "/route/", "/service/route/"),
        ("/service/", "/", [false, true], ["v1"], "/route/", "/service/route/"),
        ("/service/", "/", [false, true], ["v0", "v1"], "/", "/service/"),
        ("/service/", "/", [false, true], ["v0", "v1"], "/route", "/service/route"),
        ("/service/", "/", [false, true], ["v0", "v1"], "/routereq", "/service/routereq"),
        ("/service/", "/", [false, true], ["v0", "v1"], "/route/req", "/service/route/req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route", "/service/route"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route/", "/service/route/"),
        ("/service/", "/route", [false], ["v0", "v1"], "/routereq", "/service/routereq"),
        ("/service/", "/route", [true], ["v0"], "/route", "/service"),
        ("/service/", "/route", [true], ["v1"], "/route", "/service/"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route/", "/service/"),
        ("/service/", "/route", [true], ["v0", "v1"], "/routereq", "/service/req"),
        ("/service/", "/route/", [false], ["v0", "v1"], "/route/", "/service/route/"),
        ("/service/", "/route/", [false], ["v0", "v1"], "/route/req", "/service/route/req"),
        ("/service/", "/route/", [true], ["v0", "v1"], "/route/", "/service/"),
        ("/service/", "/route/", [true], ["v0", "v1"], "/route/req", "/service/req"),
        ("/", nil, [false, true], ["v0", "v1"], "/", "/"),
        ("/", nil, [false, true], ["v0", "v1"], "/route", "/route"),
        ("/", nil, [false, true], ["v0", "v1"], "/route/", "/route/"),
        ("/service", nil, [false, true], ["v0", "v1"], "/", "/service"),
        ("/service", nil, [false, true], ["v0"], "/route", "/service/route"),
        ("/service", nil, [false, true], ["v1"], "/route", "/serviceroute"),
        ("/service", nil, [false, true], ["v0"], "/route/", "/service/route/"),
        ("/service", nil, [false, true], ["v1"], "/route/", "/serviceroute/"),
        ("/service/", nil, [false, true], ["v0", "v1"], "/", "/service/"),
        ("/service/", nil, [false, true], ["v0", "v1"], "/route", "/service/route"),
        ("/service/", nil, [false, true], ["v0", "v1"], "/route/", "/service/route/"),
        ("/service", "/route", [true], ["v0"], "/route./req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route./req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route./req", "/service/req"),
        ("/service", "/route", [true], ["v0"], "/route%2E/req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route%2E/req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route%2E/req", "/service/req"),
        ("/service", "/route", [true], ["v0"], "/route%2e/req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route%2e/req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route%2e/req", "/service/req"),
        ("/service", "/route", [true], ["v0"], "/route../req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route../req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route../req", "/service/req"),
        ("/service", "/route", [true], ["v0"], "/route%2E%2E/req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route%2E%2E/req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route%2E%2E/req", "/service/req"),
        ("/service", "/route", [true], ["v0"], "/route%2e%2E/req", "/service/req"),
        ("/service", "/route", [true], ["v1"], "/route%2e%2E/req", "/servicereq"),
        ("/service/", "/route", [true], ["v0", "v1"], "/route%2e%2E/req", "/service/req"),
        ("/service", "/route", [false], ["v0"], "/route./req", "/service/route./req"),
        ("/service", "/route", [false], ["v1"], "/route./req", "/serviceroute./req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route./req", "/service/route./req"),
        ("/service", "/route", [false], ["v0"], "/route%2E/req", "/service/route./req"),
        ("/service", "/route", [false], ["v1"], "/route%2E/req", "/serviceroute./req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route%2E/req", "/service/route./req"),
        ("/service", "/route", [false], ["v0"], "/route%2e/req", "/service/route./req"),
        ("/service", "/route", [false], ["v1"], "/route%2e/req", "/serviceroute./req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route%2e/req", "/service/route./req"),
        ("/service", "/route", [false], ["v0"], "/route../req", "/service/route../req"),
        ("/service", "/route", [false], ["v1"], "/route../req", "/serviceroute../req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route../req", "/service/route../req"),
        ("/service", "/route", [false], ["v0"], "/route%2E%2E/req", "/service/route../req"),
        ("/service", "/route", [false], ["v1"], "/route%2E%2E/req", "/serviceroute../req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route%2E%2E/req", "/service/route../req"),
        ("/service", "/route", [false], ["v0"], "/route%2e%2E/req", "/service/route../req"),
        ("/service", "/route", [false], ["v1"], "/route%2e%2E/req", "/serviceroute../req"),
        ("/service/", "/route", [false], ["v0", "v1"], "/route%2e%2E/req", "/service/route../req"),
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        let row: Int
        let service: String
        let route: String?
        let strip: Bool
        let handling: PathHandling
        let request: String
        let expected: String
        let regex: Bool
        let flavor: Router.Flavor

        var testDescription: String {
            "(\(row)) \(regex ? "regex" : "plain") \(flavor.rawValue): service \(service), route \(route ?? "host"), "
                + "strip \(strip), \(handling.rawValue), \(request) → \(expected)"
        }
    }

    /// `line:expand()` for each row, both route kinds, each applicable flavor.
    static let cases: [Case] = rows.enumerated().flatMap { (i, row) in
        row.strip.flatMap { strip in
            row.handling.flatMap { handling -> [Case] in
                let h = PathHandling(rawValue: handling)!
                return Router.Flavor.allCases.flatMap { flavor -> [Case] in
                    if flavor != .traditional, h != .v0 { return [] }
                    var out = [
                        Case(
                            row: i + 1, service: row.service, route: row.route, strip: strip, handling: h,
                            request: row.request, expected: row.expected, regex: false, flavor: flavor)
                    ]
                    if let r = row.route {
                        out.append(
                            Case(
                                row: i + 1, service: row.service, route: "~/[0]?" + r.dropFirst(), strip: strip,
                                handling: h, request: row.request, expected: row.expected, regex: true, flavor: flavor))
                    }
                    return out
                }
            }
        }
    }

    @Test func tableSize() {
        #expect(Self.rows.count == 113)
        let expanded = Self.rows.reduce(0) { $0 + $1.strip.count * $1.handling.count }
        #expect(expanded == 212)
    }

    @Test(arguments: cases)
    func upstreamPath(_ c: Case) throws {
        let service = ServiceDefinition(
            id: "b0b0b0b0-0000-4000-8000-000000000001", name: "service-invalid", protocol: "http", path: c.service)
        let host = "localbin-\(c.row).com"
        let r = RouteDefinition(
            id: "e8fb37f1-102d-461e-9c51-6608a6000001", hosts: [host], paths: c.route.map { [$0] },
            stripPath: c.strip, pathHandling: c.handling, serviceID: service.id)
        let router = Router(routes: [r], services: [service], flavor: c.flavor)
        let m = try #require(router.match(RouteRequest(method: "GET", target: c.request, host: host)))
        #expect(m.route.id == r.id)
        #expect(m.service?.path == c.service)
        #expect(m.upstreamPath == c.expected)
    }
}
