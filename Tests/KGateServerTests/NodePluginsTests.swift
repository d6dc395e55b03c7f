import KGateConfig
import KGateSchema
import KGateSettings
import Testing

@testable import KGateServer

/// The node's plugins: the metrics and logging plugins kgate does not run are validated with
/// Kong's schemas, then skipped.
@Suite struct NodePluginsTests {
    static func loadError(_ plugins: NodePlugins, _ yaml: String) -> String? {
        switch DeclarativeLoader(catalog: plugins.catalog).load(bytes: Array(yaml.utf8), fileName: "kong.yml") {
        case .success: return nil
        case .failure(let error): return KongErrorBody.message(fields: error.fields)
        }
    }

    @Test func observabilityConfigsAreValidatedThenSkipped() throws {
        let plugins = NodePlugins(settings: NodeSettings())
        let invalid = "_format_version: \"3.0\"\nplugins:\n- name: http-log\n  config: {bogus: 1}\n"
        #expect(
            Self.loadError(plugins, invalid)
                == #"declarative config is invalid: {plugins={{config={bogus="unknown field",http_endpoint="required field missing"}}}}"#
        )
        let valid = "_format_version: \"3.0\"\nplugins:\n- name: http-log\n  config: {http_endpoint: 'http://logs.test'}\n"
        let config = try DeclarativeLoader(catalog: plugins.catalog).load(bytes: Array(valid.utf8), fileName: "kong.yml").get()
        #expect(config.entities["plugins"]?.values.first?["config"]?["method"] == "POST")
        // http-log and zipkin run.
        #expect(plugins.unsupported(in: config) == [])
        let zipkin = "_format_version: \"3.0\"\nplugins:\n- name: zipkin\n"
        let zipkinConfig = try DeclarativeLoader(catalog: plugins.catalog).load(bytes: Array(zipkin.utf8), fileName: "kong.yml").get()
        #expect(plugins.unsupported(in: zipkinConfig) == [])
    }

    /// With `router_flavor = expressions`, a route's `expression` is checked as Kong's
    /// `validate_expression` does (atc-router's parser and schema).
    @Test func expressionsFlavorChecksExpressions() {
        var settings = NodeSettings()
        settings.routerFlavor = .expressions
        let plugins = NodePlugins(settings: settings)
        func yaml(_ expression: String) -> String {
            "_format_version: \"3.0\"\nroutes:\n- name: r\n  expression: '\(expression)'\n  priority: 3\n"
        }
        #expect(Self.loadError(plugins, yaml(#"http.path ^= "/a" && net.port == 8000"#)) == nil)
        #expect(
            Self.loadError(plugins, yaml(#"http.paths == "/a""#))
                == #"declarative config is invalid: {routes={{["@entity"]={"Router Expression failed validation: Unknown LHS field"}}}}"#)
        #expect(Self.loadError(plugins, yaml(#"http.path == "/a" &&"#))?.contains("Router Expression failed validation:  --> 1:") == true)
        // The traditional_compatible flavor has no `expression` field.
        #expect(Self.loadError(NodePlugins(settings: NodeSettings()), yaml(#"http.path == "/a""#))?.contains("unknown field") == true)
    }

    @Test func untrustedLuaOffRefusesLogFieldsCode() {
        var settings = NodeSettings()
        settings.untrustedLua = .off
        let yaml = """
            _format_version: "3.0"
            plugins:
            - name: file-log
              config: {path: /tmp/kgate.log, custom_fields_by_lua: {a: return 1}}
            """
        #expect(Self.loadError(NodePlugins(settings: NodeSettings()), yaml) == nil)
        #expect(
            Self.loadError(NodePlugins(settings: settings), yaml)?.contains(
                "Error parsing function: loading of untrusted Lua code disabled") == true)
    }
}
