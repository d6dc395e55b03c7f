import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/17-ip-restriction`.
@Suite struct IPRestrictionTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - {name: r1, paths: [/1], plugins: [{name: ip-restriction, config: {deny: [127.0.0.1, 127.0.0.2]}}]}
        - {name: r2, paths: [/2], plugins: [{name: ip-restriction, config: {deny: [127.0.0.2]}}]}
        - {name: r3, paths: [/3], plugins: [{name: ip-restriction, config: {allow: [127.0.0.2]}}]}
        - {name: r4, paths: [/4], plugins: [{name: ip-restriction, config: {allow: [127.0.0.1]}}]}
        - {name: r5, paths: [/5], plugins: [{name: ip-restriction, config: {deny: [127.0.0.0/24]}}]}
        - {name: r7, paths: [/7], plugins: [{name: ip-restriction, config: {allow: [0.0.0.0/0]}}]}
        - {name: r8, paths: [/8], plugins: [{name: ip-restriction, config: {allow: [127.0.0.1], deny: [127.0.0.1]}}]}
        - {name: r9, paths: [/9], plugins: [{name: ip-restriction, config: {allow: [127.0.0.0/24], deny: [127.0.0.1]}}]}
        - {name: r12, paths: [/12], plugins: [{name: ip-restriction, config: {deny: [127.0.0.0/24], status: 401, message: Forbidden}}]}
        - {name: r13, paths: [/13], plugins: [{name: ip-restriction, config: {deny: [127.0.0.0/24], status: 200}}]}
        - {name: r14, paths: [/14], plugins: [{name: ip-restriction, config: {deny: [127.0.0.0/24], status: 600}}]}
        - {name: v6a, paths: [/v6a], plugins: [{name: ip-restriction, config: {deny: ["::1", "::2"]}}]}
        - {name: v6b, paths: [/v6b], plugins: [{name: ip-restriction, config: {deny: ["fe80::/8"]}}]}
        - {name: v6c, paths: [/v6c], plugins: [{name: ip-restriction, config: {allow: ["::/0"]}}]}
        - {name: v6d, paths: [/v6d], plugins: [{name: ip-restriction, config: {allow: ["::1/128"], deny: ["::1"]}}]}
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    @Test(arguments: [
        ("r1", "127.0.0.1", 403), ("r2", "127.0.0.1", 0), ("r3", "127.0.0.1", 403), ("r4", "127.0.0.1", 0),
        ("r5", "127.0.0.1", 403), ("r5", "127.0.1.1", 0), ("r7", "10.1.2.3", 0), ("r8", "127.0.0.1", 403),
        ("r9", "127.0.0.1", 403), ("r9", "127.0.0.3", 0), ("r9", "10.0.0.3", 403), ("r12", "127.0.0.9", 401),
        ("v6a", "::1", 403), ("v6a", "::3", 0), ("v6a", "127.0.0.1", 0), ("v6b", "fe80::1", 403),
        ("v6b", "2001:db8::1", 0), ("v6c", "::1", 0), ("v6c", "127.0.0.1", 403), ("v6d", "::1", 403),
    ])
    func rules(route: String, ip: String, status: Int) {
        #expect(Exchange(runner, route: route, ip: ip).status == status)
    }

    @Test func messages() {
        let denied = Exchange(runner, route: "r1", ip: "127.0.0.1")
        #expect(denied.message == "IP address not allowed: 127.0.0.1")
        #expect(denied.ctx.exitResponse?.body == .kongError(message: "IP address not allowed: 127.0.0.1"))
        #expect(Exchange(runner, route: "r12", ip: "127.0.0.1").message == "Forbidden")
        let unix = Exchange(runner, route: "r1", ip: "unix:")
        #expect(unix.status == 403)
        #expect(unix.message == "Cannot identify the client IP address, unix domain sockets are not supported.")
        // A status kong.response.error refuses (outside 400-599) fails the plugin: Kong's 500.
        for route in ["r13", "r14"] {
            let failed = Exchange(runner, route: route, ip: "127.0.0.1")
            #expect(failed.status == 500)
            #expect(failed.message == "An unexpected error occurred")
        }
    }

    @Test func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: ip-restriction\n  config: \(config)\n")
        }
        #expect(load("{allow: [127.0.0.1/32, 127.0.0.2/32], status: 403, message: Forbidden}") == nil)
        #expect(load("{allow: [127.0.0.1/8]}") == nil)
        #expect(load("{allow: [hello]}")?.contains("invalid ip or cidr range: 'hello'") == true)
        #expect(load("{deny: 12}")?.contains("expected an array") == true)
        #expect(load("{deny: [], allow: []}")?.contains("at least one of these fields must be non-empty") == true)
    }
}
