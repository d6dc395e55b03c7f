import KGateSchema
import Testing

@testable import KGateConfig

/// Cases ported from Kong's `spec/01-unit/01-db/01-schema/11-declarative_config/01-validate_spec.lua`:
/// YAML in, Kong's exact error table out (compared without regard to key order).
struct KongValidateSpecTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        /// Leaf errors as `dotted.path=message`, sorted.
        let errors: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "services: verifies required fields", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
            """, errors: ["services.1.host=required field missing"]),
        Case(name: "services: performs regular validations", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
              retries: -1
              protocol: foo
              host: 1234
              port: 99999
              path: /foo//bar/
            """, errors: [
                "services.1.host=expected a string",
                "services.1.path=must not have empty segments",
                "services.1.port=value should be between 0 and 65535",
                "services.1.protocol=expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
                "services.1.retries=value should be between 0 and 32767",
            ]),
        Case(name: "nested plugins: verifies required fields", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
              url: https://example.com
              plugins:
              - enabled: true
            """, errors: ["services.1.plugins.1.name=required field missing"]),
        Case(name: "nested plugins: unknown plugin", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
              url: https://example.com
              plugins:
              - name: foo
            """, errors: ["services.1.plugins.1.name=plugin 'foo' not enabled; add it to the 'plugins' configuration property"]),
        Case(name: "nested plugins: no additional foreign keys", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
              url: https://example.com
              plugins:
              - name: key-auth
                consumer: foo
            """, errors: ["services.1.plugins.1.consumer=value must be null"]),
        Case(name: "route plugins: no additional foreign keys", yaml: """
            _format_version: "1.1"
            services:
            - name: foo
              url: https://example.com
              routes:
              - paths:
                - /
                plugins:
                - name: key-auth
                  route: foo
            """, errors: ["services.1.routes.1.plugins.1.route=value must be null"]),
        Case(name: "requires a known version", yaml: """
            _format_version: "1.0"
            """, errors: ["_format_version=expected one of: 1.1, 2.1, 3.0"]),
        Case(name: "_comment must be a string", yaml: """
            _format_version: "1.1"
            _comment: 1234
            """, errors: ["_comment=expected a string"]),
        Case(name: "oauth2 credentials: foreign field", yaml: """
            _format_version: "1.1"
            consumers:
            - username: bob
              oauth2_credentials:
              - name: hello
                redirect_uris:
                - https://example.com
                consumer: foo
            """, errors: ["consumers.1.oauth2_credentials.1.consumer=value must be null"]),
        Case(name: "oauth2 credentials: redirect uris", yaml: """
            _format_version: "1.1"
            consumers:
            - username: bob
              oauth2_credentials:
              - name: my-credential
                redirect_uris:
                - https://example.com
                - foobar
              - name: my-credential
                redirect_uris:
                - foobar
                - https://example.com
            """, errors: [
                "consumers.1.oauth2_credentials.1.redirect_uris.2=cannot parse 'foobar'",
                "consumers.1.oauth2_credentials.2.redirect_uris.1=cannot parse 'foobar'",
            ]),
    ]

    @Test(arguments: cases)
    func kongErrorTable(_ c: Case) {
        guard case .failure(let error) = DeclarativeLoader().load(bytes: Array(c.yaml.utf8), fileName: "kong.yml") else {
            Issue.record("accepted")
            return
        }
        let leaves = InvalidConfigCorpusTests.leaves(error.fields).map {
            $0.path.map(\.description).joined(separator: ".") + "=" + $0.message
        }
        #expect(leaves.sorted() == c.errors.sorted())
    }
}
