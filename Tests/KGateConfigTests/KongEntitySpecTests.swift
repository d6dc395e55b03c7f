import Testing

@testable import KGateConfig

/// Cases from Kong's entity schema specs (`spec/01-unit/01-db/01-schema/05-services_spec.lua`,
/// `06-routes_spec.lua`, `09-upstreams_spec.lua`) replayed through a declarative config.
struct KongEntitySpecTests {
    /// Entity checks whose exact messages the specs assert and no other kgate test pins:
    /// (case, entity list, one record as YAML flow, the leaf error as `dotted.path=message`).
    static let cases: [KongValidateSpecTests.Case] = ([
        ("routes: tls and tls_passthrough on a same route", "routes",
         "{protocols: [tls, tls_passthrough], snis: [foo.grpc.test]}",
         "routes.1.protocols=these sets are mutually exclusive: ('tcp', 'tls', 'udp'), ('tls_passthrough')"),
        ("routes: snis not set on tls_passthrough", "routes",
         "{protocols: [tls_passthrough], sources: [{ip: 127.0.0.1}]}",
         "routes.1.@entity.1=must set snis when 'protocols' is 'tls_passthrough'"),
        ("routes: no L4 matching attribute", "routes", "{protocols: [udp]}",
         "routes.1.@entity.1=must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"),
        ("routes: no L7 matching attribute (https)", "routes", "{protocols: [https]}",
         "routes.1.@entity.1=must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"),
        ("routes: no L7 matching attribute (grpc)", "routes", "{protocols: [grpc]}",
         "routes.1.@entity.1=must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"),
        ("routes: no L7 matching attribute (grpcs)", "routes", "{protocols: [grpcs]}",
         "routes.1.@entity.1=must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"),
        ("routes: methods on grpcs", "routes", "{protocols: [grpcs], methods: [GET], paths: [/foo]}",
         "routes.1.methods=cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"),
        ("routes: paths on tls", "routes", "{protocols: [tls], sources: [{ip: 127.0.0.1}], paths: [/]}",
         "routes.1.paths=cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"),
        ("routes: destinations port out of range", "routes",
         "{protocols: [tcp], destinations: [{ip: 127.0.0.1}, {ip: 127.75.78.72, port: 65536}]}",
         "routes.1.destinations.2.port=value should be between 0 and 65535"),
        ("upstreams: same query args", "upstreams",
         "{name: x, hash_on: query_arg, hash_on_query_arg: same, hash_fallback: query_arg, hash_fallback_query_arg: same}",
         "upstreams.1.@entity.1=values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'"),
        ("upstreams: same uri captures", "upstreams",
         "{name: x, hash_on: uri_capture, hash_on_uri_capture: same, hash_fallback: uri_capture, hash_fallback_uri_capture: same}",
         "upstreams.1.@entity.1=values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'"),
    ] as [(String, String, String, String)]).map { name, list, record, error in
        KongValidateSpecTests.Case(
            name: name, yaml: "_format_version: \"3.0\"\n\(list):\n- \(record)\n", errors: [error])
    }

    @Test(arguments: cases)
    func kongEntityCheckMessages(_ c: KongValidateSpecTests.Case) {
        #expect(Self.leaves(Array(c.yaml.utf8), fileName: "kong.yml") == c.errors)
    }

    private static func leaves(_ bytes: [UInt8], fileName: String) -> [String]? {
        guard case .failure(let error) = DeclarativeLoader().load(bytes: bytes, fileName: fileName) else { return nil }
        return InvalidConfigCorpusTests.leaves(error.fields).map {
            $0.path.map(\.description).joined(separator: ".") + "=" + $0.message
        }
    }

    /// "rejects invalid names": `string.char(105, 213, 205, 149)` as a service or route name. It
    /// needs raw bytes, so it goes through JSON, which Kong's cjson reads byte for byte.
    @Test(arguments: [
        ("services", #"","url":"http://example.com"}"#),
        ("routes", #"","paths":["/"]}"#),
    ])
    func invalidUTF8NameIsRefused(entity: String, rest: String) {
        let head = #"{"_format_version":"3.0",""# + entity + #"":[{"name":""#
        let bytes = Array(head.utf8) + [105, 213, 205, 149] + Array((rest + "]}").utf8)
        #expect(
            Self.leaves(bytes, fileName: "kong.json")
                == ["\(entity).1.name=invalid utf-8 character sequence detected at position 2"])
    }
}
