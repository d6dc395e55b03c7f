import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/18-acl/02-access_spec.lua` and schema rules.
@Suite struct ACLTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - {name: acl1, paths: [/acl1], plugins: [{name: acl, config: {allow: [admin]}}]}
        - {name: acl1b, paths: [/acl1b], plugins: [{name: set-groups}, {name: acl, config: {allow: [admin]}}]}
        - {name: acl2, paths: [/acl2], plugins: [{name: key-auth}, {name: acl, config: {allow: [admin]}}]}
        - {name: acl2b, paths: [/acl2b], plugins: [{name: set-groups}, {name: acl, config: {allow: [admin]}}]}
        - {name: acl3, paths: [/acl3], plugins: [{name: key-auth}, {name: acl, config: {deny: [admin]}}]}
        - {name: acl3b, paths: [/acl3b], plugins: [{name: set-groups}, {name: acl, config: {deny: [admin]}}]}
        - {name: acl4, paths: [/acl4], plugins: [{name: key-auth}, {name: acl, config: {allow: [admin, pro]}}]}
        - {name: acl5, paths: [/acl5], plugins: [{name: key-auth}, {name: acl, config: {deny: [admin, pro]}}]}
        - {name: acl8, paths: [/acl8], plugins: [{name: key-auth, config: {anonymous: anonymous}}, {name: acl, config: {allow: [anonymous]}}]}
        - {name: acl9, paths: [/acl9], plugins: [{name: key-auth}, {name: acl, config: {allow: [admin], hide_groups_header: true}}]}
        - name: acl11
          paths: [/acl11]
          plugins:
          - {name: key-auth, config: {anonymous: anonymous}}
          - {name: set-groups}
          - {name: acl, config: {allow: [anonymous, auth], always_use_authenticated_groups: true}}
        - {name: acl4b, paths: [/acl4b], plugins: [{name: acl, config: {allow: [admin, pro]}}]}
        - {name: acl5b, paths: [/acl5b], plugins: [{name: acl, config: {deny: [admin, pro]}}]}
        - {name: acl6b, paths: [/acl6b], plugins: [{name: acl, config: {deny: [admin, pro, hello]}}]}
        - {name: acl7b, paths: [/acl7b], plugins: [{name: acl, config: {allow: [admin, pro, hello]}}]}
        - {name: acl9b, paths: [/acl9b], plugins: [{name: acl, config: {allow: [admin], hide_groups_header: true}}]}
        - name: acl12
          paths: [/acl12]
          plugins: [{name: key-auth, config: {anonymous: anonymous}}, {name: acl, config: {allow: [anonymous]}}]
        - name: acl15
          paths: [/acl15]
          plugins: [{name: key-auth}, {name: acl, config: {allow: [auth_group1], always_use_authenticated_groups: true}}]
        consumers:
        - username: anonymous
          acls: [{group: anonymous}]
        - username: consumer1
          keyauth_credentials: [{key: apikey123}]
        - username: consumer2
          keyauth_credentials: [{key: apikey124}]
          acls: [{group: admin}]
        - username: consumer3
          keyauth_credentials: [{key: apikey125}]
          acls:
          - {group: pro, id: b0000000-0000-4000-8000-000000000001}
          - {group: hello, id: a0000000-0000-4000-8000-000000000002}
        """

    let runner: PluginRunner

    init() throws { runner = try ProbeGate.runner(Self.config) }

    @Test func mappingToConsumerOrAuthenticatedGroups() {
        let consumer = Exchange(runner, route: "acl2", query: "apikey=apikey124")
        #expect(consumer.upstream("x-consumer-groups") == "admin")
        #expect(consumer.upstream("x-authenticated-groups") == nil)
        let groups = Exchange(runner, route: "acl2b", headers: ["X-Groups": "admin"])
        #expect(groups.upstream("x-authenticated-groups") == "admin")
        #expect(groups.upstream("x-consumer-groups") == nil)
        let anonymous = Exchange(runner, route: "acl8")
        #expect(anonymous.upstream("x-consumer-groups") == "anonymous")
    }

    @Test func simpleLists() {
        let noAuth = Exchange(runner, route: "acl1")
        #expect(noAuth.status == 401)
        #expect(noAuth.message == "Unauthorized")
        let credentialOnly = Exchange(runner, route: "acl1b", headers: ["X-Credential": "1"])
        #expect(credentialOnly.status == 403)
        #expect(credentialOnly.message == "You cannot consume this service")
        // consumer1 has no groups: allow list → 403 (a credential is set).
        #expect(Exchange(runner, route: "acl2", query: "apikey=apikey123").status == 403)
        #expect(Exchange(runner, route: "acl2b", headers: ["X-Groups": "user"]).status == 403)
        #expect(Exchange(runner, route: "acl2", query: "apikey=apikey124").status == 0)
        #expect(Exchange(runner, route: "acl9", query: "apikey=apikey124").upstream("x-consumer-groups") == nil)
        // Deny lists.
        let notDenied = Exchange(runner, route: "acl3", query: "apikey=apikey123")
        #expect(notDenied.status == 0)
        #expect(notDenied.upstream("x-consumer-groups") == "")
        #expect(Exchange(runner, route: "acl3b", headers: ["X-Groups": "user"]).status == 0)
        #expect(Exchange(runner, route: "acl3", query: "apikey=apikey124").status == 403)
        #expect(Exchange(runner, route: "acl3b", headers: ["X-Groups": "admin"]).status == 403)
        #expect(Exchange(runner, route: "acl3b").status == 401)
    }

    @Test func multipleGroups() {
        #expect(Exchange(runner, route: "acl4", query: "apikey=apikey124").status == 0)
        let pro = Exchange(runner, route: "acl4", query: "apikey=apikey125")
        #expect(pro.status == 0)
        // Kong's DB-less strategy lists a consumer's acls by id, whatever their declaration order.
        #expect(pro.upstream("x-consumer-groups") == "hello, pro")
        #expect(Exchange(runner, route: "acl4", query: "apikey=apikey123").status == 403)
        #expect(Exchange(runner, route: "acl5", query: "apikey=apikey125").status == 403)
        #expect(Exchange(runner, route: "acl5", query: "apikey=apikey123").status == 0)
    }

    @Test func alwaysUseAuthenticatedGroups() {
        // Authenticated consumer, but authenticated groups win.
        let both = Exchange(runner, route: "acl11", query: "apikey=apikey124", headers: ["X-Groups": "auth"])
        #expect(both.status == 0)
        #expect(both.upstream("x-authenticated-groups") == "auth")
        // Without authenticated groups, the consumer's own.
        #expect(Exchange(runner, route: "acl11", query: "apikey=apikey124").status == 403)
        #expect(Exchange(runner, route: "acl11").upstream("x-consumer-groups") == "anonymous")
    }

    /// The spec's `ctx-checker` routes: groups an earlier plugin put in `kong.ctx.shared`.
    @Test func authenticatedGroupsFromSharedContext() {
        func groups(_ route: String, _ list: [String], query: String? = nil) -> Exchange {
            Exchange(runner, route: route, query: query, shared: [ACLPlugin.authenticatedGroupsKey: list])
        }
        // acl2c / acl3b: an empty list is still a list (allow → 403, deny → proxied with "").
        #expect(groups("acl2b", []).status == 403)
        let emptyDeny = groups("acl3b", [])
        #expect(emptyDeny.status == 0)
        #expect(emptyDeny.upstream("x-authenticated-groups") == "")
        #expect(groups("acl3b", ["admin"]).status == 403)
        // acl4b / acl4c, acl5b / acl5c, acl6b / acl6c, acl7b.
        let allowed = groups("acl4b", ["pro", "hello"])
        #expect(allowed.status == 0)
        #expect(allowed.upstream("x-authenticated-groups") == "pro, hello")
        #expect(allowed.upstream("x-consumer-groups") == nil)
        #expect(groups("acl4b", ["free", "hello"]).status == 403)
        #expect(groups("acl5b", ["pro", "hello"]).status == 403)
        #expect(groups("acl5b", ["free", "hello"]).status == 0)
        #expect(groups("acl6b", ["free", "hello"]).status == 403)
        #expect(groups("acl6b", ["pro", "hello"]).status == 403)
        #expect(groups("acl7b", ["free", "hello"]).status == 0)
        // acl9b: hidden.
        let hidden = groups("acl9b", ["admin"])
        #expect(hidden.status == 0)
        #expect(hidden.upstream("x-authenticated-groups") == nil)
        // acl8b / acl11 ("authorized groups even when anonymous consumer is present"): no credential,
        // so the authenticated groups win over the anonymous consumer's.
        let anonymous = groups("acl12", ["anonymous"])
        #expect(anonymous.upstream("x-authenticated-groups") == "anonymous")
        #expect(anonymous.upstream("x-consumer-groups") == nil)
        // acl12: a credential makes the consumer's own groups count; acl13: anonymous + other groups.
        #expect(groups("acl12", ["anonymous"], query: "apikey=apikey124").status == 403)
        #expect(groups("acl12", ["admin"]).status == 403)
        // acl15 / acl16: always_use_authenticated_groups with a credential.
        let always = groups("acl15", ["auth_group1"], query: "apikey=apikey124")
        #expect(always.status == 0)
        #expect(always.upstream("x-authenticated-groups") == "auth_group1")
        #expect(always.upstream("x-consumer-groups") == nil)
        #expect(groups("acl15", ["auth_group2"], query: "apikey=apikey124").status == 403)
    }

    @Test func schemaRequiresExactlyOneList() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: acl\n  config: \(config)\n")
        }
        #expect(load("{allow: [a]}") == nil)
        let neither = load("{}")
        #expect(neither?.contains("at least one of these fields must be non-empty: 'config.allow', 'config.deny'") == true)
        let both = load("{allow: [a], deny: [b]}")
        #expect(both?.contains("exactly one of these fields must be non-empty: 'config.allow', 'config.deny'") == true)
        let consumer = Gate.loadError(
            "_format_version: \"3.0\"\nconsumers:\n- username: c\nplugins:\n- name: acl\n  consumer: c\n  config: {allow: [a]}\n")
        #expect(consumer?.contains("value must be null") == true)
    }
}
