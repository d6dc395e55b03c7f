import Testing

@testable import KGateConfig

/// Cases from Kong's entity schema specs (`spec/01-unit/01-db/01-schema/05-services_spec.lua`,
/// `06-routes_spec.lua`) that need raw bytes, so they go through a JSON config as Kong's
/// cjson reads it (byte for byte, no UTF-8 check).
struct KongEntitySpecTests {
    /// "rejects invalid names": `string.char(105, 213, 205, 149)` as a service or route name.
    @Test(arguments: [
        ("services", #"","url":"http://example.com"}"#),
        ("routes", #"","paths":["/"]}"#),
    ])
    func invalidUTF8NameIsRefused(entity: String, rest: String) {
        let head = #"{"_format_version":"3.0",""# + entity + #"":[{"name":""#
        let bytes = Array(head.utf8) + [105, 213, 205, 149] + Array((rest + "]}").utf8)
        guard case .failure(let error) = DeclarativeLoader().load(bytes: bytes, fileName: "kong.json") else {
            Issue.record("accepted")
            return
        }
        let leaves = InvalidConfigCorpusTests.leaves(error.fields).map {
            $0.path.map(\.description).joined(separator: ".") + "=" + $0.message
        }
        #expect(leaves == ["\(entity).1.name=invalid utf-8 character sequence detected at position 2"])
    }
}
