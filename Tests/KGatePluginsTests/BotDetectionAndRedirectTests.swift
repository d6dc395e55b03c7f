import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `bot-detection` (`spec/03-plugins/21-bot-detection/01-access_spec.lua`) and
/// `redirect` (`spec/03-plugins/45-redirect/02-access_spec.lua`).
struct BotDetectionAndRedirectTests {
    static let botConfig = """
        _format_version: "3.0"
        routes:
        - name: plain
          paths: [/plain]
          plugins: [{name: bot-detection}]
        - name: deny
          paths: [/deny]
          plugins: [{name: bot-detection, config: {deny: [HelloWorld]}}]
        - name: allow
          paths: [/allow]
          plugins: [{name: bot-detection, config: {allow: [facebookexternalhit/1.1]}}]
        """

    private func status(_ route: String, agents: [String]) throws -> Int {
        let runner = try Gate.runner(Self.botConfig)
        var headers = HTTPFields()
        for agent in agents { headers.add("User-Agent", agent) }
        return Exchange(runner, route: route, path: "/" + route, headers: headers).status
    }

    @Test func botsAreRefused() throws {
        let chrome =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36"
        for agent in [chrome, "HelloWorld", "curl/7.43.0"] { #expect(try status("plain", agents: [agent]) == 0, "\(agent)") }
        for agent in ["Googlebot/2.1 (+http://www.google.com/bot.html)", "facebookexternalhit/1.1", "  bingbot/2.0  "] {
            #expect(try status("plain", agents: [agent]) == 403, "\(agent)")
        }
        #expect(try status("plain", agents: []) == 0)
        #expect(try status("deny", agents: ["HelloWorld"]) == 403)
        #expect(try status("allow", agents: ["facebookexternalhit/1.1"]) == 0)
        let runner = try Gate.runner(Self.botConfig)
        let twice = Exchange(runner, route: "plain", path: "/plain", headers: HTTPFields([("User-Agent", "a"), ("User-Agent", "b")]))
        #expect(twice.status == 400)
        #expect(twice.message == "Only one User-Agent header allowed")
    }

    @Test func aBadRegexIsRefused() {
        let yaml = "_format_version: \"3.0\"\nplugins:\n- name: bot-detection\n  config: {deny: [\"(\"]}\n"
        #expect(Gate.loadError(yaml)?.contains("not a valid regex: (") == true)
    }

    @Test func redirects() throws {
        let yaml = """
            _format_version: "3.0"
            routes:
            - name: plain
              paths: [/plain]
              plugins: [{name: redirect, config: {location: "https://example.com/path?foo=bar"}}]
            - name: keep
              paths: [/keep]
              plugins: [{name: redirect, config: {status_code: 302, location: "HTTPS://Example.COM:443/some_path?foo=bar#top", keep_incoming_path: true}}]
            """
        let runner = try Gate.runner(yaml)
        let plain = Exchange(runner, route: "plain", path: "/plain/x", query: "keep=this")
        #expect(plain.status == 301)
        #expect(plain.ctx.exitResponse?.headers["Location"] == "https://example.com/path?foo=bar")
        #expect(plain.ctx.exitResponse?.body == .bytes(Array("redirecting".utf8)))
        let keep = Exchange(runner, route: "keep", path: "/keep/200", query: "keep=this")
        #expect(keep.status == 302)
        #expect(keep.ctx.exitResponse?.headers["Location"] == "https://example.com/keep/200?keep=this#top")
        let noQuery = Exchange(runner, route: "keep", path: "/keep")
        #expect(noQuery.ctx.exitResponse?.headers["Location"] == "https://example.com/keep#top")
        // The request's path is decoded (kong.request.get_path); ada's setters encode it again
        // with WHATWG's path set, and the query with the special-query set.
        let encoded = Exchange(runner, route: "keep", path: "/keep/a%20b/caf%C3%A9%2F%7B%7D", query: "x=%2F&q='a'")
        #expect(encoded.ctx.exitResponse?.headers["Location"]
            == "https://example.com/keep/a%20b/caf%C3%A9%2F%7B%7D?x=%2F&q=%27a%27#top")
        #expect(Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: redirect\n") != nil)
    }
}
