import Foundation
import KGateConfig
import Testing

/// Every shipped config (`examples/*` and the top-level `kong.yml`) must load.
@Suite struct ExamplesTests {
    /// The repository root, found from this file's path (`Tests/KGateConfigTests/...`).
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `kong.yml` and every file of `examples/`, relative to the root.
    static let configs: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/examples")) ?? []
        let configs = names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
        return ["kong.yml"] + configs.sorted().map { "examples/" + $0 }
    }()

    @Test func theExamplesAreThere() {
        for name in ["plain-proxy.yml", "key-auth.yml", "upstreams.yml", "format-1.1.yml", "config.json"] {
            #expect(Self.configs.contains("examples/" + name), "missing examples/\(name)")
        }
    }

    @Test(arguments: configs) func loads(_ relativePath: String) {
        switch DeclarativeLoader().load(path: Self.root + "/" + relativePath) {
        case .success(let config):
            #expect(!config.hash.isEmpty)
        case .failure(let error):
            Issue.record("\(relativePath) does not load:\n\(CLIErrorText.render(error))")
        }
    }

    @Test func formatOnePointOneIsMigrated() throws {
        let config = try DeclarativeLoader().load(path: Self.root + "/examples/format-1.1.yml").get()
        #expect(config.meta["_format_version"] == "3.0")
        let paths = config.entities["routes"]?.values.compactMap { $0["paths"]?.arrayValue }.flatMap { $0 } ?? []
        #expect(paths.contains("~/users/\\d+/profile"))
        #expect(paths.contains("/static"))
    }
}
