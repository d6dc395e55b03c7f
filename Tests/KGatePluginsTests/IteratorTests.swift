import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/01-unit/28-plugins-iterator` as data, and the precomputed plans checked
/// against Kong's `lookup_cfg` for every combination of configured scopes.
@Suite struct IteratorTests {
    // spec/01-unit/28-plugins-iterator/01-compound_key_spec.lua
    @Test(arguments: [
        ("route1", "service1", "consumer1", "route1:service1:consumer1"),
        ("route1", "service1", nil, "route1:service1:"),
        ("route1", nil, "consumer1", "route1::consumer1"),
        (nil, "service1", "consumer1", ":service1:consumer1"),
        ("route1", nil, nil, "route1::"),
        (nil, "service1", nil, ":service1:"),
        (nil, nil, "consumer1", "::consumer1"),
        (nil, nil, nil, "::"),
    ] as [(String?, String?, String?, String)])
    func compoundKey(route: String?, service: String?, consumer: String?, key: String) {
        #expect(PluginCombos.compoundKey(route: route, service: service, consumer: consumer) == key)
    }

    // spec/01-unit/28-plugins-iterator/02-lookup_cfg_spec.lua
    static let kongCombos = [
        "r:s:c": "config1", "r::c": "config2", ":s:c": "config3", "r:s:": "config4",
        "::c": "config5", "r::": "config6", ":s:": "config7", "::": "config8",
    ]

    @Test(arguments: [
        ("r", "s", "c", "config1"),
        ("r", nil, "c", "config2"),
        (nil, "s", "c", "config3"),
        ("r", "s", nil, "config4"),
        (nil, nil, "c", "config5"),
        ("r", nil, nil, "config6"),
        (nil, "s", nil, "config7"),
        (nil, nil, nil, "config8"),
    ] as [(String?, String?, String?, String)])
    func lookupCfg(route: String?, service: String?, consumer: String?, expected: String) {
        #expect(PluginCombos.lookup(Self.kongCombos, route: route, service: service, consumer: consumer) == expected)
    }

    /// The 8 scopes, as YAML plugin entries and as Kong compound keys.
    static let scopes: [(key: String, yaml: String)] = [
        ("r:s:c", "route: r, service: s, consumer: c"),
        ("r::c", "route: r, consumer: c"),
        (":s:c", "service: s, consumer: c"),
        ("r:s:", "route: r, service: s"),
        ("::c", "consumer: c"),
        ("r::", "route: r"),
        (":s:", "service: s"),
        ("::", ""),
    ]

    /// For every subset of the 8 scopes, the config the runner picks for requests on a route
    /// with a service and on a route without, with and without a consumer, is `lookup_cfg`'s.
    @Test func plansAgreeWithLookupCfgForEverySubset() throws {
        for mask in 0..<256 {
            var yaml = """
                _format_version: "3.0"
                services:
                - name: s
                  url: http://upstream
                routes:
                - name: r
                  service: s
                  paths: [/r]
                - name: bare
                  paths: [/bare]
                consumers:
                - username: c
                plugins:
                - name: who

                """
            var combos: [String: String] = [:]
            for (i, scope) in Self.scopes.enumerated() where mask & (1 << i) != 0 {
                yaml += "- name: probe\n  config: {tag: \"\(scope.key)\"}\n"
                if !scope.yaml.isEmpty { yaml += "  " + scope.yaml.replacingOccurrences(", ", "\n  ") + "\n" }
                combos[scope.key] = scope.key
            }
            let runner = try ProbeGate.runner(yaml)
            let routeID = Gate.routeID(runner, "r")
            let consumerID = Gate.consumerID(runner, "c")
            let serviceID = runner.database.page.entity("services", endpointKey: "s")!["id"]!.stringValue!
            // Ids → the letters the combos use.
            func expected(route: Bool, consumer: Bool) -> String? {
                PluginCombos.lookup(combos, route: route ? "r" : nil, service: route ? "s" : nil, consumer: consumer ? "c" : nil)
            }
            for consumer in [false, true] {
                let headers: HTTPFields = consumer ? ["X-Who": "c"] : [:]
                let onRoute = Exchange(runner, route: "r", headers: headers)
                let seen = onRoute.ctx.shared["seen"] as? [String] ?? []
                #expect(seen == expected(route: true, consumer: consumer).map { ["probe:\($0)"] } ?? [], "mask \(mask)")
                // Request on a route without service: only route-less, service-less keys apply.
                let bare = Exchange(runner, route: "bare", headers: headers)
                let seenBare = bare.ctx.shared["seen"] as? [String] ?? []
                let bareExpected = PluginCombos.lookup(
                    combos.filter { !$0.key.hasPrefix("r") && !$0.key.contains(":s:") }, route: nil, service: nil,
                    consumer: consumer ? "c" : nil)
                #expect(seenBare == bareExpected.map { ["probe:\($0)"] } ?? [], "mask \(mask) bare")
            }
            _ = (routeID, consumerID, serviceID)
        }
    }

    @Test func priorityOrderAndNameTieBreak() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
            plugins:
            - name: probe
              config: {tag: p}
            - name: aprobe
              config: {tag: a}
            - name: early
              config: {tag: e}
            """)
        let ex = Exchange(runner, route: "r")
        // early (2000), then probe and aprobe (100): equal priorities run by name descending.
        #expect(ex.ctx.shared["seen"] as? [String] == ["early:e", "probe:p", "aprobe:a"])
    }

    @Test func consumerConfigsOnlyReachPluginsAfterTheAuthPlugin() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
            consumers:
            - username: alice
              plugins:
              - name: early
                config: {tag: alice}
              - name: probe
                config: {tag: alice}
            plugins:
            - name: who
            - name: early
              config: {tag: global}
            - name: probe
              config: {tag: global}
            """)
        let ex = Exchange(runner, route: "r", headers: ["X-Who": "alice"])
        #expect(ex.ctx.shared["seen"] as? [String] == ["early:global", "probe:alice"])
        let anonymous = Exchange(runner, route: "r")
        #expect(anonymous.ctx.shared["seen"] as? [String] == ["early:global", "probe:global"])
    }

    @Test func exitStopsAccessButLaterPluginsAreStillCollected() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
            plugins:
            - name: early
              config: {tag: e}
            - name: probe
              config: {tag: p}
            - name: failing
            """)
        var ex = Exchange(runner, route: "r")
        #expect(ex.status == 500)
        // Kong's `kong.response.error`: the proxy renders it with the error templates.
        #expect(ex.ctx.exitResponse?.body == .kongError(message: "An unexpected error occurred"))
        #expect(ex.ctx.failed)
        #expect(ex.ctx.shared["seen"] as? [String] == ["early:e"])
        // probe was collected: its header_filter and log still run.
        #expect(ex.ctx.collectedPluginNames == ["probe"])
        #expect(ex.respond()["X-Probe"] == "p")
        runner.log(&ex.ctx)
        #expect(ex.ctx.shared["logged"] as? [String] == ["probe:p"])
    }

    @Test func globalPluginsRunRewriteAndServeRequestsWithoutRoute() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
              plugins:
              - name: rewriter
                config: {tag: route}
            plugins:
            - name: rewriter
              config: {tag: global}
            - name: probe
              config: {tag: g}
            """)
        // No route matched: rewrite ran (global), access never ran; header_filter and log use
        // the global configs.
        var ex = Exchange(runner, route: nil)
        #expect(ex.ctx.request.header("X-Rewritten") == "global")
        #expect(ex.respond(status: 404)["X-Probe"] == "g")
        runner.log(&ex.ctx)
        #expect(ex.ctx.shared["logged"] as? [String] == ["probe:g"])
        #expect(ex.ctx.shared["rewriter-logged"] as? Bool == true)
        // With a route: the route's rewriter config is collected for log (no access phase).
        var routed = Exchange(runner, route: "r")
        runner.log(&routed.ctx)
        #expect(routed.ctx.collectedScopes.map(\.name) == ["probe", "rewriter"])
    }

    @Test func disabledAndNonHTTPConfigsAreIgnored() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
            plugins:
            - name: probe
              enabled: false
              config: {tag: disabled}
            - name: aprobe
              protocols: [tcp]
              config: {tag: tcp}
            """)
        #expect(!runner.hasPlugins)
        let ex = Exchange(runner, route: "r")
        #expect(ex.ctx.shared["seen"] == nil)
    }

    @Test func unknownPluginFailsTheBuildAsKong() throws {
        let page = try Gate.page("""
            _format_version: "3.0"
            plugins:
            - name: oauth2
            """)
        #expect(throws: (any Error).self) { try PluginRunner(page: page, registry: Gate.registry) }
        do {
            _ = try PluginRunner(page: page, registry: Gate.registry)
        } catch {
            #expect("\(error)" == "oauth2 plugin is in use but not implemented by kgate")
        }
    }

    @Test func headerChangesMadeInAccessMeetTheResponse() throws {
        let runner = try ProbeGate.runner("_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/]}\n")
        // An exit's own headers win over changes recorded during access; repeated ones stay.
        var exit = Exchange(runner, route: "r")
        exit.ctx.response.setHeader("X-A", "1")
        exit.ctx.response.setHeader("X-B", "1")
        runner.headerFilter(
            &exit.ctx, status: 401, headers: ["X-A": "2", "Set-Cookie": "a", "Set-Cookie": "b"], fromService: false)
        #expect(exit.ctx.response.headers["X-A"] == "2")
        #expect(exit.ctx.response.headers["X-B"] == "1")
        #expect(exit.ctx.response.headers.values("Set-Cookie") == ["a", "b"])
        #expect(!exit.ctx.response.fromService)
        // Upstream headers are overridden by them.
        var upstream = Exchange(runner, route: "r")
        upstream.ctx.response.setHeader("X-A", "1")
        upstream.ctx.response.addHeader("Vary", "Origin")
        runner.headerFilter(&upstream.ctx, status: 200, headers: ["X-A": "2", "Vary": "Accept"], fromService: true)
        #expect(upstream.ctx.response.headers["X-A"] == "1")
        #expect(upstream.ctx.response.headers.values("Vary") == ["Accept", "Origin"])
        #expect(upstream.ctx.response.status == 200)
    }

    @Test func routesWithoutPluginsCanSkipThePhases() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - {name: plain, paths: [/plain]}
            - {name: probed, paths: [/probed], plugins: [{name: probe}]}
            """)
        #expect(!runner.hasPlugins(route: Gate.routeID(runner, "plain")))
        #expect(runner.hasPlugins(route: Gate.routeID(runner, "probed")))
        #expect(!runner.needsRewrite)
        #expect(!runner.hasGlobalDownstreamPlugins)
        let global = try ProbeGate.runner("_format_version: \"3.0\"\nplugins:\n- name: rewriter\n")
        #expect(global.needsRewrite)
        #expect(global.hasGlobalDownstreamPlugins)
    }

    @Test func configureReceivesEveryConfigOnce() throws {
        let runner = try ProbeGate.runner("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/]
              plugins:
              - name: rewriter
                config: {tag: a}
            plugins:
            - name: rewriter
              config: {tag: b}
            """)
        let before = ProbeGate.rewriter.configured.withLock { $0.count }
        runner.configure()
        runner.configure()
        let calls = ProbeGate.rewriter.configured.withLock { Array($0.dropFirst(before)) }
        #expect(calls.count == 1)
        #expect(calls.first.map { Set($0) } == ["a", "b"])
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
