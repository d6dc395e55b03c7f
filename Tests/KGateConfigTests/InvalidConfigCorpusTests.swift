import KGateSchema
import Testing

@testable import KGateConfig

/// Every file in `Fixtures/invalid/` is refused with exactly the errors its `# expect:` lines list:
/// `<dotted error path> | <Kong's message> | <line>:<column>`. `__ANY__` at the end of a message
/// matches any rest (OpenSSL texts); a message starting `__PREFIX__` is matched as a prefix.
struct InvalidConfigCorpusTests {
    static let directory: String = {
        let file = #filePath
        let dir = file[..<file.lastIndex(of: "/")!]
        return dir + "/Fixtures/invalid"
    }()

    static let files: [String] = listDirectory(directory).filter { $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted()

    struct Expectation: Equatable, CustomStringConvertible {
        var path: String
        var message: String
        var position: String?
        var description: String { "\(path) | \(message)" + (position.map { " | \($0)" } ?? "") }
    }

    static func expectations(in text: String) -> [Expectation] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("# expect: ") else { return nil }
            let parts = line.dropFirst("# expect: ".count).components(separatedBy: " | ")
            return Expectation(path: parts[0], message: parts[1], position: parts.count > 2 ? parts[2] : nil)
        }
    }

    /// Leaf errors of a tree as dotted paths (indexes 1-based, as Kong reports them).
    static func leaves(_ node: ErrorNode, prefix: [ErrorKey] = []) -> [(path: [ErrorKey], message: String)] {
        node.entries.flatMap { entry -> [(path: [ErrorKey], message: String)] in
            switch entry.value {
            case .message(let m): return [(prefix + [entry.key], m)]
            case .node(let n): return leaves(n, prefix: prefix + [entry.key])
            }
        }
    }

    @Test func corpusIsLargeEnough() {
        #expect(Self.files.count >= 40)
    }

    @Test(arguments: files)
    func refusedWithExactErrors(_ name: String) throws {
        let path = Self.directory + "/" + name
        let bytes = try #require(readFile(path))
        let expected = Self.expectations(in: String(decoding: bytes, as: UTF8.self))
        try #require(!expected.isEmpty, "fixture \(name) has no # expect: lines")

        let result = DeclarativeLoader().load(bytes: bytes, fileName: name)
        guard case .failure(let error) = result else {
            Issue.record("\(name) was accepted")
            return
        }
        let positions = error.document.map(ErrorPositions.init)
        let actual = Self.leaves(error.fields).map { leaf in
            Expectation(
                path: leaf.path.map(\.description).joined(separator: "."), message: leaf.message,
                position: positions?.mark(for: leaf.path).map { "\($0.line):\($0.column)" })
        }
        #expect(actual.count == expected.count, "\(name): got \(actual)")
        for (want, got) in zip(expected, actual) {
            #expect(got.path == want.path, "\(name)")
            if want.message.hasSuffix("__ANY__") {
                #expect(got.message.hasPrefix(String(want.message.dropLast("__ANY__".count))), "\(name): \(got.message)")
            } else if want.message.hasPrefix("__PREFIX__") {
                #expect(got.message.hasPrefix(String(want.message.dropFirst("__PREFIX__".count))), "\(name): \(got.message)")
            } else {
                #expect(got.message == want.message, "\(name)")
            }
            if let position = want.position { #expect(got.position == position, "\(name): position of \(got.path)") }
        }
    }
}
