import Testing

@testable import KGateRouter

/// Priorities: the traditional_compatible 64-bit layout (kong-reference §5.4), the arithmetic
/// Kong's LuaJIT code really performs, split-route ids, and how each flavor breaks ties.
@Suite struct PriorityTests {
    static let priorities: [(String, RouteDefinition, UInt64)] = [
        ("paths only", route(1, paths: ["/my-route"]), 1 << 61 | 9),
        ("plain host + path", route(1, hosts: ["a.com"], paths: ["/x"]), 2 << 61 | 1 << 60 | 2),
        ("wildcard host + method + path", route(1, hosts: ["*.a.com"], paths: ["/abc"], methods: ["GET"]), 3 << 61 | 4),
        (
            "empty hosts list is plain-host-only", RouteDefinition(id: uid(1), hosts: [], paths: ["/x"]),
            1 << 61 | 1 << 60 | 2
        ),
        (
            "headers + regex + regex_priority",
            route(1, paths: ["~/x"], headers: [("a", ["1"]), ("b", ["2"])], regexPriority: 5),
            0x4028_0000_0028_0000
        ),
        ("regex_priority ignored for prefixes", route(1, paths: ["/abc"], regexPriority: 9), 1 << 61 | 4),
        (
            "all seven fields",
            route(
                1, hosts: ["h"], paths: ["/p"], methods: ["GET"], headers: [("x", ["y"])], snis: ["s"],
                sources: [.init(ip: "10.0.0.1")], destinations: [.init(port: 80)]),
            7 << 61 | 1 << 60 | 1 << 52 | 2
        ),
    ]

    @Test(arguments: priorities)
    func documentedLayout(_ name: String, _ r: RouteDefinition, _ expected: UInt64) {
        #expect(CompatPriority.http(r, luajit: false) == expected, "\(name)")
    }

    /// Values printed by LuaJIT 2.1 running `transform.lua`'s arithmetic (`lshift_uint64` with
    /// Lua numbers is a 32-bit shift with the count masked to 5 bits).
    @Test(
        arguments: [
            (route(1, hosts: ["a"], paths: ["/abcd"]), UInt64(1_152_921_505_680_588_805)),
            (route(1, hosts: ["*.a"], paths: ["/abcd"]), UInt64(1_073_741_829)),
            (route(1, paths: ["~/x"], regexPriority: 5), UInt64(2_251_800_353_177_600)),
            (
                route(1, hosts: ["a"], paths: ["/abcdef"], headers: [("a", ["1"]), ("b", ["1"]), ("c", ["1"])]),
                UInt64(1_152_921_506_220_605_447)
            ),
            (route(1, hosts: ["*.a"], paths: ["/abcdefghijk"], headers: [("a", ["1"])]), UInt64(1_611_661_324)),
        ] as [(RouteDefinition, UInt64)])
    func luajitArithmetic(_ r: RouteDefinition, _ expected: UInt64) {
        #expect(CompatPriority.http(r, luajit: true) == expected)
    }

    @Test func streamPriority() {
        #expect(CompatPriority.stream(route(1, snis: ["x"], protocols: ["tls"])) == 1 << 61)
        let both = route(
            1, sources: [.init(ip: "10.0.0.0/8", port: 1)], destinations: [.init(ip: "10.0.0.1")], protocols: ["tcp"])
        #expect(CompatPriority.stream(both) == 1 << 61 | 0x5 << 4 | 0x8)
    }

    @Test func uuidV5() {
        #expect(
            RouteUUID.v5(namespace: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", name: "python.org")
                == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
        #expect(
            RouteUUID.v5(namespace: RouteUUID.splitNamespace, name: uid(1) + "#1")
                == "086b6591-cafa-58be-b2dd-7640f294421f")
        #expect(
            RouteUUID.v5(namespace: RouteUUID.splitNamespace, name: uid(1) + "#2")
                == "f3f66107-db02-53dc-baaf-ff30ef99a039")
        #expect(RouteUUID.parse("E8FB37F1-102D-461E-9C51-6608A6BB8101") == RouteUUID.parse(uid(1)))
        #expect(RouteUUID.parse("not-a-uuid") == nil)
        #expect(RouteUUID.format(RouteUUID.parse(uid(7))!) == uid(7))
    }

    @Test func pathGroups() {
        #expect(
            CompatEngine.pathGroups(["~/regex.*$", "/long-path", "/one", "/two", "/three", "~/.*"])
                == [["~/regex.*$", "~/.*"], ["/long-path"], ["/one", "/two"], ["/three"]])
        #expect(CompatEngine.pathGroups([]) == [[]])
    }

    /// A split route's groups get `uuid_v5(ns, "<id>#<n>")` ids and their own priorities.
    @Test func splitMatchers() {
        let router = makeRouter([route(1, paths: ["/a", "~/b", "/ccc", "/d"])], flavor: .traditionalCompatible)
        guard case .compat(let engine) = router.engine else {
            Issue.record("not compat")
            return
        }
        let ids = Set(engine.matchers.map { RouteUUID.format($0.uuid) })
        #expect(
            ids == [
                "086b6591-cafa-58be-b2dd-7640f294421f", "f3f66107-db02-53dc-baaf-ff30ef99a039",
                RouteUUID.v5(namespace: RouteUUID.splitNamespace, name: uid(1) + "#3"),
            ])
        #expect(engine.matchers.map(\.priority) == [1 << 61 | 1 << 51, 1 << 61 | 4, 1 << 61 | 2])
    }

    /// Equal priorities: atc-router tries the higher UUID first; traditional keeps config
    /// order (equal `created_at`), or the older `created_at`.
    @Test func ties() {
        let low = route(1, paths: ["/same"])
        let high = route(9, paths: ["/same"])
        let compat = makeRouter([low, high], flavor: .traditionalCompatible)
        #expect(compat.match(select("GET", "/same"))?.route.id == uid(9))
        let trad = makeRouter([low, high], flavor: .traditional)
        #expect(trad.match(select("GET", "/same"))?.route.id == uid(1))
        let older = makeRouter(
            [route(1, paths: ["/same"], createdAt: 2), route(9, paths: ["/same"], createdAt: 1)], flavor: .traditional)
        #expect(older.match(select("GET", "/same"))?.route.id == uid(9))
    }

    /// The two layouts can disagree: Kong's real arithmetic lets a plain host outrank a
    /// heavier wildcard route.
    @Test func luajitOptionChangesOrder() {
        let plain = route(1, hosts: ["a.com"])
        let heavy = route(2, hosts: ["*.com"], paths: ["/x"], methods: ["GET"])
        let request = select("GET", "/x", "a.com")
        #expect(makeRouter([plain, heavy], flavor: .traditionalCompatible).match(request)?.route.id == uid(2))
        let luajit = makeRouter(
            [plain, heavy], flavor: .traditionalCompatible, options: .init(luajitPriorityArithmetic: true))
        #expect(luajit.match(request)?.route.id == uid(1))
        #expect(makeRouter([plain, heavy], flavor: .traditional).match(request)?.route.id == uid(2))
    }
}
